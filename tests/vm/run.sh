#!/usr/bin/env bash
# The VM lab: boots Debian's own kernel in QEMU (TCG) with an initramfs holding tetherd, and
# runs scenarios in which tetherd tethers real (simulated) radios and cables: Wi-Fi on
# mac80211_hwsim, USB gadgets on dummy_hcd, Bluetooth on vhci controllers. See docs/VM-LAB.md.
#
# Usage: tests/vm/run.sh [options] [scenario...] [KEY=VALUE...]
#   scenario      wifi, ap, eth, usb, bt, offload (default: these six), travel, offbench
#                 (bench/offload.sh); or deb alone: the Debian package
#                 installed in a Debian 12 root file system booted with systemd as PID 1
#                 (tests/vm/build-rootfs.sh, tests/vm/guest/deb.sh)
#   KEY=VALUE     passed to the guest on the kernel command line, e.g. BREAK=wifi-passphrase
#   --expect R=V  instead of "no result is fail": require result R to start with V
#                 (e.g. --expect wifi=fail: the deliberately broken run must be caught)
#   --timeout S   host-side limit for one boot of the VM (default 600)
#   --name N      results directory name under <build>/vm-out (default: last)
#   --arch A      amd64 (default; qemu-system-x86_64, the host's kernel package) or arm64:
#                 Debian's arm64 kernel and user space (fetched as :arm64 packages) under
#                 qemu-system-aarch64 with the cross-built tetherd (scripts/build.sh arm64);
#                 scenarios usb and eth only (default: both)
# Environment: TETHERD_BIN, TETHERCTL_BIN (default <build>/tetherd, <build>/tetherctl),
#   VM_BUILD_DIR (default: the directory of TETHERD_BIN, else build/, or build-arm64/ for
#   arm64), VM_KVER (amd64; default: the newest /boot/vmlinuz-*), VM_ARCH (as --arch),
#   VM_SCENARIO_TIMEOUT (guest, per scenario; default 240);
#   deb: TETHERD_DEB (default: built by scripts/build-deb.sh into <build>/deb).
# Exit: 0 every result is pass; 1 any result is not pass (fail, pending, partial, ...), the
#   guest printed none, or an expectation was not met; 2 usage/setup error.
# The last line printed is the guest's summary: VM-RESULT wifi=pass wifi-sae=pass ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

scenarios=() params=() expects=() timeout=600 name=last arch=${VM_ARCH:-amd64}
while [ $# -gt 0 ]; do
  case "$1" in
    --expect) expects+=("${2:?--expect R=V}"); shift 2 ;;
    --timeout) timeout=${2:?--timeout S}; shift 2 ;;
    --name) name=${2:?--name N}; shift 2 ;;
    --arch) arch=${2:?--arch amd64|arm64}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *=*) params+=("$1"); shift ;;
    wifi|ap|eth|usb|bt|deb|travel|offload|offbench) scenarios+=("$1"); shift ;;
    *) echo "vm-lab: unknown argument '$1' (scenarios: wifi ap eth usb bt; deb travel offload offbench)" >&2; exit 2 ;;
  esac
done
case "$arch" in
  amd64) [ ${#scenarios[@]} -gt 0 ] || scenarios=(wifi ap eth usb bt offload) ;;
  arm64)
    # The arm64 guest carries only what the USB and Ethernet scenarios run (build-initramfs.sh).
    [ ${#scenarios[@]} -gt 0 ] || scenarios=(usb eth)
    for sc in "${scenarios[@]}"; do
      case "$sc" in usb|eth) ;; *) echo "vm-lab: scenario '$sc' is not built for arm64 (usb eth)" >&2; exit 2 ;; esac
    done
    ;;
  *) echo "vm-lab: unknown architecture '$arch' (amd64 arm64)" >&2; exit 2 ;;
