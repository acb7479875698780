#!/usr/bin/env python3
"""The service unit's test: config/systemd/tetherd.service is hardened to an exposure of at most
4.0 (`systemd-analyze security --offline=yes --threshold=40`), has no key systemd does not know
(`systemd-analyze verify`), and still grants each thing tetherd, dnsmasq and hostapd need: the
writable paths, the socket families, the capabilities, the system calls, /dev/rfkill, the
directories the example config and the socket unit name. Whether the features work under it on
a booted systemd is the VM lab's job; this test keeps the unit from drifting away from the list.
tests/systemd/sandbox_check.sh (root, lab lock) runs integration tests under the unit's bounding
set and no_new_privs and checks every system call tetherd, dnsmasq and hostapd make is allowed.

Usage: unit_test.py [SOURCE_DIR]     exit 1 and one line per problem
       unit_test.py --self-test      shows that the threshold and the grant checks bite
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

THRESHOLD = "40"  # tenths: 4.0

# ReadWritePaths= entries ("-" optional): run_dir, state_dir, iptables' lock (libiptc), the net
# sysctls (ip_forward) and configfs (the USB gadget).
WRITABLE = ["/run/tetherd", "/var/lib/tetherd", "/run/xtables.lock", "/proc/sys/net", "/sys/kernel/config"]
# Exactly these: each one's user is named in the unit's comment.
CAPABILITIES = {"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"}
FAMILIES = {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_BLUETOOTH"}
# System calls the filter must leave: dnsmasq's drop to nobody, tetherd's children (posix_spawn,
# pidfd, waitid), its sockets, ioctls (SIOC*, bnep), the xtables lock, inotify (dnsmasq --no-poll
# still watches), fchown/fchmod (state files), sd_notify and prctl (PDEATHSIG).
SYSCALLS = ["setuid", "setgid", "setgroups", "setresuid", "setresgid", "capset", "capget", "prctl",
            "clone", "clone3", "vfork", "execve", "wait4", "waitid", "pidfd_open", "pidfd_send_signal", "kill",
            "socket", "bind", "connect", "sendmsg", "recvmsg", "setsockopt", "getsockopt", "ioctl", "flock",
            "inotify_init1", "fchown", "fchmod", "chmod", "chown", "unlink", "rename", "epoll_wait",
            "eventfd2", "timerfd_create", "getrandom", "close_range"]


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def service_keys(path):
    """[Service] key -> list of values (each assignment, in order)."""
    keys, section = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def words(keys, name):
    return [w for v in keys.get(name, []) for w in v.split()]


def syscall_groups():
    """@group -> set of names (system calls and @groups), from systemd-analyze itself."""
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter"]).stdout.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not line.startswith(" ") and s.startswith("@"):
            current = groups.setdefault(s, set())
        elif current is not None and line.startswith(" "):
            current.add(s)
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in seen:
                seen.add(n)
                out |= expand(groups.get(n, set()), groups, seen)
        else:
            out.add(n)
    return out


def check_security(unit):
    r = run(["systemd-analyze", "security", "--offline=yes", "--threshold=" + THRESHOLD, unit])
    overall = [l for l in r.stdout.splitlines() if "Overall exposure level" in l]
    return r.returncode == 0, overall[-1].strip("→ ").strip() if overall else r.stdout[-300:]


def check_verify(unit):
    """`systemd-analyze verify` on a copy whose ExecStart points at an executable that exists
    here (tetherd is not installed on a build machine): any line of output is a problem."""
    with tempfile.TemporaryDirectory() as d:
        stub = os.path.join(d, "tetherd")
        with open(stub, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(stub, 0o755)
        for name in ("tetherd.service", "tetherd.socket"):
            src = os.path.join(os.path.dirname(unit), name)
            with open(src) as f:
                text = f.read().replace("/usr/sbin/tetherd", stub)
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        r = run(["systemd-analyze", "verify", "--man=no", os.path.join(d, "tetherd.service"),
                 os.path.join(d, "tetherd.socket")], cwd=d)
        return [l for l in r.stdout.splitlines() if l.strip()] + ([] if r.returncode == 0 else ["verify failed"])


def check_grants(unit, source):
    problems = []
    keys = service_keys(unit)
    rw = {p.lstrip("-") for p in words(keys, "ReadWritePaths")}
    problems += ["ReadWritePaths= lacks " + p for p in WRITABLE if p not in rw]
    caps = set(words(keys, "CapabilityBoundingSet"))
    if caps != CAPABILITIES:
        problems.append("CapabilityBoundingSet= is %s, expected %s" % (sorted(caps), sorted(CAPABILITIES)))
    fams = set(words(keys, "RestrictAddressFamilies"))
    problems += ["RestrictAddressFamilies= lacks " + f for f in sorted(FAMILIES - fams)]
    if keys.get("AmbientCapabilities"):
        problems.append("AmbientCapabilities= is set")
    filt = words(keys, "SystemCallFilter")
    if filt:
        groups = syscall_groups()
        allowed = expand([w for w in filt if not w.startswith("~")], groups)
        denied = expand([w.lstrip("~") for w in filt if w.startswith("~")], groups)
        for s in SYSCALLS:
            if (allowed and s not in allowed) or s in denied:
                problems.append("SystemCallFilter= denies " + s)
        if keys.get("SystemCallErrorNumber") != ["EPERM"]:
            problems.append("SystemCallErrorNumber= is not EPERM (a missed call would kill the daemon)")
    # hidepid hides dnsmasq (nobody) from root without CAP_SYS_PTRACE: the stale-kill reads its cmdline.
    if keys.get("ProtectProc", ["default"])[-1] not in ("default",):
        problems.append("ProtectProc= hides dnsmasq's /proc/<pid>/cmdline from tetherd")
    if keys.get("ProcSubset", ["all"])[-1] != "all":
        problems.append("ProcSubset= removes /proc/sys (ip_forward)")
    for k in ("PrivateNetwork", "PrivateUsers", "IPAddressDeny", "User", "DynamicUser"):
        if keys.get(k) and keys[k][-1] not in ("no", "false", ""):
            problems.append(k + "= cuts tetherd off the host's network or root")
    if keys.get("PrivateDevices", ["no"])[-1] == "yes":
        if "-/dev/rfkill" not in words(keys, "BindReadOnlyPaths") and "/dev/rfkill" not in words(keys, "BindPaths"):
            problems.append("PrivateDevices=yes without /dev/rfkill bound in (hostapd's rfkill events)")
    if "/dev/rfkill r" not in keys.get("DeviceAllow", []):
        problems.append("DeviceAllow= lacks '/dev/rfkill r'")
    if keys.get("RuntimeDirectory") != ["tetherd"] or keys.get("StateDirectory") != ["tetherd"]:
        problems.append("RuntimeDirectory=/StateDirectory= are not tetherd")
    if keys.get("RuntimeDirectoryMode") != ["0755"]:
        problems.append("RuntimeDirectoryMode= is not 0755 (dnsmasq, as nobody, reads its servers file there)")
    # The example config's directories and socket are the unit's.
    example = os.path.join(source, "config", "tetherd.conf.example")
    conf = dict(re.findall(r"^(\w+)\s*=\s*(\S+)", open(example).read(), re.M))
    for k in ("run_dir", "state_dir"):
        if conf.get(k) not in rw:
            problems.append("the example's %s %s is not writable in the unit" % (k, conf.get(k)))
    sock = open(os.path.join(os.path.dirname(unit), "tetherd.socket")).read()
    if "ListenStream=%s\n" % conf.get("control_socket") not in sock:
        problems.append("tetherd.socket does not listen on the example's control_socket")
    if not conf.get("control_socket", "").startswith(conf.get("run_dir", "?") + "/"):
        problems.append("the control socket is not in run_dir (RuntimeDirectory=)")
    tmpfiles = os.path.join(os.path.dirname(unit), "tetherd.tmpfiles")
    if not re.search(r"^f\s+/run/xtables.lock\s", open(tmpfiles).read(), re.M):
        problems.append("tetherd.tmpfiles does not create /run/xtables.lock (ReadWritePaths= needs it)")
    return problems


def check(source, unit):
    problems = []
    ok, overall = check_security(unit)
    print("security: " + overall)
    if not ok:
        problems.append("exposure above %s.%s: %s" % (THRESHOLD[0], THRESHOLD[1], overall))
    problems += ["verify: " + l for l in check_verify(unit)]
    problems += check_grants(unit, source)
    return problems


def self_test(source):
    """The old unit's hardening (before this test) must fail the threshold; a unit without
    /proc/sys/net or with ProtectProc=invisible must fail the grant checks."""
    unit = os.path.join(source, "config", "systemd", "tetherd.service")
    text = open(unit).read()
    failures = []
    with tempfile.TemporaryDirectory() as d:
        for name in ("tetherd.socket", "tetherd.tmpfiles"):
            shutil.copy(os.path.join(source, "config", "systemd", name), d)
        copy = os.path.join(d, "tetherd.service")
        weakened = {
            "loose": re.sub(r"^(PrivateDevices|ProtectKernelTunables|ProtectKernelModules|PrivateMounts|"
                            r"RestrictSUIDSGID|SystemCallFilter|SystemCallErrorNumber|DeviceAllow)=.*\n", "",
                            text, flags=re.M).replace("CAP_SETGID", "CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE "
                                                      "CAP_SYS_MODULE"),
            "no-sysctl": text.replace(" /proc/sys/net", ""),
            "hidepid": text.replace("[Service]\n", "[Service]\nProtectProc=invisible\n"),
            "typo": text.replace("PrivateMounts=yes", "PrivateMount=yes"),
        }
        for name, t in weakened.items():
            with open(copy, "w") as f:
                f.write(t)
            got = check(source, copy)
            print("self-test %s: %d problem(s): %s" % (name, len(got), "; ".join(got)))
            if not got:
                failures.append(name)
        with open(copy, "w") as f:
            f.write(weakened["loose"])
        if check_security(copy)[0]:
            failures.append("loose unit passes the threshold")
    return failures


def main():
    if shutil.which("systemd-analyze") is None:
        print("systemd-analyze not found (Debian package systemd; scripts/install-deps.sh)")
        return 1
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        source = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")
        failures = self_test(source)
        for f in failures:
            print("NOT CAUGHT: " + f)
        return 1 if failures else 0
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(source, os.path.join(source, "config", "systemd", "tetherd.service"))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
