#!/usr/bin/env bash
# Builds the VM lane's guest into DIR: a Debian 12 root filesystem (debootstrap, Debian's own
# packages and kernel), packed as an ext4 image with `mkfs.ext4 -d` (no loop mount), plus the
# kernel and initrd to boot it with QEMU's -kernel/-initrd. The host's node binary is copied to
# /opt/lane-node/bin/node (Debian 12's own nodejs is 18; Locker needs 20.19+); it is deliberately
# not on the guest's PATH, so provisioning starts from a machine without a usable Node.
# Usage: scripts/vm/image.sh DIR NODE_BINARY LANE_INIT
set -euo pipefail
out=$1
node_bin=$2
lane_init=$3
mirror=${LOCKER_VM_MIRROR:-http://deb.debian.org/debian}
# What the runtime and its tests use in the guest (the same list as .ci/run, minus the browser and
# compiler: the project is built on the host and shared over 9p).
packages=linux-image-amd64,initramfs-tools,kmod,busybox-static,util-linux,procps,iproute2,nftables,tar,passwd,ca-certificates,curl,python3

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$out.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

echo "vm: debootstrap bookworm ($mirror) into $root"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
  tail -n 30 "$tmp/debootstrap.log" >&2
  echo "vm: debootstrap failed (log above); is $mirror reachable?" >&2
  exit 1
}

echo locker-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 locker-vm\n' >"$root/etc/hosts"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
install -D -m 0755 "$node_bin" "$root/opt/lane-node/bin/node"
install -D -m 0755 "$lane_init" "$root/usr/local/sbin/lane-init"
rm -f "$root"/var/cache/apt/archives/*.deb

cp "$root"/boot/vmlinuz-* "$tmp/vmlinuz"
cp "$root"/boot/initrd.img-* "$tmp/initrd.img"
# Sparse: 8 GiB of room for provisioning (chromium, node_modules); the lane boots it with
# -snapshot, so the cached image is never written.
mkfs.ext4 -q -F -L locker-vm -d "$root" "$tmp/rootfs.ext4" 8G

rm -rf "$out"
mkdir -p "$out"
mv "$tmp/vmlinuz" "$tmp/initrd.img" "$tmp/rootfs.ext4" "$out/"
echo "vm: image ready in $out ($(du -sh --apparent-size "$out/rootfs.ext4" | cut -f1) apparent, $(du -sh "$out/rootfs.ext4" | cut -f1) used)"
