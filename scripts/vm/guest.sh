#!/bin/bash
# Runs inside the VM lane's guest as PID 1 (started by lane-init from the 9p share). Sets up what
# systemd would on a pure cgroup v2 Debian 12 machine, then runs one mode (locker.mode= on the
# kernel command line):
#   test       the cgroup v2 tests with the host's node (LOCKER_EXPECT_CGROUP=v2: no silent skips)
#   provision  vagrant/provision.sh as Vagrant would run it, then locker run, a rootless run and web mode
# The last line on the serial console is LOCKER-VM-EXIT=<status>; scripts/vm/lane.sh exits with it.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
arg() { sed -n "s/.*locker\\.$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline; }
repo=$(arg repo)
mode=$(arg mode)

finish() {
  echo "LOCKER-VM-EXIT=$1"
  sync
  busybox poweroff -f
  exit "$1" # poweroff failed: PID 1 exits, the kernel panics and QEMU (-no-reboot) ends
}
trap 'finish 125' ERR

mount -o remount,rw /
# mnt FSTYPE OPTIONS TARGET, unless the initramfs already mounted something there.
mnt() { mkdir -p "$3" && { mountpoint -q "$3" || mount -t "$1" -o "$2" "$1" "$3"; }; }
mnt devpts gid=5,mode=620,ptmxmode=666 /dev/pts
mnt tmpfs mode=1777 /dev/shm
mnt tmpfs mode=1777 /tmp
mnt tmpfs mode=755 /run
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname -F /etc/hostname
ip link set lo up

# Pure cgroup v2 (the kernel runs with cgroup_no_v1=all), mounted and delegated as systemd does:
# the controllers enabled for the root's children, this script in init.scope.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
echo '+cpu +memory +pids' >/sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/init.scope
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
trap - ERR

echo "vm: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
echo "vm: /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup); controllers: $(cat /sys/fs/cgroup/cgroup.controllers); enabled for children: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "vm: cgroup v1 mounts: $(grep -c ' - cgroup ' /proc/self/mountinfo || true)"

network() {
  modprobe virtio_net
  local dev path
  for path in /sys/class/net/*; do [ "${path##*/}" = lo ] || dev=${path##*/}; done
  # QEMU user networking: the guest is 10.0.2.15, the gateway 10.0.2.2, the DNS proxy 10.0.2.3.
  ip link set "$dev" up
  ip addr add 10.0.2.15/24 dev "$dev"
  ip route add default via 10.0.2.2
  echo 'nameserver 10.0.2.3' >/etc/resolv.conf
  echo "vm: network on $dev"
}

case "$mode" in
test)
  ln -sf /opt/lane-node/bin/node /usr/local/bin/node
  echo "vm: node $(node --version) (the host's binary); tests from $repo"
  cd "$repo" || finish 125
  start=$(date +%s)
  LOCKER_EXPECT_CGROUP=v2 LOCKER_TEST_TIME_SCALE=10 node scripts/test.mjs runtime/cgroups/ cli/limits.test runtime/spare.test
  status=$?
  echo "vm: tests took $(($(date +%s) - start)) s"
  echo "vm: OOM kills the guest kernel logged: $(dmesg | grep -c 'Killed process' || true); cgroups left under /sys/fs/cgroup/locker: $(find /sys/fs/cgroup/locker -mindepth 1 -type d 2>/dev/null | wc -l)"
  finish "$status"
  ;;
provision)
  network
  bash "$repo/scripts/vm/provision-check.sh" "$repo"
  finish $?
  ;;
*)
  echo "vm: unknown locker.mode=$mode"
  finish 2
  ;;
esac
