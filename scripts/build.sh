#!/usr/bin/env bash
# Configures and builds tetherd. Usage: scripts/build.sh [release|asan]
# release -> build/ (daemon, tetherctl, all tests); asan -> build-asan/ (libraries + unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer). ccache is shared between both.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
flavour=${1:-release}
jobs=${JOBS:-$(nproc)}
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DTETHERD_SANITIZE=ON -DTETHERD_UNIT_ONLY=ON) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|asan)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
