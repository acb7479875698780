# Shared helpers of the VM lab's guest scripts (busybox sh). Sourced by /init and by every
# scenario. busybox sh runs its own applets before $PATH: the dynamic tools are called by full
# path through these functions (busybox's ip has no netns, its modprobe no --show-depends).
ip() { /usr/bin/ip "$@"; }
iw() { /usr/sbin/iw "$@"; }
modprobe() { /usr/sbin/modprobe "$@"; }
nsx() { ns=$1; shift; /usr/bin/ip netns exec "$ns" "$@"; }  # run in a namespace

OUT=${OUT:-/out}                 # results share (9p) or /tmp/out; the host reads it
RESULTS=/tmp/vm-results          # "name=value" lines, one per scenario result
SOCK=/run/tetherd/tetherd.sock

# Addresses (documentation ranges). The upstream namespace "up" serves HTTP and DNS.
UP_NS=up
WWW_NAME=www.tether.test
WWW_ADDR=198.51.100.10
DNS_ADDR=198.51.100.53
APP_ADDR=203.0.113.2             # the appliance's eth0: what the upstream sees through NAT
UP_GW=203.0.113.1
# IPv6: the appliance's eth0 2001:db8:1::2/64 (static, default via ::1); the page also on
# [2001:db8:ffff::10]:80 (scenarios with `ipv6 = nat66` fetch it: the upstream sees APP_ADDR6).
APP_ADDR6=2001:db8:1::2
UP_GW6=2001:db8:1::1
WWW6_ADDR=2001:db8:ffff::10
PAGE_MARKER="tetherd VM lab upstream page"

# broken <word>: BREAK (kernel command line, comma separated) names this deliberately broken
# variant (e.g. BREAK=wifi-passphrase,ap-5ghz): the scenario must then report a failure.
broken() { case ",${BREAK:-}," in *",$1,"*) return 0 ;; esac; return 1; }

now() { cut -d' ' -f1 /proc/uptime; }   # seconds since the kernel started
say() { echo "[$(now)] $*"; }            # console (kept short: the serial port is slow)

# wait_for <seconds> <command...>: polls every 0.1 s until the command succeeds.
wait_for() {
  _t=$1; shift
  _end=$(awk -v n="$(now)" -v t="$_t" 'BEGIN { print n + t }')
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    awk -v n="$(now)" -v e="$_end" 'BEGIN { exit !(n >= e) }' && return 1
    sleep 0.1
  done
}

# --- scenario bookkeeping --------------------------------------------------------------------
# A scenario script: `. /vm/lib.sh; scenario_begin wifi`, then `step <name>` before each
# stage; with `set -e` any failing command ends it and the EXIT trap records
# "<name>=fail:<step>". `result <name> <value>` records sub-results (e.g. wifi-sae).
scenario_begin() {
  SCEN=$1
  LOG=$OUT/$SCEN
  mkdir -p "$LOG"
  STEP=start
  PIDS=""
  NETNS=""
  trap 'scenario_exit $?' EXIT
  trap 'exit 143' TERM INT
  say "$SCEN: begin"
}
step() { STEP=$1; say "$SCEN: $STEP"; echo "[$(now)] step $STEP" >>"$LOG/steps.log"; }
result() { echo "$1=$2" >>"$RESULTS"; say "RESULT $1=$2"; }
die() { echo "[$(now)] FAILED at $STEP: $*" >>"$LOG/steps.log"; say "$SCEN: FAILED at $STEP: $*"; exit 1; }
spawn() { "$@" & PIDS="$PIDS $!"; }   # a background process the scenario owns (killed at its end)

scenario_exit() {
  rc=$1
  set +e
  trap - EXIT
  if [ "$rc" -ne 0 ] && ! grep -q "^$SCEN=" "$RESULTS" 2>/dev/null; then
    result "$SCEN" "fail:$STEP"
  fi
  command -v scenario_cleanup >/dev/null 2>&1 && scenario_cleanup
  tetherd_stop
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for n in $NETNS; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  say "$SCEN: end"
  exit "$rc"
}

netns_add() { ip netns add "$1"; NETNS="$NETNS $1"; mkdir -p "/etc/netns/$1"; : >"/etc/netns/$1/resolv.conf"; nsx "$1" ip link set lo up; }

