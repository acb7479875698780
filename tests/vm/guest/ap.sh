#!/bin/sh
# Soft AP options on mac80211_hwsim, each proven by stations rather than by hostapd.conf text.
# Three radios: wlan0 is tetherd's AP, wlan1 and wlan2 are stations in namespaces sta1 and sta2.
# Each sub-scenario starts tetherd with its own settings (state_dir/softap.conf, tetherd's own
# format) and records its own result:
#   ap-5ghz       band 5, channel 36, country US: hostapd.conf has hw_mode=a and country_code=US,
#                 the kernel's regulatory domain is US, the station (scanning 5180 and 2437 MHz)
#                 associates on 5180 MHz, gets a lease and reaches the upstream through NAT.
#   ap-hidden     hidden = yes: a station that has not seen the AP before (scan cache flushed)
#                 joins with scan_ssid=1 (lease, page).
#   ap-isolation  isolation = yes: two stations get leases, cannot reach each other, both reach
#                 the upstream; a rate limit on one gets fq_codel leaves (AP and upload ifb).
#   ap-maxsta     max-stations = 1: the first station joins, the second is refused.
#   ap-block      `tetherctl client block <mac>`: the station is refused at association;
#                 `client unblock <mac>`: it joins (lease, page).
#   ap-idle       [softap] idle_timeout = 20s: a station that joins before the timeout keeps the
#                 AP on, associated and silent, past it; 20 s after it leaves the AP goes off with
#                 "613 IfaceClass idle wlan0 off"; `softap start` brings it back (about 80 s).
# BREAK words (each breaks one sub-scenario, which must then fail): ap-5ghz (the AP on 2.4 GHz
# channel 6: the frequency check fails), ap-hidden (the station without scan_ssid=1), ap-isolation
# (isolation = no), ap-maxsta (max-stations = 2), ap-block (another MAC is blocked), ap-idle (no
# idle timeout: the AP stays on).
set -eu
. /vm/lib.sh
scenario_begin ap

SSID=tetherd-ap
PASS="vm-lab ap passphrase 7"

hex() { printf '%s' "$1" | /usr/libexec/bb/xxd -p | tr -d '\n'; }

# --- stations: sta_<verb> <ns> <ifname> ... ----------------------------------------------------
sta_ctl() { nsx "$1" /usr/sbin/wpa_cli -p "/run/wpa-$1" -i "$2" "$3"; }
sta_log() { echo "$LOG/wpa-$SUB-$1.log"; }
sta_start() {  # <ns> <if> <network block lines>
  cat >"/tmp/wpa-$1.conf" <<EOF
ctrl_interface=/run/wpa-$1
network={
	ssid="$SSID"
	key_mgmt=WPA-PSK
	psk="$PASS"
	ieee80211w=1
$3
}
EOF
  nsx "$1" /usr/sbin/wpa_supplicant -B -D nl80211 -i "$2" -c "/tmp/wpa-$1.conf" -P "/run/wpa-$1.pid" \
    -t -f "$(sta_log "$1")"
}
sta_stop() {  # <ns> <if>
  sta_ctl "$1" "$2" terminate >/dev/null 2>&1 || true
  wait_for 5 sh -c "! kill -0 \$(cat /run/wpa-$1.pid 2>/dev/null) 2>/dev/null" || true
  rm -f "/run/wpa-$1.pid"
}
sta_completed() { sta_ctl "$1" "$2" status 2>/dev/null | grep -q '^wpa_state=COMPLETED'; }
sta_wait_completed() {  # <ns> <if> <seconds>
  wait_for "$3" sta_completed "$1" "$2" && return 0
  die "$1 did not associate in $3 s: $(sta_ctl "$1" "$2" status 2>&1 | grep wpa_state); $(grep -o 'CTRL-EVENT-[A-Z-]*REJECT.*' "$(sta_log "$1")" | tail -1)"
}
# sta_wait_refused <ns> <if> <seconds>: the AP refuses the station: it is not associated when the
# AP's refusal (auth/assoc reject) arrives, nor at the end of the wait.
sta_wait_refused() {
  wait_for "$3" grep -q 'CTRL-EVENT-AUTH-REJECT\|CTRL-EVENT-ASSOC-REJECT' "$(sta_log "$1")" || true
  ! sta_completed "$1" "$2" || die "$1 associated although the AP should refuse it"
  REFUSAL=$(grep -o 'CTRL-EVENT-[A-Z-]*REJECT.*' "$(sta_log "$1")" | tail -1)
  say "ap: $1 refused: ${REFUSAL:-no answer from the AP in $3 s}"
}
sta_lease() {  # <ns> <if>: prints the address; dies without one in tetherd's subnet
  _a=$(dhcp "$1" "$2") || die "$1: no DHCP lease"
  case "$_a" in 192.168.43.*) ;; *) die "$1: lease '$_a' is not in tetherd's 192.168.43.0/24" ;; esac
  echo "$_a"
}
sta_upstream() {  # <ns>: the page through NAT (what the upstream sees is the appliance)
  _who=$(nsx "$1" /usr/bin/curl -sS -m 5 "http://$WWW_ADDR/cgi-bin/whoami" 2>>"$LOG/client.log")
  [ "$_who" = "$APP_ADDR" ] || die "$1: the upstream saw '$_who', not $APP_ADDR (NAT)"
}

