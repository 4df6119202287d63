#!/usr/bin/env bash
# ./basalt test: installs what the tests need, then runs every test of every module.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
"$ROOT/scripts/install-deps.sh"
# Reuse the launcher's JDK discovery.
source <(sed -n '/^java_major()/,/^}/p; /^jdk_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
echo "basalt test: JDK at $JAVA_HOME" >&2
cd "$ROOT"
rc=0
mvn -B -ntp -Dstyle.color=never "$@" verify || rc=$?
if [ $rc -eq 0 ]; then
  # The launcher's own end-to-end checks need the jars the build just made.
  mkdir -p "$ROOT/.build" && touch "$ROOT/.build/stamp"   # verify packaged the jars the launcher runs
  for t in "$ROOT"/scripts/e2e/*.sh; do
    [ $rc -eq 0 ] || break
    echo "basalt test: $(basename "$t")" >&2
    "$t" || rc=$?
  done
fi
echo "basalt test: finished in $(( $(date +%s) - start )) s, exit $rc" >&2
exit $rc
