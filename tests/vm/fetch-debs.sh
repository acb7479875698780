#!/usr/bin/env bash
# Fetches the Debian packages the VM lab needs but the host must not install, and unpacks
# them under <cache>/root (never into /):
#   busybox-static   conflicts with the host's busybox (the lab's udhcpc/httpd/wget come from it)
#   wireless-regdb   regulatory.db for the VM's cfg80211 (country DE, channel 6, no warning)
#   bluez            bluetoothd for the Bluetooth scenario (installing it would start a service)
#   bluez-test-tools btvirt: emulated controllers behind /dev/vhci
# For arm64 (tests/vm/run.sh --arch arm64) the guest's whole user space and kernel come from
# here, as :arm64 packages (multiarch: scripts/install-deps.sh adds the architecture):
#   linux-image-<kver>-arm64 (the version linux-image-arm64 names), busybox-static, the
#   programs the USB/Ethernet scenarios run (iproute2, dnsmasq-base, kmod, curl), the
#   libraries tetherd and tetherctl link or load (libstdc++, libnl, libip4tc, libip6tc, libssl, libsystemd, libnftables,
#   libsodium, libqrencode), and every lib* package those depend on.
# Usage: tests/vm/fetch-debs.sh <cache-dir> [amd64|arm64]. Idempotent: a stamp file naming the
# package versions makes a second run (same versions) a no-op; CI on a fresh machine fetches
# once per run. arm64 writes <cache>/kver (the kernel version) too.
set -euo pipefail
cache=${1:?usage: fetch-debs.sh <cache-dir> [amd64|arm64]}
arch=${2:-amd64}
case "$arch" in
  amd64) PKGS=(busybox-static wireless-regdb bluez bluez-test-tools) ;;
  arm64)
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      echo "fetch-debs: arm64 is not a dpkg architecture here (scripts/install-deps.sh adds it)" >&2
      exit 2
    fi
    PKGS=(busybox-static iproute2 dnsmasq-base kmod curl
          libstdc++6 libnl-3-200 libnl-route-3-200 libnl-genl-3-200 libip4tc2 libip6tc2 libssl3 libsystemd0 libnftables1 libsodium23 libqrencode4)
    kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2; exit }')
    if [ -z "$kpkg" ]; then
      apt-get update -qq
      kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2; exit }')
    fi
    PKGS+=("$kpkg")
    ;;
  *) echo "fetch-debs: unknown architecture '$arch' (amd64|arm64)" >&2; exit 2 ;;
esac
q=""; [ "$arch" = amd64 ] || q=":$arch"
mkdir -p "$cache/debs"
cache=$(cd "$cache" && pwd)

versions() {  # "pkg=candidate" per package, in order; one apt-cache call (each takes ~1 s)
  apt-cache policy "${PKGS[@]/%/$q}" 2>/dev/null | awk -v n=${#PKGS[@]} '
    /^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
    $1 == "Candidate:" && p != "" { if ($2 == "(none)") exit 1; print p "=" $2; p = ""; c++ }
    END { exit c != n }'
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

# arm64: the lib* packages the roots depend on, level by level (one apt-cache call a level;
# the kernel's own dependencies are tools for an installed system: not followed).
lib_closure() {
  local -A seen=()
  local level=("$@") next d p
  while [ ${#level[@]} -gt 0 ]; do
    next=()
    for p in "${level[@]}"; do seen[$p]=1; done
    for d in $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
                 --no-enhances "${level[@]/%/:$arch}" 2>/dev/null \
               | awk '$1 == "Depends:" || $1 == "PreDepends:" || $1 == "|Depends:" { print $2 }' \
               | sed "s/:$arch\$//; s/:any\$//" | grep -E '^(lib|zlib)' | sort -u); do
      [ -n "${seen[$d]:-}" ] || { seen[$d]=1; next+=("$d"); }
    done
    level=("${next[@]}")
  done
  printf '%s\n' "${!seen[@]}" | sort
}

echo "fetch-debs: downloading $(echo $want)" >&2
rm -rf "$cache/debs" "$cache/root"
mkdir -p "$cache/debs" "$cache/root"
get=$want
if [ "$arch" != amd64 ]; then
  roots=()
  for p in "${PKGS[@]}"; do [ "$p" = "$kpkg" ] || roots+=("$p"); done
  libs=$(lib_closure "${roots[@]}" | grep -v -x -F -f <(printf '%s\n' "${PKGS[@]}") | sed "s/\$/:$arch/")
  echo "fetch-debs: and the libraries they need: $(echo $libs)" >&2
  get="$want $libs"
fi
# apt-get download writes into the current directory; _apt must be able to write there.
(cd "$cache/debs" && chmod 0777 . && apt-get download -qq $get) || {
  apt-get update -qq
  (cd "$cache/debs" && apt-get download -qq $get)
}
for deb in "$cache"/debs/*.deb; do
  dpkg-deb -x "$deb" "$cache/root"
done
if [ "$arch" = arm64 ]; then
  echo "${kpkg#linux-image-}" >"$cache/kver"
  depmod -b "$cache/root" "${kpkg#linux-image-}"  # modules.dep: the package's postinst makes it
fi
echo "$want" >"$cache/debs.stamp"
