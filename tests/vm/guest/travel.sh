#!/bin/sh
# Travel router: one mac80211_hwsim radio (wlan0) is both tetherd's Wi-Fi upstream (a station
# tetherd's own wpa_supplicant runs) and its soft AP (ap0, which tetherd creates on the same
# radio once the station has associated). The upstream access point is a hostapd on a second
# radio in namespace "upap" (channel 1, WPA2, DHCP from dnsmasq, a page from busybox httpd at
# 192.0.2.1); a phone (wpa_supplicant on a third radio, namespace "sta") joins tetherd's AP and
# fetches that page. Then the upstream AP switches to channel 6 (hostapd chan_switch): tetherd's
# AP must follow with its client, and the phone must be online again; the downtime is reported.
# Bounded: SCENARIO_TIMEOUT (run.sh), about 60 s of guest time.
set -eu
. /vm/lib.sh
scenario_begin travel

UP_SSID=upstream-vm
UP_PASS="upstream passphrase 7"
SSID=tetherd-vm
PASS="vm-lab passphrase 42"
MARKER=behind-the-upstream-ap
hex() { printf '%s' "$1" | /usr/libexec/bb/xxd -p | tr -d '\n'; }
chan() { iw dev "$1" info 2>/dev/null | awk '$1 == "channel" { print $2; exit }'; }  # <netns-local ifname>
phy_of() { cat "/sys/class/net/$1/phy80211/name"; }
station_on() { iw dev wlan0 link | grep -q "$1"; }
station_addressed() { ip -4 -o addr show dev wlan0 | grep -q ' inet 192\.0\.2\.'; }
phone_associated() { nsx sta /usr/sbin/wpa_cli -p /run/wpa-phone -i wlan1 status | grep -q '^wpa_state=COMPLETED'; }
ap_on() { [ "$(chan ap0)" = "$1" ]; }
page() { nsx sta /usr/bin/curl -sS -m 2 "http://192.0.2.1/" 2>>"$LOG/client.log" | grep -q "$MARKER"; }

step load-hwsim
modprobe mac80211_hwsim radios=3
wait_for 5 test -e /sys/class/net/wlan2/phy80211 || die "mac80211_hwsim made no wlan2"

step upstream-ap
netns_add upap
iw phy "$(phy_of wlan2)" set netns name upap
cat >/tmp/upap.conf <<EOF2
interface=wlan2
driver=nl80211
ctrl_interface=/run/hostapd-upap
ssid=$UP_SSID
hw_mode=g
channel=1
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=$UP_PASS
EOF2
nsx upap ip addr add 192.0.2.1/24 dev wlan2
spawn nsx upap /usr/sbin/hostapd /tmp/upap.conf >"$LOG/upstream-hostapd.log" 2>&1
wait_for 10 grep -q AP-ENABLED "$LOG/upstream-hostapd.log" || die "the upstream AP did not start: $(tail -3 "$LOG/upstream-hostapd.log")"
nsx upap /usr/sbin/hostapd_cli -p /run/hostapd-upap -i wlan2 status >"$LOG/upstream-status.txt" 2>&1 || true
spawn nsx upap /usr/sbin/dnsmasq -C /dev/null -k --no-resolv --no-hosts --user=root --port=0 --interface=wlan2 \
  --bind-interfaces --dhcp-range=192.0.2.10,192.0.2.50,255.255.255.0,1h --dhcp-leasefile=/run/upap.leases \
  --dhcp-option=option:dns-server,192.0.2.1
mkdir -p /srv/upap
echo "<html><body>$MARKER</body></html>" >/srv/upap/index.html
spawn nsx upap /usr/libexec/bb/httpd -f -p 192.0.2.1:80 -h /srv/upap

step phone-netns
netns_add sta
iw phy "$(phy_of wlan1)" set netns name sta

step tetherd-start
STATE_DIR=/var/lib/tetherd-$SCEN
mkdir -p "$STATE_DIR" /run/tetherd
chmod 0700 "$STATE_DIR"
cat >"$LOG/tetherd.conf" <<EOF2
[daemon]
log_level = debug
control_socket = $SOCK
run_dir = /run/tetherd
state_dir = $STATE_DIR

[upstream]
priority = wlan0

[upstream.wlan0]
ssid = $UP_SSID
passphrase = $UP_PASS
udhcpc = /usr/libexec/bb/udhcpc

[tethering]
auto_tether = wifi

[softap]
interface = ap0
driver = nl80211
hostapd = /usr/sbin/hostapd
EOF2
# tetherd's soft AP settings ask for channel 11: sharing the radio, it must use the station's.
printf 'ssid=hex:%s\nsecurity=wpa2-psk\npassphrase=hex:%s\nband=2.4\nchannel=11\n' \
  "$(hex "$SSID")" "$(hex "$PASS")" >"$STATE_DIR/softap.conf"
chmod 0600 "$STATE_DIR/softap.conf"
tetherd_start || die "tetherd did not start: $(tail -3 "$LOG/tetherd.log")"

