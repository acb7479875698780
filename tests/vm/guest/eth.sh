#!/bin/sh
# Ethernet downstream: two plain virtual NICs (QEMU virtio-net on one hub, i.e. one cable):
# 52:54:00:e7:00:01 is renamed lan0 and tethered by tetherd ([tethering] auto_tether =
# ethernet, ethernet_pattern = lan0); 52:54:00:e7:00:02 is moved into namespace ethc, where a
# client gets a lease from tetherd's dnsmasq (192.168.45.x), resolves the upstream's name and
# fetches its page through NAT; `client list` shows the lease on lan0; tetherd exits 0.
# BREAK=eth: tetherd is told to tether another name (lan9): the scenario must fail.
set -eu
. /vm/lib.sh
scenario_begin eth

DOWN_MAC=52:54:00:e7:00:01
CLIENT_MAC=52:54:00:e7:00:02
nic_by_mac() {  # <mac>: the interface name
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }
  done
  return 1
}

step nics
modprobe virtio_net
wait_for 10 nic_by_mac "$CLIENT_MAC" || die "no NIC with $CLIENT_MAC (virtio_net; QEMU's -netdev hubport)"
wait_for 5 nic_by_mac "$DOWN_MAC" || die "no NIC with $DOWN_MAC"
ip link set dev "$(nic_by_mac "$DOWN_MAC")" name lan0
netns_add ethc
cif=$(nic_by_mac "$CLIENT_MAC")
ip link set "$cif" netns ethc
nsx ethc ip link set dev "$cif" name ethc0
nsx ethc ip link set ethc0 up

step tetherd-start
pattern=lan0
broken eth && pattern=lan9
tetherd_config "[tethering]
auto_tether = ethernet
ethernet_pattern = $pattern"
tetherd_start || die "tetherd did not start"

step tethered
wait_for 20 is_tethered lan0 || die "lan0 not tethered: '$(iface_state lan0)'; $(tctl tether interface list 2>&1 | head -5)"

step dhcp
ADDR=$(dhcp ethc ethc0) || die "no DHCP lease"
case "$ADDR" in 192.168.45.*) ;; *) die "lease '$ADDR' is not in tetherd's 192.168.45.0/24" ;; esac
say "eth: client $CLIENT_MAC leased $ADDR"

check_upstream ethc

step client-list
tctl client list >"$LOG/clients.txt" 2>&1 || die "client list failed"
grep -i "$CLIENT_MAC" "$LOG/clients.txt" | grep -q "$ADDR" || die "client list has no $CLIENT_MAC with $ADDR: $(cat "$LOG/clients.txt")"

tetherd_stop_checked
result eth pass
