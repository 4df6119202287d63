#!/usr/bin/env python3
"""How long one `./basalt rpc drive_list` takes, launcher included, against a daemon of its own.

  scripts/rpc-latency.py [RUNS]      (default 20; ./basalt build first)

Starts `basalt serve` on a memory drive in a temp folder, then alternates the call with a bare `java -version`
of the same JDK (the floor no Java client goes under, and a gauge of how busy the machine is), RUNS pairs.
Prints both medians with their spread and CPU time (user+sys), and each pair's difference. Issue 9's goal:
the call's median under 200 ms (docs/decisions.md, 25).
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def summary(name, values):
    values = sorted(values)
    return f"{name}: median {statistics.median(values):.0f} ms (min {values[0]:.0f}, max {values[-1]:.0f})"


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    work = tempfile.mkdtemp(prefix="basalt-rpc-latency.")
    env = dict(os.environ, BASALT_NO_BUILD="1")
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump([{"method": "drive_create", "params": {"name": "m0", "spec": "memory:16M"}}], f)
    daemon = subprocess.Popen([os.path.join(ROOT, "basalt"), "serve", "--data-dir", work, "--config", config, "--reactors", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        call = [os.path.join(ROOT, "basalt"), "rpc", "--data-dir", work, "drive_list"]
        deadline = time.time() + 60
        while subprocess.run(call, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            if time.time() > deadline or daemon.poll() is not None:
                sys.exit("rpc-latency: the daemon did not answer within 60 s")
            time.sleep(0.2)
        java = os.path.join(env.get("JAVA_HOME") or find_jdk(), "bin", "java")
        for _ in range(3):
            timed(call, env)  # page cache, the archive check
        rpc_wall, rpc_cpu, jvm_wall, diffs = [], [], [], []
        for _ in range(runs):
            w, c = timed(call, env)
            j, _ = timed([java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-version"], env)
            rpc_wall.append(w)
            rpc_cpu.append(c)
            jvm_wall.append(j)
            diffs.append(w - j)
        print(f"{runs} pairs, load average {os.getloadavg()[0]:.2f}")
        print(summary("./basalt rpc drive_list, wall", rpc_wall))
        print(summary("./basalt rpc drive_list, CPU", rpc_cpu))
        print(summary("java -version, wall", jvm_wall))
        print(summary("rpc minus java -version, per pair", diffs))
    finally:
        daemon.terminate()
        daemon.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def find_jdk():
    """The newest JDK >= 25 in /usr/lib/jvm, as the launcher picks it."""
    best, best_major = None, 0
    for d in sorted(os.listdir("/usr/lib/jvm")):
        release = os.path.join("/usr/lib/jvm", d, "release")
        if not os.path.isfile(release):
            continue
        for line in open(release):
            if line.startswith("JAVA_VERSION="):
                major = int(line.split('"')[1].split(".")[0])
                if major >= 25 and major > best_major:
                    best, best_major = os.path.join("/usr/lib/jvm", d), major
    if best is None:
        sys.exit("rpc-latency: no JDK 25 in /usr/lib/jvm")
    return best


if __name__ == "__main__":
    main()
