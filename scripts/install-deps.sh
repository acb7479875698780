#!/usr/bin/env bash
# Installs every Debian 12 package tetherd needs to build, test and run its labs.
# Idempotent: packages already present are left alone; apt-get update runs only when
# something is missing. Called by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # libraries
  libboost-dev libnl-3-dev libnl-route-3-dev libip4tc-dev libip6tc-dev
  nlohmann-json3-dev libsystemd-dev libsodium-dev
  libgtest-dev libgmock-dev
  # the programs tetherd drives
  hostapd dnsmasq-base iptables
  # the lab: namespaces, DHCP clients, probes
  iproute2 nftables isc-dhcp-client udhcpc busybox curl bind9-dnsutils wpasupplicant
  python3 procps psmisc iperf3
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# hostapd's own system service must never compete with tetherd for the interface.
systemctl mask hostapd.service >/dev/null 2>&1 || true
