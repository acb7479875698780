#!/usr/bin/env bash
# Builds the root file system of the VM lab's "deb" scenario: a minimal Debian 12 with systemd
# as PID 1, made by mmdebstrap from Debian's packages (the host's own apt sources), the
# kernel modules the lab uses (the host kernel's, as in build-initramfs.sh) and one unit,
# vmlab.service, that runs the scenario the host puts on the results share (tests/vm/run.sh).
#
#   build-rootfs.sh <cache> <kver> <deb>
#       <cache>/rootfs-<kver>.ext4 (sparse; booted with -snapshot, so it is never modified).
#       Holds every package the .deb Depends on or Recommends (first of each alternative,
#       no network in the VM) beside the lab's tools, but not tetherd itself. Rebuilt only
#       when its key changes: this script, the kernel version, the package list and the apt
#       sources (a changed Depends in debian/control rebuilds it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$(cd "${1:?cache dir}" && pwd)
kver=${2:?kernel version}
deb=${3:?tetherd .deb}

# The lab's own tools: systemd as init, the upstream namespace (busybox httpd, dnsmasq), the
# clients (busybox udhcpc, curl), the checks (iptables-legacy-save, nft, pgrep).
BASE=(systemd-sysv udev kmod iproute2 busybox dnsmasq-base curl iptables nftables procps)
# Kernel modules (the dependency closure is added): what tetherd and the lab use.
MODULES=(
  veth bridge ip_tables iptable_nat iptable_filter iptable_mangle ip6_tables ip6table_filter
  ip6table_nat ip6table_mangle xt_conntrack xt_MASQUERADE xt_TCPMSS xt_tcpudp xt_tcpmss xt_mac
  nf_conntrack nf_nat nf_tables nft_chain_nat 9p 9pnet_virtio virtio_pci autofs4
)

# The .deb's Depends and Recommends as package names (first alternative, no versions).
deb_deps=$(dpkg-deb -f "$deb" Depends Recommends | sed 's/^[A-Za-z-]*://' | tr ',' '\n' |
           sed 's/|.*//; s/([^)]*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true)
pkgs=$(printf '%s\n' "${BASE[@]}" $deb_deps | LC_ALL=C sort -u)
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
img=$cache/rootfs-$kver.ext4 stamp=$cache/rootfs-$kver.stamp
want=$( { sha256sum "$0"; echo "$kver"; echo "$pkgs"; cat "$sources"; } | sha256sum | cut -d' ' -f1)
if [ -f "$img" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "build-rootfs: up to date ($img)" >&2
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "build-rootfs: mmdebstrap missing (scripts/install-deps.sh)" >&2; exit 2; }
moddir=/lib/modules/$kver
[ -d "$moddir" ] || { echo "build-rootfs: no $moddir (install linux-image-amd64)" >&2; exit 2; }
t0=$SECONDS
s=$cache/stage-rootfs
rm -rf "$s" "$img.tmp"
echo "build-rootfs: mmdebstrap bookworm with $(echo $pkgs | wc -w) packages (+ minbase)" >&2
# No mirror argument: the sources come on stdin (without any, mmdebstrap would pick a public
# default that CI machines may not reach).
mmdebstrap --quiet --variant=minbase --include="$(echo $pkgs | tr ' ' ',')" bookworm "$s" - <"$sources"

chroot "$s" passwd -d root >/dev/null
echo vmdeb >"$s/etc/hostname"
printf '127.0.0.1 localhost vmdeb\n' >"$s/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$s/etc/fstab"
echo 5e7a1d0c0ffee0000000000000000002 >"$s/etc/machine-id"
# busybox's applets where the lab's guest scripts call them (tests/vm/guest/lib.sh).
mkdir -p "$s/usr/libexec/bb"
for a in $(chroot "$s" busybox --list); do ln -sf /bin/busybox "$s/usr/libexec/bb/$a"; done
# The runner: mounts the results share and runs the scenario the host put there. Its output
# goes to the serial console too (the VM-RESULT line the host reads).
cat >"$s/etc/systemd/system/vmlab.service" <<'UNIT'
[Unit]
Description=VM lab: the scenario on the results share (tests/vm/guest/deb-init)
After=basic.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /out && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /out && exec /bin/sh /out/in/deb-init'
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/vmlab.service "$s/etc/systemd/system/multi-user.target.wants/vmlab.service"
# No getty on the serial console: the runner owns it.
ln -sf /dev/null "$s/etc/systemd/system/serial-getty@ttyS0.service"

# Kernel modules: the closure of MODULES.
for m in "${MODULES[@]}"; do
  modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
  mkdir -p "$s$(dirname "$ko")"; cp "$ko" "$s$ko"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -f "$moddir/$f" ] && cp "$moddir/$f" "$s$moddir/$f"
done
depmod -b "$s" "$kver"

mkfs.ext4 -q -F -L vmdeb -d "$s" "$img.tmp" 1G
mv "$img.tmp" "$img"
echo "$want" >"$stamp"
rm -rf "$s"
echo "build-rootfs: $(du -h "$img" | cut -f1) allocated in $((SECONDS - t0)) s ($img)" >&2
