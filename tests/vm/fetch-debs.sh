#!/usr/bin/env bash
# Fetches the Debian packages the VM lab needs but the host must not install, and unpacks
# them under <cache>/root (never into /):
#   busybox-static   conflicts with the host's busybox (the lab's udhcpc/httpd/wget come from it)
#   wireless-regdb   regulatory.db for the VM's cfg80211 (country DE, channel 6, no warning)
#   bluez            bluetoothd for the Bluetooth scenario (installing it would start a service)
#   bluez-test-tools btvirt: emulated controllers behind /dev/vhci
# Usage: tests/vm/fetch-debs.sh <cache-dir>. Idempotent: a stamp file naming the package
# versions makes a second run (same versions) a no-op; CI on a fresh machine fetches once per run.
set -euo pipefail
cache=${1:?usage: fetch-debs.sh <cache-dir>}
PKGS=(busybox-static wireless-regdb bluez bluez-test-tools)
mkdir -p "$cache/debs"
cache=$(cd "$cache" && pwd)

versions() {
  local p v
  for p in "${PKGS[@]}"; do
    v=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$v" ] && [ "$v" != "(none)" ] || return 1
    echo "$p=$v"
  done
}

want=$(versions || true)
if [ -z "$want" ]; then
  # A fresh machine may have no package lists yet.
  echo "fetch-debs: apt-get update (no candidate for ${PKGS[*]})" >&2
  apt-get update -qq
  want=$(versions)
fi
if [ -f "$cache/debs.stamp" ] && [ "$(cat "$cache/debs.stamp")" = "$want" ] && [ -d "$cache/root" ]; then
  exit 0
fi

echo "fetch-debs: downloading $(echo $want)" >&2
rm -rf "$cache/debs" "$cache/root"
mkdir -p "$cache/debs" "$cache/root"
# apt-get download writes into the current directory; _apt must be able to write there.
(cd "$cache/debs" && chmod 0777 . && apt-get download -qq $want) || {
  apt-get update -qq
  (cd "$cache/debs" && apt-get download -qq $want)
}
for deb in "$cache"/debs/*.deb; do
  dpkg-deb -x "$deb" "$cache/root"
done
echo "$want" >"$cache/debs.stamp"
