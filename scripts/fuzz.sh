#!/usr/bin/env bash
# Builds the libFuzzer fuzzers (clang, ASan+UBSan; build-fuzz/) and runs each for a bounded time
# on its seed corpus (tests/fuzz/corpus/<name>/), one after the other. Fails on any crash, leak,
# timeout or out-of-memory: the input that did it is kept in artifacts/fuzz/ and the report is
# printed. Prints the executions each fuzzer ran. See docs/FUZZING.md.
# Usage: scripts/fuzz.sh [seconds-per-fuzzer (default 20)] [fuzzer...]   (fuzzer: control config
# hostapd softap_settings lease netlink web_api resolv blocked bluez doctor http_connection; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a clone elsewhere (CI) reuses the cache:
# with -g, ccache also keys on the working directory unless told not to (hash_dir), and every
# clean clone at a new path then rebuilt everything (about 20 minutes of the test command).
# The objects' debug info then names the directory of the build that made them first.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
seconds=${1:-20}
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(control config hostapd softap_settings lease netlink web_api resolv blocked bluez doctor http_connection probe)
jobs=${JOBS:-$(nproc)}

cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTETHERD_FUZZ=ON -DTETHERD_UNIT_ONLY=ON >/dev/null
if ! out=$(ninja -C build-fuzz -j "$jobs" "${fuzzers[@]/%/_fuzzer}" 2>&1); then
  echo "$out"
  exit 1
fi

# New inputs go to a scratch directory: the seed corpora in the repository stay as they are.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p artifacts/fuzz
failed=()
for f in "${fuzzers[@]}"; do
  mkdir -p "$work/$f"
  log="$work/$f.log"
  # -timeout: seconds for one input (generous: shared CI machines); -rss_limit_mb: per process.
  if build-fuzz/tests/fuzz/"$f"_fuzzer -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="artifacts/fuzz/$f-" "$work/$f" "tests/fuzz/corpus/$f" \
       >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
    printf 'fuzz: %-16s %10s executions in %ss, clean (%s)\n' "$f" "${runs:-?}" "$seconds" "${cov:-cov: ?}"
  else
    echo "fuzz: $f FAILED (input kept in artifacts/fuzz/$f-*):"
    grep -v '^#[0-9]' "$log" | tail -n 60
    failed+=("$f")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi
