#!/usr/bin/env bash
# The demo: installs dependencies, builds tetherd, brings up the namespace lab with tetherd
# running in the appliance namespace and a client behind each of usb0, wlan0 and bt-pan
# (each gets a lease and fetches a page through NAT), turns the admin page on and forwards it
# to http://127.0.0.1:${DEMO_WEB_PORT:-8080}/ on this machine (socat; the URL and the first-use
# setup code are printed), and waits; Ctrl-C tears everything down (namespaces, veths,
# processes, the forward).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
export TETHERD_BIN="$PWD/build/tetherd" TETHERCTL_BIN="$PWD/build/tetherctl"
exec python3 scripts/lab up --tetherd --dhcp dhclient --web "${DEMO_WEB_PORT:-8080}"
