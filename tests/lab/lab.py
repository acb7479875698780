"""tetherd's network-namespace lab (Python 3 standard library only; run as root).

A `Lab` builds, inside network namespaces named with a unique short prefix (``tl3f2a-``),
an "internet", a second upstream router and the appliance where tetherd runs, plus client
namespaces on demand; it always removes all of it again: on normal exit, on an exception,
on SIGINT/SIGTERM/SIGHUP (signal handlers) and at interpreter exit (atexit).

Topology (all addresses are documentation/test ranges; nothing leaves the machine)::

    inet  <prefix>inet   "the internet"
          lo       198.51.100.10/32  www.tether.test  (HTTP :80, inet_http.py)
          lo       198.51.100.53/32  ns.tether.test   (DNS :53, dnsmasq, authoritative for
                                                       tether.test, REFUSED for anything else)
          to-app   203.0.113.1/24    <-> app eth0
          to-up2   192.0.2.1/24      <-> up2 to-inet
    up2   <prefix>up2    second upstream (a "cellular" router): forwards and masquerades
          to-inet  192.0.2.2/24      default via 192.0.2.1
          to-app   100.64.0.1/24     <-> app wwan0
    app   <prefix>app    the appliance: tetherd runs here; ip_forward left at the kernel default
          eth0     203.0.113.2/24    default via 203.0.113.1 metric 100 (also table 100,
                                     rule "from 203.0.113.2 lookup 100")
          wwan0    100.64.0.2/24     default via 100.64.0.1 metric 200 (also table 200,
                                     rule "from 100.64.0.2 lookup 200")
          usb0, wlan0, bt-pan, ...   downstreams, created by add_downstream(): no address,
                                     admin down (tetherd configures them)
          /etc/resolv.conf (through /etc/netns/<ns>/) : nameserver 198.51.100.53
    <prefix>c-<name>   a client: eth0 = the peer of one downstream; DHCP with dhclient or udhcpc
    <prefix>h-<ds>     a hub (bridge br0) when several clients share one downstream

GET http://198.51.100.10/whoami answers 203.0.113.2 for traffic that left through eth0 and
192.0.2.2 for traffic that went through up2 (wwan0): tests see which upstream was used.

Every interface lives inside a lab namespace (veths are created directly in their
namespaces), so the root namespace never sees a lab interface and names stay <= 15 chars.
Every process the lab starts carries TETHER_LAB=<prefix> in its environment and runs in a
lab namespace; teardown kills every process in every lab namespace (``ip netns pids``),
deletes the namespaces, /etc/netns/<ns> and the lab's temporary directory. `leftovers()`
lists whatever remains for a prefix; `cleanup()` removes it (``scripts/lab down``).
"""
from __future__ import annotations

import atexit
import glob
import json as jsonlib
import logging
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable, Optional

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, LAB_DIR)
import inet_http  # noqa: E402  (for BODY)

log = logging.getLogger("tetherlab")

# ---------------------------------------------------------------------------------------------
# Addresses and names

LAB_ENV = "TETHER_LAB"                  # set to the prefix in every process the lab starts
PREFIX_RE = re.compile(r"^tl[0-9a-f]{4}-$")
NETNS_DIR = "/run/netns"
ETC_NETNS = "/etc/netns"

TEST_DOMAIN = "tether.test"
WWW_NAME = "www.tether.test"
NS_NAME = "ns.tether.test"
INET_WWW = "198.51.100.10"              # HTTP server address (www.tether.test)
INET_DNS = "198.51.100.53"              # DNS server address (ns.tether.test)
INET_APP = "203.0.113.1"                # inet's side of the eth0 link
APP_ETH0 = "203.0.113.2"
INET_UP2 = "192.0.2.1"                  # inet's side of the up2 link
UP2_INET = "192.0.2.2"                  # what inet sees for traffic through up2 (NAT)
UP2_APP = "100.64.0.1"                  # up2's side of the wwan0 link
APP_WWAN0 = "100.64.0.2"
HTTP_BODY = inet_http.BODY.decode()
HTTP_URL = "http://%s/" % INET_WWW
WHOAMI_URL = "http://%s/whoami" % INET_WWW

# The appliance's uplinks: app interface -> where its peer is and how it is configured.
UPLINKS = {
    "eth0": dict(peer_role="inet", peer_if="to-app", address=APP_ETH0, plen=24, gateway=INET_APP,
                 metric=100, table=100, seen_as=APP_ETH0),
    "wwan0": dict(peer_role="up2", peer_if="to-app", address=APP_WWAN0, plen=24, gateway=UP2_APP,
                  metric=200, table=200, seen_as=UP2_INET),
}
DOWNSTREAM_NAMES = ("usb0", "wlan0", "bt-pan")
CLIENT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,11}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")

REQUIRED_TOOLS = ("ip", "nft", "dnsmasq", "dhclient", "udhcpc", "busybox", "curl", "dig", "sysctl")
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LabError(RuntimeError):
    pass


class StopWaiting(LabError):
    """Raised by a wait_for() predicate: waiting longer cannot help (e.g. the process died)."""


# ---------------------------------------------------------------------------------------------
# Small helpers

def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05,
             what: Optional[str] = None):
    """Polls predicate until it returns something truthy (returned) or the deadline passes
    (TimeoutError naming `what`, the last value and the last exception). Exceptions from the
    predicate are retried, except StopWaiting, which is passed on at once."""
    deadline = time.monotonic() + timeout
    last, last_exc = None, None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except StopWaiting:
            raise
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() >= deadline:
            desc = what or getattr(predicate, "__name__", "condition")
            detail = "last exception: %r" % (last_exc,) if last_exc else "last value: %r" % (last,)
            raise TimeoutError("timed out after %.1fs waiting for %s (%s)" % (timeout, desc, detail))
        time.sleep(interval)


def check_prerequisites(tools: Iterable[str] = REQUIRED_TOOLS) -> list:
    """Returns the list of problems that keep a lab from running here (empty: fine)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (network namespaces, veth, nft)")
    path = os.environ.get("PATH", "") + ":" + SBIN_PATH
    for t in tools:
        if shutil.which(t, path=path) is None:
            problems.append("program '%s' not found (scripts/install-deps.sh installs it)" % t)
    return problems


def read_line(p: subprocess.Popen, timeout: float) -> str:
    """One line of p's stdout (a pipe), without waiting longer than timeout ("" then)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        chunk = os.read(fd, 1)  # byte by byte: nothing after the line is consumed
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").split("\n", 1)[0]


def _flatten(cmd) -> list:
    out = []
    for c in cmd:
        if isinstance(c, (list, tuple)):
            out.extend(_flatten(c))
        else:
            out.append(str(c))
    return out


