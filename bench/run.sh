#!/usr/bin/env bash
# tetherd's benchmarks, one command, as root on Debian 12:
#
#   sudo bash bench/run.sh [bench/run.py options, e.g. --only churn,footprint]
#
# Installs what is missing (scripts/install-deps.sh), builds build-bench/ (the shipped
# configuration, RelWithDebInfo: -Os, sections collected, libstdc++ static in tetherd; with
# -DTETHERD_BENCH=ON: tetherd, tetherctl and the helpers in bench/), runs every benchmark in
# throw-away lab namespaces and rewrites docs/PERFORMANCE.md (raw samples:
# build-bench/bench-results.json). About 5 minutes plus the first build. JOBS=n limits the
# build's parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: must run as root (network namespaces, netfilter)" >&2
  exit 1
fi
bash scripts/install-deps.sh
export CCACHE_NOHASHDIR=1
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTETHERD_BENCH=ON >/dev/null
ninja -C build-bench -j "${JOBS:-$(nproc)}" tetherd tetherctl bench_rule_churn bench_http_floor bench_client_rules
BENCH_ARGS_SHOWN="$*" exec python3 -u bench/run.py --build-dir build-bench "$@"
