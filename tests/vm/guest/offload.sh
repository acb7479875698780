#!/bin/sh
# Flowtable offload (issue 18; this VM's Debian kernel has nf_flow_table, the build machine's
# does not). A veth downstream off0 (client end offc0 in namespace offc) tethered with
# [tethering] offload = software:
#   - `tether status` says offload=active; `nft list flowtables` shows tetherd's flowtable
#     over eth0 (the upstream) and off0;
#   - a client's download is offloaded (conntrack shows [OFFLOAD]) and the bytes tetherd counts
#     for the client (client list's rx_bytes + tx_bytes) are within 2 % of the IP bytes the
#     client's namespace moved meanwhile (its IpExt InOctets + OutOctets);
#   - `client block` stops a running offloaded download within 1 s;
#   - a quota takes the client out of the flowtable at once (its running flow leaves it) and
#     the quota's cut-off holds (a longer download stops at 5 MB +5 %); `quota off` offloads
#     it again;
#   - a rate limit takes the client out of the flowtable at once, and its limit holds;
#     `limit off` offloads it again;
#   - failover: eth0 loses its default route, tethered traffic leaves by the second upstream
#     wan1 with the flowtable re-pointed to wan1 and the flow offloaded there; back on eth0
#     when its route returns, the flowtable with it;
#   - kill -9 at random points of 5 starts with offload active: the next start converges to
#     one table over the right devices, the client online and offloaded;
#   - after kill -9 the next start (offload = off) removes the table the crash left;
#   - after stop nothing of tetherd's table or flowtable is left.
# BREAK=offload: offload = off: the flowtable check must fail.
set -eu
. /vm/lib.sh
scenario_begin offload

CMAC=02:00:00:0f:f1:0d
ip_octets() {  # the client namespace's IP bytes in + out (IpExt InOctets + OutOctets)
  nsx offc cat /proc/net/netstat | awk '/^IpExt:/ { if (!h) { for (i = 2; i <= NF; i++) f[$i] = i; h = 1 } else print $f["InOctets"] + $f["OutOctets"] }'
}
counted() {  # tetherd's count for the client today: rx_bytes + tx_bytes of its client list line
  tctl client list 2>/dev/null | tr ' ' '\n' | awk -F= '$1 == "rx_bytes" || $1 == "tx_bytes" { s += $2 } END { print s + 0 }'
}
offloaded() { grep 'dport=80 ' /proc/net/nf_conntrack | grep -q '\[OFFLOAD\]'; }
ms() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
WAN1_ADDR=203.0.114.2  # the second upstream (wan1): what the upstream sees through NAT after failover
WAN1_GW=203.0.114.1
client_offloaded() { grep "src=$ADDR " /proc/net/nf_conntrack | grep -q '\[OFFLOAD\]'; }
no_client_offloaded() { ! client_offloaded; }
ft_devices() { /usr/sbin/nft list flowtables 2>/dev/null | grep devices; }
ft_over() {  # <upstream>: tetherd's flowtable is over exactly <upstream> and off0
  case "$(ft_devices)" in *"{ $1, off0 }"*|*"{ off0, $1 }"*) return 0 ;; esac; return 1
}
whoami() { nsx offc /usr/bin/curl -sS -m 3 "http://$WWW_ADDR/cgi-bin/whoami" 2>>"$LOG/client.log"; }
seen_as() { [ "$(whoami)" = "$1" ]; }
download() {  # <rate> <max seconds>: the big download in the background ($CURL)
  nsx offc /usr/bin/curl -sS -m "$2" --limit-rate "$1" -o /dev/null "http://$WWW_ADDR/cgi-bin/big" 2>>"$LOG/client.log" &
  CURL=$!
  PIDS="$PIDS $CURL"
}
stop_download() {  # the download ($CURL) was running until now: it is ended
  kill -0 "$CURL" 2>/dev/null || { wait "$CURL" || die "the download failed"; return; }
  kill "$CURL"; wait "$CURL" 2>/dev/null || true
}
scenario_cleanup() { ip link del wan1 2>/dev/null; ip route replace default via "$UP_GW" dev eth0 2>/dev/null; }

step modules
for m in nf_conntrack_netlink nf_tables nft_ct nf_flow_table nf_flow_table_inet nft_flow_offload; do modprobe "$m" || die "modprobe $m"; done