# --- the upstream (shared by /init and deb-init) ---------------------------------------------
# The upstream: namespace "up" behind the appliance's eth0 (203.0.113.2/24, default via .1),
# www.tether.test (198.51.100.10: busybox httpd, /cgi-bin/whoami answers the client address
# it sees) and its DNS server (198.51.100.53: dnsmasq, authoritative for the name).
upstream_up() {
  ip netns add "$UP_NS" || return 1
  mkdir -p "/etc/netns/$UP_NS"; : >"/etc/netns/$UP_NS/resolv.conf"
  ip link add eth0 type veth peer name to-app netns "$UP_NS" || return 1
  ip addr add "$APP_ADDR/24" dev eth0 && ip link set eth0 up && ip link set lo up || return 1
  ip route add default via "$UP_GW" dev eth0 || return 1
  nsx "$UP_NS" ip link set lo up
  nsx "$UP_NS" ip addr add "$WWW_ADDR/32" dev lo
  nsx "$UP_NS" ip addr add "$DNS_ADDR/32" dev lo
  nsx "$UP_NS" ip addr add "$UP_GW/24" dev to-app
  nsx "$UP_NS" ip link set to-app up
  mkdir -p /srv/www/cgi-bin
  echo "<html><body>$PAGE_MARKER</body></html>" >/srv/www/index.html
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n' >/srv/www/cgi-bin/whoami
  chmod 0755 /srv/www/cgi-bin/whoami
  nsx "$UP_NS" /usr/libexec/bb/httpd -p "$WWW_ADDR:80" -h /srv/www || return 1
  ip -6 addr add "$APP_ADDR6/64" dev eth0 nodad && ip -6 route add default via "$UP_GW6" dev eth0 || return 1
  nsx "$UP_NS" ip -6 addr add "$UP_GW6/64" dev to-app nodad
  nsx "$UP_NS" ip -6 addr add "$WWW6_ADDR/128" dev lo
  nsx "$UP_NS" /usr/libexec/bb/httpd -p "[$WWW6_ADDR]:80" -h /srv/www || return 1
  nsx "$UP_NS" /usr/sbin/dnsmasq -C /dev/null --no-resolv --no-hosts --no-poll --user=root \
    --listen-address="$DNS_ADDR" --bind-interfaces --host-record="$WWW_NAME,$WWW_ADDR" --local=/tether.test/ \
    --pid-file=/run/up-dnsmasq.pid --log-queries --log-facility="$OUT/upstream-dns.log" || return 1
}

# --- tetherd ---------------------------------------------------------------------------------
TETHERD_PID=""
STATE_DIR=""

# tetherd_config <extra sections...>: the common config (upstream eth0 with the upstream's DNS,
# state in /var/lib/tetherd-<scenario>) followed by the given text.
tetherd_config() {
  STATE_DIR=/var/lib/tetherd-$SCEN
  mkdir -p "$STATE_DIR" /run/tetherd
  chmod 0700 "$STATE_DIR"
  cat >"$LOG/tetherd.conf" <<EOF
[daemon]
log_level = debug
control_socket = $SOCK
run_dir = /run/tetherd
state_dir = $STATE_DIR

[upstream]
priority = eth0

[upstream.eth0]
dns = $DNS_ADDR

$1
EOF
}

tctl() { /usr/bin/tetherctl --socket "$SOCK" --timeout 10 "$@"; }

# tetherd_start: runs tetherd with $LOG/tetherd.conf; returns when it answers ping.
# Returns 2 when tetherd refused the config because of an unknown section (a feature that has
# not landed yet): the caller reports "pending".
tetherd_start() {
  /usr/sbin/tetherd --config "$LOG/tetherd.conf" >>"$LOG/tetherd.log" 2>&1 &
  TETHERD_PID=$!
  _end=$(awk -v n="$(now)" 'BEGIN { print n + 15 }')
  while ! tctl ping >/dev/null 2>&1; do
    if ! kill -0 "$TETHERD_PID" 2>/dev/null; then
      wait "$TETHERD_PID" 2>/dev/null
      TETHERD_PID=""
      grep -q "unknown section" "$LOG/tetherd.log" && return 2
      tail -5 "$LOG/tetherd.log"
      return 1
    fi
    awk -v n="$(now)" -v e="$_end" 'BEGIN { exit !(n >= e) }' && return 1
    sleep 0.1
  done
}

# tetherd_start_or_pending <section>: tetherd_start; a tetherd that does not know the section
# yet ends the (sub)scenario with "pending" instead of "fail".
tetherd_start_or_pending() {
  _rc=0
  tetherd_start || _rc=$?
  [ $_rc -eq 0 ] && return 0
  if [ $_rc -eq 2 ]; then
    result "$SCEN" "pending:tetherd-has-no-$1"
    exit 0
  fi
  die "tetherd did not start: $(tail -3 "$LOG/tetherd.log")"
}