def _run(cmd, check=True, timeout=30.0, input=None, env=None) -> subprocess.CompletedProcess:
    cmd = _flatten(cmd)
    log.debug("run: %s", " ".join(cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                           env=env, errors="replace")
    except subprocess.TimeoutExpired as e:
        raise LabError("timed out after %.1fs: %s\n%s" % (timeout, " ".join(cmd),
                                                           _tail((e.stderr or b"").decode(errors="replace")
                                                                 if isinstance(e.stderr, bytes) else e.stderr or "")))
    except FileNotFoundError as e:
        raise LabError("cannot run %s: %s" % (cmd[0], e))
    if check and r.returncode != 0:
        raise LabError("command failed (exit %d): %s\n%s%s" % (r.returncode, " ".join(cmd),
                                                               _tail(r.stdout), _tail(r.stderr)))
    return r


def _tail(text: str, lines: int = 30) -> str:
    if not text:
        return ""
    parts = text.rstrip("\n").split("\n")
    return "\n".join(parts[-lines:]) + "\n"


def _read(path: str, default: str = "") -> str:
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def list_netns() -> list:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def netns_pids(name: str) -> list:
    r = _run(["ip", "netns", "pids", name], check=False, timeout=10)
    if r.returncode != 0:
        return []
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _marked_pids(prefix: str) -> list:
    """Processes whose environment carries TETHER_LAB=<prefix>."""
    marker = ("%s=%s" % (LAB_ENV, prefix)).encode()
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if marker in env:
            out.append(int(d))
    return out


def _proc_desc(pid: int) -> str:
    cmd = _read("/proc/%d/cmdline" % pid).replace("\0", " ").strip()
    return "process %d (%s)" % (pid, cmd[:120] or "?")


def _root_links(prefix: str) -> list:
    r = _run(["ip", "-o", "link", "show"], check=False)
    names = []
    for line in r.stdout.splitlines():
        m = re.match(r"^\d+:\s+([^:@\s]+)", line)
        if m and m.group(1).startswith(prefix):
            names.append(m.group(1))
    return names


def _lab_pids(prefix: str) -> list:
    pids = set(_marked_pids(prefix))
    for ns in list_netns():
        if ns.startswith(prefix):
            pids.update(netns_pids(ns))
    pids.discard(os.getpid())
    return sorted(pids)


def _tmp_dirs(prefix: str) -> list:
    return sorted(glob.glob(os.path.join(tempfile.gettempdir(), glob.escape(prefix) + "*")))


def leftovers(prefix: str) -> list:
    """Everything that remains of the lab with this prefix: namespaces, /etc/netns dirs,
    processes (in its namespaces or marked with its prefix), links in the root namespace
    and temporary directories. Empty when the lab was removed completely."""
    if not prefix:
        raise ValueError("empty prefix")
    out = []
    for ns in list_netns():
        if ns.startswith(prefix):
            out.append("netns %s" % ns)
    for d in sorted(glob.glob(os.path.join(ETC_NETNS, glob.escape(prefix) + "*"))):
        out.append("dir %s" % d)
    for pid in _lab_pids(prefix):
        if os.path.exists("/proc/%d" % pid):
            out.append(_proc_desc(pid))
    for name in _root_links(prefix):
        out.append("link %s (root namespace)" % name)
    for d in _tmp_dirs(prefix):
        out.append("dir %s" % d)
    return out


def _kill_all(prefix: str, grace: float = 1.5, say=log.info) -> list:
    """SIGTERM, then SIGKILL, every process of the lab; repeats while new ones appear."""
    killed = []
    for round_ in range(6):
        pids = _lab_pids(prefix)
        if not pids:
            break
        sig = signal.SIGTERM if round_ == 0 else signal.SIGKILL
        for pid in pids:
            desc = _proc_desc(pid)
            try:
                os.kill(pid, sig)
                killed.append(desc)
                say("lab %s: sent %s to %s" % (prefix, signal.Signals(sig).name, desc))
            except ProcessLookupError:
                pass
            except PermissionError as e:
                say("lab %s: cannot signal %s: %s" % (prefix, desc, e))
        _reap_children()
        try:
            wait_for(lambda: not any(_alive(p) for p in pids), timeout=grace if round_ == 0 else 3.0,
                     interval=0.02)
        except TimeoutError:
            pass
    return killed


def _alive(pid: int) -> bool:
    _reap_children()
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


_popen_registry: list = []
_popen_lock = threading.Lock()


def _reap_children():
    with _popen_lock:
        for p in list(_popen_registry):
            if p.poll() is not None:
                _popen_registry.remove(p)


def cleanup(prefix: str, say=log.info) -> list:
    """Removes everything `leftovers(prefix)` would list. Idempotent. Returns what it removed."""
    if not prefix or len(prefix) < 3:
        raise ValueError("refusing to clean up with prefix %r" % (prefix,))
    removed = []
    removed += _kill_all(prefix, say=say)
    for ns in list_netns():
        if ns.startswith(prefix):
            r = _run(["ip", "netns", "del", ns], check=False)
            if r.returncode == 0:
                removed.append("netns %s" % ns)
                say("lab %s: deleted netns %s" % (prefix, ns))
            else:
                say("lab %s: cannot delete netns %s: %s" % (prefix, ns, r.stderr.strip()))
    for d in sorted(glob.glob(os.path.join(ETC_NETNS, glob.escape(prefix) + "*"))):
        shutil.rmtree(d, ignore_errors=True)
        removed.append("dir %s" % d)
        say("lab %s: removed %s" % (prefix, d))
    try:
        os.rmdir(ETC_NETNS)  # only when empty, and only if nobody else uses it
    except OSError:
        pass
    for name in _root_links(prefix):
        _run(["ip", "link", "del", name], check=False)
        removed.append("link %s" % name)
        say("lab %s: deleted link %s in the root namespace" % (prefix, name))
    for d in _tmp_dirs(prefix):
        shutil.rmtree(d, ignore_errors=True)
        removed.append("dir %s" % d)
        say("lab %s: removed %s" % (prefix, d))
    return removed


def lab_prefixes() -> dict:
    """Prefixes of labs present on this machine -> owner pid (None when unknown/dead)."""
    found = {}
    for ns in list_netns():
        m = re.match(r"^(tl[0-9a-f]{4}-)", ns)
        if m:
            found.setdefault(m.group(1), None)
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "tl[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*")):
        prefix = os.path.basename(d)[:7]
        if PREFIX_RE.match(prefix):
            found.setdefault(prefix, None)
    for prefix in list(found):
        for d in _tmp_dirs(prefix):
            owner = _read(os.path.join(d, "owner")).strip()
            if owner.isdigit() and _alive(int(owner)):
                found[prefix] = int(owner)
    return found


# ---------------------------------------------------------------------------------------------
# Signal handling shared by all labs of this process

_live_labs: list = []
_state_lock = threading.RLock()
_prev_handlers: dict = {}
_teardown_depth = 0
_pending_signal: Optional[int] = None
_atexit_registered = False
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install_handlers():
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_teardown_all)
        _atexit_registered = True
    if threading.current_thread() is not threading.main_thread() or _prev_handlers:
        return
    for sig in HANDLED_SIGNALS:
        _prev_handlers[sig] = signal.getsignal(sig)
        signal.signal(sig, _on_signal)


def _restore_handlers():
    if threading.current_thread() is not threading.main_thread():
        return
    for sig, prev in list(_prev_handlers.items()):
        signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
    _prev_handlers.clear()


def _on_signal(sig, frame):
    global _pending_signal
    if _teardown_depth > 0:
        _pending_signal = sig  # delivered once the teardown in progress is complete
        return
    log.warning("lab: %s received: tearing down", signal.Signals(sig).name)
    prev = _prev_handlers.get(sig, signal.SIG_DFL)
    _teardown_all()
    _chain(sig, frame, prev)


def _chain(sig, frame, prev):
    if prev is signal.SIG_IGN:
        return
    if callable(prev) and prev is not _on_signal:
        prev(sig, frame)  # e.g. default_int_handler raises KeyboardInterrupt
        return
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    time.sleep(5)
    os._exit(128 + sig)


