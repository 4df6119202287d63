#!/usr/bin/env bash
# vhost-user-blk backends side by side from one QEMU guest (fio 4k randread/randwrite QD32, 1M read/write QD4):
# IOPS, bandwidth and each backend's CPU per I/O. Builds what it needs (mvn compile, never install).
#   qemu-tests/bench-vhost.sh                                  # Basalt and qemu-storage-daemon side by side, 20 s per job
#   qemu-tests/bench-vhost.sh --seconds 10 --rounds 2          # (also: ./basalt bench vhost --seconds 10 --rounds 2)
#   qemu-tests/bench-vhost.sh --qsd qsd-a --qsd qsd-b          # the reference against itself (noise floor)
#   qemu-tests/bench-vhost.sh --help                           # the options: bench's VhostBenchCommand (picocli)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source <(sed -n '/^java_major()/,/^}/p; /^jdk_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
# One reactor run: each module writes its own target/runtime-classpath.txt; Basalt's modules are left out of it
# (nothing is installed into ~/.m2) and come from their target/classes, picocli from ~/.m2.
(cd "$ROOT" && mvn -q -B -Dstyle.color=never -DskipTests package dependency:build-classpath -pl qemu-tests -am \
  -Dmdep.outputFile=target/runtime-classpath.txt -Dmdep.excludeGroupIds=io.basalt -Dmdep.includeScope=runtime) >&2 || die "build failed"
CP="$ROOT/qemu-tests/target/classes"
for m in bench nvmeof vhost raid engine native-shims; do CP="$CP:$ROOT/$m/target/classes"; done
CP="$CP:$(cat "$ROOT/qemu-tests/target/runtime-classpath.txt")"
cd "$ROOT"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Dbasalt.home="$ROOT" -cp "$CP" \
  "io.basalt.qemu.${BENCH_MAIN:-VhostBench}" "$@" 2> >(grep -v --line-buffered 'Using incubator modules' >&2)
