#!/usr/bin/env bash
# A self-signed certificate for serving on the LAN over HTTPS: handheld
# browsers only give a page the camera in a secure context.
# Usage: scripts/dev-cert.sh DIR   -> DIR/cert.pem, DIR/key.pem
# Made again when this machine's names or addresses change.
set -euo pipefail
dir="$1"
mkdir -p "$dir"
names="DNS:localhost,IP:127.0.0.1,DNS:$(hostname)"
for ip in $(hostname -I 2>/dev/null || true); do
  case "$ip" in *:*) names="$names,IP:$ip" ;; *) names="$names,IP:$ip" ;; esac
done
if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && [ "$(cat "$dir/cert.names" 2>/dev/null)" = "$names" ]; then
  exit 0
fi
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" \
  -subj "/CN=$(hostname) warehouse floor" -addext "subjectAltName=$names" 2>/dev/null
chmod 600 "$dir/key.pem"
echo "$names" > "$dir/cert.names"
echo "  Made a self-signed certificate for $names in $dir"
