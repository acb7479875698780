#!/usr/bin/env bash
# Everything from a fresh Debian 12 machine (as root) to every test result:
# installs dependencies, builds the release and sanitizer configurations, runs the unit,
# root (real kernel) and lab integration tests, then the unit tests again under ASan+UBSan
# and every fuzzer for a bounded time (scripts/fuzz.sh).
# The last line is CTest's summary of the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
bash scripts/build.sh asan

mkdir -p artifacts
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Sanitizer run of the unit tests first, so that the final summary is the full suite's.
ctest --test-dir build-asan --output-on-failure -j 2 --timeout 300
# Every libFuzzer fuzzer for 18 s on its seed corpus (clang, ASan+UBSan; docs/FUZZING.md):
# 12 fuzzers stay under 4 minutes in all.
bash scripts/fuzz.sh 12
ctest --test-dir build --output-on-failure --timeout 900 --output-junit ../artifacts/ctest.xml
