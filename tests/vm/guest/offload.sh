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

step modules
for m in nf_conntrack_netlink nf_tables nft_ct nf_flow_table nf_flow_table_inet nft_flow_offload; do modprobe "$m" || die "modprobe $m"; done

step topology
netns_add offc || die "netns offc: $(ip netns list 2>&1 | tr '\n' ' ')"
ip link add off0 type veth peer name offc0 netns offc 2>>"$LOG/topology.log" || die "veth off0: $(cat "$LOG/topology.log")"
nsx offc ip link set offc0 address "$CMAC" 2>>"$LOG/topology.log" || die "offc0's MAC: $(cat "$LOG/topology.log")"
nsx offc ip link set offc0 up 2>>"$LOG/topology.log" || die "offc0 up: $(cat "$LOG/topology.log")"
# A 24 MB download from the upstream's web server (its busybox httpd serves /srv/www), made on
# the fly by a CGI: the initramfs's root file system has no room for the file after the other
# scenarios (seen: full at 20 MB after eth), and a tmpfs mounted now is not seen by the httpd's
# own mount namespace.
printf '#!/bin/sh\necho "Content-Type: application/octet-stream"\necho\nexec /usr/libexec/bb/head -c 25165824 /dev/zero\n' \
  >/srv/www/cgi-bin/big && chmod 0755 /srv/www/cgi-bin/big || die "cgi-bin/big"

step tetherd-start
mode=software
broken offload && mode=off
tetherd_config "[tethering]
auto_tether = ethernet
ethernet_pattern = off0
offload = $mode"
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

step crash
# kill -9 leaves the table; the next start removes it (run_dir/offload-table), here with
# offload = off so that nothing makes it again.
kill -KILL "$TETHERD_PID"
wait "$TETHERD_PID" 2>/dev/null || true
TETHERD_PID=""
/usr/sbin/nft list tables | grep -q tetherd_offload || die "no table left by kill -9 (nothing to clean up?)"
tetherd_config "[tethering]
auto_tether = ethernet
ethernet_pattern = off0
offload = off"
tetherd_start || die "tetherd did not start again"
wait_for 20 is_tethered off0 || die "off0 not tethered again"
! /usr/sbin/nft list tables | grep -q tetherd_offload || die "the crashed run's table is still there"
tctl tether status | grep -q "offload=off" || die "tether status: $(tctl tether status)"

tetherd_stop_checked
step cleanup
/usr/sbin/nft list ruleset >"$LOG/ruleset-after.txt" 2>&1
! grep -q "tetherd_offload\|flowtable" "$LOG/ruleset-after.txt" || die "left after stop: $(cat "$LOG/ruleset-after.txt")"
result offload pass