step topology
netns_add offc || die "netns offc: $(ip netns list 2>&1 | tr '\n' ' ')"
ip link add off0 type veth peer name offc0 netns offc 2>>"$LOG/topology.log" || die "veth off0: $(cat "$LOG/topology.log")"
nsx offc ip link set offc0 address "$CMAC" 2>>"$LOG/topology.log" || die "offc0's MAC: $(cat "$LOG/topology.log")"
nsx offc ip link set offc0 up 2>>"$LOG/topology.log" || die "offc0 up: $(cat "$LOG/topology.log")"
# The second upstream: wan1 to the same upstream namespace, with a default route of a higher
# metric than eth0's.
{ ip link add wan1 type veth peer name to-app1 netns "$UP_NS" &&
  ip addr add "$WAN1_ADDR/24" dev wan1 && ip link set wan1 up &&
  nsx "$UP_NS" ip addr add "$WAN1_GW/24" dev to-app1 && nsx "$UP_NS" ip link set to-app1 up &&
  ip route add default via "$WAN1_GW" dev wan1 metric 100; } 2>>"$LOG/topology.log" || die "wan1: $(cat "$LOG/topology.log")"
# A 24 MB download from the upstream's web server (its busybox httpd serves /srv/www), made on
# the fly by a CGI: the initramfs's root file system has no room for the file after the other
# scenarios (seen: full at 20 MB after eth), and a tmpfs mounted now is not seen by the httpd's
# own mount namespace.
printf '#!/bin/sh\necho "Content-Type: application/octet-stream"\necho\nexec /usr/libexec/bb/head -c 25165824 /dev/zero\n' \
  >/srv/www/cgi-bin/big && chmod 0755 /srv/www/cgi-bin/big || die "cgi-bin/big"

step tetherd-start
mode=software
broken offload && mode=off
config_two() {  # <offload mode>: the scenario's config, upstreams eth0 then wan1
  tetherd_config "[tethering]
auto_tether = ethernet
ethernet_pattern = off0
offload = $1

[upstream.wan1]
dns = $DNS_ADDR"
  sed -i 's/^priority = eth0$/priority = eth0 wan1/' "$LOG/tetherd.conf"
}
config_two "$mode"
tetherd_start || die "tetherd did not start"
wait_for 20 is_tethered off0 || die "off0 not tethered: '$(iface_state off0)'"
ADDR=$(dhcp offc offc0) || die "no DHCP lease"
say "offload: client $CMAC leased $ADDR"

step status
tctl tether status >"$LOG/status.txt" 2>&1
grep -q "offload=active" "$LOG/status.txt" || die "tether status: $(cat "$LOG/status.txt")"
tctl tether doctor >"$LOG/doctor.txt" 2>&1 || true
grep -q "ok offload active" "$LOG/doctor.txt" || die "doctor: $(cat "$LOG/doctor.txt")"

step flowtable
/usr/sbin/nft list flowtables >"$LOG/flowtables.txt" 2>&1
grep -q "flowtable ft" "$LOG/flowtables.txt" || die "no flowtable: $(cat "$LOG/flowtables.txt")"
devs=$(grep devices "$LOG/flowtables.txt")
case "$devs" in *eth0*off0*|*off0*eth0*) ;; *) die "flowtable devices: '$devs'" ;; esac

step offloaded
c0=$(counted)
o0=$(ip_octets)
# 24 MB at 6 MB/s: about 4 s, long enough to see the flow in the flowtable.
nsx offc /usr/bin/curl -sS -m 30 --limit-rate 6M -o /dev/null "http://$WWW_ADDR/cgi-bin/big" 2>>"$LOG/client.log" &
CURL=$!
wait_for 3 offloaded || { cat /proc/net/nf_conntrack >"$LOG/conntrack.txt"; die "no [OFFLOAD] conntrack entry for the download"; }
grep 'dport=80 ' /proc/net/nf_conntrack >"$LOG/conntrack.txt"
wait "$CURL" || die "the download failed"

step counted
o1=$(ip_octets)
c1=$(counted)
sent=$((o1 - o0))
got=$((c1 - c0))
say "offload: client moved $sent IP bytes, tetherd counted $got"
echo "client_ip_bytes=$sent counted=$got" >"$LOG/counted.txt"
[ "$sent" -gt 20000000 ] || die "only $sent bytes moved"
awk -v s="$sent" -v g="$got" 'BEGIN { d = g - s; if (d < 0) d = -d; exit !(d <= s * 0.02) }' ||
  die "counted $got bytes of $sent (more than 2 % apart)"

