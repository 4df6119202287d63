# Shared prologue of the e2e scripts that run a daemon: sourced after `set -euo pipefail` with E2E_NAME set.
# Gives ROOT, B (the launcher), WORK (a temp folder under .build, removed at exit), DAEMON_PID (SIGKILLed at exit
# when set), fail (message, the daemon's log in $WORK/serve.log when there is one, exit 1) and pass.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
B="$ROOT/basalt"
mkdir -p "$ROOT/.build"
WORK="$(mktemp -d -p "$ROOT/.build" e2e.XXXXXX)"
DAEMON_PID=""
cleanup() {
  # Killed and waited for: the next script's daemon binds the same ports (4420, 8009, 8080), and a dying process
  # still holds them (a fresh-clone run once saw serve-smoke's daemon fail its start-up right after remote-mirror).
  if [ -n "$DAEMON_PID" ]; then kill -KILL "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  if [ -n "${E2E_KEEP:-}" ]; then echo "$E2E_NAME: kept $WORK (E2E_KEEP)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() { echo "$E2E_NAME: FAIL: $*" >&2; [ -f "$WORK/serve.log" ] && sed 's/^/  serve: /' "$WORK/serve.log" >&2; exit 1; }
pass() { echo "$E2E_NAME: ok: $*"; }
