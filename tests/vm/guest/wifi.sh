#!/bin/sh
# Wi-Fi: tetherd brings up its soft AP on a mac80211_hwsim radio (WPA2-PSK, channel 6,
# country DE); a wpa_supplicant station on the second radio, in its own namespace, associates,
# gets a lease from tetherd's dnsmasq, resolves the upstream's name and fetches its page
# through tetherd's NAT; `softap stations` lists it with its signal; `softap deauth` drops it.
# Then the same with WPA3-SAE, switched at run time with `tetherctl softap set` (wifi-sae).
# A station with a wrong passphrase (WPA2, wifi-psk-mismatch) and a wrong password (SAE,
# wifi-sae-mismatch) is refused, and tetherd says so once, with the station's MAC and the cause:
# one log line and one `612 Station auth-failed <mac> wlan0 <cause>` event.
# BREAK=wifi-passphrase gives tetherd a passphrase the station does not know (must fail).
set -eu
. /vm/lib.sh
scenario_begin wifi

SSID=tetherd-vm
PASS="vm-lab passphrase 42"
AP_PASS=$PASS
broken wifi-passphrase && AP_PASS="not the station's passphrase"
WPA_CTRL=/run/wpa-sta

hex() { printf '%s' "$1" | /usr/libexec/bb/xxd -p | tr -d '\n'; }

# wait_associated <seconds>: the station reached COMPLETED; fails at once on a wrong key.
wait_associated() {
  _end=$(awk -v n="$(now)" -v t="$1" 'BEGIN { print n + t }')
  while :; do
    nsx sta /usr/sbin/wpa_cli -p "$WPA_CTRL" -i wlan1 status 2>/dev/null | grep -q '^wpa_state=COMPLETED' && return 0
    if grep -q "pre-shared key may be incorrect\|WRONG_KEY\|SAE: .*confirm mismatch" "$LOG/wpa_supplicant.log" 2>/dev/null; then
      die "the station's key was refused (4-way handshake / SAE failed)"
    fi
    awk -v n="$(now)" -v e="$_end" 'BEGIN { exit !(n >= e) }' && die "no association in $1 s"
    sleep 0.1
  done
}

# start_station <network block lines>
start_station() {
  cat >/tmp/sta.conf <<EOF
ctrl_interface=$WPA_CTRL
network={
	ssid="$SSID"
	scan_freq=2437
$1
}
EOF
  nsx sta /usr/sbin/wpa_supplicant -B -D nl80211 -i wlan1 -c /tmp/sta.conf -P /run/wpa-sta.pid \
    -t -f "$LOG/wpa_supplicant.log"
}
stop_station() {
  nsx sta /usr/sbin/wpa_cli -p "$WPA_CTRL" -i wlan1 terminate >/dev/null 2>&1 || true
  wait_for 5 sh -c '! kill -0 $(cat /run/wpa-sta.pid) 2>/dev/null' || true
}

# wrong_password <key_mgmt lines> <cause>: a station with a wrong key is refused; tetherd logs
# the failure once (the station retries meanwhile) and sends the event.
wrong_password() {
  stop_station
  : >"$LOG/wpa_supplicant.log"
  start_station "$1"
  _line="soft AP: station $STA_MAC failed to authenticate on wlan0: $2"
  wait_for 20 grep -qF "$_line" "$LOG/tetherd.log" || die "no log line '$_line'"
  wait_for 5 grep -qF "612 Station auth-failed $STA_MAC wlan0 $2" "$LOG/monitor.log" || die "no auth-failed event"
  sleep 3  # the station's retries, if any, must not log again
  [ "$(grep -cF "$_line" "$LOG/tetherd.log")" = 1 ] || die "logged $(grep -cF "$_line" "$LOG/tetherd.log") times, not once"
  ! nsx sta /usr/sbin/wpa_cli -p "$WPA_CTRL" -i wlan1 status 2>/dev/null | grep -q '^wpa_state=COMPLETED' \
    || die "the station with a wrong key associated"
  say "$SCEN: $(grep -F "$_line" "$LOG/tetherd.log" | tail -1)"
  stop_station
}

station_listed() {  # the station, with its signal and its lease, in `softap stations`
  tctl softap stations >"$LOG/stations.txt" 2>&1 || return 1
  grep "^mac=$STA_MAC " "$LOG/stations.txt" | grep "ip=$1" | grep -q "signal=-[0-9]*dBm"
}

ap_enabled() {
  tctl softap status >"$LOG/softap-status.txt" 2>&1 && grep -q "state=ENABLED" "$LOG/softap-status.txt" \
    && is_tethered wlan0
}

step load-hwsim
modprobe mac80211_hwsim radios=2
wait_for 5 test -e /sys/class/net/wlan1/phy80211 || die "mac80211_hwsim made no wlan1"

