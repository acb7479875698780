#!/usr/bin/env bash
# Builds the VM lab's initramfs in two gzip cpio archives that the kernel reads concatenated:
#
#   build-initramfs.sh base <cache> <kver>
#       <cache>/base-<kver>.cpio.gz: static busybox, the dynamic tools with the libraries ldd
#       lists (hostapd, wpa_supplicant, iw, ip, dnsmasq, kmod, curl, dbus-daemon, busctl, bluetoothd,
#       btvirt...), the kernel modules' dependency closure + kernel/crypto + arch/x86/crypto
#       (depmod -b), regulatory.db. Rebuilt only when its inputs change (a stamp of this
#       script, the kernel version, the fetched .debs and the host packages' versions).
#
#   build-initramfs.sh project <cache> <out> <tetherd> <tetherctl>
#       <out>: /init, the scenario scripts (tests/vm/guest), tetherd and tetherctl with their
#       libraries. Small: rebuilt on every run (about a second).
#
# Layout inside: merged /usr (bin, sbin, lib, lib64 are symlinks into usr/), like Debian 12.
#
# VM_ARCH=arm64 (tests/vm/run.sh --arch arm64): everything comes from the :arm64 packages
# fetch-debs.sh unpacked (kernel modules, busybox, ip, dnsmasq, kmod, curl, every library);
# the host cannot run those programs, so libraries are found by their ELF NEEDED entries
# (readelf) rather than ldd, and the guest's /init makes busybox's applet links itself. Only
# what the USB and Ethernet scenarios need goes in (no Wi-Fi or Bluetooth tools).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: build-initramfs.sh base|project ...}
cache=${2:?cache dir}
cache=$(cd "$cache" && pwd)
debroot=$cache/root  # tests/vm/fetch-debs.sh unpacked the .debs here
arch=${VM_ARCH:-amd64}
case "$arch" in
  amd64|arm64) ;;
  *) echo "build-initramfs: unknown VM_ARCH '$arch' (amd64|arm64)" >&2; exit 2 ;;
esac

# Kernel modules the scenarios load (their dependencies are added by modprobe --show-depends).
MODULES=(
  mac80211_hwsim                                               # Wi-Fi: two simulated radios
  dummy_hcd libcomposite usb_f_rndis usb_f_ncm usb_f_ecm       # USB: gadget side
  rndis_host cdc_ncm cdc_ether                                 # USB: host side
  hci_vhci bnep bluetooth                                      # Bluetooth
  bridge veth                                                  # namespaces, the PAN bridge
  ip_tables iptable_nat iptable_filter iptable_mangle          # tetherd's firewall (libiptc)
  xt_conntrack xt_MASQUERADE xt_TCPMSS xt_tcpudp xt_tcpmss xt_mac nf_conntrack nf_nat
  ip6_tables ip6table_filter ip6table_nat ip6table_mangle      # IPv6 (nat66: libip6tc)
  xt_IDLETIMER                                                 # the soft AP's idle timeout (ap-idle)
  xt_quota                                                     # quotas (offload: a quota client's cut-off)
  sch_htb sch_fq_codel sch_ingress cls_u32 act_mirred ifb       # rate limits (ap-isolation: fq_codel leaves)
  9p 9pnet_virtio virtio_pci                                   # the results share (-virtfs)
  virtio_net                                                   # eth: two NICs on one QEMU hub
  nf_tables nft_ct nf_flow_table_inet nft_flow_offload         # offload: tetherd's flowtable
  nf_conntrack_netlink                                         # ctnetlink: flows removed, offloaded bytes read
)
# Dynamic programs, by their path on this host (copied to the same path, with their libraries).
HOST_PROGRAMS=(
  /usr/sbin/hostapd /usr/sbin/hostapd_cli /usr/sbin/wpa_supplicant /usr/sbin/wpa_cli
  /usr/sbin/iw /usr/bin/ip /usr/sbin/tc /usr/sbin/dnsmasq /usr/bin/kmod
  /usr/bin/dbus-daemon /usr/bin/busctl /usr/bin/curl
  /usr/sbin/nft                                                # offload: the checks' view of the ruleset
  /usr/bin/iperf3                                              # offbench: the forwarding benchmark
)
# From the unpacked .debs (path inside the package).
DEB_PROGRAMS=(
  /usr/libexec/bluetooth/bluetoothd /usr/bin/btvirt /usr/bin/btmgmt /usr/bin/bluetoothctl
)
# Host packages whose files end up in the base archive (their versions are part of the stamp).
HOST_PACKAGES=(hostapd wpasupplicant iw iproute2 dnsmasq-base kmod dbus-daemon systemd curl libc6 nftables iperf3)

