#!/usr/bin/env bash
# Builds the Debian package (debian/) the way a Debian builder does, from a clean copy of the
# tree, then checks it with lintian. Usage: scripts/build-deb.sh [outdir]  (default build/deb)
# The copy is every file git knows (tracked, and new files not ignored) in <outdir>/src, always
# at the same path, so ccache (shared with scripts/build.sh) hits on a rebuild.
# Prints the .deb's path as the last line. Fails on a build failure or any lintian error.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(mkdir -p "${1:-build/deb}" && cd "${1:-build/deb}" && pwd)
src=$out/src
t0=$(date +%s)
rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$repo" ls-files -z --cached --others --exclude-standard |
    (cd "$repo" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _) |
    tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf -
else  # an unpacked tarball: everything but build output
  tar -C "$repo" --exclude='./build' --exclude='./build-*' --exclude='./artifacts' \
    --exclude='./obj-*' --exclude='node_modules' -cf - . | tar -C "$src" -xf -
fi
export CCACHE_BASEDIR=$src
# debhelper (compat 13) gives the build a HOME of its own under debian/, so ccache would look
# for its default cache there (empty on every build): name the caller's cache explicitly.
if command -v ccache >/dev/null; then CCACHE_DIR=$(ccache -k cache_dir); export CCACHE_DIR; fi
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-nocheck} parallel=${JOBS:-$(nproc)}"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log" >&2; echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
# dpkg-buildpackage leaves its results beside the source directory.
deb=$(ls "$out"/tetherd_*.deb | grep -v dbgsym | head -1)
t1=$(date +%s)
echo "build-deb: built $(basename "$deb") in $((t1 - t0)) s"
# Lintian: errors fail; warnings and notes are printed (debian/tetherd.lintian-overrides gives
# the reason for each one overridden).
lintian --fail-on error --display-info "$out"/tetherd_*.changes | tee "$out/lintian.log"
echo "build-deb: lintian passed in $(($(date +%s) - t1)) s"
echo "$deb"
