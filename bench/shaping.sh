#!/usr/bin/env bash
# The rate-limit benchmark (issue 14 point 4), one command, as root on Debian 12:
#
#   sudo bash bench/shaping.sh [bench/shaping.py options, e.g. --seconds 5 --reps 3]
#
# Installs what is missing (scripts/install-deps.sh), builds tetherd and tetherctl in
# build-bench/ (the shipped configuration, as bench/run.sh), then runs bench/shaping.py in a
# throw-away lab: per-client limits set with `tetherctl client limit`, iperf3 through them
# beside an unlimited client, the achieved/limit ratios written to docs/PERFORMANCE.md's
# "Rate limits" section (bench/run.sh's merge keeps that section). About 2 minutes plus the
# build. JOBS=n limits the build's parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/shaping.sh: must run as root (network namespaces, qdiscs)" >&2
  exit 1
fi
bash scripts/install-deps.sh
export CCACHE_NOHASHDIR=1
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTETHERD_BENCH=ON >/dev/null
ninja -C build-bench -j "${JOBS:-$(nproc)}" tetherd tetherctl
BENCH_ARGS_SHOWN="$*" exec python3 -u bench/shaping.py --build-dir build-bench "$@"
