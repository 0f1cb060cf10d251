#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the app needs, if any are missing.
# Usage: scripts/system-packages.sh PACKAGE...
# As root it uses apt-get; otherwise sudo when it needs no password; else it
# prints the exact command to run and fails.
set -euo pipefail

want=("$@")
# A Python without venv/ensurepip (Debian's own python3) needs python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then want+=(python3-venv); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  # Packages with a daemon (nginx, postgresql) would start it on install: the tests start their own,
  # so, as Debian's policy-rc.d allows, no service is started while these are installed.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing system packages. Run this, then try again:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
