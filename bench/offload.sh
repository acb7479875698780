#!/usr/bin/env bash
# Flowtable offload's forwarding benchmark (issue 18), in the VM lab (Debian's kernel has
# nf_flow_table; this machine's has not): iperf3 TCP and 64-byte UDP from a client namespace to
# a server namespace through plain forwarding, tetherd without offload and tetherd with offload,
# REPS rounds in rotating order (tests/vm/guest/offbench.sh). Prints the medians and the ratios to
# plain forwarding as a Markdown table (for docs/PERFORMANCE.md, "Forwarding with offload"), and
# the median of each round's offload ÷ plain ("paired").
# Usage: bench/offload.sh [REPS] (default 3). Needs the VM lab (docs/VM-LAB.md) and the lock:
#   flock /tmp/tetherd-vm.lock bench/offload.sh 5
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-3}
build=${VM_BUILD_DIR:-$repo/build}
TETHERD_BIN=${TETHERD_BIN:-$build/tetherd} TETHERCTL_BIN=${TETHERCTL_BIN:-$build/tetherctl} \
  VM_SCENARIO_TIMEOUT=$((60 + reps * 60)) bash "$repo/tests/vm/run.sh" --name offbench --timeout $((300 + reps * 60)) \
  offbench "REPS=$reps" >&2
f=$build/vm-out/offbench/share/offbench/bench.txt
[ -s "$f" ] || { echo "offload bench: no results ($f)" >&2; exit 1; }
awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  # paired(x, way): the median over the rounds of way ÷ plain in the same round (the three ways of
  # a round run back to back, so a slow drift of the emulator cancels out).
  function paired(v, w,   r, list) {
    list = ""
    for (r in rounds) if ((w, r) in v && ("plain", r) in v && v["plain", r] > 0) list = list " " v[w, r] / v["plain", r]
    return median(list)
  }
  { split($3, t, "="); split($4, u, "="); tcp[$1] = tcp[$1] " " t[2]; udp[$1] = udp[$1] " " u[2]
    rounds[$2] = 1; tcpr[$1, $2] = t[2]; udpr[$1, $2] = u[2] }
  END {
    print "| test | plain | tetherd | offload | tetherd / plain | offload / plain | offload / plain, paired | samples plain / tetherd / offload |"
    print "|---|---:|---:|---:|---:|---:|---:|---|"
    mp = median(tcp["plain"]); mt = median(tcp["tetherd"]); mo = median(tcp["offload"])
    printf "| TCP throughput (Mbit/s) | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.2fx | %s /%s /%s |\n", mp, mt, mo, mt / mp, mo / mp, paired(tcpr, "offload"), tcp["plain"], tcp["tetherd"], tcp["offload"]
    mp = median(udp["plain"]); mt = median(udp["tetherd"]); mo = median(udp["offload"])
    printf "| UDP 64 B delivered (pps) | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.2fx | %s /%s /%s |\n", mp, mt, mo, mt / mp, mo / mp, paired(udpr, "offload"), udp["plain"], udp["tetherd"], udp["offload"]
  }' "$f"
