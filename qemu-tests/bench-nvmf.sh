#!/usr/bin/env bash
# Basalt's NVMe/TCP target against qemu-nbd, both serving one image to one QEMU guest over its user-mode network
# (fio 4k randread/randwrite QD32, 1M read/write QD4, alternated per round): IOPS, MiB/s, CPU per I/O and ratios.
# Builds what it needs (mvn package, never install); the build and launch are bench-vhost.sh's.
#   qemu-tests/bench-nvmf.sh --quick --rounds 5          # (also: ./basalt bench nvmf --quick --rounds 5)
#   qemu-tests/bench-nvmf.sh --help                      # the options: bench's NvmfBenchCommand (picocli)
set -euo pipefail
BENCH_MAIN=NvmfBench exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-vhost.sh" "$@"
