#!/usr/bin/env bash
# ./basalt test: installs what the tests need, then runs every test of every module.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
"$ROOT/scripts/install-deps.sh"
# Reuse the launcher's JDK discovery.
source <(sed -n '/^java_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
echo "basalt test: JDK at $JAVA_HOME" >&2
cd "$ROOT"
rc=0
mvn -B -ntp -Dstyle.color=never "$@" verify || rc=$?
echo "basalt test: finished in $(( $(date +%s) - start )) s, exit $rc" >&2
exit $rc