# arm64: the USB and Ethernet scenarios' modules, and their programs by path in the unpacked
# packages (copied to the same path: /bin and /sbin are /usr's in the guest).
ARM64_MODULES=(
  dummy_hcd libcomposite usb_f_rndis usb_f_ncm usb_f_ecm rndis_host cdc_ncm cdc_ether
  bridge veth ip_tables iptable_nat iptable_filter iptable_mangle
  xt_conntrack xt_MASQUERADE xt_TCPMSS xt_tcpudp xt_tcpmss xt_mac nf_conntrack nf_nat
  9p 9pnet_virtio virtio_pci virtio_net
)
ARM64_PROGRAMS=(/bin/ip /usr/sbin/dnsmasq /bin/kmod /usr/bin/curl)
TRIPLET=aarch64-linux-gnu
# Where add_libs_elf looks for a library: the unpacked packages first, then the host's
# multiarch directory (the :arm64 -dev packages' libraries the cross build linked against).
ELF_LIBDIRS=("$debroot/usr/lib/$TRIPLET" "$debroot/lib/$TRIPLET" "/usr/lib/$TRIPLET" "/lib/$TRIPLET")

stage_init() {  # <dir>: an empty merged-/usr tree
  local s=$1
  rm -rf "$s"
  mkdir -p "$s"/usr/{bin,sbin,lib,lib64} "$s"/{dev,proc,sys,run,tmp,etc,root,mnt,var/lib}
  ln -s usr/bin "$s/bin"; ln -s usr/sbin "$s/sbin"; ln -s usr/lib "$s/lib"; ln -s usr/lib64 "$s/lib64"
  ln -s ../run "$s/var/run"
}

# copy <src> <dst-in-stage>: the file's content (symlinks followed) at that path.
copy() {
  local src=$1 dst=$2
  mkdir -p "$(dirname "$dst")"
  cp -L --preserve=mode "$src" "$dst"
}

# add_libs <stage> <binary> [LD_LIBRARY_PATH]: every library ldd lists, at the path it lists.
add_libs() {
  local s=$1 bin=$2 llp=${3:-} line lib
  local out
  out=$(LD_LIBRARY_PATH=$llp ldd "$bin" 2>&1) || { echo "build-initramfs: ldd $bin failed: $out" >&2; return 1; }
  if grep -q "not found" <<<"$out"; then
    echo "build-initramfs: $bin: missing libraries:" >&2
    grep "not found" <<<"$out" >&2
    return 1
  fi
  while read -r line; do
    case "$line" in
      *"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
      /*) lib=${line%% (*} ;;
      *) continue ;;
    esac
    if [ -n "$llp" ] && [[ "$lib" == "$llp"/* ]]; then
      copy "$lib" "$s/usr/lib/x86_64-linux-gnu/${lib##*/}"
    else
      [ -e "$s$lib" ] || copy "$lib" "$s$lib"
    fi
  done <<<"$out"
}

# find_lib <soname>: its path in ELF_LIBDIRS (arm64).
find_lib() {
  local d
  for d in "${ELF_LIBDIRS[@]}"; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done
  echo "build-initramfs: $1 not found in ${ELF_LIBDIRS[*]}" >&2
  return 1
}

# add_libs_elf <stage> <binary>: its NEEDED libraries and theirs, into /usr/lib/<triplet>
# (arm64: the host cannot run ldd on them).
add_libs_elf() {
  local s=$1 bin=$2 n lib
  for n in $(readelf -d "$bin" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }'); do
    [ -e "$s/usr/lib/$TRIPLET/$n" ] && continue
    lib=$(find_lib "$n") || return 1
    copy "$lib" "$s/usr/lib/$TRIPLET/$n"
    add_libs_elf "$s" "$lib"
  done
}

