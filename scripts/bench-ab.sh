#!/usr/bin/env bash
# A/B benchmark of two builds of Basalt, alternated: the same `basalt` CLI arguments run K times on each build,
# A then B then A ..., so a shared machine's drift hits both alike. Prints each run's output to OUT_DIR and the
# lines to compare. Builds are directories holding basalt-daemon-*.jar and lib/ (copy daemon/target/ of a build).
#
#   scripts/bench-ab.sh A_DIR B_DIR K OUT_DIR -- ARGS...      e.g.
#   scripts/bench-ab.sh /work/baseline daemon/target 10 /tmp/ab -- bench raid --members uring:/dev/zram1,... --json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 5 ] && [ "$5" = "--" ] || { sed -n '2,7p' "$0" >&2; exit 2; }
a_dir=$1; b_dir=$2; rounds=$3; out=$4; shift 5
args=("$@")
source <(sed -n '/^java_major()/,/^}/p; /^jdk_major()/,/^}/p; /^find_jdk()/,/^}/p; /^die()/p' "$ROOT/basalt")
find_jdk
mkdir -p "$out"
run() { # $1 build dir, $2 output file
  local jar; jar=$(ls "$1"/basalt-daemon-*.jar | grep -v -- -tests.jar | head -1)
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xss8m \
    -cp "$jar:$1/lib/*" io.basalt.daemon.Main "${args[@]}" >"$2" 2>"$2.err" || { echo "bench-ab: run failed, see $2.err" >&2; exit 1; }
}
for ((i = 1; i <= rounds; i++)); do
  run "$a_dir" "$out/a-$i.out"
  run "$b_dir" "$out/b-$i.out"
  echo "bench-ab: round $i of $rounds done" >&2
done
# Per-pair ratios B/A of every JSON run line (bench raid's and bench's --json output), median and spread.
python3 - "$out" "$rounds" <<'PY'
import json, sys, statistics, collections
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(path):
    f = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith('{'): continue
        o = json.loads(line)
        r = o.get('result', o if 'iops' in o else None)
        if r is None: continue
        key = f"{o.get('what', r.get('target'))} {r['rw']} {r['bs']}"
        f[key] = r['bandwidth_bytes_per_sec'] if r['bs'] >= 65536 else r['iops']
    return f
ratios = collections.defaultdict(list); a_all = collections.defaultdict(list); b_all = collections.defaultdict(list)
for i in range(1, rounds + 1):
    a, b = figures(f'{out}/a-{i}.out'), figures(f'{out}/b-{i}.out')
    for k in a:
        if k in b and a[k] > 0:
            ratios[k].append(b[k] / a[k]); a_all[k].append(a[k]); b_all[k].append(b[k])
print(f"{'run':<58} {'A median':>12} {'B median':>12} {'B/A median':>10}  spread (min-max of {rounds} pairs)")
for k, r in ratios.items():
    print(f"{k:<58} {statistics.median(a_all[k]):>12.1f} {statistics.median(b_all[k]):>12.1f} {statistics.median(r):>10.3f}  {min(r):.3f}-{max(r):.3f}")
PY