step station-associated
wait_for 30 station_on "SSID: $UP_SSID" || die "tetherd's station did not join $UP_SSID"
step station-lease
wait_for 20 station_addressed || die "no DHCP address on wlan0"
# No dns key: the lease's DNS server (udhcpc's script writes it) reaches tetherd's dnsmasq.
step station-dns
wait_for 10 grep -qx "nameserver 192.0.2.1" /run/tetherd/udhcpc-wlan0.resolv \
  || die "the lease's DNS server is not in udhcpc-wlan0.resolv: $(cat /run/tetherd/udhcpc-wlan0.resolv 2>&1)"

step combinations-checked
# Up front, from the radio's advertised interface combinations (nl80211), before joining.
grep -q "wlan0.s radio can run a station beside an access point (.*managed.*AP" "$LOG/tetherd.log" \
  || die "no up-front interface-combination check in tetherd.log"

step ap-same-radio
wait_for 20 test -e /sys/class/net/ap0 || die "tetherd made no ap0"
[ "$(phy_of ap0)" = "$(phy_of wlan0)" ] || die "ap0 is on $(phy_of ap0), wlan0 on $(phy_of wlan0)"
[ "$(cat /sys/class/net/ap0/address)" != "$(cat /sys/class/net/wlan0/address)" ] || die "ap0 has wlan0's MAC"
wait_for 30 is_tethered ap0 || die "ap0 not tethered: $(iface_state ap0); $(tctl softap status 2>&1)"
[ "$(chan ap0)" = 1 ] || die "the soft AP is on channel '$(chan ap0)', not the station's 1"
wait_for 10 grep -q "192.0.2.1" /run/tetherd/dnsmasq-servers.conf \
  || die "dnsmasq was not given the lease's DNS server: $(cat /run/tetherd/dnsmasq-servers.conf 2>&1)"

step phone-joins
cat >/tmp/phone.conf <<EOF2
ctrl_interface=/run/wpa-phone
network={
	ssid="$SSID"
	key_mgmt=WPA-PSK
	psk="$PASS"
}
EOF2
spawn nsx sta /usr/sbin/wpa_supplicant -D nl80211 -i wlan1 -c /tmp/phone.conf -t -f "$LOG/wpa_supplicant.log"
wait_for 20 phone_associated \
  || die "the phone did not associate with tetherd's AP"
ADDR=$(dhcp sta wlan1) || die "no DHCP lease for the phone"
say "$SCEN: phone $ADDR"
step phone-online
wait_for 10 page || die "the phone cannot fetch http://192.0.2.1/ behind the upstream AP"

step upstream-chan-switch
T0=$(now)
nsx upap /usr/sbin/hostapd_cli -p /run/hostapd-upap -i wlan2 chan_switch 20 2437 >>"$LOG/steps.log" 2>&1 \
  || die "the upstream AP refused chan_switch"
wait_for 20 ap_on 6 \
  || die "the soft AP stayed on channel $(chan ap0)"
wait_for 20 station_on "freq: 2437" || die "the station is not on 2437 MHz: $(iw dev wlan0 link | head -3)"
step phone-online-again
wait_for 30 page || die "the phone is not online after the channel switch"
T1=$(now)
DROPS=$(grep -c "CTRL-EVENT-DISCONNECTED" "$LOG/wpa_supplicant.log" || true)
DOWN=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')
grep -q "following the station to 2437 MHz (CHAN_SWITCH" "$LOG/tetherd.log" || die "tetherd did not log the switch"
[ "$DROPS" = 0 ] || die "the phone was disconnected $DROPS times: it did not follow the soft AP's switch"
say "$SCEN: upstream channel switch -> phone online again in $DOWN s (includes the 20-beacon countdown); phone disconnects: $DROPS"
echo "travel-downtime=${DOWN}s phone-disconnects=$DROPS" >>"$LOG/steps.log"

step kill-9
# tetherd killed: the next one stops the wpa_supplicant and udhcpc it left, removes the ap0 it
# left, joins again and brings the soft AP back on the station's (new) channel.
kill -KILL "$TETHERD_PID"
wait "$TETHERD_PID" 2>/dev/null || true
TETHERD_PID=""
tetherd_start || die "tetherd did not start again: $(tail -3 "$LOG/tetherd.log")"
wait_for 30 station_on "freq: 2437" || die "tetherd's station did not join again"
wait_for 30 is_tethered ap0 || die "ap0 not tethered again: $(iface_state ap0)"
ap_on 6 || die "the soft AP came back on channel '$(chan ap0)', not the station's 6"
[ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx wpa_supplicant)" = 2 ] || die "not exactly the phone's and tetherd's wpa_supplicant"
wait_for 40 page || die "the phone is not online after tetherd's restart"
say "$SCEN: back after kill -9"

tetherd_stop_checked
step stop-clean
! test -e /sys/class/net/ap0 || die "ap0 is still there after tetherd stopped"
! cat /proc/[0-9]*/comm 2>/dev/null | grep -qx udhcpc || die "tetherd left udhcpc running"
! test -e /run/tetherd/wpa_supplicant-wlan0.pid || die "tetherd left wpa_supplicant's pid file"
! test -e /run/tetherd/wpa_supplicant/wlan0 || die "wpa_supplicant's control socket is still there"
result travel pass
