#!/bin/sh
# Forwarding benchmark for flowtable offload (issue 18; bench/offload.sh runs it): iperf3 TCP
# and 64-byte UDP from a client namespace through an appliance namespace to a server
# namespace, three ways: plain (an appliance namespace that only routes: no netfilter table,
# no conntrack ever instantiated in it), tetherd (tetherd in its own appliance namespace,
# offload = off) and offload (the same, offload = software). REPS rounds (default 3), the
# order rotating each round; each run 3 s. Lines "<way> <round> tcp_mbps=<n> udp_pps=<n>" go to
# $LOG/bench.txt. Under TCG every number is the emulator's, so only the ratios mean anything.
set -eu
. /vm/lib.sh
scenario_begin offbench
REPS=${REPS:-3}
SRV=198.51.100.10
IPERF=/usr/bin/iperf3

step modules
for m in nf_conntrack_netlink nf_tables nft_ct nf_flow_table nf_flow_table_inet nft_flow_offload; do modprobe "$m" || die "modprobe $m"; done

step topology
# srv: the server (iperf3 -s on $SRV), linked to both appliances.
netns_add srv
nsx srv ip addr add "$SRV/32" dev lo
# plain: routes only (its own client ns clp).
netns_add pl
netns_add clp
ip link add pl-up netns pl type veth peer name srv-pl netns srv
ip link add pl-dn netns pl type veth peer name clp0 netns clp
nsx pl ip addr add 203.0.114.2/24 dev pl-up
nsx pl ip addr add 192.168.47.1/24 dev pl-dn
nsx pl ip link set pl-up up
nsx pl ip link set pl-dn up
nsx pl ip route add default via 203.0.114.1
nsx pl /usr/libexec/bb/sysctl -qw net.ipv4.ip_forward=1
nsx srv ip addr add 203.0.114.1/24 dev srv-pl
nsx srv ip link set srv-pl up
nsx srv ip route add 192.168.47.0/24 via 203.0.114.2
nsx clp ip addr add 192.168.47.10/24 dev clp0
nsx clp ip link set clp0 up
nsx clp ip route add default via 192.168.47.1
# tapp: tetherd's appliance (upstream up0, downstream bd0 to client ns clt).
netns_add tapp
netns_add clt
ip link add up0 netns tapp type veth peer name srv-t netns srv
ip link add bd0 netns tapp type veth peer name clt0 netns clt
nsx tapp ip addr add 203.0.113.2/24 dev up0
nsx tapp ip link set up0 up
nsx tapp ip route add default via 203.0.113.1
nsx srv ip addr add 203.0.113.1/24 dev srv-t
nsx srv ip link set srv-t up
nsx clt ip link set clt0 up
spawn nsx srv "$IPERF" -s -B "$SRV" -D --logfile "$LOG/iperf3-server.log"
sleep 0.5

BD=/run/tetherd-bench
mkdir -p "$BD/run" "$BD/state"
chmod 0700 "$BD/state"
bench_start() {  # <offload mode>
  cat >"$LOG/tetherd-$1.conf" <<EOF
[daemon]
control_socket = $BD/sock
run_dir = $BD/run
state_dir = $BD/state
[upstream]
priority = up0
[upstream.up0]
dns = 198.51.100.53
[tethering]
auto_tether = ethernet
ethernet_pattern = bd0
offload = $1
EOF
  # ip netns exec execs tetherd: $! is tetherd's pid (a shell function would be a subshell's).
  /usr/bin/ip netns exec tapp /usr/sbin/tetherd --config "$LOG/tetherd-$1.conf" >>"$LOG/tetherd.log" 2>&1 &
  BPID=$!
  bt() { /usr/bin/tetherctl --socket "$BD/sock" --timeout 10 "$@"; }
  wait_for 15 sh -c "/usr/bin/tetherctl --socket $BD/sock tether interface list 2>/dev/null | grep -q 'bd0.*state=tethered'" ||
    die "bd0 not tethered ($1)"
  nsx clt ip -4 addr flush dev clt0
  dhcp clt clt0 >/dev/null || die "no lease ($1)"
  bt tether status >>"$LOG/status.txt" 2>&1 || die "tether status ($1)"
  case "$1" in software) bt tether status | grep -q offload=active || die "offload not active: $(bt tether status)" ;; esac
}
bench_stop() {
  kill -TERM "$BPID"
  wait "$BPID" 2>/dev/null || true
  ! kill -0 "$BPID" 2>/dev/null || die "tetherd did not stop"
}
run() {  # <way> <client ns> <round>
  tcp=$(nsx "$2" "$IPERF" -c "$SRV" -t 3 -f m 2>>"$LOG/iperf3.log" | awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }')
  udp=$(nsx "$2" "$IPERF" -c "$SRV" -u -l 64 -b 0 -t 3 2>>"$LOG/iperf3.log" |
        awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, a, "/"); printf "%d", (a[2] - a[1]) / 3 } }')
  echo "$1 $3 tcp_mbps=${tcp:-0} udp_pps=${udp:-0}" | tee -a "$LOG/bench.txt"
}
way() {  # <way> <round>
  case "$1" in
    plain) run plain clp "$2" ;;
    tetherd) bench_start off; run tetherd clt "$2"; bench_stop ;;
    offload) bench_start software; run offload clt "$2"; bench_stop ;;
  esac
}

step bench
: >"$LOG/bench.txt"
r=1
while [ "$r" -le "$REPS" ]; do
  case $((r % 3)) in
    1) order="plain tetherd offload" ;;
    2) order="tetherd offload plain" ;;
    0) order="offload plain tetherd" ;;
  esac
  for w in $order; do way "$w" "$r"; done
  r=$((r + 1))
done
grep -q "^offload .*tcp_mbps=[1-9]" "$LOG/bench.txt" || die "no offload measurement"
result offbench pass