# The arm64 base: the same layout as build_base's, from the unpacked :arm64 packages.
build_base_arm64() {
  local kver=$1 out=$2 s=$3 moddir=$debroot/lib/modules/$1 p m ko
  [ -d "$moddir" ] || { echo "build-initramfs: no $moddir (tests/vm/fetch-debs.sh <cache> arm64)" >&2; exit 1; }
  copy "$debroot/bin/busybox" "$s/usr/bin/busybox"
  ln -s busybox "$s/usr/bin/sh"
  mkdir -p "$s/usr/libexec/bb"   # the applet links: /init makes them (busybox --install)
  for p in "${ARM64_PROGRAMS[@]}"; do
    copy "$debroot$p" "$s$p"
    add_libs_elf "$s" "$debroot$p"
  done
  for m in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf ../bin/kmod "$s/usr/sbin/$m"; done
  # The dynamic loader at its PT_INTERP path, /lib/ld-linux-aarch64.so.1.
  [ -e "$s/usr/lib/$TRIPLET/ld-linux-aarch64.so.1" ] || copy "$(find_lib ld-linux-aarch64.so.1)" "$s/usr/lib/$TRIPLET/ld-linux-aarch64.so.1"
  ln -s "$TRIPLET/ld-linux-aarch64.so.1" "$s/usr/lib/ld-linux-aarch64.so.1"
  for m in "${ARM64_MODULES[@]}"; do
    modprobe -d "$debroot" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | sort -u >"$cache/modules.list"
  while read -r ko; do copy "$ko" "$s/usr/lib/modules/$kver/${ko#"$moddir"/}"; done <"$cache/modules.list"
  for m in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$moddir/$m" ] && copy "$moddir/$m" "$s/usr/lib/modules/$kver/$m"
  done
  depmod -b "$s" "$kver"
}