def _teardown_all():
    for lab in list(_live_labs):
        try:
            lab.teardown()
        except Exception as e:  # noqa: BLE001 - keep going with the others
            log.error("lab %s: teardown failed: %s", lab.prefix, e)


# ---------------------------------------------------------------------------------------------
# Namespaces

class Namespace:
    """One network namespace of the lab."""

    def __init__(self, lab: "Lab", role: str):
        self.lab = lab
        self.role = role
        self.name = lab.prefix + role

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    # -- running programs
    def run(self, *cmd, check=True, timeout=30.0, input=None, env=None) -> subprocess.CompletedProcess:
        """Runs cmd inside the namespace; text output; LabError when check and exit != 0."""
        return _run(["ip", "netns", "exec", self.name, *_flatten(cmd)], check=check, timeout=timeout,
                    input=input, env=self.lab.env(env))

    def popen(self, *cmd, log_name: Optional[str] = None, stdout=None, stderr=None,
              stdin=subprocess.DEVNULL, env=None, pass_fds=(), wrapper: Optional[list] = None,
              **kw) -> subprocess.Popen:
        """Starts cmd inside the namespace in its own session. log_name: a file in the lab's
        directory that gets stdout and stderr (unless given; default proc-<role>-<program>.log).
        The lab stops it at teardown."""
        full = ["ip", "netns", "exec", self.name, *_flatten(cmd)]
        if log_name is None and (stdout is None or stderr is None):
            log_name = "proc-%s-%s.log" % (self.role, os.path.basename(_flatten(cmd)[0]))
        if wrapper:
            full = list(wrapper) + full
        logf = None
        if log_name:
            logf = open(os.path.join(self.lab.dir, log_name), "ab")
            stdout = logf if stdout is None else stdout
            stderr = logf if stderr is None else stderr
        log.debug("popen: %s", " ".join(full))
        try:
            p = subprocess.Popen(full, stdin=stdin, stdout=stdout, stderr=stderr, env=self.lab.env(env),
                                 pass_fds=pass_fds, start_new_session=True, **kw)
        finally:
            if logf:
                logf.close()
        self.lab._track(p)
        return p

    def sh(self, script: str, check=True, timeout=30.0) -> subprocess.CompletedProcess:
        return self.run("sh", "-c", script, check=check, timeout=timeout)

    # -- links and addresses
    def ip(self, *args, check=True) -> subprocess.CompletedProcess:
        return _run(["ip", "-n", self.name, *_flatten(args)], check=check)

    def ip_json(self, *args):
        r = self.ip("-j", *args)
        return jsonlib.loads(r.stdout or "[]")

    def link(self, ifname: str) -> Optional[dict]:
        """`ip -j link show dev ifname` as a dict, or None when it does not exist."""
        r = self.ip("-j", "link", "show", "dev", ifname, check=False)
        if r.returncode != 0:
            return None
        data = jsonlib.loads(r.stdout or "[]")
        return data[0] if data else None

    def has_link(self, ifname: str) -> bool:
        return self.link(ifname) is not None

    def links(self) -> list:
        return [l["ifname"] for l in self.ip_json("link", "show")]

    def link_set(self, ifname: str, up: bool):
        self.ip("link", "set", "dev", ifname, "up" if up else "down")

    def link_up(self, ifname: str):
        self.link_set(ifname, True)

    def link_down(self, ifname: str):
        self.link_set(ifname, False)

    def is_up(self, ifname: str) -> bool:
        l = self.link(ifname)
        return bool(l) and "UP" in l.get("flags", [])

    def has_carrier(self, ifname: str) -> bool:
        l = self.link(ifname)
        return bool(l) and "LOWER_UP" in l.get("flags", [])

    def addresses(self, ifname: Optional[str] = None, family: int = 4, settled: bool = False) -> list:
        """Addresses as "a.b.c.d/len" (family 4) or "x::y/len" (6). settled: only those past
        duplicate address detection (IPv6: a tentative address cannot be used yet)."""
        args = ["-%d" % family, "addr", "show"] + (["dev", ifname] if ifname else [])
        r = self.ip("-j", *args, check=False)
        if r.returncode != 0:
            return []
        out = []
        for l in jsonlib.loads(r.stdout or "[]"):
            for a in l.get("addr_info", []):
                if "local" in a and not (settled and (a.get("tentative") or a.get("dadfailed"))):
                    out.append("%s/%s" % (a["local"], a["prefixlen"]))
        return out

    def routes(self, *selector, family: int = 4) -> list:
        """`ip -j route show ...` as dicts (e.g. routes("default"), routes("table", "all"))."""
        return self.ip_json("-%d" % family, "route", "show", *selector)

    def sysctl(self, key: str, value=None) -> str:
        if value is None:
            return self.run("sysctl", "-n", key).stdout.strip()
        self.run("sysctl", "-qw", "%s=%s" % (key, value))
        return str(value)

    # -- probes
    def curl(self, url: str, timeout: float = 5.0, check: bool = True, interface: Optional[str] = None,
             args: Iterable[str] = ()) -> str:
        """GET url with curl; returns the body. LabError when check and curl fails."""
        cmd = ["curl", "-sS", "--max-time", str(timeout), "--connect-timeout", str(timeout)]
        if interface:
            cmd += ["--interface", interface]
        cmd += list(args) + [url]
        r = self.run(cmd, check=False, timeout=timeout + 5)
        if check and r.returncode != 0:
            raise LabError("%s: curl %s failed (exit %d): %s" % (self.name, url, r.returncode,
                                                                 r.stderr.strip()))
        return r.stdout

    def dig(self, name: str, server: Optional[str] = None, rtype: str = "A", timeout: float = 2.0,
            tries: int = 2, check: bool = True, short: bool = True, source: Optional[str] = None,
            args: Iterable[str] = ()) -> str:
        """dig [@server] name rtype; returns the output (+short by default: the answers, one
        per line; empty for NXDOMAIN/REFUSED). LabError when check and dig fails (timeout)."""
        cmd = ["dig"]
        if server:
            cmd.append("@" + server)
        if source:
            cmd += ["-b", source]
        cmd += [name, rtype, "+time=%d" % max(1, int(timeout)), "+tries=%d" % tries]
        if short:
            cmd.append("+short")
        cmd += list(args)
        r = self.run(cmd, check=False, timeout=timeout * tries + 5)
        if check and (r.returncode != 0 or ";; connection timed out" in r.stdout
                      or "communications error" in r.stdout):
            raise LabError("%s: dig %s failed (exit %d): %s%s" % (self.name, " ".join(cmd[1:]),
                                                                   r.returncode, r.stdout.strip(),
                                                                   r.stderr.strip()))
        return r.stdout

    def ping(self, address: str, count: int = 1, timeout: float = 2.0) -> bool:
        r = self.run("busybox", "ping", "-c", count, "-W", max(1, int(timeout)), address, check=False,
                     timeout=timeout * count + 5)
        return r.returncode == 0

    def pids(self) -> list:
        return netns_pids(self.name)


