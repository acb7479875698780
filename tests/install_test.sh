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
# The TLS module where tetherd looks for it once installed (the path compiled into tetherd), the
# man pages, tetherctl's bash completion.
module=$(strings "$build/tetherd" | grep -m1 '/tetherd/tetherd-tls\.so$' || true)
if [ -n "$module" ] && [ -e "$dest$module" ]; then echo "ok: $module"; else echo "MISSING: the TLS module '$module'"; fail=1; fi
for f in usr/share/man/man8/tetherd.8 usr/share/man/man8/tetherctl.8 usr/share/man/man5/tetherd.conf.5 \
         usr/share/bash-completion/completions/tetherctl; do
  if [ -e "$dest/$f" ]; then echo "ok: /$f"; else echo "MISSING: /$f"; fail=1; fi
done
MANWIDTH=80 man -l "$dest/usr/share/man/man8/tetherd.8" | grep -q 'tetherd - share' || { echo "installed tetherd(8) does not render"; fail=1; }
grep -q '^Type=notify' "$dest/usr/lib/systemd/system/tetherd.service" || { echo "unit is not Type=notify"; fail=1; }
grep -q '^ListenStream=/run/tetherd/tetherd.sock' "$dest/usr/lib/systemd/system/tetherd.socket" || { echo "socket unit path"; fail=1; }
"$dest/usr/sbin/tetherd" --version | grep -q '^tetherd ' || { echo "installed tetherd does not run"; fail=1; }
exit $fail