ap_enabled() {
  tctl softap status >"$LOG/softap-status.txt" 2>&1 && grep -q "state=ENABLED" "$LOG/softap-status.txt" \
    && is_tethered wlan0
}

# ap_start <settings lines> [<more [softap] keys>] [<more [tethering] keys>]: tetherd with a
# fresh state dir and this softap.conf; the AP is up.
ap_start() {
  step tetherd-start
  rm -rf "/var/lib/tetherd-$SCEN"
  tetherd_config "[tethering]
auto_tether = wifi
${3:-}

[softap]
interface = wlan0
driver = nl80211
hostapd = /usr/sbin/hostapd
${2:-}"
  printf 'ssid=hex:%s\nsecurity=wpa2-psk\npassphrase=hex:%s\n%s\n' "$(hex "$SSID")" "$(hex "$PASS")" "$1" \
    >"$STATE_DIR/softap.conf"
  chmod 0600 "$STATE_DIR/softap.conf"
  echo "=== $SCEN" >>"$LOG/tetherd.log"
  tetherd_start || die "tetherd did not start"
  step ap-enabled
  wait_for 30 ap_enabled || die "soft AP not up: wlan0 $(iface_state wlan0); $(cat "$LOG/softap-status.txt")"
}

# Each sub-scenario runs in a subshell (its own EXIT trap: ap-<name>=fail:<step>, tetherd
# stopped, stations stopped); the station namespaces stay for the next one.
scenario_cleanup() { sta_stop sta1 wlan1; sta_stop sta2 wlan2; }
# (Not `( ... ) || true`: a shell ignores set -e inside a command whose status it tests.)
sub() {  # <name> <function>
  set +e
  ( set -e; SCEN=ap-$1 SUB=$1 NETNS=""; trap 'scenario_exit $?' EXIT; trap 'exit 143' TERM INT; "$2"
    tetherd_stop_checked; result "ap-$1" pass )
  set -e
}

