#!/usr/bin/env bash
# Builds the jmh module (its jar and its dependencies' classpath) and runs JMH benchmarks of Basalt's hot paths.
#   scripts/jmh.sh                              every benchmark, short run (-f 1 -wi 2 -i 3 -w 1s -r 1s)
#   scripts/jmh.sh ReactorCycle                 the benchmarks matching a regular expression
#   scripts/jmh.sh 'Xor|Raid5Layout' -f 2 -wi 5 -i 10      more arguments replace the default JMH options
#   scripts/jmh.sh -l                           list them (any argument starting with '-' goes to JMH as it is)
# Results: printed, and jmh/target/jmh-results.csv. Not part of ./basalt test (mvn verify compiles the module only).
# JMH_JAVA_OPTS=-Djmh.ignoreLock=true runs while another JMH holds /tmp/jmh.lock (figures then share the cores).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source <(sed -n '/^java_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
cd "$ROOT"
CP_FILE="$ROOT/jmh/target/runtime-classpath.txt"
# One reactor run; each module writes its own target/runtime-classpath.txt (a relative path is per module).
# Basalt's modules are reactor jars (nothing is installed into ~/.m2), JMH and its few dependencies come from ~/.m2.
mvn -B -ntp -q -Dstyle.color=never -pl jmh -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/runtime-classpath.txt -Dmdep.includeScope=runtime >&2 || die "build failed"
CP="$(ls "$ROOT"/jmh/target/basalt-jmh-*.jar | head -1):$(cat "$CP_FILE")"
REGEX=""
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then REGEX="$1"; shift; fi
# JMH refuses an option given twice, so arguments replace the defaults rather than add to them.
if [ $# -eq 0 ]; then set -- -f 1 -wi 2 -i 3 -w 1s -r 1s; fi
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow ${JMH_JAVA_OPTS:-} -cp "$CP" org.openjdk.jmh.Main ${REGEX:+"$REGEX"} \
  -rf csv -rff "$ROOT/jmh/target/jmh-results.csv" "$@" 2> >(grep -v --line-buffered 'Using incubator modules' >&2)
