#!/usr/bin/env python3
"""Alternated A/B pairs of two `basalt bench` command lines on one build, for a setting's effect.

    scripts/bench-pairs.py K 'ARGS A' 'ARGS B' [--env-a 'K=V ...'] [--env-b 'K=V ...']

Runs `./basalt ARGS --json` A, B, A, B ... K times each (shared machines drift: alternate, repeat, take medians)
and prints each pair's B/A ratios of IOPS and CPU per I/O, then their median with min-max. Example:

    scripts/bench-pairs.py 10 'bench --target uring:/dev/zram1 --seconds 2' \\
                              'bench --target uring:/dev/zram1 --seconds 2 --submit-batch 1024'
"""
import json, os, shlex, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def run(args, env_extra):
    env = dict(os.environ)
    for kv in shlex.split(env_extra or ''):
        k, v = kv.split('=', 1)
        env[k] = v
    out = subprocess.run([os.path.join(ROOT, 'basalt')] + shlex.split(args) + ['--json'], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench-pairs: failed ({out.returncode}): {args}\n{out.stderr[-2000:]}")
    runs = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
    r = [o for o in runs if 'iops' in o][-1]
    return r['iops'], r['cpu_seconds_per_io'], r['latency_ns']['p99'], r['latency_ns']['p999']

def main():
    argv = sys.argv[1:]
    env = {'a': None, 'b': None}
    for side in ('a', 'b'):
        flag = f'--env-{side}'
        if flag in argv:
            i = argv.index(flag)
            env[side] = argv[i + 1]
            del argv[i:i + 2]
    if len(argv) != 3:
        sys.exit(__doc__)
    k, a, b = int(argv[0]), argv[1], argv[2]
    ratios = {'iops': [], 'cpu/io': [], 'p99': [], 'p999': []}
    print(f"{'pair':>4} {'A IOPS':>10} {'B IOPS':>10} {'B/A IOPS':>9} {'B/A cpu/io':>10} {'B/A p99':>8} {'B/A p999':>8}")
    for i in range(1, k + 1):
        ra = run(a, env['a'])
        rb = run(b, env['b'])
        pair = [rb[0] / ra[0], rb[1] / ra[1], rb[2] / max(ra[2], 1), rb[3] / max(ra[3], 1)]
        for key, v in zip(ratios, pair):
            ratios[key].append(v)
        print(f"{i:>4} {ra[0]:>10.0f} {rb[0]:>10.0f} {pair[0]:>8.3f}x {pair[1]:>9.3f}x {pair[2]:>7.3f}x {pair[3]:>7.3f}x", flush=True)
    for key, v in ratios.items():
        print(f"B/A {key:<7} median {statistics.median(v):.3f}x  min {min(v):.3f}x  max {max(v):.3f}x  ({k} pairs)")

main()