step station-netns
netns_add sta
nsx sta true
PHY=$(cat /sys/class/net/wlan1/phy80211/name)
iw phy "$PHY" set netns name sta
STA_MAC=$(nsx sta cat /sys/class/net/wlan1/address)

step tetherd-start
tetherd_config "[tethering]
auto_tether = wifi

[softap]
interface = wlan0
driver = nl80211
hostapd = /usr/sbin/hostapd"
# tetherd's own settings file (softap/hostapd/softap_settings.h serializeSettings): WPA2-PSK, fixed
# channel 6 (2437 MHz), country DE.
printf 'ssid=hex:%s\nsecurity=wpa2-psk\npassphrase=hex:%s\nband=2.4\nchannel=6\ncountry=DE\n' \
  "$(hex "$SSID")" "$(hex "$AP_PASS")" >"$STATE_DIR/softap.conf"
chmod 0600 "$STATE_DIR/softap.conf"
tetherd_start || die "tetherd did not start"
spawn /usr/bin/tetherctl --socket "$SOCK" monitor >"$LOG/monitor.log" 2>&1

step ap-enabled
wait_for 30 ap_enabled || die "soft AP not up: wlan0 $(iface_state wlan0); $(cat "$LOG/softap-status.txt")"

step associate
start_station "	key_mgmt=WPA-PSK
	psk=\"$PASS\"
	ieee80211w=1"
wait_associated 20
nsx sta /usr/sbin/wpa_cli -p "$WPA_CTRL" -i wlan1 status >"$LOG/sta-status.txt" 2>&1
grep -q '^key_mgmt=WPA2-PSK$' "$LOG/sta-status.txt" || die "the station is not using WPA2-PSK: $(grep key_mgmt "$LOG/sta-status.txt")"

step dhcp
ADDR=$(dhcp sta wlan1) || die "no DHCP lease"
case "$ADDR" in 192.168.43.*) ;; *) die "lease '$ADDR' is not in tetherd's 192.168.43.0/24" ;; esac
say "wifi: station $STA_MAC leased $ADDR"

check_upstream sta

step stations
wait_for 5 station_listed "$ADDR" || die "station not listed with signal and lease: $(cat "$LOG/stations.txt")"
say "wifi: $(grep "^mac=$STA_MAC " "$LOG/stations.txt")"

step deauth
tctl softap deauth "$STA_MAC" >>"$LOG/tetherctl.log" 2>&1 || die "softap deauth refused"
wait_for 5 grep -q "612 Station disconnected $STA_MAC wlan0" "$LOG/monitor.log" || die "no disconnect event"
wait_for 5 grep -q "CTRL-EVENT-DISCONNECTED" "$LOG/wpa_supplicant.log" || die "the station was not disconnected"
result wifi pass

SCEN=wifi-psk-mismatch
step psk-mismatch
wrong_password "	key_mgmt=WPA-PSK
	psk=\"not the AP's passphrase\"
	ieee80211w=1" "wrong passphrase (WPA2-PSK 4-way handshake failed)"
result wifi-psk-mismatch pass

# --- WPA3-SAE, switched at run time -----------------------------------------------------------
SCEN=wifi-sae   # failures from here on are wifi-sae's
step sae-set
stop_station
: >"$LOG/wpa_supplicant.log"
tctl softap set security wpa3-sae >>"$LOG/tetherctl.log" 2>&1 || die "softap set security wpa3-sae refused"
wait_for 10 grep -q '^wpa_key_mgmt=SAE$' /run/tetherd/hostapd-wlan0.conf || die "hostapd.conf has no SAE"
wait_for 30 ap_enabled || die "soft AP not back: wlan0 $(iface_state wlan0)"

step sae-associate
start_station "	key_mgmt=SAE
	sae_password=\"$PASS\"
	ieee80211w=2"
wait_associated 20
nsx sta /usr/sbin/wpa_cli -p "$WPA_CTRL" -i wlan1 status >"$LOG/sta-status-sae.txt" 2>&1
grep -q '^key_mgmt=SAE$' "$LOG/sta-status-sae.txt" || die "the station is not using SAE: $(grep key_mgmt "$LOG/sta-status-sae.txt")"

step sae-dhcp
ADDR=$(dhcp sta wlan1) || die "no DHCP lease"
case "$ADDR" in 192.168.43.*) ;; *) die "lease '$ADDR' is not in tetherd's 192.168.43.0/24" ;; esac
check_upstream sta
step sae-stations
wait_for 5 station_listed "$ADDR" || die "station not listed: $(cat "$LOG/stations.txt")"
result wifi-sae pass

SCEN=wifi-sae-mismatch
step sae-mismatch
wrong_password "	key_mgmt=SAE
	sae_password=\"not the AP's password\"
	ieee80211w=2" "wrong password (WPA3-SAE confirm mismatch)"
tetherd_stop_checked
result wifi-sae-mismatch pass