esac
export VM_ARCH=$arch
deb_mode=no
if [[ " ${scenarios[*]} " == *" deb "* ]]; then
  [ ${#scenarios[@]} -eq 1 ] || { echo "vm-lab: deb boots its own root file system: run it alone" >&2; exit 2; }
  deb_mode=yes
fi

build=${VM_BUILD_DIR:-}
if [ -z "$build" ]; then
  if [ -n "${TETHERD_BIN:-}" ]; then build=$(dirname "$TETHERD_BIN")
  elif [ "$arch" = arm64 ]; then build=$repo/build-arm64
  else build=$repo/build; fi
fi
tetherd=${TETHERD_BIN:-$build/tetherd}
tetherctl=${TETHERCTL_BIN:-$build/tetherctl}
[ "$deb_mode" = yes ] || for b in "$tetherd" "$tetherctl"; do
  [ -x "$b" ] || { echo "vm-lab: $b missing: build tetherd first (scripts/build.sh $([ "$arch" = arm64 ] && echo arm64 || echo release))" >&2; exit 2; }
done
cache=$build/vm-cache
out=$build/vm-out/$name
mkdir -p "$cache"
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

rm -rf "$out"
mkdir -p "$out"
if [ "$arch" = arm64 ]; then
  command -v qemu-system-aarch64 >/dev/null || { echo "vm-lab: qemu-system-aarch64 missing (scripts/install-deps.sh)" >&2; exit 2; }
  bash "$here/fetch-debs.sh" "$cache" arm64 || exit 2
  VM_KVER=$(cat "$cache/kver")
  kernel=$cache/root/boot/vmlinuz-$VM_KVER
  # -cpu max with pointer authentication's cheap implementation-defined algorithm: plain
  # `max` boots in 9.5 s (QARMA emulation), this in 5 s.
  qemu=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on) console=ttyAMA0
else
  if [ -z "${VM_KVER:-}" ]; then
    VM_KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -1)
  fi
  kernel=/boot/vmlinuz-$VM_KVER
  [ -n "$VM_KVER" ] && [ -r "$kernel" ] || { echo "vm-lab: no kernel in /boot (install linux-image-amd64)" >&2; exit 2; }
  command -v qemu-system-x86_64 >/dev/null || { echo "vm-lab: qemu-system-x86_64 missing (scripts/install-deps.sh)" >&2; exit 2; }
  qemu=(qemu-system-x86_64 -accel tcg -cpu max) console=ttyS0
fi
scen_csv=$(IFS=,; echo "${scenarios[*]}")
append="console=$console quiet panic=-1 SCENARIOS=$scen_csv SCENARIO_TIMEOUT=${VM_SCENARIO_TIMEOUT:-240} ${params[*]:-}"
if [ "$deb_mode" = yes ]; then
  [ "$arch" = amd64 ] || { echo "vm-lab: deb runs on amd64 only" >&2; exit 2; }
  # The package (built from this tree unless given), then the cached root file system that
  # holds its dependencies; booted read-only (-snapshot) with the host's kernel and initrd.
  deb=${TETHERD_DEB:-}
  if [ -z "$deb" ]; then
    deb=$(bash "$repo/scripts/build-deb.sh" "$build/deb" | tail -1)
  fi
  [ -f "$deb" ] || { echo "vm-lab: no .deb ('$deb')" >&2; exit 2; }
  bash "$here/build-rootfs.sh" "$cache" "$VM_KVER" "$deb"
  [ -r "/boot/initrd.img-$VM_KVER" ] || { echo "vm-lab: no /boot/initrd.img-$VM_KVER" >&2; exit 2; }
  boot_media=(-initrd "/boot/initrd.img-$VM_KVER" -m 1024
              -drive "file=$cache/rootfs-$VM_KVER.ext4,if=virtio,format=raw,snapshot=on")
  append="$append root=/dev/vda rw"
  echo "vm-lab: $(basename "$deb") and root file system ready after $(elapsed) s; booting $VM_KVER (TCG, systemd)"
else
  [ "$arch" = arm64 ] || bash "$here/fetch-debs.sh" "$cache"
  bash "$here/build-initramfs.sh" base "$cache" "$VM_KVER"
  bash "$here/build-initramfs.sh" project "$cache" "$out/project.cpio.gz" "$tetherd" "$tetherctl"
  cat "$cache/base-$VM_KVER.cpio.gz" "$out/project.cpio.gz" >"$out/initramfs.cpio.gz"
  rm "$out/project.cpio.gz"
  boot_media=(-initrd "$out/initramfs.cpio.gz" -m 512)
  echo "vm-lab: initramfs ready after $(elapsed) s; booting $VM_KVER ($arch, TCG) for: ${scenarios[*]} ${params[*]:-}"