build_base() {
  local kver=${1:?kernel version}
  local out=$cache/base-$kver.cpio.gz stamp=$cache/base-$kver.stamp
  local moddir=/lib/modules/$kver
  [ "$arch" = arm64 ] || [ -d "$moddir" ] || { echo "build-initramfs: no $moddir (install linux-image-amd64)" >&2; exit 1; }
  [ -x "$debroot/bin/busybox" ] || { echo "build-initramfs: run tests/vm/fetch-debs.sh first" >&2; exit 1; }
  local want
  want=$( { sha256sum "$0"; echo "$kver $arch"; cat "$cache/debs.stamp";
            dpkg-query -W "${HOST_PACKAGES[@]}" 2>/dev/null; } | sha256sum | cut -d' ' -f1)
  if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "build-initramfs: base up to date ($out)" >&2
    return 0
  fi
  local t0=$SECONDS s=$cache/stage-base
  stage_init "$s"
  if [ "$arch" = arm64 ]; then
    build_base_arm64 "$kver" "$out" "$s"
  else

  # busybox: applets as symlinks in /usr/libexec/bb (last on PATH: the real tools win; the
  # guest scripts call dynamic tools by full path anyway, busybox sh prefers its applets).
  copy "$debroot/bin/busybox" "$s/usr/bin/busybox"
  ln -s busybox "$s/usr/bin/sh"
  mkdir -p "$s/usr/libexec/bb"
  local a
  for a in $("$debroot/bin/busybox" --list); do ln -sf ../../bin/busybox "$s/usr/libexec/bb/$a"; done

  local p
  for p in "${HOST_PROGRAMS[@]}"; do
    copy "$p" "$s$p"
    add_libs "$s" "$p"
  done
  local llp=$debroot/usr/lib/x86_64-linux-gnu
  for p in "${DEB_PROGRAMS[@]}"; do
    copy "$debroot$p" "$s$p"
    add_libs "$s" "$debroot$p" "$llp"
  done
  for a in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf ../bin/kmod "$s/usr/sbin/$a"; done
  copy /lib64/ld-linux-x86-64.so.2 "$s/lib64/ld-linux-x86-64.so.2"

  # Kernel modules: the dependency closure of MODULES, plus all crypto (WPA2 needs ccm(aes),
  # PMF cmac(aes), SAE and Bluetooth ecdh: the kernel requests them by algorithm name).
  local m ko
  {
    for m in "${MODULES[@]}"; do
      modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done
    find "$moddir/kernel/crypto" "$moddir/kernel/arch/x86/crypto" "$moddir/kernel/lib/crypto" -name '*.ko*'
  } | sort -u >"$cache/modules.list"
  while read -r ko; do copy "$ko" "$s$ko"; done <"$cache/modules.list"
  for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$moddir/$f" ] && copy "$moddir/$f" "$s$moddir/$f"
  done
  depmod -b "$s" "$kver"

  # Regulatory database signed with the key built into every kernel (upstream's).
  copy "$debroot/lib/firmware/regulatory.db-upstream" "$s/usr/lib/firmware/regulatory.db"
  copy "$debroot/lib/firmware/regulatory.db.p7s-upstream" "$s/usr/lib/firmware/regulatory.db.p7s"
  fi

  # Users and name service (dnsmasq drops to nobody; dbus-daemon looks users up).
  printf 'root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/run/dbus:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\ndnsmasq:x:101:65534::/nonexistent:/bin/false\n' >"$s/etc/passwd"
  printf 'root:x:0:\nmessagebus:x:101:\ndip:x:30:\nnogroup:x:65534:\n' >"$s/etc/group"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$s/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"$s/etc/hosts"
  : >"$s/etc/resolv.conf"
  echo vmlab >"$s/etc/hostname"

  (cd "$s" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "$want" >"$stamp"
  rm -rf "$s"
  echo "build-initramfs: base $(du -h "$out" | cut -f1) in $((SECONDS - t0)) s ($out)" >&2
}

build_project() {
  local out=${1:?out} tetherd=${2:?tetherd binary} tetherctl=${3:?tetherctl binary}
  local s=${out%.cpio.gz}.stage
  rm -rf "$s"
  mkdir -p "$s"/usr/{bin,sbin,lib,lib64}
  ln -s usr/bin "$s/bin"; ln -s usr/sbin "$s/sbin"; ln -s usr/lib "$s/lib"; ln -s usr/lib64 "$s/lib64"
  copy "$tetherd" "$s/usr/sbin/tetherd"
  copy "$tetherctl" "$s/usr/bin/tetherctl"
  # What tetherd loads with dlopen() when a feature is first used (tether/base/lazy_library.h): ldd
  # does not list them. The Bluetooth scenario needs libsystemd (sd-bus).
  local lib path lazy=(libsystemd.so.0 libnftables.so.1 libsodium.so.23 libqrencode.so.4)
  if [ "$arch" = arm64 ]; then
    local f
    for f in "$tetherd" "$tetherctl"; do
      readelf -h "$f" 2>/dev/null | grep -q 'Machine: *AArch64' || { echo "build-initramfs: $f is not an arm64 binary (scripts/build.sh arm64)" >&2; return 1; }
      add_libs_elf "$s" "$f"
    done
    for lib in "${lazy[@]}"; do
      path=$(find_lib "$lib") || return 1
      copy "$path" "$s/usr/lib/$TRIPLET/$lib"
      add_libs_elf "$s" "$path"
    done
    lazy=()
  else
    add_libs "$s" "$tetherd"
    add_libs "$s" "$tetherctl"
  fi
  for lib in "${lazy[@]}"; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found { print $NF; found = 1 }')
    [ -n "$path" ] || { echo "build-initramfs: $lib (loaded by tetherd at run time) is not installed" >&2; return 1; }
    copy "$path" "$s$path"
    add_libs "$s" "$path"
  done
  # The merged-/usr symlinks are in the base archive already; leave them out here (the
  # kernel would refuse to replace the existing symlinks with the same ones anyway).
  rm "$s"/{bin,sbin,lib,lib64}
  copy "$here/guest/init" "$s/init"
  mkdir -p "$s/vm"
  cp -r "$here/guest/." "$s/vm/"
  chmod 0755 "$s/init" "$s"/vm/*.sh
  (cd "$s" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out"
  rm -rf "$s"
}

case "$mode" in
  base) build_base "${@:3}" ;;
  project) build_project "${@:3}" ;;
  *) echo "build-initramfs: unknown mode '$mode' (base|project)" >&2; exit 2 ;;
esac
