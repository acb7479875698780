#!/usr/bin/env bash
# What can be checked of tetherd.service's sandbox without a booted systemd (the VM lab does the
# rest): runs integration tests with tetherd under the unit's capability bounding set and
# no_new_privs (setpriv, as CapabilityBoundingSet= and NoNewPrivileges= give them), strace
# following tetherd and every child (dnsmasq, hostapd), then checks that every system call made
# is allowed by the unit's SystemCallFilter=. As root, under the lab lock:
#
#   flock /tmp/tetherd-lab.lock bash tests/systemd/sandbox_check.sh build [test modules...]
#
# Default modules: tethering softap usb bluetooth clients.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: sandbox_check.sh BUILD_DIR [modules...]}" && pwd)
shift
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(tethering softap usb bluetooth clients)
unit=$src/config/systemd/tetherd.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' |
       sed 's/^/+/' | paste -sd, -)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/trace"
cat > "$work/tetherd" <<EOF
#!/bin/bash
strace -qq -f -o "$work/trace/\$\$.txt" -p \$\$ 2>/dev/null &
for i in \$(seq 100); do grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/\$\$/status && break; sleep 0.02; done
exec setpriv --bounding-set -all,$caps --inh-caps -all --no-new-privs -- "$build/tetherd" "\$@"
EOF
chmod +x "$work/tetherd"
echo "sandbox_check: bounding set $caps; modules ${modules[*]}"
(cd "$src/tests/integration" &&
 TETHERD_BIN="$work/tetherd" TETHERCTL_BIN="$build/tetherctl" TETHERD_SOURCE_DIR="$src" PYTHONDONTWRITEBYTECODE=1 \
   python3 -m unittest "${modules[@]/#/test_}")
cat "$work"/trace/*.txt | grep -oE '^[0-9]+ +[a-z_0-9]+\(' | awk '{print $2}' | tr -d '(' | sort -u > "$work/used"
grep -ho 'execve("[^"]*"' "$work"/trace/*.txt | sort | uniq -c
python3 - "$work/used" <<EOF
import sys
sys.path.insert(0, "$src/tests/systemd")
import unit_test as u
filt = u.words(u.service_keys("$unit"), "SystemCallFilter")
groups = u.syscall_groups()
allowed = u.expand([w for w in filt if not w.startswith("~")], groups)
allowed -= u.expand([w.lstrip("~") for w in filt if w.startswith("~")], groups)
used = open(sys.argv[1]).read().split()
outside = [s for s in used if s not in allowed]
print("sandbox_check: %d distinct system calls, outside SystemCallFilter=%s: %s" % (len(used), " ".join(filt), outside or "none"))
sys.exit(1 if outside else 0)
EOF
