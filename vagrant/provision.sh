#!/usr/bin/env bash
# Provisions a Debian 12 or Ubuntu 24.04 VM for Locker classes: Node, the packages the runtime
# and tests use, Locker itself under /opt/locker, and a user namespace policy that lets
# ordinary users run rootless containers. Needs internet access to the distribution's mirror
# and to the npm registry (which `npm ci` needs anyway).
set -euo pipefail

src="${LOCKER_SRC:-/opt/locker-src}"
dest=/opt/locker
# Node from the npm registry, version pinned, checked against the registry's sha512: both
# distributions ship Node 18 (too old), and the registry is the one server `npm ci` needs anyway.
node_version="${LOCKER_NODE_VERSION:-20.20.2}"
npm_version="${LOCKER_NPM_VERSION:-11.19.1}"
registry="${npm_config_registry:-https://registry.npmjs.org}"
registry="${registry%/}"
export DEBIAN_FRONTEND=noninteractive
export PATH="/usr/local/bin:$PATH"
# shellcheck source=/dev/null
. /etc/os-release

# What the CLI, web mode (the classroom's main path: the host's browser on the forwarded port) and
# rootless containers need. LOCKER_DESKTOP=1 adds the desktop window's and the e2e tests' share:
# Electron's libraries (through chromium's dependencies on Debian) and xvfb, a few hundred MB more.
packages=(ca-certificates curl git build-essential python3 busybox-static bubblewrap runc util-linux iproute2 procps tar nftables passt)
desktop="${LOCKER_DESKTOP:-0}"
case "$desktop" in 0 | 1) ;; *) echo "locker: LOCKER_DESKTOP must be 0 or 1, not '$desktop'" >&2; exit 2 ;; esac
case "${ID:-}" in
debian) [ "$desktop" = 1 ] && packages+=(xvfb chromium) ;; # the e2e tests drive Debian's chromium
ubuntu)
  packages+=(apparmor)
  # Ubuntu ships chromium only as a snap: the e2e needs `npx playwright install chromium`
  [ "$desktop" = 1 ] && packages+=(xvfb libgtk-3-0t64 libnss3 libgbm1 libasound2t64)
  ;;
*) echo "locker: provisioning is written for Debian 12 and Ubuntu 24.04, not ${PRETTY_NAME:-this system}; continuing" >&2 ;;
esac
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

# Whether `node` on PATH is at least 20.19 (what package.json's engines asks for).
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

# Downloads NAME@VERSION's tarball from the registry into DIR/NAME.tgz, verified against dist.integrity.
fetch_package() {
  local name=$1 version=$2 dir=$3 meta url integrity want got
  meta=$(curl -fsSL --retry 3 "$registry/$name/$version") || { echo "locker: cannot reach $registry/$name/$version" >&2; return 1; }
  read -r url integrity < <(python3 -c 'import json, sys; d = json.load(sys.stdin)["dist"]; print(d["tarball"], d["integrity"])' <<<"$meta")
  curl -fsSL --retry 3 -o "$dir/$name.tgz" "$url"
  want=${integrity#sha512-}
  got=$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$dir/$name.tgz")
  [ "$got" = "$want" ] || { echo "locker: $name-$version.tgz does not match the registry's sha512; not installing it" >&2; return 1; }
}

install_node() {
  local arch tmp
  case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "locker: no Node build for $(uname -m) on the npm registry; install Node 20.19+ yourself and provision again" >&2; exit 1 ;;
  esac
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "locker: installing Node $node_version and npm $npm_version from $registry into /usr/local"
  fetch_package "node-linux-$arch" "$node_version" "$tmp"
  fetch_package npm "$npm_version" "$tmp"
  # The layout of nodejs.org's tarball: node and its headers under /usr/local, npm beside them.
  tar -xzf "$tmp/node-linux-$arch.tgz" -C "$tmp"
  install -m 0755 "$tmp/package/bin/node" /usr/local/bin/node
  mkdir -p /usr/local/include
  rm -rf /usr/local/include/node /usr/local/lib/node_modules/npm
  cp -r "$tmp/package/include/node" /usr/local/include/node
  mkdir -p /usr/local/lib/node_modules/npm /usr/local/etc
  tar -xzf "$tmp/npm.tgz" -C /usr/local/lib/node_modules/npm --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  # node-gyp (node-pty) builds against these headers instead of downloading them from nodejs.org.
  echo 'nodedir=/usr/local' >/usr/local/etc/npmrc
}

if node_ok; then
  echo "locker: using Node $(node --version) at $(command -v node)"
else
  install_node
  node_ok || { echo "locker: Node $(node --version 2>&1) is still too old after installing $node_version" >&2; exit 1; }
fi
echo "locker: Node $(node --version), npm $(npm --version)"

rm -rf "$dest"
cp -a "$src" "$dest"
cd "$dest"
# npm trusts Node's own CA list, not the system's: add the system store, so an authority the admin
# added with update-ca-certificates (a school's TLS-inspecting proxy) works for npm as for apt and curl.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
npm ci --no-audit --no-fund

# Ubuntu 23.10+ restricts unprivileged user namespaces through AppArmor. Allow them for the
# programs that run Locker's runtime (node for the CLI and web mode, Electron for the window),
# the way Ubuntu ships profiles for browsers, instead of turning the restriction off.
if [ -f /proc/sys/kernel/apparmor_restrict_unprivileged_userns ] && [ -d /etc/apparmor.d ]; then
  node_bin=$(readlink -f "$(command -v node)")
  cat >/etc/apparmor.d/locker <<PROFILE
abi <abi/4.0>,
include <tunables/global>

profile locker-node ${node_bin} flags=(unconfined) {
  userns,
  include if exists <local/locker>
}

profile locker-electron ${dest}/node_modules/electron/dist/electron flags=(unconfined) {
  userns,
  include if exists <local/locker>
}
PROFILE
  apparmor_parser -r /etc/apparmor.d/locker
  echo "locker: AppArmor profile /etc/apparmor.d/locker lets ${node_bin} create user namespaces"
fi

# Debian kernels before 6.1 gate user namespaces behind this sysctl.
if [ -f /proc/sys/kernel/unprivileged_userns_clone ]; then
  sysctl -qw kernel.unprivileged_userns_clone=1
  echo 'kernel.unprivileged_userns_clone=1' >/etc/sysctl.d/90-locker.conf
fi

ln -sf "$dest/bin/locker" /usr/local/bin/locker
echo "Locker is installed in $dest. Try: locker run -- sh   (or: cd $dest && npm start)"
