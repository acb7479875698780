#!/usr/bin/env bash
# Configures and builds tetherd. Usage: scripts/build.sh [release|asan|arm64]
# release -> build/ (daemon, tetherctl, all tests); asan -> build-asan/ (libraries + unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer); arm64 -> build-arm64/ (tetherd and
# tetherctl cross-built for aarch64 with cmake/toolchain-arm64.cmake; no tests: the VM lab
# runs them, tests/vm/run.sh --arch arm64). ccache is shared between all.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a clone elsewhere (CI) reuses the cache:
# with -g, ccache also keys on the working directory unless told not to (hash_dir), and every
# clean clone at a new path then rebuilt everything (about 20 minutes of the test command).
# The objects' debug info then names the directory of the build that made them first.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
flavour=${1:-release}
jobs=${JOBS:-$(nproc)}
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DTETHERD_SANITIZE=ON -DTETHERD_UNIT_ONLY=ON) ;;
  arm64) dir=build-arm64; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-arm64.cmake") ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|asan|arm64)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
