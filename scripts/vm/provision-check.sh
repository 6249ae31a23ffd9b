#!/bin/bash
# Inside the VM lane's guest (locker.mode=provision, with QEMU user networking): runs
# vagrant/provision.sh the way Vagrant would, then what a teacher tries first: locker run as root,
# a rootless run as an ordinary user, and web mode answering on loopback. Every command is echoed
# with its status and duration, for docs/vm-lane.md.
set -uo pipefail
repo=$1
export DEBIAN_FRONTEND=noninteractive

step() {
  echo
  echo "vm\$ $*"
  local t0 status
  t0=$(date +%s)
  "$@"
  status=$?
  echo "vm: [exit $status, $(($(date +%s) - t0)) s]"
  return "$status"
}

# No init system runs in this guest: keep package scripts from starting services, as in a chroot.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
echo "vm: node before provisioning: $(command -v node || echo none) (Debian's nodejs would be $(apt-cache policy nodejs 2>/dev/null | sed -n 's/ *Candidate: //p'))"

# Vagrant's rsync synced folder: the project without node_modules/, build/ and native/build/.
mkdir -p /opt/locker-src
tar -C "$repo" --exclude=./node_modules --exclude=./build --exclude=./native/build --exclude=./test-results --exclude=./.lane-ca -cf - . | tar -C /opt/locker-src -xf -

# The host's own certificate authorities (lane.sh: a TLS-inspecting proxy's), where Debian's
# ca-certificates adds local ones; provisioning installs that package, which builds the bundle.
if [ -n "$(ls "$repo/.lane-ca" 2>/dev/null)" ]; then
  mkdir -p /usr/local/share/ca-certificates
  cp "$repo"/.lane-ca/*.crt /usr/local/share/ca-certificates/
  echo "vm: trusting the host's local certificate authorities: $(cd "$repo/.lane-ca" && echo *.crt)"
  if command -v update-ca-certificates >/dev/null; then update-ca-certificates >/dev/null; fi
fi

# provision.sh is quiet (apt -qq) and slow under TCG: say every two minutes what it is doing.
(while sleep 120; do echo "vm: ... $(date +%T) $(pgrep -a -n -f 'dpkg|apt-get|npm|node|cc1|curl' | cut -c1-160)"; done) &
ticker=$!
step env LOCKER_SRC=/opt/locker-src bash /opt/locker-src/vagrant/provision.sh || exit 1
kill "$ticker"
failed=0
step node --version || failed=1
cd /tmp || exit 1
step locker run -- sh -c 'echo $$; hostname' || failed=1

useradd --create-home --shell /bin/bash student
# shellcheck disable=SC2016 # expanded inside the container
step runuser -u student -- locker run -- sh -c 'echo "pid $$, uid $(id -u) inside"; cat /proc/self/uid_map' || failed=1

echo
echo "vm\$ runuser -u student -- locker ui --web --port 8080 &"
runuser -u student -- locker ui --web --port 8080 >/tmp/web.log 2>&1 &
web=$!
url=
for _ in $(seq 600); do
  url=$(sed -n 's/.*Locker web UI: \([^ ]*\).*/\1/p' /tmp/web.log)
  [ -n "$url" ] && break
  sleep 0.2
done
cat /tmp/web.log
if [ -z "$url" ]; then
  echo "vm: web mode printed no URL"
  failed=1
else
  token=${url##*#token=}
  page() { curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 http://127.0.0.1:8080/; }
  socket() {
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
      -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Origin: http://127.0.0.1:8080' \
      -H "Sec-WebSocket-Protocol: $1" http://127.0.0.1:8080/ws
  }
  echo "vm\$ curl http://127.0.0.1:8080/  →  $(page)"
  echo "vm\$ curl (WebSocket upgrade with the token) http://127.0.0.1:8080/ws  →  $(socket "locker.v1, locker.token.$token")"
  echo "vm\$ curl (WebSocket upgrade without a token) http://127.0.0.1:8080/ws  →  $(socket locker.v1)"
  [ "$(page)" = 200 ] || failed=1
  [ "$(socket "locker.v1, locker.token.$token")" = 101 ] || failed=1
  [ "$(socket locker.v1)" = 403 ] || failed=1
fi
kill -INT "$(pgrep -P "$web")" 2>/dev/null # runuser's child: the CLI
wait "$web"
exit "$failed"
