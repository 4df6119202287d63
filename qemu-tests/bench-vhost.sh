#!/usr/bin/env bash
# vhost-user-blk backends side by side from one QEMU guest (fio 4k randread/randwrite QD32, 1M read/write QD4):
# IOPS, bandwidth and each backend's CPU per I/O. Builds what it needs (mvn compile, never install).
#   qemu-tests/bench-vhost.sh                                  # Basalt and qemu-storage-daemon side by side, 20 s per job
#   qemu-tests/bench-vhost.sh --seconds 10 --rounds 2          # (also: ./basalt bench vhost --seconds 10 --rounds 2)
#   qemu-tests/bench-vhost.sh --qsd qsd-a --qsd qsd-b          # the reference against itself (noise floor)
#   qemu-tests/bench-vhost.sh --help
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source <(sed -n '/^java_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
(cd "$ROOT" && mvn -q -B -Dstyle.color=never compile -pl qemu-tests -am) >&2 || die "build failed"
CP="$ROOT/qemu-tests/target/classes:$ROOT/engine/target/classes:$ROOT/native-shims/target/classes"
cd "$ROOT"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dbasalt.home="$ROOT" -cp "$CP" io.basalt.qemu.VhostBench "$@"