fi
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# One boot of the guest; its console goes to the terminal and to console.log, the guest writes
# its logs to share/.
boot() {
  rm -rf "$out/share" && mkdir -p "$out/share"
  if [ "$deb_mode" = yes ]; then  # what the image's vmlab.service runs (guest/deb-init)
    mkdir -p "$out/share/in"
    cp "$here"/guest/{deb-init,deb.sh,lib.sh,udhcpc.script} "$deb" "$out/share/in/"
  fi
  tq=$(date +%s.%N)
  timeout -k 5 "$timeout" "${qemu[@]}" -smp 1 \
    -nographic -no-reboot -nic none -monitor none -serial stdio \
    -kernel "$kernel" "${boot_media[@]}" -append "$append" \
    -virtfs "local,path=$out/share,mount_tag=out,security_model=none,id=out" \
    -netdev hubport,id=lan,hubid=1 -device "virtio-net-pci,netdev=lan,mac=52:54:00:e7:00:01,romfile=" \
    -netdev hubport,id=lanc,hubid=1 -device "virtio-net-pci,netdev=lanc,mac=52:54:00:e7:00:02,romfile=" \
    </dev/null > >(tee "$out/console.log") 2>&1 &
  qemu_pid=$!
  rc=0
  wait "$qemu_pid" || rc=$?
  qemu_pid=""
  wait  # tee
  qemu_s=$(awk -v a="$tq" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}
boot
# Debian's kernel has rare races of its own in the emulated drivers' teardown (seen once: a NULL
# dereference in bnep_session while a kicked PAN client's port left the bridge). Such an oops
# leaves the guest unusable, so whatever it broke is not a verdict on tetherd: that boot is
# kept as console-oops.log, said loudly, and the same scenarios run once more on a fresh boot.
# Anything else that fails is a failure; a second oops is one too.
# A result that is not pass, or none at all: the boot did not prove everything.
not_all_pass() {
  local line
  line=$(tr -d '\r' <"$out/console.log" | grep -a '^VM-RESULT' | tail -1) || return 0
  [ -z "$line" ] && return 0
  tr ' ' '\n' <<<"${line#VM-RESULT}" | grep -v '^$' | grep -qv '=pass$'
}
if not_all_pass; then
  if grep -aqE 'BUG: kernel|Oops: [0-9]|kernel BUG at' "$out/console.log"; then
    cp "$out/console.log" "$out/console-oops.log"
    echo "vm-lab: the guest kernel oopsed (see $out/console-oops.log; not tetherd's code): booting once more" >&2
    boot
  fi
fi
summary=$(tr -d '\r' <"$out/console.log" | grep -a '^VM-RESULT' | tail -1 || true)
vmtime=$(tr -d '\r' <"$out/console.log" | grep -a '^VM-TIME' | tail -1 || true)
rm -f "$out/initramfs.cpio.gz"
echo "vm-lab: QEMU ran $qemu_s s (exit $rc); total $(elapsed) s; logs in $out"
[ -n "$vmtime" ] && echo "vm-lab: $vmtime"
if [ -z "$summary" ]; then
  [ "$rc" -eq 124 ] && echo "vm-lab: QEMU killed after $timeout s" >&2
  echo "vm-lab: FAIL: the guest printed no VM-RESULT line" >&2
  echo "VM-RESULT none"
  exit 1
fi

status=0
declare -A res
for kv in ${summary#VM-RESULT}; do res[${kv%%=*}]=${kv#*=}; done
if [ ${#expects[@]} -gt 0 ]; then
  for e in "${expects[@]}"; do
    k=${e%%=*} v=${e#*=}
    if [[ "${res[$k]:-}" != "$v"* ]]; then
      echo "vm-lab: FAIL: expected $k=$v*, got $k=${res[$k]:-<none>}" >&2
      status=1
    else
      echo "vm-lab: as expected: $k=${res[$k]}"
    fi
  done
else
  # No silent pass: anything but "pass" (fail, pending, partial, ...) fails the run.
  # Every word counts (a name reported twice, e.g. USB_FUNCTIONS=ncm,ncm, cannot hide a failure).
  [ ${#res[@]} -gt 0 ] || { echo "vm-lab: FAIL: the VM-RESULT line holds no result" >&2; status=1; }
  for kv in ${summary#VM-RESULT}; do
    k=${kv%%=*}
    if [[ "${kv#*=}" != pass ]]; then
      status=1
      echo "vm-lab: FAIL: $kv (only pass passes); its logs: $out/share/${k%%-*}/" >&2
      for f in steps.log tetherd.log; do
        [ -f "$out/share/${k%%-*}/$f" ] && { echo "--- ${k%%-*}/$f (tail)"; tail -25 "$out/share/${k%%-*}/$f"; } >&2
      done
    fi
  done
fi
echo "$summary"
exit $status