sub_5ghz() {
  if broken ap-5ghz; then ap_start "band=2.4
channel=6
country=US"
  else ap_start "band=5
channel=36
country=US" "" "ipv6 = nat66"; fi
  step hostapd-conf
  grep -q '^hw_mode=a$' /run/tetherd/hostapd-wlan0.conf || broken ap-5ghz || die "hostapd.conf has no hw_mode=a"
  grep -q '^country_code=US$' /run/tetherd/hostapd-wlan0.conf || die "hostapd.conf has no country_code=US"
  step regdomain
  iw reg get >"$LOG/reg.txt" 2>&1
  grep -q '^country US' "$LOG/reg.txt" || die "the regulatory domain is not US: $(grep '^country' "$LOG/reg.txt" | head -1)"
  step associate
  sta_start sta1 wlan1 "	scan_freq=5180 2437"
  sta_wait_completed sta1 wlan1 20
  step frequency
  FREQ=$(sta_ctl sta1 wlan1 status | sed -n 's/^freq=//p')
  say "ap-5ghz: the station associated on $FREQ MHz"
  [ "$FREQ" = 5180 ] || die "the station is on $FREQ MHz, not 5180 (channel 36)"
  step dhcp
  sta_lease sta1 wlan1 >/dev/null
  check_upstream sta1
  broken ap-5ghz || check_upstream6 sta1 wlan1  # the station gets IPv6 too (issue 12)
}

sub_hidden() {
  ap_start "hidden=yes
band=2.4
channel=6"
  grep -q '^ignore_broadcast_ssid=1$' /run/tetherd/hostapd-wlan0.conf || die "hostapd.conf does not hide the SSID"
  # sta2 has not met this AP yet, and the kernel's scan cache is flushed: nothing but a
  # directed probe (scan_ssid=1) can tell it the SSID behind the empty one in the beacons.
  nsx sta2 ip link set wlan2 up
  nsx sta2 /usr/sbin/iw dev wlan2 scan flush freq 2437 >>"$LOG/client.log" 2>&1 || true
  step associate
  if broken ap-hidden; then sta_start sta2 wlan2 "	scan_freq=2437"
  else sta_start sta2 wlan2 "	scan_freq=2437
	scan_ssid=1"; fi
  sta_wait_completed sta2 wlan2 15
  step dhcp
  sta_lease sta2 wlan2 >/dev/null
  sta_upstream sta2
}

sub_isolation() {
  iso=yes
  broken ap-isolation && iso=no
  ap_start "isolation=$iso
band=2.4
channel=6"
  step associate
  sta_start sta1 wlan1 "	scan_freq=2437"
  sta_start sta2 wlan2 "	scan_freq=2437"
  sta_wait_completed sta1 wlan1 20
  sta_wait_completed sta2 wlan2 20
  step dhcp
  A1=$(sta_lease sta1 wlan1)
  A2=$(sta_lease sta2 wlan2)
  step isolated
  if nsx sta1 /usr/libexec/bb/ping -c 2 -W 1 "$A2" >>"$LOG/client.log" 2>&1; then
    die "sta1 ($A1) reaches sta2 ($A2) through the AP"
  fi
  if nsx sta2 /usr/libexec/bb/ping -c 1 -W 1 "$A1" >>"$LOG/client.log" 2>&1; then
    die "sta2 ($A2) reaches sta1 ($A1) through the AP"
  fi
  step upstream
  sta_upstream sta1
  sta_upstream sta2
  # Rate limits on a kernel that has fq_codel (this one): the client's HTB classes get fq_codel
  # leaves, on the AP (download) and on tetherd's ifb (upload); it still reaches the upstream.
  step rate-limit-fq_codel
  M1=$(nsx sta1 cat /sys/class/net/wlan1/address)
  tctl client limit "$M1" 5Mbit 2Mbit >>"$LOG/tetherctl.log" 2>&1 || die "client limit refused: $(tail -1 "$LOG/tetherctl.log")"
  wait_for 5 sh -c '/usr/sbin/tc qdisc show dev wlan0 | grep -q fq_codel' \
    || die "no fq_codel leaf on wlan0: $(/usr/sbin/tc qdisc show dev wlan0 | tr '\n' ';')"
  /usr/sbin/tc qdisc show dev tifb-wlan0 | grep -q fq_codel \
    || die "no fq_codel leaf on tifb-wlan0: $(/usr/sbin/tc qdisc show dev tifb-wlan0 2>&1 | tr '\n' ';')"
  /usr/sbin/tc qdisc show dev wlan0 >"$LOG/tc-ap-isolation.txt" 2>&1
  sta_upstream sta1
  tctl client limit "$M1" off >>"$LOG/tetherctl.log" 2>&1 || die "client limit off refused"
}