tetherd_stop() {
  [ -n "$TETHERD_PID" ] || return 0
  kill -TERM "$TETHERD_PID" 2>/dev/null
  _i=0
  while kill -0 "$TETHERD_PID" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
  if kill -0 "$TETHERD_PID" 2>/dev/null; then
    echo "tetherd did not stop in 5 s: SIGKILL" >>"$LOG/tetherd.log"
    kill -KILL "$TETHERD_PID" 2>/dev/null
  fi
  wait "$TETHERD_PID" 2>/dev/null
  TETHERD_RC=$?
  TETHERD_PID=""
  return 0
}

# tetherd_stop_checked: SIGTERM; tetherd must exit 0 (a crash at stop fails the scenario).
tetherd_stop_checked() {
  step stop
  tetherd_stop
  [ "${TETHERD_RC:-1}" -eq 0 ] || die "tetherd exited with status $TETHERD_RC on SIGTERM: $(tail -3 "$LOG/tetherd.log")"
  # Not (yet) a failure, but worth seeing: a child tetherd did not wait for at its stop.
  grep "killing it" "$LOG/tetherd.log" | tail -1 | sed "s/^/[$(now)] $SCEN: tetherd.log: /"
}

# iface_state <ifname>: the downstream's state in `tether interface list` (empty: unknown).
iface_state() { tctl tether interface list 2>/dev/null | awk -v i="$1" '$1 == i { for (f = 2; f <= NF; f++) if ($f ~ /^state=/) print substr($f, 7) }'; }
is_tethered() { [ "$(iface_state "$1")" = tethered ]; }

# --- clients ---------------------------------------------------------------------------------
# dhcp <ns> <ifname>: a lease with busybox udhcpc (address, route and resolv.conf set by
# /vm/udhcpc.script inside the namespace); prints the address.
dhcp() {
  nsx "$1" /usr/libexec/bb/udhcpc -i "$2" -f -q -n -t 10 -T 1 -A 1 -s /vm/udhcpc.script >>"$LOG/udhcpc-$2.log" 2>&1 || return 1
  nsx "$1" ip -4 -o addr show dev "$2" | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# IPv6 (`ipv6 = nat66`): the client's address by SLAAC from tetherd's RA, the page over IPv6, and
# the upstream sees the appliance's address (nat66).
global6() { nsx "$1" ip -6 -o addr show dev "$2" scope global | grep -v tentative | grep -q " inet6 fd"; }
check_upstream6() {  # <ns> <ifname>
  step ipv6-slaac
  wait_for 20 global6 "$1" "$2" || die "no IPv6 address by SLAAC on $2: $(nsx "$1" ip -6 -o addr show dev "$2" 2>&1 | tr '\n' ' ')"
  step ipv6-http
  wait_for 10 nsx "$1" /usr/bin/curl -sS -g -m 3 -o "$LOG/page6.html" "http://[$WWW6_ADDR]/" 2>>"$LOG/client.log" \
    || die "curl http://[$WWW6_ADDR]/ failed: $(nsx "$1" ip -6 route 2>&1 | tr '\n' ' ')"
  grep -q "$PAGE_MARKER" "$LOG/page6.html" || die "the upstream page did not arrive over IPv6"
  step ipv6-nat66
  _who=$(nsx "$1" /usr/bin/curl -sS -g -m 5 "http://[$WWW6_ADDR]/cgi-bin/whoami" 2>>"$LOG/client.log")
  [ "$_who" = "[$APP_ADDR6]" ] || die "the upstream saw '$_who' over IPv6, not [$APP_ADDR6] (nat66)"  # busybox httpd's REMOTE_ADDR
}

# The client's view of the upstream: name resolution, the page and what the upstream sees.
check_upstream() {  # <ns>
  _ns=$1
  step dns
  _a=$(nsx "$_ns" /usr/libexec/bb/nslookup "$WWW_NAME" 2>&1 | tee -a "$LOG/client.log" | awk '/^Address/ { a = $NF } END { print a }')
  [ "$_a" = "$WWW_ADDR" ] || die "$WWW_NAME resolved to '$_a', not $WWW_ADDR"
  step http
  # curl (dynamic glibc: the namespace's resolv.conf, i.e. tetherd's dnsmasq); busybox-static's
  # wget crashes in glibc's static NSS when it resolves a name.
  nsx "$_ns" /usr/bin/curl -sS -m 5 -o "$LOG/page.html" "http://$WWW_NAME/" 2>>"$LOG/client.log" || die "curl http://$WWW_NAME/ failed"
  grep -q "$PAGE_MARKER" "$LOG/page.html" || die "the upstream page did not arrive"
  step nat
  _who=$(nsx "$_ns" /usr/bin/curl -sS -m 5 "http://$WWW_NAME/cgi-bin/whoami" 2>>"$LOG/client.log")
  [ "$_who" = "$APP_ADDR" ] || die "the upstream saw '$_who', not $APP_ADDR (NAT)"
}
