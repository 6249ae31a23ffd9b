#!/bin/sh
# Removes the AppArmor profile after-install.sh added.
set -e
if [ -f /etc/apparmor.d/locker ]; then
  if command -v apparmor_parser >/dev/null 2>&1; then apparmor_parser -R /etc/apparmor.d/locker || true; fi
  rm -f /etc/apparmor.d/locker
fi