class Client(Namespace):
    """A client device: namespace <prefix>c-<name> whose eth0 is the peer of a downstream."""

    IFNAME = "eth0"

    def __init__(self, lab: "Lab", name: str):
        super().__init__(lab, "c-" + name)
        self.client_name = name
        self.mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))
        self.downstream: Optional[str] = None
        self.dir = os.path.join(lab.dir, "client-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.lease_file = os.path.join(self.dir, "lease")
        self.events_file = os.path.join(self.dir, "events")
        self.resolv_conf = os.path.join(ETC_NETNS, self.name, "resolv.conf")
        self.dhcp_kind: Optional[str] = None
        self.dhcp_proc: Optional[subprocess.Popen] = None
        self._write_script()

    def _write_script(self):
        script = r"""#!/bin/sh
# DHCP client script of lab client %(name)s (generated by tests/lab/lab.py). Handles both
# dhclient (reason=...) and busybox udhcpc ($1). Touches only this namespace's eth0, its
# default route, %(resolv)s and %(dir)s.
PATH=%(path)s
DIR=%(dir)s
RESOLV=%(resolv)s
if [ -n "$reason" ]; then
  event=$reason
  case "$reason" in
    PREINIT) ip link set dev "$interface" up; exit 0 ;;
    BOUND|RENEW|REBIND|REBOOT)
      action=bound ip=$new_ip_address subnet=$new_subnet_mask router=$new_routers
      dns=$new_domain_name_servers lease=$new_dhcp_lease_time serverid=$new_dhcp_server_identifier
      domain=$new_domain_name hostname=$new_host_name ;;
    EXPIRE|FAIL|RELEASE|STOP) action=deconfig ;;
    TIMEOUT) ip -4 addr flush dev "$interface"; exit 1 ;;  # never fall back to a stale lease
    *) action=none ;;
  esac
else
  event=$1
  case "$1" in
    bound|renew) action=bound ;;
    deconfig) action=deconfig; ip link set dev "$interface" up ;;
    leasefail|nak) action=none ;;
    *) action=none ;;
  esac
fi
echo "$(date +%%s.%%N) $event ip=$ip router=$router dns=$dns" >> "$DIR/events"
case "$action" in
  bound)
    set -- $router; gw=$1
    cur=$(ip -4 -o addr show dev "$interface" | awk '{print $4}' | cut -d/ -f1)
    if [ -n "$cur" ] && [ "$cur" != "$ip" ]; then ip -4 addr flush dev "$interface"; fi
    ip addr replace "$ip/$subnet" dev "$interface" || exit 1
    if [ -n "$gw" ]; then ip route replace default via "$gw" dev "$interface"; fi
    : > "$RESOLV.new"
    for s in $dns; do echo "nameserver $s" >> "$RESOLV.new"; done
    cat "$RESOLV.new" > "$RESOLV"; rm -f "$RESOLV.new"
    printf 'kind=%%s\nip=%%s\nsubnet=%%s\nrouter=%%s\ndns=%%s\nlease=%%s\nserverid=%%s\ndomain=%%s\n' \
      "$event" "$ip" "$subnet" "$gw" "$dns" "$lease" "$serverid" "$domain" > "$DIR/lease.new"
    mv "$DIR/lease.new" "$DIR/lease" ;;
  deconfig)
    ip -4 addr flush dev "$interface"
    rm -f "$DIR/lease" ;;
esac
exit 0
""" % dict(name=self.client_name, path=SBIN_PATH, dir=self.dir, resolv=self.resolv_conf)
        self.script = os.path.join(self.dir, "dhcp-script")
        with open(self.script, "w") as f:
            f.write(script)
        os.chmod(self.script, 0o755)

    @property
    def address(self) -> Optional[str]:
        """The client's IPv4 address on eth0 (without prefix length), or None."""
        a = self.addresses(self.IFNAME)
        return a[0].split("/")[0] if a else None

    @property
    def lease(self) -> Optional[dict]:
        text = _read(self.lease_file)
        if not text:
            return None
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def dhcp_events(self) -> list:
        return _read(self.events_file).splitlines()

    def dns_servers(self) -> list:
        return re.findall(r"^nameserver\s+(\S+)", _read(self.resolv_conf), re.M)

    def dhcp(self, kind: str = "dhclient", timeout: float = 10.0, hostname: Optional[str] = None) -> str:
        """Runs a real DHCP client (dhclient or udhcpc) on eth0 and returns the leased address.
        The client keeps running (renewals) until dhcp_stop() or teardown. Files: the client's
        directory in the lab dir; nothing in /var/lib/dhcp or the host's /etc/resolv.conf."""
        if kind not in ("dhclient", "udhcpc"):
            raise ValueError("kind must be 'dhclient' or 'udhcpc'")
        self.dhcp_stop(release=False)
        for f in (self.lease_file,):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        log_name = "client-%s/%s.log" % (self.client_name, kind)
        if kind == "dhclient":
            conf = os.path.join(self.dir, "dhclient.conf")
            with open(conf, "w") as f:
                f.write("timeout %d;\nretry 1;\ninitial-interval 1;\nbackoff-cutoff 2;\n"
                        "request subnet-mask, broadcast-address, routers, domain-name-servers,"
                        " domain-name, host-name, interface-mtu;\n" % max(2, int(timeout + 0.999)))
                if hostname:
                    f.write('send host-name "%s";\n' % hostname)
            cmd = ["dhclient", "-4", "-d", "-1", "-v", "-cf", conf,
                   "-pf", os.path.join(self.dir, "dhclient.pid"),
                   "-lf", os.path.join(self.dir, "dhclient.leases"), "-sf", self.script, self.IFNAME]
        else:
            cmd = ["udhcpc", "-f", "-i", self.IFNAME, "-s", self.script, "-t", str(max(2, int(timeout))),
                   "-T", "1", "-n", "-p", os.path.join(self.dir, "udhcpc.pid")]
            if hostname:
                cmd += ["-x", "hostname:%s" % hostname]
        self.dhcp_kind = kind
        self.dhcp_proc = self.popen(cmd, log_name=log_name)
        proc = self.dhcp_proc

        def leased():
            if self.lease and self.address:
                return self.lease["ip"]
            if proc.poll() is not None:
                raise StopWaiting("%s exited with %s before getting a lease" % (kind, proc.returncode))
            return None

        try:
            return wait_for(leased, timeout=timeout + 1, interval=0.02, what="%s lease on %s" % (kind, self.name))
        except (TimeoutError, LabError) as e:
            self.dhcp_stop(release=False)
            raise LabError("%s: %s\n--- %s log:\n%s" % (self.name, e, kind,
                                                        _tail(_read(os.path.join(self.lab.dir, log_name)))))

    def dhcp_stop(self, release: bool = True, timeout: float = 5.0):
        """Stops the DHCP client; release=True sends a DHCPRELEASE first."""
        p = self.dhcp_proc
        if p is None or p.poll() is not None:
            self.dhcp_proc = None
            return
        if release and self.dhcp_kind == "dhclient":
            self.run("dhclient", "-4", "-r", "-cf", os.path.join(self.dir, "dhclient.conf"),
                     "-pf", os.path.join(self.dir, "dhclient.pid"),
                     "-lf", os.path.join(self.dir, "dhclient.leases"), "-sf", self.script, self.IFNAME,
                     check=False, timeout=timeout + 5)
        elif release and self.dhcp_kind == "udhcpc":
            p.send_signal(signal.SIGUSR2)
            try:
                wait_for(lambda: self.lease is None, timeout=timeout, what="udhcpc release")
            except TimeoutError:
                pass
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        self.dhcp_proc = None


class Downstream:
    def __init__(self, name: str, clients: list, hub: Optional[Namespace]):
        self.name = name
        self.clients = clients
        self.hub = hub

    @property
    def client(self) -> Client:
        return self.clients[0]

    def __repr__(self):
        return "<Downstream %s -> %s>" % (self.name, ", ".join(c.name for c in self.clients))


# ---------------------------------------------------------------------------------------------
# The lab

class Lab:
    """Context manager: `with Lab() as lab: ...` builds the topology and always removes it."""

    def __init__(self, prefix: Optional[str] = None, tetherd_bin: Optional[str] = None,
                 tetherctl_bin: Optional[str] = None, say: Optional[Callable[[str], None]] = None):
        problems = check_prerequisites()
        if problems:
            raise LabError("the lab cannot run here:\n  " + "\n  ".join(problems))
        self.say = say or log.info
        self.prefix = prefix or self._new_prefix()
        if not PREFIX_RE.match(self.prefix):
            raise LabError("bad lab prefix %r (want tlXXXX-)" % self.prefix)
        self.tetherd_bin = tetherd_bin or os.environ.get("TETHERD_BIN")
        self.tetherctl_bin = tetherctl_bin or os.environ.get("TETHERCTL_BIN")
        self.dir: str = ""
        self.inet = Namespace(self, "inet")
        self.up2 = Namespace(self, "up2")
        self.app = Namespace(self, "app")
        self.clients: dict = {}
        self.hubs: dict = {}
        self.downstreams: dict = {}
        self.tetherd: Optional[subprocess.Popen] = None
        self.dns_proc: Optional[subprocess.Popen] = None
        self.http_proc: Optional[subprocess.Popen] = None
        self._procs: list = []
        self._started = False
        self._torn_down = False
        self._tetherd_log_offset = 0

    @staticmethod
    def _new_prefix() -> str:
        taken = set(lab_prefixes())
        for _ in range(100):
            n = (os.getpid() * 2654435761 ^ int.from_bytes(os.urandom(2), "little")) & 0xFFFF
            prefix = "tl%04x-" % n
            if prefix not in taken and not _tmp_dirs(prefix) and not any(
                    ns.startswith(prefix) for ns in list_netns()):
                return prefix
        raise LabError("no free lab prefix")

    # -- paths
    @property
    def socket_path(self) -> str:
        return os.path.join(self.dir, "tetherd.sock")

    @property
    def config_path(self) -> str:
        return os.path.join(self.dir, "tetherd.conf")

    @property
    def run_dir(self) -> str:
        return os.path.join(self.dir, "run")

    @property
    def state_dir(self) -> str:
        return os.path.join(self.dir, "state")

    @property
    def tetherd_log_path(self) -> str:
        return os.path.join(self.dir, "tetherd.log")

    def env(self, extra: Optional[dict] = None) -> dict:
        e = dict(os.environ)
        e[LAB_ENV] = self.prefix
        if SBIN_PATH not in e.get("PATH", ""):
            e["PATH"] = e.get("PATH", "") + ":" + SBIN_PATH
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "JOURNAL_STREAM"):
            e.pop(k, None)
        if extra:
            e.update(extra)
        return e

    def _track(self, p: subprocess.Popen):
        self._procs.append(p)
        with _popen_lock:
            _popen_registry.append(p)

    # -- lifecycle
    def __enter__(self) -> "Lab":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.teardown()
        return False

    def start(self) -> "Lab":
        if self._started:
            return self
        with _state_lock:
            _live_labs.append(self)
            _install_handlers()
        self._started = True
        try:
            self.dir = tempfile.mkdtemp(prefix=self.prefix)
            os.chmod(self.dir, 0o755)  # dnsmasq drops privileges; clients' files are read by tests
            with open(os.path.join(self.dir, "owner"), "w") as f:
                f.write("%d\n" % os.getpid())
            os.makedirs(self.run_dir, exist_ok=True)
            os.makedirs(self.state_dir, exist_ok=True)
            t0 = time.monotonic()
            self._build()
            self.say("lab %s: up in %.2fs (dir %s)" % (self.prefix, time.monotonic() - t0, self.dir))
        except BaseException:
            self.teardown()
            raise
        return self

    def _add_netns(self, ns: Namespace, resolv: Optional[str] = None):
        r = _run(["ip", "netns", "add", ns.name], check=False)
        if r.returncode != 0:
            raise LabError("ip netns add %s: %s" % (ns.name, r.stderr.strip()))
        if resolv is not None:
            d = os.path.join(ETC_NETNS, ns.name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "resolv.conf"), "w") as f:
                f.write(resolv)
        ns.ip("link", "set", "lo", "up")

    def _veth(self, ns_a: Namespace, if_a: str, ns_b: Namespace, if_b: str):
        """A veth pair created directly in its two namespaces (never visible in the root one)."""
        for n in (if_a, if_b):
            if not IFNAME_RE.match(n):
                raise LabError("bad interface name %r" % n)
        _run(["ip", "link", "add", if_a, "netns", ns_a.name, "type", "veth", "peer", "name", if_b,
              "netns", ns_b.name])

    def _batch(self, ns: Namespace, commands: str):
        _run(["ip", "-n", ns.name, "-batch", "-"], input=commands)

    def _build(self):
        self._add_netns(self.inet)
        self._add_netns(self.up2)
        self._add_netns(self.app, resolv="nameserver %s\n" % INET_DNS)
        self._veth(self.app, "eth0", self.inet, "to-app")
        self._veth(self.app, "wwan0", self.up2, "to-app")
        self._veth(self.up2, "to-inet", self.inet, "to-up2")
        self._batch(self.inet, "\n".join([
            "addr add %s/32 dev lo" % INET_WWW,
            "addr add %s/32 dev lo" % INET_DNS,
            "addr add %s/24 dev to-app" % INET_APP,
            "addr add %s/24 dev to-up2" % INET_UP2,
            "link set to-app up",
            "link set to-up2 up",
        ]) + "\n")
        self._batch(self.up2, "\n".join([
            "addr add %s/24 dev to-inet" % UP2_INET,
            "addr add %s/24 dev to-app" % UP2_APP,
            "link set to-inet up",
            "link set to-app up",
            "route add default via %s dev to-inet" % INET_UP2,
        ]) + "\n")
        self.up2.sysctl("net.ipv4.ip_forward", 1)
        self.up2.run("nft", "-f", "-", input=(
            "table ip lab_nat {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority 100; policy accept;\n"
            "    oifname \"to-inet\" masquerade\n"
            "  }\n"
            "}\n"))
        for name, u in UPLINKS.items():
            self.app.ip("rule", "add", "from", u["address"], "lookup", u["table"], "priority", 1000 + u["table"])
            self.configure_uplink(name)
        self._start_inet_services()

    def _start_inet_services(self):
        self.dns_proc = self.inet.popen(
            "dnsmasq", "-C", "/dev/null", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
            "--bind-interfaces", "--listen-address=%s" % INET_DNS,
            "--pid-file=%s" % os.path.join(self.dir, "inet-dnsmasq.pid"),
            "--local=/%s/" % TEST_DOMAIN,
            "--host-record=%s,%s" % (WWW_NAME, INET_WWW),
            "--host-record=%s,%s" % (NS_NAME, INET_DNS),
            "--host-record=inet.%s,%s" % (TEST_DOMAIN, INET_APP),
            "--txt-record=lab.%s,%s" % (TEST_DOMAIN, self.prefix),
            "--log-facility=-", "--log-queries",
            log_name="inet-dnsmasq.log")
        errlog = open(os.path.join(self.dir, "inet-http.log"), "ab")
        try:
            self.http_proc = self.inet.popen(sys.executable, "-u", os.path.join(LAB_DIR, "inet_http.py"),
                                             "--port", "80", stdout=subprocess.PIPE, stderr=errlog)
        finally:
            errlog.close()
        line = read_line(self.http_proc, 10.0)
        if not line.startswith("READY"):
            raise LabError("inet HTTP server did not start: %r\n%s" % (
                line, _tail(_read(os.path.join(self.dir, "inet-http.log")))))

        def dns_ready():
            if self.dns_proc.poll() is not None:
                raise StopWaiting("inet dnsmasq exited (%s):\n%s" % (
                    self.dns_proc.returncode, _tail(_read(os.path.join(self.dir, "inet-dnsmasq.log")))))
            return self.inet.dig(WWW_NAME, server=INET_DNS, timeout=1, tries=1, check=False).strip() == INET_WWW

        wait_for(dns_ready, timeout=10, interval=0.05, what="inet dnsmasq to answer")

    def teardown(self):
        """Stops tetherd and every lab process, deletes namespaces, /etc/netns dirs and the
        temporary directory. Idempotent; logs what it removed."""
        global _teardown_depth, _pending_signal
        with _state_lock:
            _teardown_depth += 1
        try:
            if not self._torn_down:
                self.say("lab %s: tearing down" % self.prefix)
            if self.tetherd is not None and self.tetherd.poll() is None:
                try:
                    rc = self.stop_tetherd(signal.SIGTERM, timeout=3)
                    self.say("lab %s: stopped tetherd (pid %d, exit status %s)" % (self.prefix, self.tetherd.pid, rc))
                except LabError as e:
                    self.say("lab %s: %s" % (self.prefix, e))
            removed = cleanup(self.prefix, say=self.say)
            for p in self._procs:
                if p.poll() is None:
                    try:
                        p.kill()
                        p.wait(5)
                    except (OSError, subprocess.TimeoutExpired):
                        pass
                if p.stdout:
                    p.stdout.close()
            self._procs.clear()
            _reap_children()
            if not self._torn_down:
                self.say("lab %s: removed %d item(s)" % (self.prefix, len(removed)))
            self._torn_down = True
        finally:
            with _state_lock:
                if self in _live_labs:
                    _live_labs.remove(self)
                _teardown_depth -= 1
                outermost = _teardown_depth == 0
                pending = _pending_signal if outermost else None
                if outermost:
                    _pending_signal = None
                prev = _prev_handlers.get(pending, signal.SIG_DFL) if pending else None
                if outermost and not _live_labs:
                    _restore_handlers()
            if pending:
                log.warning("lab: delivering %s received during teardown", signal.Signals(pending).name)
                _teardown_all()
                _chain(pending, None, prev)

    # -- uplinks
    def _uplink(self, name: str) -> dict:
        if name not in UPLINKS:
            raise LabError("unknown uplink %r (have %s)" % (name, ", ".join(UPLINKS)))
        return UPLINKS[name]

    def _peer_ns(self, name: str) -> Namespace:
        return getattr(self, self._uplink(name)["peer_role"])

    def configure_uplink(self, name: str):
        """(Re)applies the uplink's address, up state and default routes (like an upstream's
        own DHCP client or NetworkManager would): main table with its metric, and its own table."""
        u = self._uplink(name)
        self._batch(self.app, "\n".join([
            "addr replace %s/%d dev %s" % (u["address"], u["plen"], name),
            "link set %s up" % name,
            "route replace default via %s dev %s metric %d" % (u["gateway"], name, u["metric"]),
            "route replace default via %s dev %s table %d" % (u["gateway"], name, u["table"]),
        ]) + "\n")

    def set_uplink(self, name: str, up: bool):
        """Administrative up/down of the appliance's uplink; routes come back on up."""
        if up:
            self.configure_uplink(name)
        else:
            self.app.link_down(name)

    def set_uplink_carrier(self, name: str, up: bool):
        """Carrier loss/return as the appliance sees it: the far end goes down/up. The uplink
        keeps its address and routes (flagged linkdown)."""
        self._peer_ns(name).link_set(self._uplink(name)["peer_if"], up)

    def remove_uplink(self, name: str):
        """The uplink device disappears (unplugged modem): deletes the veth pair."""
        self.app.ip("link", "del", "dev", name)

    def restore_uplink(self, name: str):
        """Re-creates a removed uplink (new ifindex, new MAC) and configures it again."""
        u = self._uplink(name)
        peer = self._peer_ns(name)
        self._veth(self.app, name, peer, u["peer_if"])
        peer.ip("addr", "replace", "%s/24" % (INET_APP if u["peer_role"] == "inet" else UP2_APP),
                "dev", u["peer_if"])
        peer.link_up(u["peer_if"])
        self.configure_uplink(name)

    def blackhole_uplink(self, name: str, on: bool = True):
        """Link and routes stay up but nothing gets through (packets from the appliance are
        dropped at the far end): "connected, no internet"."""
        u = self._uplink(name)
        peer = self._peer_ns(name)
        table = "lab_blackhole_%s" % name
        peer.run("nft", "delete", "table", "ip", table, check=False)
        if on:
            peer.run("nft", "-f", "-", input=(
                "table ip %s {\n"
                "  chain input { type filter hook input priority -10; policy accept; iifname \"%s\" drop; }\n"
                "  chain forward { type filter hook forward priority -10; policy accept; iifname \"%s\" drop; }\n"
                "}\n" % (table, u["peer_if"], u["peer_if"])))

    # -- clients and downstreams
    def add_client(self, name: str) -> Client:
        """A client namespace <prefix>c-<name> (eth0 appears when a downstream attaches it)."""
        if not CLIENT_NAME_RE.match(name):
            raise LabError("bad client name %r (want [a-z0-9][a-z0-9_]{0,11})" % name)
        if name in self.clients:
            raise LabError("client %s exists" % name)
        c = Client(self, name)
        self.clients[name] = c
        self._add_netns(c, resolv="# no DHCP lease yet\n")
        return c

    def _client_for(self, spec, default_name: str) -> Client:
        if isinstance(spec, Client):
            return spec
        name = spec if isinstance(spec, str) else default_name
        if name in self.clients:
            c = self.clients[name]
            if c.downstream is not None:
                raise LabError("client %s is already attached to %s" % (name, c.downstream))
            return c
        return self.add_client(name)

    def add_downstream(self, name: str, client=None, app_up: bool = False, hub: bool = False):
        """Creates downstream `name` (e.g. usb0, wlan0, bt-pan) in the appliance, its peer
        being eth0 of a client namespace. client: a Client, a client name, None (a client
        named after the downstream) or a list of those (then through a hub bridge; also with
        hub=True). The appliance side has no address and is down unless app_up.
        Returns the client (or the list of clients for a hub)."""
        if not IFNAME_RE.match(name):
            raise LabError("bad interface name %r" % name)
        if name in self.downstreams:
            raise LabError("downstream %s exists (restore_downstream re-creates a removed one)" % name)
        default_name = re.sub(r"[^a-z0-9]", "", name.lower())[:12] or "client"
        specs = client if isinstance(client, (list, tuple)) else [client]
        clients = []
        for i, spec in enumerate(specs):
            clients.append(self._client_for(spec, default_name if i == 0 else "%s%d" % (default_name[:10], i)))
        use_hub = hub or len(clients) > 1
        hub_ns = None
        if use_hub:
            hub_ns = Namespace(self, "h-" + default_name)
            self._add_netns(hub_ns)
            hub_ns.ip("link", "add", "br0", "type", "bridge")
            hub_ns.ip("link", "set", "br0", "up")
            self.hubs[name] = hub_ns
        ds = Downstream(name, clients, hub_ns)
        self.downstreams[name] = ds
        for c in clients:
            c.downstream = name
        self._connect_downstream(ds, app_up)
        return clients if use_hub else clients[0]

    def _connect_downstream(self, ds: Downstream, app_up: bool):
        if ds.hub is None:
            c = ds.client
            self._veth(self.app, ds.name, c, Client.IFNAME)
            self._setup_client_if(c)
        else:
            self._veth(self.app, ds.name, ds.hub, "uplink")
            ds.hub.ip("link", "set", "uplink", "master", "br0", "up")
            for c in ds.clients:
                if not c.has_link(Client.IFNAME):
                    self.attach_to_hub(ds.name, c, _new=False)
        if app_up:
            self.app.link_up(ds.name)

    def _setup_client_if(self, c: Client):
        c.ip("link", "set", "dev", Client.IFNAME, "address", c.mac)
        c.ip("link", "set", "dev", Client.IFNAME, "up")

    def attach_to_hub(self, downstream: str, client=None, _new: bool = True) -> Client:
        """Adds a client to a hub downstream (another station joins the same Wi-Fi)."""
        ds = self.downstreams[downstream]
        if ds.hub is None:
            raise LabError("downstream %s has no hub (create it with hub=True)" % downstream)
        if _new:
            c = self._client_for(client, "%s%d" % (re.sub(r"[^a-z0-9]", "", downstream)[:10], len(ds.clients)))
            ds.clients.append(c)
            c.downstream = downstream
        else:
            c = client
        port = "p-" + c.client_name
        self._veth(c, Client.IFNAME, ds.hub, port)
        ds.hub.ip("link", "set", port, "master", "br0", "up")
        self._setup_client_if(c)
        return c

    def detach_from_hub(self, downstream: str, client: Client):
        """The client leaves the hub (its eth0 disappears)."""
        ds = self.downstreams[downstream]
        client.ip("link", "del", "dev", Client.IFNAME, check=False)
        ds.clients.remove(client)
        client.downstream = None

    def remove_downstream(self, name: str):
        """The downstream interface disappears from the appliance (cable unplugged, gadget
        unbound): deletes the veth; the client keeps its namespace (eth0 goes away unless
        behind a hub). restore_downstream(name) plugs it in again."""
        if name not in self.downstreams:
            raise LabError("no downstream %s" % name)
        self.app.ip("link", "del", "dev", name)

    def restore_downstream(self, name: str, app_up: bool = False):
        """Re-creates a removed downstream with the same client(s) (same client MACs)."""
        ds = self.downstreams[name]
        if self.app.has_link(name):
            raise LabError("downstream %s is present" % name)
        if ds.hub is None and ds.client.dhcp_proc is not None:
            ds.client.dhcp_stop(release=False)
        self._connect_downstream(ds, app_up)

    def set_downstream_carrier(self, name: str, up: bool):
        """Carrier as the appliance sees it: the client end (or the hub port) goes down/up."""
        ds = self.downstreams[name]
        if ds.hub is None:
            ds.client.link_set(Client.IFNAME, up)
        else:
            ds.hub.link_set("uplink", up)

    # -- tetherd
    def default_config(self, upstreams: Iterable[str] = ("eth0", "wwan0"), log_level: str = "debug") -> str:
        """A config for the lab: the given upstreams in priority order, each with inet's DNS."""
        upstreams = list(upstreams)
        text = "[daemon]\nlog_level = %s\n\n[upstream]\npriority = %s\n" % (log_level, " ".join(upstreams))
        for u in upstreams:
            text += "\n[upstream.%s]\ndns = %s\n" % (u, INET_DNS)
        return text

    def with_lab_paths(self, config_text: str) -> str:
        """config_text with run_dir, state_dir and control_socket inside the lab's directory
        added to [daemon] (keys the text sets itself are kept)."""
        wanted = {"run_dir": self.run_dir, "state_dir": self.state_dir, "control_socket": self.socket_path}
        lines = config_text.splitlines()
        section = None
        header_at = None
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("[") and s.endswith("]"):
                section = s[1:-1].strip()
                if section == "daemon" and header_at is None:
                    header_at = i
                continue
            if section == "daemon" and "=" in s and not s.startswith(("#", ";")):
                wanted.pop(s.split("=", 1)[0].strip(), None)
        add = ["%s = %s" % kv for kv in wanted.items()]
        if header_at is None:
            lines = ["[daemon]"] + add + [""] + lines
        else:
            lines = lines[:header_at + 1] + add + lines[header_at + 1:]
        return "\n".join(lines) + "\n"

    def write_config(self, config_text: str = "", path: Optional[str] = None, lab_paths: bool = True) -> str:
        """Writes a config file (default: the lab's tetherd.conf) and returns its path."""
        path = path or self.config_path
        with open(path, "w") as f:
            f.write(self.with_lab_paths(config_text) if lab_paths else config_text)
        return path

    def _need_bins(self):
        missing = [n for n, b in (("TETHERD_BIN", self.tetherd_bin), ("TETHERCTL_BIN", self.tetherctl_bin))
                   if not b or not os.access(b, os.X_OK)]
        if missing:
            raise LabError("%s not set or not executable (point them at the built tetherd/tetherctl)"
                           % " and ".join(missing))

    def tetherd_command(self, config_path: Optional[str] = None, extra_args: Iterable[str] = (),
                        socket_arg: bool = True) -> list:
        cmd = [self.tetherd_bin, "--config", config_path or self.config_path]
        if socket_arg:
            cmd += ["--control-socket", self.socket_path]
        return cmd + list(extra_args)

    INET6_WWW = "2001:db8:ffff::10"      # inet's IPv6 web server (inet_ipv6)
    INET6_PAGE = "hello over IPv6\n"      # what it serves at /
    INET6_RADVD = """interface to-app {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 600;
  prefix 2001:db8:1::/64 { AdvOnLink on; AdvAutonomous on; };
};
"""

    def inet_ipv6(self) -> None:
        """IPv6 upstream: inet announces 2001:db8:1::/64 on the appliance's eth0 link (radvd; inet
        is 2001:db8:1::1) and serves INET6_PAGE on [INET6_WWW]:80 (log inet-http6.log); returns
        once the appliance's eth0 has its SLAAC address and IPv6 default route."""
        inet = self.inet
        inet.ip("-6", "addr", "add", "2001:db8:1::1/64", "dev", "to-app", "nodad")
        inet.ip("-6", "addr", "add", self.INET6_WWW + "/128", "dev", "lo")
        conf = os.path.join(self.dir, "radvd.conf")
        with open(conf, "w") as f:
            f.write(self.INET6_RADVD)
        inet.popen("radvd", "-n", "-m", "stderr", "-C", conf, "-p", os.path.join(self.dir, "radvd.pid"),
                   log_name="inet-radvd.log")
        www = os.path.join(self.dir, "www6")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write(self.INET6_PAGE)
        inet.popen(sys.executable, "-m", "http.server", "--bind", self.INET6_WWW, "--directory", www, "80",
                   log_name="inet-http6.log")
        wait_for(lambda: [a for a in self.app.addresses("eth0", family=6, settled=True) if a.startswith("2001:db8:1:")]
                 and self.app.routes("default", family=6),
                 timeout=20, what="eth0's SLAAC address and IPv6 default route")

    def private_dhcpcd_dirs(self) -> None:
        """From now on tetherd runs in a mount namespace of its own where dhcpcd's compiled-in
        directories (/run/dhcpcd: pid file; /var/lib/dhcpcd: DUID, leases) are the lab's, so
        the dhcpcd it supervises (ipv6 = auto or pd) never writes the host's."""
        binds = []
        for d in ("/run/dhcpcd", "/var/lib/dhcpcd"):
            mine = os.path.join(self.dir, "dhcpcd" + d.replace("/", "-"))
            os.makedirs(mine, exist_ok=True)
            os.makedirs(d, exist_ok=True)
            binds.append("mount --bind %s %s" % (mine, d))
        plain = self.tetherd_command
        self.tetherd_command = lambda **kw: (["unshare", "-m", "--propagation", "private", "sh", "-c",
                                              " && ".join(binds) + ' && exec "$@"', "sh"] + plain(**kw))

    def start_tetherd(self, config_text: Optional[str] = None, extra_args: Iterable[str] = (),
                      timeout: float = 10.0, wait: bool = True, activation_socket: Optional[socket.socket] = None,
                      socket_arg: bool = True, env: Optional[dict] = None) -> subprocess.Popen:
        """Writes config_text (None: default_config()) with the lab's paths and starts
        $TETHERD_BIN in the appliance namespace, stderr to tetherd.log in the lab dir; waits
        until `tetherctl ping` answers (wait=True; LabError with the log when it exits first).
        activation_socket: a listening AF_UNIX socket handed over as fd 3 with LISTEN_FDS=1
        and LISTEN_PID=<tetherd's pid> (systemd socket activation)."""
        self._need_bins()
        if self.tetherd is not None and self.tetherd.poll() is None:
            raise LabError("tetherd is already running (pid %d)" % self.tetherd.pid)
        self.write_config(self.default_config() if config_text is None else config_text)
        cmd = self.tetherd_command(extra_args=extra_args, socket_arg=socket_arg)
        self._tetherd_log_offset = os.path.getsize(self.tetherd_log_path) if os.path.exists(
            self.tetherd_log_path) else 0
        with open(self.tetherd_log_path, "ab") as f:
            f.write(("--- lab: starting %s\n" % " ".join(cmd)).encode())
        wrapper = None
        pass_fds = ()
        if activation_socket is not None:
            fd = activation_socket.fileno()
            # sh keeps its pid through both execs (sh -> ip netns exec -> tetherd), so $$ is
            # the pid tetherd will have: exactly what sd_listen_fds() checks LISTEN_PID against.
            move = "" if fd == 3 else "exec 3<&%d %d<&-; " % (fd, fd)
            wrapper = ["sh", "-c", move + 'export LISTEN_FDS=1 LISTEN_PID=$$; exec "$@"', "sh"]
            pass_fds = (fd,)
        self.tetherd = self.app.popen(cmd, log_name="tetherd.log", wrapper=wrapper, pass_fds=pass_fds, env=env)
        if wait:
            self.wait_tetherd_ready(timeout)
        return self.tetherd

    def wait_tetherd_ready(self, timeout: float = 10.0):
        p = self.tetherd

        def ready():
            if p.poll() is not None:
                raise StopWaiting("tetherd exited with %s during startup:\n%s" % (p.returncode, self.tetherd_log()))
            r = self.tetherctl("ping", timeout=2)
            return r.returncode == 0 and r.stdout.strip() == "pong"

        try:
            wait_for(ready, timeout=timeout, interval=0.02, what="tetherctl ping to answer")
        except TimeoutError as e:
            raise LabError("%s\n--- tetherd log:\n%s" % (e, _tail(self.tetherd_log())))

    def tetherd_log(self, since_start: bool = True) -> str:
        """tetherd's stderr (since the last start_tetherd by default)."""
        try:
            with open(self.tetherd_log_path, "rb") as f:
                if since_start:
                    f.seek(self._tetherd_log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop_tetherd(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> Optional[int]:
        """Sends sig and waits for tetherd to exit; returns its exit status (negative: killed
        by a signal). LabError (after SIGKILL) when it does not exit within timeout."""
        p = self.tetherd
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
                raise LabError("tetherd did not exit within %.1fs of %s; killed\n%s" % (
                    timeout, signal.Signals(sig).name, _tail(self.tetherd_log())))
        return p.returncode

    def tethered(self, ifname: str) -> bool:
        """Whether `tether interface list` shows ifname as tethered."""
        for line in self.tetherctl("tether", "interface", "list").stdout.splitlines():
            if line.split(" ", 1)[0] == ifname:
                return "state=tethered" in line
        return False

    def tetherctl(self, *args, json: bool = False, check: bool = False, timeout: float = 10.0,
                  socket_path: Optional[str] = None) -> subprocess.CompletedProcess:
        """Runs $TETHERCTL_BIN --socket <lab socket> [--json] args... in the appliance
        namespace. The result has .json (parsed stdout, or None) when json=True."""
        self._need_bins()
        cmd = [self.tetherctl_bin, "--socket", socket_path or self.socket_path,
               "--timeout", str(max(1, int(timeout)))]
        if json:
            cmd.append("--json")
        cmd += _flatten(args)
        r = self.app.run(cmd, check=False, timeout=timeout + 5)
        r.json = None
        if json:
            try:
                r.json = jsonlib.loads(r.stdout)
            except ValueError:
                pass
        if check and r.returncode != 0:
            raise LabError("tetherctl %s: exit %d: %s%s" % (" ".join(_flatten(args)), r.returncode,
                                                            r.stdout, r.stderr))
        return r

    # -- inet observations
    def inet_dns_log(self) -> str:
        return _read(os.path.join(self.dir, "inet-dnsmasq.log"))

    def inet_http_log(self) -> str:
        return _read(os.path.join(self.dir, "inet-http.log"))

    # -- for people
    def describe(self) -> str:
        lines = ["lab %s  (files: %s)" % (self.prefix, self.dir), ""]
        lines.append("  %-16s the internet: www.tether.test %s (HTTP :80, /whoami), "
                     "DNS %s (tether.test)" % (self.inet.name, INET_WWW, INET_DNS))
        lines.append("  %-16s to-app %s/24 (to app eth0), to-up2 %s/24" % ("", INET_APP, INET_UP2))
        lines.append("  %-16s second upstream router, NAT: to-inet %s/24, to-app %s/24 (to app wwan0)"
                     % (self.up2.name, UP2_INET, UP2_APP))
        lines.append("  %-16s the appliance (tetherd): eth0 %s/24 gw %s metric 100; wwan0 %s/24 gw %s metric 200"
                     % (self.app.name, APP_ETH0, INET_APP, APP_WWAN0, UP2_APP))
        for name, ds in self.downstreams.items():
            lines.append("  %-16s   downstream %s -> %s%s" % ("", name, ", ".join(c.name for c in ds.clients),
                                                                 " (hub %s)" % ds.hub.name if ds.hub else ""))
        for c in self.clients.values():
            lines.append("  %-16s client on %s, eth0 %s" % (c.name, c.downstream or "-", c.mac))
        lines.append("")
        lines.append("  enter a namespace:  ip netns exec %s bash" % self.app.name)
        if self.tetherd is not None:
            lines.append("  tetherctl:          %s --socket %s status" % (self.tetherctl_bin, self.socket_path))
            lines.append("  tetherd log:        %s" % self.tetherd_log_path)
        return "\n".join(lines)
