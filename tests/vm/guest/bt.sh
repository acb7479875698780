#!/bin/sh
# Bluetooth: two emulated BR/EDR controllers (btvirt -l2 behind /dev/vhci: hci0 for tetherd's
# NAP, hci1 for the client), a system D-Bus and bluetoothd. tetherd ([bluetooth]) creates the
# bt-pan bridge and registers the NAP on hci0; the client adapter discovers hci0, pairs,
# connects to the NAP (org.bluez.Network1.Connect "nap"); its bnep interface is moved into a
# client namespace, gets a lease from tetherd's dnsmasq and reaches the upstream.
#
# Result: bt=pass; bt=partial:<furthest step reached>,<step>-failed when a step that only the
# emulated controllers decide fails (EMULATED_STEPS: discovery, pairing, the BNEP connection);
# bt=fail:<step> for any other step (the VM's set-up, and everything tetherd does: the bridge,
# the NAP registration, tethering the bridge, the lease, DNS, NAT, removal at stop).
set -eu
. /vm/lib.sh
scenario_begin bt

EMULATED_STEPS="client-power discover pair trust nap-connect"
LAST_OK=none
CLIENT_NS=btc
busctl() { /usr/bin/busctl "$@"; }
prop() { busctl get-property org.bluez "$1" "$2" "$3" 2>/dev/null | awk -F'"' '{ print $2 }'; }
dev_path() { echo "$1/dev_$(echo "$2" | tr ':' '_')"; }

ok() { LAST_OK=$STEP; }
bt_exit() {
  rc=$1
  if [ "$rc" -ne 0 ] && echo " $EMULATED_STEPS " | grep -q " $STEP " && ! grep -q "^bt=" "$RESULTS"; then
    result bt "partial:$LAST_OK,$STEP-failed"
    rc=0
  fi
  scenario_exit "$rc"
}
trap 'bt_exit $?' EXIT

step modules
modprobe hci_vhci
modprobe bnep
ok

step controllers
# Under TCG on a loaded machine the kernel's first HCI Reset to a new vhci controller can time
# out (hci0: Opcode 0x0c03 failed: -110) and the controller is never set up: start again.
controllers_ok() { /usr/bin/btmgmt info 2>/dev/null >"$LOG/btmgmt-info.txt"; grep -q '^hci0:' "$LOG/btmgmt-info.txt" && grep -q '^hci1:' "$LOG/btmgmt-info.txt"; }
for attempt in 1 2 3; do
  /usr/bin/btvirt -l2 >>"$LOG/btvirt.log" 2>&1 &
  BTVIRT=$!
  PIDS="$PIDS $BTVIRT"
  wait_for 10 test -e /sys/class/bluetooth/hci1 && wait_for 5 controllers_ok && break
  say "bt: controllers not ready (attempt $attempt): restarting btvirt"
  kill "$BTVIRT"; wait "$BTVIRT" 2>/dev/null || true
  wait_for 5 sh -c '! test -e /sys/class/bluetooth/hci0' || true
done
controllers_ok || die "btvirt's hci0 and hci1 did not both come up"
ok

step dbus
mkdir -p /run/dbus /var/lib/bluetooth
spawn /usr/bin/dbus-daemon --config-file=/vm/dbus-system.conf --nofork --nopidfile >"$LOG/dbus.log" 2>&1
wait_for 10 test -S /run/dbus/system_bus_socket || die "no system bus"
ok

step bluetoothd
spawn /usr/libexec/bluetooth/bluetoothd -n -E -d >"$LOG/bluetoothd.log" 2>&1
wait_for 15 sh -c '/usr/bin/busctl get-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Address && /usr/bin/busctl get-property org.bluez /org/bluez/hci1 org.bluez.Adapter1 Address' \
  || die "bluetoothd does not show hci0 and hci1"
NAP_ADDR=$(prop /org/bluez/hci0 org.bluez.Adapter1 Address)
CLIENT_ADDR=$(prop /org/bluez/hci1 org.bluez.Adapter1 Address)
say "bt: NAP adapter hci0 $NAP_ADDR, client adapter hci1 $CLIENT_ADDR"
ok

# The pairing agent (both adapters: one bluetoothd): bluetoothctl answering "yes" to every
# confirmation; tetherd leaves pairing to the system's agent. The same long-lived bluetoothctl
# runs the client's discovery (BlueZ ends a discovery when the D-Bus client that started it
# leaves, so a one-shot busctl cannot): bt_cmd queues commands for it.
step agent
mkfifo /tmp/btagent.in
# (default-agent is repeated: the first ones may come before the agent is registered.)
spawn sh -c 'i=0; while :; do if [ -e /tmp/btagent.cmd ]; then cat /tmp/btagent.cmd; rm -f /tmp/btagent.cmd; fi
  [ $((i % 4)) -eq 0 ] && echo default-agent; echo yes; i=$((i + 1)); sleep 0.5; done >/tmp/btagent.in'
