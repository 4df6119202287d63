#!/usr/bin/env bash
# Builds jmh and runs the parity benchmarks on one thread; prints GB/s per core.
#   raid/bench-xor.sh                 short run (-f 1 -wi 2 -i 3 -w 1s -r 1s)
#   raid/bench-xor.sh -f 1 -wi 3 -i 10 -w 1s -r 2s   arguments, if any, replace the default JMH options
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "bench-xor: JAVA_HOME must be a JDK 25" >&2; exit 1; }
cd "$ROOT"
CP_FILE="$ROOT/jmh/target/classpath.txt"
# One reactor run: each module writes CP_FILE, jmh (built last) wins. Basalt's own modules come from
# their target/classes (nothing is installed into ~/.m2).
mvn -B -ntp -q -pl jmh -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.excludeGroupIds=io.basalt -Dmdep.includeScope=runtime
CP="$ROOT/jmh/target/classes:$ROOT/raid/target/classes:$ROOT/engine/target/classes"
CP="$CP:$ROOT/native-shims/target/classes:$(cat "$CP_FILE")"
OUT="$ROOT/jmh/target/xor-results.csv"
# JMH refuses an option given twice, so arguments replace the defaults rather than add to them.
if [ $# -eq 0 ]; then set -- -f 1 -wi 2 -i 3 -w 1s -r 1s; fi
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -cp "$CP" \
  org.openjdk.jmh.Main 'io.basalt.raid.jmh.XorBenchmark' -t 1 \
  -rf csv -rff "$OUT" "$@"
# ops/s -> GB/s (10^9 bytes) of destination written; 4-into-1 also shows the sources read.
echo
echo "benchmark                        written GB/s   (sources read GB/s)"
awk -F, 'NR > 1 {
  name = $1; gsub(/"/, "", name); sub(/.*\./, "", name); ops = $5; err = $6
  bytes = (name ~ /^parity4x64KiB/) ? 65536 : 4096
  line = sprintf("%-32s %8.1f +- %.1f", name, ops * bytes / 1e9, err * bytes / 1e9)
  if (name ~ /^parity4x64KiB/) line = line sprintf("   (%.1f)", 4 * ops * bytes / 1e9)
  print line
}' "$OUT"
