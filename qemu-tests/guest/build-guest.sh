#!/usr/bin/env bash
# Builds the test guest from Debian packages, into a cache outside git, and prints where it is:
#   kver=6.1.0-56-amd64
#   kernel=/…/.build/guest/kernel-6.1.0-56-amd64/vmlinux-6.1.0-56-amd64   (boot/vmlinuz-… when no PVH vmlinux)
#   initrd=/…/.build/guest/initramfs-6.1.0-56-amd64-<hash>.cpio
# Reruns reuse the cache: the kernel is keyed by its version, the initramfs by the kernel version plus a hash of
# this script and of the tools packed into it. Nothing is installed on the host.
#
#   build-guest.sh [CACHE_DIR]        (default: <repo>/.build/guest; env BASALT_GUEST_CACHE overrides too)
#
# The initramfs: static busybox, kernel modules (closure of MODULES below, loadable in the guest with
# `loadmod NAME...`, which also honours soft dependencies such as crc32c before libcrc32c), fio, nvme-cli and mdadm
# with the libraries ldd names (dynamic loader included), and /init (see INIT below), which runs the test script
# passed by QEMU as fw_cfg opt/basalt/test.sh and leaves QEMU through isa-debug-exit with the script's status.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${1:-${BASALT_GUEST_CACHE:-$ROOT/.build/guest}}"
SELF="${BASH_SOURCE[0]}"
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "build-guest: $*" >&2; exit 1; }
log() { [ -n "${BASALT_GUEST_QUIET:-}" ] || echo "build-guest: $*" >&2; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Modules packed into the initramfs (with their dependencies). /init loads BOOT_MODULES; tests load the rest.
MODULES="virtio_pci virtio_blk virtio_net virtio_scsi qemu_fw_cfg 9p 9pnet_virtio virtiofs loop
  nvme nvme-core nvme-fabrics nvme-tcp nvmet nvmet-tcp crc32c_generic crc32c-intel
  md-mod raid0 raid1 raid10 raid456 linear nbd vfio vfio-pci vfio_iommu_type1 ext4"
BOOT_MODULES="virtio_pci virtio_blk virtio_net qemu_fw_cfg"
# util-linux blkdiscard: busybox's has no -z (WRITE ZEROES); call it as /usr/sbin/blkdiscard (busybox's is /bin's).
# e2fsprogs mke2fs (also as /usr/sbin/mkfs.ext4, with /etc/mke2fs.conf) and util-linux fstrim: a file system on a
# disk, its discards at mkfs time and on demand.
TOOLS="/usr/bin/fio /usr/sbin/nvme /usr/sbin/mdadm /usr/sbin/blkdiscard /usr/sbin/mke2fs /usr/sbin/fstrim /usr/sbin/nbd-client"

for t in apt-get apt-cache dpkg depmod modprobe cpio ldd; do
  command -v "$t" >/dev/null 2>&1 || die "missing '$t' on the host: run scripts/install-deps.sh (./basalt test does)"
done
for t in $TOOLS /bin/busybox; do [ -x "$t" ] || die "missing $t on the host: run scripts/install-deps.sh"; done

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "timed out waiting for another build holding $CACHE/.lock"

# --- the kernel: the version linux-image-amd64 depends on, unpacked, never installed ---
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
KPKG="$(kpkg)"
if [ -z "$KPKG" ]; then
  log "apt lists have no linux-image-amd64; running apt-get update"
  apt-get update -qq >/dev/null 2>&1 || true
  KPKG="$(kpkg)"
fi
[ -n "$KPKG" ] || die "apt-cache depends linux-image-amd64 names no versioned kernel package (apt sources?)"
KVER="${KPKG#linux-image-}"
KDIR="$CACHE/kernel-$KVER"
if [ ! -f "$KDIR/.done" ]; then
  t0=$(date +%s.%N)
  rm -rf "$KDIR" "$CACHE/dl"; mkdir -p "$CACHE/dl"
  (cd "$CACHE/dl" && apt-get download -q "$KPKG" >/dev/null 2>&1) \
    || die "apt-get download $KPKG failed (network or apt sources?)"
  t1=$(date +%s.%N)
  dpkg -x "$CACHE"/dl/"$KPKG"_*.deb "$KDIR"
  depmod -b "$KDIR" "$KVER"
  rm -rf "$CACHE/dl"
  touch "$KDIR/.done"
  log "kernel $KVER: download $(secs "$t0" "$t1") s, unpack+depmod $(secs "$t1" "$(date +%s.%N)") s"
fi
KERNEL="$KDIR/boot/vmlinuz-$KVER"
[ -f "$KERNEL" ] || die "no $KERNEL in $KPKG"

# --- the same kernel uncompressed (vmlinux), booted through its PVH entry point ---
# QEMU loads an ELF kernel with a PVH note straight into guest memory: no SeaBIOS real-mode setup code and no xz
# decompression on the emulated CPU, which is most of a TCG boot (measured: 7.0 s -> 3.5 s per boot+exit). Debian's
# kernel is xz-compressed and has CONFIG_PVH=y. Anything else keeps the bzImage (log says why).
extract_vmlinux() {
  local out="$1" off
  grep -q '^CONFIG_PVH=y' "$KDIR/boot/config-$KVER" 2>/dev/null || { log "no CONFIG_PVH=y in $KPKG: booting the bzImage"; return 1; }
  command -v xz >/dev/null 2>&1 || { log "no xz on the host: booting the bzImage"; return 1; }
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KERNEL" | cut -d: -f1); do
    # xz stops with an error at the bzImage's trailing bytes after the stream: the ELF header decides.
    tail -c +$((off + 1)) "$KERNEL" | xz -dcq >"$out.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then mv "$out.tmp" "$out"; return 0; fi
  done
  rm -f "$out.tmp"; log "no xz-compressed ELF found in $KERNEL: booting the bzImage"; return 1
}
VMLINUX="$KDIR/vmlinux-$KVER"
if [ ! -f "$VMLINUX" ] && [ ! -f "$KDIR/.no-vmlinux" ]; then
  t0=$(date +%s.%N)
  if extract_vmlinux "$VMLINUX"; then log "vmlinux $(du -m "$VMLINUX" | cut -f1) MB: $(secs "$t0" "$(date +%s.%N)") s"
  else touch "$KDIR/.no-vmlinux"; fi
fi
BOOT_KERNEL="$KERNEL"
[ -f "$VMLINUX" ] && BOOT_KERNEL="$VMLINUX"

# --- the initramfs, keyed by kernel, this script and the tools' binaries ---
HASH="$( (cat "$SELF"; md5sum /bin/busybox $TOOLS) | md5sum | cut -c1-12)"
COMPRESS=""   # uncompressed boots fastest under TCG (no decompression on an emulated CPU); set lz4 to try it
[ "${BASALT_GUEST_LZ4:-}" = 1 ] && command -v lz4 >/dev/null 2>&1 && COMPRESS=lz4
INITRD="$CACHE/initramfs-$KVER-$HASH.cpio${COMPRESS:+.lz4}"
if [ ! -f "$INITRD" ]; then
  t0=$(date +%s.%N)
  STAGE="$CACHE/stage-$$"
  rm -rf "$STAGE"; mkdir -p "$STAGE"
  trap 'rm -rf "$STAGE"' EXIT
  (cd "$STAGE" && mkdir -p bin sbin usr/bin usr/sbin lib lib64 etc proc sys dev tmp run var/run mnt root \
     etc/basalt/modules "lib/modules/$KVER")
  cp /bin/busybox "$STAGE/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$STAGE/bin/$applet"
  done

  # Modules: the closure of MODULES, as modprobe resolves it (hard and soft dependencies, in load order),
  # ignoring the host's /etc/modprobe.d (-C /dev/null). One load list per module: /etc/basalt/modules/NAME.
  MDIR="$KDIR/lib/modules/$KVER"
  for m in $MODULES; do
    deps="$(modprobe -C /dev/null -d "$KDIR" -S "$KVER" --show-depends "$m" 2>/dev/null)" \
      || die "module $m is not in $KPKG"
    : >"$STAGE/etc/basalt/modules/$m"
    while read -r kind path _; do
      [ "$kind" = insmod ] || continue      # "builtin NAME" lines need nothing
      rel="${path#"$KDIR"}"
      if [ ! -f "$STAGE$rel" ]; then mkdir -p "$(dirname "$STAGE$rel")"; cp "$path" "$STAGE$rel"; fi
      grep -qxF "$rel" "$STAGE/etc/basalt/modules/$m" || echo "$rel" >>"$STAGE/etc/basalt/modules/$m"
    done <<<"$deps"
  done
  cp "$MDIR"/modules.builtin "$MDIR"/modules.builtin.modinfo "$MDIR"/modules.order "$STAGE/lib/modules/$KVER/" 2>/dev/null || true
  depmod -b "$STAGE" "$KVER"    # so busybox modprobe works too (it ignores soft dependencies: prefer loadmod)

  # Tools with their libraries, at the paths ldd prints (the loader at its absolute path).
  for tool in $TOOLS; do
    mkdir -p "$STAGE$(dirname "$tool")"; cp "$tool" "$STAGE$tool"
    for lib in $(ldd "$tool" | awk '/=> \// {print $3} /^[ \t]*\// {print $1}'); do
      [ -f "$STAGE$lib" ] && continue
      mkdir -p "$STAGE$(dirname "$lib")"; cp -L "$lib" "$STAGE$lib"
    done
  done
  echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
  echo "root:x:0:" >"$STAGE/etc/group"
  mkdir -p "$STAGE/etc/nvme" "$STAGE/etc/mdadm"
  ln -sf mke2fs "$STAGE/usr/sbin/mkfs.ext4"
  [ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$STAGE/etc/mke2fs.conf"
  echo "CREATE owner=root group=root mode=0600 auto=yes" >"$STAGE/etc/mdadm/mdadm.conf"

  cat >"$STAGE/bin/loadmod" <<'LOADMOD'
#!/bin/sh
# loadmod NAME...: loads modules with their dependencies, in the order modprobe computed on the host.
rc=0
for m in "$@"; do
  list=/etc/basalt/modules/$m
  [ -f "$list" ] || { echo "loadmod: $m is not in this initramfs (add it to MODULES in build-guest.sh)" >&2; rc=1; continue; }
  while read -r ko; do
    name=$(basename "$ko" .ko | tr - _)
    [ -d /sys/module/$name ] && continue
    insmod "$ko" || rc=1
  done <"$list"
done
exit $rc
LOADMOD
  chmod +x "$STAGE/bin/loadmod"

  cat >"$STAGE/init" <<INIT
#!/bin/sh
# Basalt test guest: load drivers, run the fw_cfg test script, report, leave QEMU with its status.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run; mount -t tmpfs shm /dev/shm
echo "BASALT-BOOT kernel=\$(uname -r) cpus=\$(nproc)"
loadmod $BOOT_MODULES
if [ -e /sys/class/net/eth0 ]; then   # -nic user: QEMU's slirp network, host loopback is 10.0.2.2
  ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
fi
ip link set lo up
FW=/sys/firmware/qemu_fw_cfg/by_name/opt/basalt
mkdir -p /tmp/basalt
for f in \$FW/files/*; do [ -r "\$f/raw" ] && cat "\$f/raw" >"/tmp/basalt/\$(basename "\$f")"; done 2>/dev/null
if [ -r \$FW/test.sh/raw ]; then
  cat \$FW/test.sh/raw >/tmp/test.sh
  echo "BASALT-START"
  (cd /tmp && sh /tmp/test.sh); rc=\$?
else
  echo "BASALT-ERROR no test script at \$FW/test.sh (QEMU -fw_cfg name=opt/basalt/test.sh,file=...)"; rc=125
fi
sync
echo "BASALT-EXIT rc=\$rc"
# isa-debug-exit at 0xf4: QEMU exits with (value << 1) | 1; one byte, so statuses above 127 become 127.
[ \$rc -gt 127 ] && rc=127
printf "\\\\\$(printf %03o \$rc)" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
echo "BASALT-ERROR isa-debug-exit did not stop QEMU (no -device isa-debug-exit,iobase=0xf4?)"
poweroff -f
INIT
  chmod +x "$STAGE/init"

  t1=$(date +%s.%N)
  tmp="$INITRD.tmp"
  if [ "$COMPRESS" = lz4 ]; then
    (cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet | lz4 -l -q -1 >"$tmp")
  else
    (cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet >"$tmp")
  fi
  mv "$tmp" "$INITRD"
  rm -rf "$STAGE"; trap - EXIT
  # Older initramfs builds for this kernel are stale now.
  find "$CACHE" -maxdepth 1 -name "initramfs-$KVER-*" ! -name "$(basename "$INITRD")" -delete
  log "initramfs $(du -m "$INITRD" | cut -f1) MB: stage $(secs "$t0" "$t1") s, cpio $(secs "$t1" "$(date +%s.%N)") s"
fi

echo "kver=$KVER"
echo "kernel=$BOOT_KERNEL"
echo "initrd=$INITRD"