bt_cmd() { printf '%s\n' "$@" >/tmp/btagent.cmd.new; mv /tmp/btagent.cmd.new /tmp/btagent.cmd; }
spawn sh -c '/usr/bin/bluetoothctl --agent NoInputNoOutput </tmp/btagent.in >'"$LOG"'/agent.log 2>&1'
wait_for 10 grep -q "Default agent request successful" "$LOG/agent.log" || die "bluetoothctl registered no default agent"
ok

step tetherd-start
tetherd_config "[tethering]
auto_tether = bluetooth

[bluetooth]
enabled = yes
adapter = hci0
bridge = bt-pan
discoverable = yes
pairable = yes"
tetherd_start_or_pending "[bluetooth]"
ok

step nap-registered
nap_registered() { tctl bluetooth status >"$LOG/bt-status.txt" 2>&1 && grep -q "nap=registered" "$LOG/bt-status.txt"; }
wait_for 15 nap_registered || die "NAP not registered: $(cat "$LOG/bt-status.txt")"
ok

step tethered
wait_for 15 is_tethered bt-pan || die "bt-pan not tethered: $(iface_state bt-pan)"
ok

step client-power
busctl set-property org.bluez /org/bluez/hci1 org.bluez.Adapter1 Powered b true
wait_for 5 sh -c '/usr/bin/busctl get-property org.bluez /org/bluez/hci1 org.bluez.Adapter1 Powered | grep -q true'
ok

step discover
DEV=$(dev_path /org/bluez/hci1 "$NAP_ADDR")
# BR/EDR inquiry only (PAN is BR/EDR; an interleaved LE scan first costs time).
bt_cmd "select $CLIENT_ADDR" "menu scan" "transport bredr" "back" "scan on"
wait_for 30 busctl get-property org.bluez "$DEV" org.bluez.Device1 Address || die "hci1 did not find $NAP_ADDR"
bt_cmd "scan off"
ok

step pair
busctl --timeout=30 call org.bluez "$DEV" org.bluez.Device1 Pair >>"$LOG/client.log" 2>&1 || die "Pair failed: $(tail -2 "$LOG/client.log")"
ok

step trust
# The NAP side trusts the paired client (else bluetoothd asks the agent to authorize the service).
NAP_DEV=$(dev_path /org/bluez/hci0 "$CLIENT_ADDR")
wait_for 5 busctl get-property org.bluez "$NAP_DEV" org.bluez.Device1 Paired
busctl set-property org.bluez "$NAP_DEV" org.bluez.Device1 Trusted b true
ok

step nap-connect
BNEP=$(busctl --timeout=30 call org.bluez "$DEV" org.bluez.Network1 Connect s nap 2>>"$LOG/client.log" | awk -F'"' '{ print $2 }')
[ -n "$BNEP" ] || die "Network1.Connect(nap) failed: $(tail -2 "$LOG/client.log")"
say "bt: client interface $BNEP"
ok

step bridge-port
wait_for 10 sh -c 'ls /sys/class/net/bt-pan/brif | grep -q bnep' || die "no bnep port in bt-pan"
ok

step client-netns
netns_add "$CLIENT_NS"
ip link set "$BNEP" netns "$CLIENT_NS"
ok

step dhcp
ADDR=$(dhcp "$CLIENT_NS" "$BNEP") || die "no DHCP lease on $BNEP"
case "$ADDR" in 192.168.44.*) ;; *) die "lease '$ADDR' is not in tetherd's 192.168.44.0/24" ;; esac
say "bt: PAN client leased $ADDR"
ok

check_upstream "$CLIENT_NS"
ok

# A kick from the admin page / `client kick <mac>`: tetherd finds the device by its lease on
# bt-pan and asks BlueZ to disconnect it; its bnep port leaves the bridge.
step kick
BMAC=$(nsx "$CLIENT_NS" cat "/sys/class/net/$BNEP/address")
tctl client kick "$BMAC" >>"$LOG/tetherctl.log" 2>&1 || die "client kick $BMAC refused: $(tail -1 "$LOG/tetherctl.log")"
wait_for 15 sh -c '! ls /sys/class/net/bt-pan/brif | grep -q bnep' || die "the bnep port is still in bt-pan after the kick"
busctl get-property org.bluez "$NAP_DEV" org.bluez.Device1 Connected >>"$LOG/client.log" 2>&1 || true
ok

tetherd_stop_checked
step bridge-removed
[ ! -e /sys/class/net/bt-pan ] || die "bt-pan still exists after tetherd stopped"
ok
result bt pass
