#!/usr/bin/env bash
# `npm run test:vm`: the cgroup v2 tests inside a throwaway pure-cgroup-v2 Debian 12 guest.
# `npm run test:vm -- --provision`: vagrant/provision.sh inside such a guest (with network), then
#   locker run, a rootless run and web mode there (slow: tens of minutes under TCG; not in CI).
# The guest image is built once with Debian's packages and cached in $LOCKER_VM_CACHE
# (default ~/.cache/locker-vm), under a name derived from its recipe and the host's node, so a
# changed recipe builds a new one. QEMU boots it with -snapshot (the cached image is never
# written), TCG (this machine kind's /dev/kvm cannot run a stock kernel; LOCKER_VM_ACCEL=kvm to
# try), 2 vCPUs, 2 GiB, serial console on stdout, and a hard timeout that kills it.
# A snapshot of the project (already built on the host) is shared read-only over 9p at /lane/locker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode='test'
timeout_s=${LOCKER_VM_TIMEOUT:-900}
case "${1:-}" in
'') ;;
--provision) mode=provision timeout_s=${LOCKER_VM_TIMEOUT:-10800} ;;
*) echo "usage: npm run test:vm [-- --provision]" >&2; exit 2 ;;
esac

for tool in qemu-system-x86_64 debootstrap mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "test:vm: $tool is missing; install it: apt-get install qemu-system-x86 debootstrap e2fsprogs" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "test:vm: run as root (debootstrap needs it, and the tests run as root in the guest)" >&2; exit 2; }
if [ "$mode" = test ]; then
  for built in build/app/main/cli/main.js native/build/libnsexec.so node_modules/koffi; do
    [ -e "$repo/$built" ] || { echo "test:vm: $built is missing; build the project on the host first (npm ci, or npm run build)" >&2; exit 2; }
  done
fi

node_bin=$(node -p process.execPath)
cache=${LOCKER_VM_CACHE:-$HOME/.cache/locker-vm}
key=$( { cat "$here/image.sh" "$here/lane-init"; "$node_bin" --version; } | sha256sum | cut -c1-16)
image=$cache/debian12-$key
if [ ! -f "$image/rootfs.ext4" ]; then
  t0=$(date +%s)
  bash "$here/image.sh" "$image" "$node_bin" "$here/lane-init"
  echo "test:vm: image built in $(($(date +%s) - t0)) s"
  # Older recipes' images are never used again.
  find "$cache" -mindepth 1 -maxdepth 1 -name 'debian12-*' ! -name "debian12-$key" -exec rm -rf {} +
fi

accel=${LOCKER_VM_ACCEL:-tcg}
[ "$accel" = tcg ] && accel=tcg,thread=multi
net=(-nic none)
[ "$mode" = provision ] && net=(-nic 'user,model=virtio-net-pci')
log=$(mktemp /tmp/locker-vm-console.XXXXXX)
# The guest sees a snapshot, not the live checkout: a build or edit on the host while the guest
# runs (minutes under TCG) must not hand it half-written files. Sources as git lists them (what
# Vagrant's rsync would copy); for the tests also the build and node_modules (hard links: fast).
share=$(mktemp -d /tmp/locker-vm-share.XXXXXX)
trap 'rm -f "$log"; rm -rf "$share"' EXIT
if [ "$mode" = provision ] && git -C "$repo" rev-parse -q --verify HEAD >/dev/null; then
  # Provisioning installs what a clone holds: the last commit, not edits in progress.
  git -C "$repo" archive HEAD | tar -C "$share" -xf -
else
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp -a --parents -t "$share" 2>/dev/null) ||
    (cd "$repo" && tar --exclude=./node_modules --exclude=./build --exclude=./native/build -cf - . | tar -C "$share" -xf -)
fi
if [ "$mode" = test ]; then
  mkdir -p "$share/native"
  cp -a "$repo/build" "$share/build"
  cp -a "$repo/native/build" "$share/native/build"
  cp -al "$repo/node_modules" "$share/node_modules" 2>/dev/null || cp -a "$repo/node_modules" "$share/node_modules"
fi
if [ "$mode" = provision ]; then
  # Certificate authorities this host trusts beyond Debian's (a school's or company's TLS-inspecting
  # proxy): the guest reaches the same mirrors through the same proxy, so it must trust them too.
  mkdir -p "$share/.lane-ca"
  find /usr/local/share/ca-certificates -maxdepth 2 -name '*.crt' -exec cp -t "$share/.lane-ca" {} + 2>/dev/null || true
fi
chmod 755 "$share"

echo "test:vm: booting $image ($mode, accel $accel, timeout ${timeout_s}s)"
t0=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  -accel "$accel" -cpu max -smp 2 -m 2048 \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 panic=1 loglevel=2 cgroup_no_v1=all init=/usr/local/sbin/lane-init locker.repo=/lane/locker locker.mode=$mode" \
  -drive "file=$image/rootfs.ext4,format=raw,if=virtio" -snapshot \
  -virtfs "local,path=$share,mount_tag=locker,security_model=none,readonly=on" \
  "${net[@]}" -display none -vga none -serial stdio -monitor none -no-reboot \
  </dev/null 2>&1 | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e
echo "test:vm: the guest ran for $(($(date +%s) - t0)) s"
status=$(tr -d '\r' <"$log" | sed -n 's/^LOCKER-VM-EXIT=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$status" ]; then
  [ "$qemu_status" = 124 ] && echo "test:vm: killed QEMU after ${timeout_s}s (LOCKER_VM_TIMEOUT)" >&2
  echo "test:vm: the guest ended without reporting a status (QEMU exit $qemu_status); see the console output above" >&2
  exit 1
fi
exit "$status"
