#!/usr/bin/env bash
# The command line through the real launcher (issue 9): --help on every verb exits 0 with its usage, errors name
# the option and exit 2, --version, the completion script loads in bash; the launcher does not rebuild when
# nothing changed, makes its class-data archive, and a damaged archive never breaks a run (nor makes it noisy).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/basalt"
mkdir -p "$ROOT/.build"
WORK="$(mktemp -d -p "$ROOT/.build" e2e.XXXXXX)"
ARCHIVE="$ROOT/.build/cli.jsa"
cleanup() {
  [ -f "$WORK/cli.jsa.saved" ] && mv -f "$WORK/cli.jsa.saved" "$ARCHIVE"
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "cli: FAIL: $*" >&2; exit 1; }
pass() { echo "cli: ok: $*"; }

# expect CODE ARGS...: runs ./basalt ARGS, stdout in $WORK/out, stderr in $WORK/err, and checks the exit code.
expect() {
  local want=$1; shift
  local rc=0
  "$B" "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "basalt $* exited $rc, not $want: $(cat "$WORK/err")"
}

"$B" build > /dev/null 2>&1 || fail "./basalt build"
[ -f "$ARCHIVE" ] || fail "./basalt build made no $ARCHIVE"
expect 0 --version
grep -q 'building' "$WORK/err" && fail "a build ran again with nothing changed: $(cat "$WORK/err")"
grep -q '^basalt [0-9]' "$WORK/out" || fail "--version: $(cat "$WORK/out")"
pass "--version; no rebuild when nothing changed; archive made by ./basalt build"

expect 0 serve --help
grep -q 'Usage: basalt serve' "$WORK/out" || fail "serve --help: $(cat "$WORK/out")"
for o in --config --config-writeback --data-dir --reactors --idle; do
  grep -q -- "$o" "$WORK/out" || fail "serve --help lacks $o"
done
for verb in "" rpc raid "raid status" completion help; do
  # shellcheck disable=SC2086
  expect 0 $verb --help
  grep -q "Usage: basalt${verb:+ $verb}" "$WORK/out" || fail "basalt $verb --help: $(cat "$WORK/out")"
done
expect 0 help rpc
grep -q 'Usage: basalt rpc' "$WORK/out" || fail "help rpc: $(cat "$WORK/out")"
pass "--help on every verb exits 0 with its usage"

expect 2 serve --bogus
grep -q -- "Unknown option: '--bogus'" "$WORK/err" || fail "serve --bogus: $(cat "$WORK/err")"
expect 2 serve --reactors
grep -q -- "--reactors" "$WORK/err" || fail "serve --reactors: $(cat "$WORK/err")"
expect 2 rpc
expect 2
expect 2 frobnicate
expect 1 rpc --socket "$WORK/nobody.sock" drive_list
expect 1 raid status --socket "$WORK/nobody.sock"
pass "bad usage exits 2 naming the option, no daemon exits 1"

expect 0 completion
bash -c "source '$WORK/out' && complete -p basalt" > /dev/null || fail "the completion script does not load in bash"
pass "source <(./basalt completion) registers basalt"

mv "$ARCHIVE" "$WORK/cli.jsa.saved"
head -c 65536 /dev/urandom > "$ARCHIVE"   # newer than the jars, so the launcher hands it to the JVM
expect 0 --version
[ ! -s "$WORK/err" ] || fail "a damaged archive made noise: $(cat "$WORK/err")"
rm -f "$ARCHIVE"
expect 1 rpc --socket "$WORK/nobody.sock" drive_list
pass "a damaged or missing archive falls back silently"
