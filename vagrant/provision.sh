#!/usr/bin/env bash
# Provisions a Debian 12 or Ubuntu 24.04 VM for Locker classes: Node, the packages the runtime
# and tests use, Locker itself under /opt/locker, and a user namespace policy that lets
# ordinary users run rootless containers.
set -euo pipefail

src="${LOCKER_SRC:-/opt/locker-src}"
dest=/opt/locker
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  ca-certificates curl git build-essential python3 busybox-static bubblewrap runc util-linux \
  iproute2 procps tar xvfb chromium nodejs npm

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "locker: Node $node_major is too old; Locker needs Node 20.19 or newer (install it from your distribution's backports or nodesource)" >&2
  exit 1
fi

rm -rf "$dest"
cp -a "$src" "$dest"
cd "$dest"
npm ci --no-audit --no-fund

# Ubuntu 23.10+ restricts unprivileged user namespaces through AppArmor. Allow them for Locker's
# node only, the way Ubuntu ships profiles for browsers, instead of turning the restriction off.
if [ -f /proc/sys/kernel/apparmor_restrict_unprivileged_userns ] && [ -d /etc/apparmor.d ]; then
  node_bin=$(readlink -f "$(command -v node)")
  cat > /etc/apparmor.d/locker <<PROFILE
abi <abi/4.0>,
include <tunables/global>

profile locker ${node_bin} flags=(unconfined) {
  userns,
  include if exists <local/locker>
}
PROFILE
  apparmor_parser -r /etc/apparmor.d/locker
fi

# Debian kernels before 6.1 gate user namespaces behind this sysctl.
if [ -f /proc/sys/kernel/unprivileged_userns_clone ]; then
  sysctl -w kernel.unprivileged_userns_clone=1
  echo 'kernel.unprivileged_userns_clone=1' > /etc/sysctl.d/90-locker.conf
fi

ln -sf "$dest/bin/locker" /usr/local/bin/locker
echo "Locker is installed in $dest. Try: locker run -- sh   (or: cd $dest && npm start)"
