#!/usr/bin/env bash
# `cmake --install` into a scratch DESTDIR must give Debian's layout: binaries, the example
# config as /etc/tetherd/tetherd.conf, and the systemd units (Type=notify, socket activation).
set -euo pipefail
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR="$dest" cmake --install "$build" >/dev/null
fail=0
for f in usr/sbin/tetherd usr/bin/tetherctl etc/tetherd/tetherd.conf \
         usr/lib/systemd/system/tetherd.service usr/lib/systemd/system/tetherd.socket \
         usr/lib/tmpfiles.d/tetherd.conf; do
  if [ -e "$dest/$f" ]; then echo "ok: /$f"; else echo "MISSING: /$f"; fail=1; fi
done
grep -q '^Type=notify' "$dest/usr/lib/systemd/system/tetherd.service" || { echo "unit is not Type=notify"; fail=1; }
grep -q '^ListenStream=/run/tetherd/tetherd.sock' "$dest/usr/lib/systemd/system/tetherd.socket" || { echo "socket unit path"; fail=1; }
"$dest/usr/sbin/tetherd" --version | grep -q '^tetherd ' || { echo "installed tetherd does not run"; fail=1; }
exit $fail
