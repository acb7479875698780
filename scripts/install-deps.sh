#!/usr/bin/env bash
# Installs every Debian 12 package tetherd needs to build, test and run its labs.
# Idempotent: packages already present are left alone; apt-get update runs only when
# something is missing. Called by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # libraries
  libboost-dev libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libip4tc-dev libip6tc-dev libnftables-dev
  nlohmann-json3-dev libsystemd-dev libsodium-dev libqrencode-dev
  # the admin page's HTTPS (web/http/tls_*.cpp)
  libssl-dev
  libgtest-dev libgmock-dev
  # systemd-analyze: the service unit's exposure and syntax checks (tests/systemd)
  systemd
  # the programs tetherd drives
  hostapd dnsmasq-base iptables
  # the lab: namespaces, DHCP clients, probes
  iproute2 nftables isc-dhcp-client udhcpc busybox curl bind9-dnsutils wpasupplicant
  python3 procps psmisc iperf3
  # tests/integration/test_ipv6.py: the upstream router's router advertisements
  radvd
  # prefix delegation: dhcpcd is tetherd's DHCPv6-PD client; kea-dhcp6-server is the
  # upstream's delegating server in tests/integration/test_ipv6_pd.py (its own instance)
  dhcpcd-base kea-dhcp6-server
  # tests/integration/test_web_https.py: a user-given certificate made with the openssl CLI
  openssl
  # the Bluetooth NAP's tests: a private D-Bus with BlueZ's API played by python3-dbusmock
  dbus python3-dbusmock
  # the web admin's browser tests (tests/browser): headless chromium driven by playwright-core
  # from npm (npm itself is added below unless a node installation already brings it)
  chromium nodejs
  # the man pages (docs/man/*.scd -> roff at build time); the demo's localhost forward to the page
  scdoc socat man-db
  # tests/integration/test_metrics.py: promtool (Debian has it only in the whole prometheus
  # package, ~100 MB; its server is masked below) and the Python client's OpenMetrics parser
  prometheus python3-prometheus-client
  # bench/run.sh: HTTP load for the web admin's /api/status
  wrk
  # the VM lab (tests/vm): QEMU, Debian's kernel with hwsim/dummy_hcd/vhci modules, initramfs
  # tools. busybox-static, wireless-regdb and bluez-test-tools are fetched by tests/vm itself
  # (apt-get download into build/vm-cache; busybox-static conflicts with busybox).
  qemu-system-x86 linux-image-amd64 iw kmod cpio
  # arm64 (scripts/build.sh arm64, tests/vm/run.sh --arch arm64): the cross compiler, the
  # :arm64 libraries tetherd links (multiarch, added below) and QEMU for aarch64. The arm64
  # guest's kernel and programs are fetched by tests/vm itself (apt-get download).
  crossbuild-essential-arm64 qemu-system-arm
  libnl-3-dev:arm64 libnl-route-3-dev:arm64 libnl-genl-3-dev:arm64 libip4tc-dev:arm64 libip6tc-dev:arm64 libnftables-dev:arm64
  libsystemd-dev:arm64 libsodium-dev:arm64 libqrencode-dev:arm64 libssl-dev:arm64
  # the Debian package (scripts/build-deb.sh: dpkg-buildpackage, lintian) and the VM that boots
  # it under systemd (tests/vm/build-rootfs.sh: mmdebstrap, mkfs.ext4 -d)
  debhelper lintian mmdebstrap e2fsprogs
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2
  exit 1
fi

# The :arm64 packages need arm64 as a dpkg architecture (apt-get update below then reads its lists).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Debian's npm package, unless npm is already there (NodeSource's nodejs bundles it and
# conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Masked before it is installed, so its package never starts a system kea-dhcp6.
systemctl mask kea-dhcp6-server.service >/dev/null 2>&1 || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# hostapd's own system service must never compete with tetherd for the interface.
systemctl mask hostapd.service >/dev/null 2>&1 || true
# kea-dhcp6 is only the PD lab's server, run by the test itself with its own config.
systemctl disable --now kea-dhcp6-server.service >/dev/null 2>&1 || true
systemctl mask kea-dhcp6-server.service >/dev/null 2>&1 || true
# Only promtool is wanted from the prometheus package: not a server on :9090.
systemctl disable --now prometheus.service >/dev/null 2>&1 || true
systemctl mask prometheus.service >/dev/null 2>&1 || true
