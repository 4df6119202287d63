#!/usr/bin/env bash
# Installs what Basalt's build and tests need, when missing, from Debian packages (one apt-get call).
# Fast when everything is present: only `command -v` and file tests, no apt or dpkg queries.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have mvn || need+=(maven)
have gcc || need+=(gcc)
have fio || need+=(fio)
[ -f /usr/include/linux/io_uring.h ] || need+=(linux-libc-dev)
# QEMU guests (qemu-tests/): the emulator, the reference vhost-user-blk backend (qemu-storage-daemon is in
# qemu-system-common, pulled by qemu-system-x86), qemu-img, and what the guest builder packs into the initramfs.
have qemu-system-x86_64 || need+=(qemu-system-x86)
have qemu-storage-daemon || need+=(qemu-system-common)
have qemu-img || need+=(qemu-utils)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx ash && [ -z "$(ldd /bin/busybox 2>/dev/null | grep '=>')" ] \
  || need+=(busybox-static)
have nvme || need+=(nvme-cli)
# The NVMe/TCP benchmark compares against qemu-nbd, which a guest reaches with nbd-client (packed into the guest).
[ -x /usr/sbin/nbd-client ] || [ -x /sbin/nbd-client ] || need+=(nbd-client)
have mdadm || [ -x /sbin/mdadm ] || need+=(mdadm)
have depmod || [ -x /sbin/depmod ] || need+=(kmod)
have cpio || need+=(cpio)
[ -x /usr/sbin/mke2fs ] || need+=(e2fsprogs)
[ -x /usr/sbin/fstrim ] || need+=(util-linux)
have lz4 || need+=(lz4)
# The Prometheus endpoint test (daemon MetricsEndpointTest) parses /metrics with the reference Python parser
# (Debian's python3-prometheus-client, for the system /usr/bin/python3 whatever python3 is first on PATH).
/usr/bin/python3 -c "import prometheus_client" 2>/dev/null || need+=(python3-prometheus-client)
# The S3 service's tests (objectlayer/) drive it with real clients of two generations: Debian's (the older: AWS CLI
# 2.9 at /usr/bin/aws, boto3 1.26 for /usr/bin/python3, no checksum trailers) installed here whatever else is on PATH,
# and a newer aws/boto3 on PATH when there is one (pyenv's or pip's; tested when present, never installed here); and
# s3cmd. With no aws on PATH at all the Debian one serves both (scripts/e2e/serve-smoke.sh runs `aws`).
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c "import boto3" 2>/dev/null || need+=(python3-boto3)
have s3cmd || need+=(s3cmd)
# basalt bench objects: nginx serves GETs of the same files (Debian puts it in /usr/sbin), wrk drives them.
have nginx || [ -x /usr/sbin/nginx ] || need+=(nginx)
have wrk || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "install-deps: installing ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  have sudo || { echo "install-deps: need root (or sudo) to install ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