sub_maxsta() {
  max=1
  broken ap-maxsta && max=2
  ap_start "max-stations=$max
band=2.4
channel=6"
  step first
  sta_start sta1 wlan1 "	scan_freq=2437"
  sta_wait_completed sta1 wlan1 20
  sta_lease sta1 wlan1 >/dev/null
  step one-more
  sta_start sta2 wlan2 "	scan_freq=2437"
  sta_wait_refused sta2 wlan2 10
  step first-still-online
  sta_completed sta1 wlan1 || die "the first station lost its association"
  sta_upstream sta1
}

sub_block() {
  ap_start "band=2.4
channel=6"
  MAC2=$(nsx sta2 cat /sys/class/net/wlan2/address)
  step block
  victim=$MAC2
  broken ap-block && victim=02:00:00:00:99:99
  tctl client block "$victim" >>"$LOG/tetherctl.log" 2>&1 || die "client block $victim refused: $(tail -1 "$LOG/tetherctl.log")"
  tctl client blocked >"$LOG/blocked.txt" 2>&1
  grep -q "$victim" "$LOG/blocked.txt" || die "client blocked does not list $victim"
  sleep 1  # hostapd re-reads its deny list on the SIGHUP tetherd sent
  step refused
  sta_start sta2 wlan2 "	scan_freq=2437"
  sta_wait_refused sta2 wlan2 10
  sta_stop sta2 wlan2
  step unblock
  tctl client unblock "$MAC2" >>"$LOG/tetherctl.log" 2>&1 || die "client unblock $MAC2 refused: $(tail -1 "$LOG/tetherctl.log")"
  sleep 1
  step associate
  sta_start sta2 wlan2 "	scan_freq=2437"
  sta_wait_completed sta2 wlan2 20
  step dhcp
  sta_lease sta2 wlan2 >/dev/null
  sta_upstream sta2
}

ap_disabled() { ! tctl softap status 2>/dev/null | grep -q "state=ENABLED"; }

sub_idle() {
  timeout=20s
  broken ap-idle && timeout=off
  ap_start "band=2.4
channel=6" "idle_timeout = $timeout"
  spawn /usr/bin/tetherctl --socket "$SOCK" monitor >"$LOG/monitor-idle.log" 2>&1
  step station-before-timeout
  sta_start sta1 wlan1 "	scan_freq=2437"
  sta_wait_completed sta1 wlan1 15
  sta_lease sta1 wlan1 >/dev/null
  step kept-on
  sleep 25  # past the timeout, the station associated (and silent once leased)
  ap_enabled || die "the AP went off with a station associated: $(grep 613 "$LOG/monitor-idle.log")"
  step station-leaves
  sta_stop sta1 wlan1
  wait_for 10 grep -q "612 Station disconnected" "$LOG/monitor-idle.log" || die "no disconnect event"
  step off
  wait_for 35 grep -qF "613 IfaceClass idle wlan0 off" "$LOG/monitor-idle.log" || die "no idle event in 35 s"
  wait_for 10 ap_disabled || die "the AP is still enabled"
  step softap-start
  tctl softap start >>"$LOG/tetherctl.log" 2>&1 || die "softap start refused: $(tail -1 "$LOG/tetherctl.log")"
  wait_for 30 ap_enabled || die "softap start did not bring the AP back"
}

step load-hwsim
modprobe -r mac80211_hwsim 2>/dev/null || true
modprobe mac80211_hwsim radios=3
wait_for 5 test -e /sys/class/net/wlan2/phy80211 || die "mac80211_hwsim made no wlan2"
step station-netns
for n in 1 2; do
  netns_add "sta$n"
  iw phy "$(cat "/sys/class/net/wlan$n/phy80211/name")" set netns name "sta$n"
done

sub 5ghz sub_5ghz
sub hidden sub_hidden
sub isolation sub_isolation
sub maxsta sub_maxsta
sub block sub_block
sub idle sub_idle
exit 0