step block
nsx offc /usr/bin/curl -sS -m 30 --limit-rate 2M -o /dev/null "http://$WWW_ADDR/cgi-bin/big" 2>>"$LOG/client.log" &
CURL=$!
PIDS="$PIDS $CURL"
wait_for 3 offloaded || die "the second download was not offloaded"
sleep 0.5
t=$(now)
tctl client block "$CMAC" >>"$LOG/tetherctl.log" 2>&1 || die "client block refused"
took=$(ms "$t")
# From 1 s after the block was asked, the client receives nothing more of it.
while [ "$(ms "$t")" -lt 1000 ]; do sleep 0.05; done
b1=$(ip_octets)
sleep 1
b2=$(ip_octets)
say "offload: block answered in $took ms; 1-2 s after it the client moved $((b2 - b1)) bytes"
[ $((b2 - b1)) -lt 3000 ] || die "the download went on after the block: $((b2 - b1)) bytes in the second after 1 s"
kill "$CURL" 2>/dev/null || true
tctl client unblock "$CMAC" >>"$LOG/tetherctl.log" 2>&1 || die "client unblock refused"

step quota
# A quota takes the client out of the flowtable: its running offloaded flow leaves it at once
# (a large quota here, so that nothing is cut).
download 1M 30
wait_for 5 client_offloaded || die "the download after unblock was not offloaded"
tctl client quota "$CMAC" 100MB total >>"$LOG/tetherctl.log" 2>&1 || die "client quota refused: $(tail -1 "$LOG/tetherctl.log")"
wait_for 1 no_client_offloaded || die "the quota client's flow is still offloaded 1 s after the quota"
kill "$CURL" 2>/dev/null || true
wait "$CURL" 2>/dev/null || true
# The cut-off holds: a 5 MB quota set while the client is quiet, then a 24 MB download.
tctl client quota "$CMAC" off >>"$LOG/tetherctl.log" 2>&1 || die "client quota off refused"
sleep 1  # the killed download's last bytes (its socket buffer) are in
tctl client quota "$CMAC" 5MB total >>"$LOG/tetherctl.log" 2>&1 || die "client quota refused: $(tail -1 "$LOG/tetherctl.log")"
q0=$(ip_octets)
nsx offc /usr/bin/curl -sS -m 5 --limit-rate 4M -o /dev/null "http://$WWW_ADDR/cgi-bin/big" 2>>"$LOG/client.log" &&
  die "the 24 MB download past the 5 MB quota completed"
q1=$(ip_octets)
tctl client quotas >"$LOG/quotas-cut.txt" 2>&1
used=$(tr ' ' '\n' <"$LOG/quotas-cut.txt" | awk -F= '$1 == "used" { print $2; exit }')
say "offload: with a 5 MB quota the client moved $((q1 - q0)) bytes, tetherd counted $used"
[ $((q1 - q0)) -le 5250000 ] || die "the quota did not hold: $((q1 - q0)) bytes moved (quota 5 MB)"
[ $((q1 - q0)) -ge 4750000 ] || die "cut too early: $((q1 - q0)) bytes moved (quota 5 MB)"
awk -v u="${used:-0}" 'BEGIN { exit !(u >= 4750000 && u <= 5250000) }' || die "counted $used bytes used (quota 5 MB): $(cat "$LOG/quotas-cut.txt")"
! client_offloaded || die "a flow of the quota client was offloaded"
tctl client quota "$CMAC" off >>"$LOG/tetherctl.log" 2>&1 || die "client quota off refused"
download 4M 30
wait_for 5 client_offloaded || die "not offloaded again after quota off"
stop_download

step limit
# A client with a rate limit is not offloaded (its HTB class must see every packet): its
# offloaded flow leaves the flowtable at once, and a new download keeps to the limit.
download 6M 30
wait_for 5 client_offloaded || die "the download before the limit was not offloaded"
tctl client limit "$CMAC" 8Mbit 8Mbit >>"$LOG/tetherctl.log" 2>&1 || die "client limit refused: $(tail -1 "$LOG/tetherctl.log")"
wait_for 1 no_client_offloaded || die "the limited client's flow is still offloaded 1 s after the limit"
stop_download
download 12M 30
sleep 1
l0=$(ip_octets)
sleep 2
l1=$(ip_octets)
stop_download
say "offload: limited to 8 Mbit/s, the client moved $((l1 - l0)) bytes in 2 s"
! client_offloaded || die "a flow of the limited client was offloaded"
[ $((l1 - l0)) -le 2300000 ] || die "the limit did not hold: $((l1 - l0)) bytes in 2 s (8 Mbit/s: 2 000 000)"
[ $((l1 - l0)) -ge 1000000 ] || die "the limited download hardly moved: $((l1 - l0)) bytes in 2 s"
tctl client limit "$CMAC" off >>"$LOG/tetherctl.log" 2>&1 || die "client limit off refused"
download 6M 30
wait_for 5 client_offloaded || die "not offloaded again after limit off"
stop_download

