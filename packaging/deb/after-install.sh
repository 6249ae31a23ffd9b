#!/bin/sh
# Lets Locker create user namespaces as an ordinary user on Ubuntu 23.10+, where
# kernel.apparmor_restrict_unprivileged_userns=1 allows that only to profiled programs.
set -e
if [ -d /etc/apparmor.d ] && command -v apparmor_parser >/dev/null 2>&1; then
  cat > /etc/apparmor.d/locker <<'PROFILE'
abi <abi/4.0>,
include <tunables/global>

profile locker /opt/Locker/locker flags=(unconfined) {
  userns,
  include if exists <local/locker>
}
PROFILE
  apparmor_parser -r /etc/apparmor.d/locker || true
fi