step failover
seen_as "$APP_ADDR" || die "the upstream saw '$(whoami)', not eth0's $APP_ADDR"
ft_over eth0 || die "flowtable devices before failover: $(ft_devices)"
ip route del default via "$UP_GW" dev eth0 || die "eth0's default route"
t=$(now)
wait_for 5 seen_as "$WAN1_ADDR" || die "not through wan1 5 s after eth0 lost its route: '$(whoami)', $(tctl tether status)"
say "offload: through wan1 $(ms "$t") ms after eth0 lost its default route"
wait_for 2 ft_over wan1 || die "flowtable not re-pointed to wan1: $(ft_devices)"
tctl tether status | grep -q "offload=active" || die "after failover: $(tctl tether status)"
download 6M 30
wait_for 3 client_offloaded || die "the download through wan1 was not offloaded"
grep "src=$ADDR " /proc/net/nf_conntrack | grep OFFLOAD >"$LOG/conntrack-wan1.txt"
grep -q "dst=$WAN1_ADDR" "$LOG/conntrack-wan1.txt" || die "offloaded flow not NATed to wan1: $(cat "$LOG/conntrack-wan1.txt")"
stop_download
ip route add default via "$UP_GW" dev eth0 || die "eth0's default route back"
wait_for 5 seen_as "$APP_ADDR" || die "not back through eth0: '$(whoami)'"
wait_for 2 ft_over eth0 || die "flowtable not back on eth0: $(ft_devices)"
download 6M 30
wait_for 3 client_offloaded || die "the download back through eth0 was not offloaded"
stop_download

step kill9
# kill -9 at a random point of each of 5 starts (0-2.5 s after it answers ping: reconciling,
# making the table, tethered); each next start must converge.
seed=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
kinds=""
for i in 1 2 3 4 5; do
  d=$(awk -v s="$seed" -v i="$i" 'BEGIN { srand(s + i); printf "%.2f", rand() * 2.5 }')
  kill -KILL "$TETHERD_PID"; wait "$TETHERD_PID" 2>/dev/null || true; TETHERD_PID=""
  tetherd_start || die "tetherd did not start (round $i)"
  sleep "$d"
  kinds="$kinds +${d}s"
done
say "offload: tetherd killed at$kinds"
kill -KILL "$TETHERD_PID"; wait "$TETHERD_PID" 2>/dev/null || true; TETHERD_PID=""
tetherd_start || die "tetherd did not start after the kill rounds"
wait_for 20 is_tethered off0 || die "off0 not tethered after the kill rounds"
one_table() { [ "$(/usr/sbin/nft list tables | grep -c tetherd_offload)" = 1 ] && ft_over eth0; }
wait_for 5 one_table || die "after the kill rounds: $(/usr/sbin/nft list tables | tr '\n' ' ') $(ft_devices)"
tctl tether status | grep -q "offload=active" || die "after the kill rounds: $(tctl tether status)"
wait_for 5 seen_as "$APP_ADDR" || die "client not online after the kill rounds: '$(whoami)'"
download 6M 30
wait_for 3 client_offloaded || die "not offloaded after the kill rounds"
stop_download

step crash
# kill -9 leaves the table; the next start removes it (run_dir/offload-table), here with
# offload = off so that nothing makes it again.
kill -KILL "$TETHERD_PID"
wait "$TETHERD_PID" 2>/dev/null || true
TETHERD_PID=""
/usr/sbin/nft list tables | grep -q tetherd_offload || die "no table left by kill -9 (nothing to clean up?)"
config_two off
tetherd_start || die "tetherd did not start again"
wait_for 20 is_tethered off0 || die "off0 not tethered again"
! /usr/sbin/nft list tables | grep -q tetherd_offload || die "the crashed run's table is still there"
tctl tether status | grep -q "offload=off" || die "tether status: $(tctl tether status)"

tetherd_stop_checked
step cleanup
/usr/sbin/nft list ruleset >"$LOG/ruleset-after.txt" 2>&1
! grep -q "tetherd_offload\|flowtable" "$LOG/ruleset-after.txt" || die "left after stop: $(cat "$LOG/ruleset-after.txt")"
result offload pass
