"""Fault injection in the namespace lab: tetherd, dnsmasq and hostapd killed with SIGKILL at
random points of start and stop, an upstream flapping, a downstream deleted while it starts,
the xtables lock held by another process, a full disk under run_dir/state_dir, and the foreign
firewall layouts `tether doctor` must name (a plain nftables `policy drop` forward chain,
firewalld's zones with their final reject, an iptables-legacy DROP before tetherd's jump).
Real tetherd, dnsmasq, hostapd (driver=wired, as in test_softap.py), netfilter and DHCP
clients; a fresh lab per scenario.

Every scenario ends the same way (FaultTest.finish): the system has converged (downstreams
tethered, rules exactly those of the pairs and the upstream in force, one supervised child per
service), the configuration is still there (config file, soft AP settings, the client's lease),
the client is online again (a new DHCP exchange, then HTTP through NAT), and after SIGTERM
nothing of tetherd's is left: no tetherd_ chain in filter/nat/mangle, no process in the
appliance namespace, ip_forward restored.

Random points come from one seeded random.Random per test, derived from the seed printed at
the start (TETHERD_FAULT_SEED=<n> repeats a run). Waiting is always a deadline (wait_for);
the only sleeps are the random delays that place a fault."""
import errno
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

import support
from support import lab as L

LAB = None
SEED = int(os.environ.get("TETHERD_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))
ITERATIONS = 20                     # SIGKILLs per process kind (the issue asks for >= 20)
ETH0_SEEN = L.UPLINKS["eth0"]["seen_as"]     # what the internet sees of traffic via eth0
WWAN0_SEEN = L.UPLINKS["wwan0"]["seen_as"]   # ... via wwan0 (and up2's NAT)
SEEN_AS = {"eth0": ETH0_SEEN, "wwan0": WWAN0_SEEN}
SUBNET = {"usb0": "192.168.42.", "wlan0": "192.168.43."}


def setUpModule():
    support.require_lab()
    support.require_binaries()
    for tool in ("hostapd", "flock", "nft", "iptables-legacy", "mount", "umount"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":" + L.SBIN_PATH):
            raise AssertionError("%s is required (scripts/install-deps.sh installs it)" % tool)
    sys.stderr.write("test_faults: seed %d (repeat with TETHERD_FAULT_SEED=%d)\n" % (SEED, SEED))
    sys.stderr.flush()


# ------------------------------------------------------------------------------------------
# Observations

def read_env():
    # Reads take their own lock file: a dump is one atomic snapshot per table, and this way
    # neither the lock a test holds nor other users of /run/xtables.lock delay them.
    return {"XTABLES_LOCKFILE": os.path.join(LAB.dir, "test-reader.lock")}


def own_rules(forwarding_only=False):
    """tetherd's lines of `iptables-legacy -S` in filter, nat and mangle (forwarding_only:
    without the web admin's tetherd_INPUT and the per-client counters' tetherd_acct_<if> chains
    and jumps, which are not what these faults are about)."""
    out = []
    for table in ("filter", "nat", "mangle"):
        r = LAB.app.run("iptables-legacy", "-t", table, "-S", env=read_env())
        out += ["%s %s" % (table, line) for line in r.stdout.splitlines()
                if "tetherd_" in line and not (forwarding_only and ("tetherd_INPUT" in line or "tetherd_acct_" in line))]
    return out


def expected_rules(pairs):
    """What tetherd installs for these (downstream, upstream) pairs (every downstream in
    them tethered), in `iptables-legacy -S` order (tether/system/netfilter/firewall_rules.cpp)."""
    pairs = sorted(pairs)
    downstreams = sorted({d for d, _ in pairs})
    upstreams = sorted({u for _, u in pairs if u})
    f = ["-N tetherd_FORWARD", "-N tetherd_counters", "-A FORWARD -j tetherd_FORWARD"]
    counters = []
    for d, u in pairs:
        if not u:
            continue
        f += ["-A tetherd_FORWARD -i %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters" % (u, d),
              "-A tetherd_FORWARD -i %s -o %s -m conntrack --ctstate INVALID -j DROP" % (d, u),
              "-A tetherd_FORWARD -i %s -o %s -g tetherd_counters" % (d, u)]
        counters += ["-A tetherd_counters -i %s -o %s -j ACCEPT" % (d, u),
                     "-A tetherd_counters -i %s -o %s -j ACCEPT" % (u, d)]
    f += ["-A tetherd_FORWARD -i %s -j DROP" % d for d in downstreams] + counters
    nat = ["-N tetherd_nat_POSTROUTING", "-A POSTROUTING -j tetherd_nat_POSTROUTING"]
    nat += ["-A tetherd_nat_POSTROUTING -o %s -j MASQUERADE" % u for u in upstreams]
    mangle = ["-N tetherd_mangle_FORWARD", "-A FORWARD -j tetherd_mangle_FORWARD"]
    if upstreams:
        mangle.append("-A tetherd_mangle_FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu")
    return ["filter " + x for x in f] + ["nat " + x for x in nat] + ["mangle " + x for x in mangle]


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def ppid_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^PPid:\s+(\d+)", f.read(), re.M)
            return int(m.group(1)) if m else None
    except OSError:
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""


def app_procs(comm=None):
    """Processes in the appliance namespace (named `comm`), tetherd's own tetherctl calls aside."""
    out = []
    for pid in LAB.app.pids():
        c = comm_of(pid)
        if c is None or c == "tetherctl":
            continue
        if comm is None or c == comm:
            out.append(pid)
    return out


def children(comm):
    """`comm` processes in the appliance: [(pid, is tetherd's child, cmdline)]."""
    me = LAB.tetherd.pid if LAB.tetherd is not None and LAB.tetherd.poll() is None else None
    return [(p, ppid_of(p) == me, cmdline(p)) for p in app_procs(comm)]


def downstream_states():
    r = LAB.tetherctl("tether", "interface", "list", timeout=3)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S+) .*state=(\S+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def state_of(ifname):
    return downstream_states().get(ifname)


def log_tail(n=4000):
    return LAB.tetherd_log()[-n:]


def wait_state(ifname, want, timeout=10):
    L.wait_for(lambda: state_of(ifname) == want, timeout=timeout, interval=0.03,
               what="%s to be %s (now %s); log:\n%s" % (ifname, want, state_of(ifname), log_tail()))


def whoami(client, timeout=2):
    try:
        return client.curl(L.WHOAMI_URL, timeout=timeout, check=True).strip()
    except Exception:  # noqa: BLE001 - not online (yet)
        return None


def kill9(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def ctl_async(*args):
    """tetherctl in the background (its reply is not waited for)."""
    return LAB.app.popen([LAB.tetherctl_bin, "--socket", LAB.socket_path, "--timeout", "5"] + list(args),
                         log_name="ctl-async.log")


def reap(p, timeout=10):
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def lab_mounts():
    with open("/proc/self/mounts") as f:
        return [l for l in f.read().splitlines() if LAB.dir and LAB.dir in l]


# ------------------------------------------------------------------------------------------

class FaultTest(unittest.TestCase):
    """A fresh lab per scenario; finish() is each scenario's common ending."""

    def setUp(self):
        global LAB
        self.rng = random.Random("%d/%s" % (SEED, self.id()))
        self.t0 = time.monotonic()
        self.clients = {}
        self.extra_cleanups = []
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)

    def teardown_lab(self):
        prefix = LAB.prefix
        for c in self.clients.values():
            try:
                c.dhcp_stop(release=False)
            except Exception:  # noqa: BLE001 - teardown kills it anyway
                pass
        keep = os.environ.get("TETHERD_FAULT_LOGS")  # a directory: the lab's logs are kept there
        if keep:
            dest = os.path.join(keep, self.id().rsplit(".", 1)[-1])
            shutil.copytree(LAB.dir, dest, dirs_exist_ok=True,
                            ignore=lambda d, names: [n for n in names if not n.endswith(".log")
                                                     and not os.path.isdir(os.path.join(d, n))])
        try:
            for fn in reversed(self.extra_cleanups):
                fn()
        finally:
            LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])
        sys.stderr.write("  %s: %.1fs\n" % (self.id().rsplit(".", 1)[-1], time.monotonic() - self.t0))

    # -- helpers
    def start(self, config, env=None, wait=True):
        self.config_text = config
        LAB.start_tetherd(config, env=env, wait=wait)
        with open(LAB.config_path) as f:
            self.config_written = f.read()

    def restart(self, env=None):
        LAB.start_tetherd(self.config_text, env=env)

    def plug(self, ifname, client):
        c = LAB.add_downstream(ifname, client=client)
        self.clients[client] = c
        return c

    def softap_config(self, extra=""):
        eap = os.path.join(LAB.dir, "eap_users")
        with open(eap, "w") as f:
            f.write('"user1" MD5 "secret1"\n')
        return LAB.default_config() + "\n[softap]\ndriver = wired\neap_user_file = %s\n" % eap + extra

    def wait_rules(self, pairs, timeout=5):
        want = expected_rules(pairs)
        L.wait_for(lambda: own_rules(True) == want, timeout=timeout, interval=0.05,
                   what="exactly the rules of %s:\nwant %s\nhave %s\nlog:\n%s" % (pairs, want, own_rules(True), log_tail()))

    def wait_children(self, comm, count, timeout=5):
        """Exactly `count` `comm` processes in the appliance, all of them tetherd's children."""
        def ok():
            ch = children(comm)
            return len(ch) == count and all(mine for _, mine, _ in ch)
        L.wait_for(ok, timeout=timeout, interval=0.03,
                   what="%d %s, children of tetherd: have %s\nlog:\n%s" % (count, comm, children(comm), log_tail()))

    def wait_online(self, client, upstream, timeout=5):
        L.wait_for(lambda: whoami(client, 1) == SEEN_AS[upstream], timeout=timeout, interval=0.1,
                   what="%s online via %s (log:\n%s)" % (client.name, upstream, log_tail()))

    def converged(self, downstreams, upstream="eth0", hostapd=0, online=()):
        """Every downstream tethered, exactly its rules, one supervised dnsmasq each (and
        `hostapd` hostapds), and the given clients' traffic through NAT via `upstream`."""
        for d in downstreams:
            wait_state(d, "tethered")
        self.wait_rules([(d, upstream) for d in downstreams])
        self.wait_children("dnsmasq", len(downstreams))
        if hostapd is not None:
            self.wait_children("hostapd", hostapd)
        for c in online:
            self.wait_online(c, upstream)

    def finish(self, downstreams, upstream="eth0", ssid=None, hostapd=0, state_dir=None, stop=None):
        """The common ending: converged, configuration kept, clients online again after a new
        DHCP exchange, then SIGTERM (or `stop()`, returning the exit status) leaves nothing
        behind."""
        state_dir = state_dir or LAB.state_dir
        self.converged(downstreams, upstream, hostapd)
        with open(LAB.config_path) as f:
            self.assertEqual(f.read(), self.config_written)
        if ssid is not None:
            self.assertIn("ssid=%s" % ssid, LAB.tetherctl("softap", "get", "ssid", check=True).stdout)
            with open(os.path.join(state_dir, "softap.conf")) as f:
                self.assertIn("ssid=hex:" + ssid.encode().hex(), f.read())
        for d in downstreams:
            c = LAB.downstreams[d].client
            self.assertIsNotNone(c.dhcp_proc, "%s never had a lease" % c.name)
            c.dhcp_stop(release=False)
            addr = c.dhcp("udhcpc", timeout=10)
            self.assertTrue(addr.startswith(SUBNET[d]), addr)
            self.wait_online(c, upstream)
            # the lease file kept the client's lease through everything
            with open(os.path.join(state_dir, "dnsmasq-%s.leases" % d)) as f:
                leases = f.read()
            self.assertIn("%s %s" % (c.mac, addr), leases)
        rc = stop() if stop else LAB.stop_tetherd(signal.SIGTERM)
        self.assertEqual(rc, 0, log_tail())
        self.assertEqual(own_rules(), [])
        self.assertNotIn("tetherd_offload", LAB.app.run("nft", "list", "tables").stdout)
        self.assertEqual(app_procs(), [], [(p, cmdline(p)) for p in app_procs()])
        self.assertEqual(LAB.app.sysctl("net.ipv4.ip_forward"), "0")
        for d in downstreams:
            self.assertEqual(LAB.app.addresses(d), [])
        # run_dir's files (configs, pid files, crash records, ctrl sockets) go with the run
        left = [os.path.join(r, n) for r, _, names in os.walk(LAB.run_dir) for n in names]
        self.assertEqual(left, [], "left in run_dir after stop: %s" % " ".join(left))


class KillTest(FaultTest):
    """SIGKILL of tetherd, dnsmasq and hostapd at random points of start and stop."""

    def setup_two(self):
        """usb0 (phone) and wlan0 (a soft AP, hostapd driver=wired), both online."""
        self.phone = self.plug("usb0", "phone")
        self.sta = self.plug("wlan0", "sta")
        # Offload configured (issue 18): inactive on this kernel (no flowtable), tried at every
        # start of the kill rounds; the VM's offload scenario kills tetherd with it active.
        self.start(self.softap_config("\n[tethering]\noffload = software\n"))
        LAB.tetherctl("softap", "set", "ssid", "FaultLab", check=True)
        self.converged(["usb0", "wlan0"], hostapd=1)
        self.phone.dhcp("udhcpc")
        self.sta.dhcp("udhcpc")
        self.converged(["usb0", "wlan0"], hostapd=1, online=[self.phone, self.sta])

    def kill9_tetherd(self):
        kill9(LAB.tetherd.pid)
        LAB.tetherd.wait(5)
        # Killed inside posix_spawn, its child may not have exec'd yet: it still holds the
        # control socket, and a new tetherd would rightly refuse to start (systemd restarts it
        # 1 s later). Like that delay, wait for the child to become dnsmasq/hostapd.
        L.wait_for(lambda: not app_procs("tetherd"), what="no tetherd process left")

    def test_kill9_tetherd_at_random_points_of_start_and_stop(self):
        self.setup_two()
        # How long a start takes here, to spread the kills over all of it.
        LAB.stop_tetherd(signal.SIGTERM)
        t = time.monotonic()
        self.restart()
        self.converged(["usb0", "wlan0"], hostapd=1)
        span = time.monotonic() - t
        kinds = []
        for i in range(ITERATIONS):
            phase = ("start", "stop")[i % 2]
            if phase == "start":
                self.kill9_tetherd()  # while tethered, then again while it starts
                delay = self.rng.uniform(0, span * 1.2)
                LAB.start_tetherd(self.config_text, wait=False)
                time.sleep(delay)
                how = "start"
            else:
                how = self.rng.choice(["SIGTERM", "tether stop", "interface remove"])
                delay = self.rng.uniform(0, 0.15)
                if how == "SIGTERM":
                    LAB.tetherd.send_signal(signal.SIGTERM)
                    ctl = None
                elif how == "tether stop":
                    ctl = ctl_async("tether", "stop")
                else:
                    ctl = ctl_async("tether", "interface", "remove", self.rng.choice(["usb0", "wlan0"]))
                time.sleep(delay)
            alive = LAB.tetherd.poll() is None
            self.kill9_tetherd()
            if phase == "stop" and ctl is not None:
                reap(ctl)
            kinds.append("%s+%.0fms%s" % (how, delay * 1000, "" if alive else "(exited)"))
            self.restart()
            self.converged(["usb0", "wlan0"], hostapd=1, online=[self.phone, self.sta])
        sys.stderr.write("  tetherd killed during: %s\n" % ", ".join(kinds))
        # Killed before any pid file was written (the rare case above, made certain): the
        # children are found by their arguments.
        self.kill9_tetherd()
        for name in os.listdir(LAB.run_dir):
            if name.endswith(".pid"):
                os.unlink(os.path.join(LAB.run_dir, name))
        self.restart()
        self.converged(["usb0", "wlan0"], hostapd=1, online=[self.phone, self.sta])
        self.assertEqual(LAB.tetherd_log().count("left over from a previous run (an argument starts with"), 3,
                         log_tail())
        self.finish(["usb0", "wlan0"], ssid="FaultLab", hostapd=1)

    def _kill_child_loop(self, comm, downstreams, hostapd, clients):
        """SIGKILLs of `comm` (dnsmasq or hostapd) during `tether start`, during `tether stop`
        and while tethered, at random delays: ITERATIONS rounds and at least ITERATIONS
        processes killed (a stop may have ended its child before the kill lands)."""
        kinds = []
        total = 0
        conn = support.Conn(LAB.socket_path)
        self.extra_cleanups.append(conn.close)
        i = 0
        while (i < ITERATIONS or total < ITERATIONS) and i < 3 * ITERATIONS:
            phase = ("start", "stop", "tethered")[i % 3]
            i += 1
            seq = None
            if phase == "start":
                LAB.tetherctl("tether", "stop", check=True)
                L.wait_for(lambda: not app_procs(comm), what="no %s after tether stop" % comm)
                ctl = ctl_async("tether", "start")
                victims = L.wait_for(lambda: app_procs(comm), timeout=5, interval=0.005,
                                     what="%s to appear after tether start" % comm)
                delay = self.rng.uniform(0, 0.3)
            elif phase == "stop":
                victims = app_procs(comm)
                ctl, seq = None, 1000 + i
                conn.send("%d tether stop\n" % seq)  # no process to spawn: the stop starts now
                delay = self.rng.uniform(0, 0.005)
            else:
                ctl = None
                victims = app_procs(comm)
                delay = self.rng.uniform(0, 0.1)
            time.sleep(delay)
            killed = [p for p in victims if kill9(p)]  # these at once, then any newer one
            killed += [p for p in app_procs(comm) if p not in victims and kill9(p)]
            if ctl is not None:
                reap(ctl)
            if seq is not None:
                self.assertTrue(conn.reply(seq).startswith("200 "))
            total += len(killed)
            kinds.append("%s+%.0fms:%d" % (phase, delay * 1000, len(killed)))
            if not LAB.tetherctl("tether", "status", check=True).stdout.startswith("Tethering started"):
                LAB.tetherctl("tether", "start", check=True)
            self.assertIsNone(LAB.tetherd.poll(), log_tail())
            self.converged(downstreams, hostapd=hostapd, online=clients)
        self.assertGreaterEqual(total, ITERATIONS)
        sys.stderr.write("  %d %s killed in %d rounds: %s\n" % (total, comm, len(kinds), ", ".join(kinds)))

    def test_kill9_dnsmasq_at_random_points_of_start_and_stop(self):
        phone = self.plug("usb0", "phone")
        self.start(LAB.default_config())
        self.converged(["usb0"])
        phone.dhcp("udhcpc")
        self._kill_child_loop("dnsmasq", ["usb0"], 0, [phone])
        self.assertEqual(phone.dig(L.WWW_NAME, server="192.168.42.1").strip(), L.INET_WWW)
        self.finish(["usb0"])

    def test_kill9_hostapd_at_random_points_of_start_and_stop(self):
        sta = self.plug("wlan0", "sta")
        # Offload configured (issue 18): inactive on this kernel (no flowtable), tried at every
        # start of the kill rounds; the VM's offload scenario kills tetherd with it active.
        self.start(self.softap_config("\n[tethering]\noffload = software\n"))
        LAB.tetherctl("softap", "set", "ssid", "FaultLab", check=True)
        self.converged(["wlan0"], hostapd=1)
        sta.dhcp("udhcpc")
        self._kill_child_loop("hostapd", ["wlan0"], 1, [sta])
        self.assertIn("hostapd=running enabled=yes", LAB.tetherctl("softap", "status", check=True).stdout)
        self.finish(["wlan0"], ssid="FaultLab", hostapd=1)


class NetworkFaultTest(FaultTest):
    def test_upstream_flapping_20_times_in_10s(self):
        phone = self.plug("usb0", "phone")
        self.start(LAB.default_config())
        self.converged(["usb0"])
        phone.dhcp("udhcpc")
        self.wait_online(phone, "eth0")
        t0 = time.monotonic()
        for i in range(20):  # down at i*0.5 s, up at i*0.5 + 0.25 s
            for up, at in ((False, i * 0.5), (True, i * 0.5 + 0.25)):
                time.sleep(max(0.0, t0 + at - time.monotonic()))
                LAB.set_uplink("eth0", up)
        self.assertLess(time.monotonic() - t0, 11.0)
        self.assertIsNone(LAB.tetherd.poll(), log_tail())
        # The final upstream is eth0: exactly its rules, nothing of wwan0 left.
        self.converged(["usb0"], "eth0", online=[phone])
        self.assertIn("upstream=eth0", LAB.tetherctl("tether", "status").stdout)
        self.assertIn("dns=%s" % L.INET_DNS, LAB.tetherctl("tether", "status").stdout)
        # ... and the failover still works after all that.
        LAB.set_uplink("eth0", False)
        self.converged(["usb0"], "wwan0", online=[phone])
        LAB.set_uplink("eth0", True)
        self.finish(["usb0"])

    def test_downstream_deleted_right_after_interface_add(self):
        config = LAB.default_config() + "\n[tethering]\nauto_tether = none\n"
        phone = self.plug("usb0", "phone")
        self.start(config)
        wait_state("usb0", "available")
        kinds = []
        for i in range(10):
            ctl = ctl_async("tether", "interface", "add", "usb0")
            delay = self.rng.uniform(0, 0.04)
            time.sleep(delay)
            LAB.remove_downstream("usb0")
            reap(ctl)
            # gone: forgotten, nothing of it left behind
            L.wait_for(lambda: state_of("usb0") is None, what="usb0 forgotten (log:\n%s)" % log_tail())
            L.wait_for(lambda: not app_procs("dnsmasq"), what="usb0's dnsmasq stopped")
            self.wait_rules([])
            L.wait_for(lambda: "usb0" not in L._read(os.path.join(LAB.run_dir, "downstream-addresses")),
                       what="usb0 out of downstream-addresses")
            # plugged in again: tethered at once if the add came before the link went (even
            # when it failed for the lack of it), else it waits for an add
            LAB.restore_downstream("usb0")
            taken = L.wait_for(lambda: state_of("usb0"), what="usb0 known again") != "available"
            kinds.append("%.0fms%s" % (delay * 1000, "" if taken else " (before the add)"))
            if not taken:
                LAB.tetherctl("tether", "interface", "add", "usb0", check=True)
            self.converged(["usb0"])
            phone.dhcp("udhcpc")  # a new cable: the lab stopped the client's DHCP
            self.wait_online(phone, "eth0")
            LAB.tetherctl("tether", "interface", "remove", "usb0", check=True)
            wait_state("usb0", "available")
            self.wait_rules([])
        sys.stderr.write("  usb0 deleted after interface add +%s\n" % ", ".join(kinds))
        LAB.tetherctl("tether", "interface", "add", "usb0", check=True)
        self.finish(["usb0"])

    def test_downstream_deleted_while_starting(self):
        # hostapd comes up 1.5 s late (a bash builtin wait, so no stray child), and the start
        # timeout is long: wlan0 sits in Starting when it is deleted.
        slow = os.path.join(LAB.dir, "slow-hostapd")
        with open(slow, "w") as f:
            f.write("#!/bin/bash\nread -t 1.5 <> \"$0.fifo\" || true\nexec /usr/sbin/hostapd \"$@\"\n")
        os.chmod(slow, 0o755)
        os.mkfifo(slow + ".fifo")
        sta = self.plug("wlan0", "sta")
        phone = self.plug("usb0", "phone")
        self.start(self.softap_config("hostapd = %s\n" % slow).replace(
            "[softap]", "[tethering]\nstart_timeout = 60s\n\n[softap]"))
        wait_state("usb0", "tethered")
        phone.dhcp("udhcpc")
        for i in range(3):
            wait_state("wlan0", "starting")
            LAB.remove_downstream("wlan0")
            L.wait_for(lambda: state_of("wlan0") is None, what="wlan0 forgotten (log:\n%s)" % log_tail())
            # nothing of wlan0 left: no hostapd (nor its wrapper), its dnsmasq gone, no rules
            L.wait_for(lambda: len(app_procs()) == 2 and len(app_procs("dnsmasq")) == 1, timeout=5,
                       what="only tetherd and usb0's dnsmasq: %s" % [(p, cmdline(p)) for p in app_procs()])
            self.wait_rules([("usb0", "eth0")])
            self.assertNotIn("wlan0", L._read(os.path.join(LAB.run_dir, "downstream-addresses")))
            self.assertEqual(whoami(phone), ETH0_SEEN)  # the other downstream never noticed
            LAB.restore_downstream("wlan0")
        self.converged(["usb0", "wlan0"], hostapd=1, online=[phone])
        sta.dhcp("udhcpc")
        self.finish(["usb0", "wlan0"], hostapd=1)


class ContentionTest(FaultTest):
    def ping_latencies(self, conn, seconds, seq0):
        """Pings tetherd every 20 ms for `seconds`; returns the round-trip times."""
        out = []
        end = time.monotonic() + seconds
        seq = seq0
        while time.monotonic() < end:
            t = time.monotonic()
            self.assertIn("pong", conn.call(seq, "ping", timeout=2))
            out.append(time.monotonic() - t)
            seq += 1
            time.sleep(0.02)
        return out

    def hold_lock(self, path):
        """flock(1) holds the lock (its child `sleep` shares it) until release() kills both."""
        p = subprocess.Popen(["flock", path, "sleep", "60"], start_new_session=True)

        def release():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
        self.extra_cleanups.append(release)
        L.wait_for(lambda: subprocess.run(["flock", "-n", path, "true"]).returncode != 0, timeout=5,
                   what="the xtables lock to be held")
        return release

    def test_xtables_lock_held_by_another_process(self):
        lock = os.path.join(LAB.dir, "xtables.lock")  # tetherd's lock here: others are never stalled
        phone = self.plug("usb0", "phone")
        self.start(LAB.default_config(), env={"XTABLES_LOCKFILE": lock})
        self.converged(["usb0"])
        phone.dhcp("udhcpc")
        self.wait_online(phone, "eth0")
        conn = support.Conn(LAB.socket_path)
        self.extra_cleanups.append(conn.close)
        seq = 1
        # A few seconds, then longer than a few seconds: both converge once the lock is free.
        for hold, (before, after) in ((3.0, ("eth0", "wwan0")), (8.0, ("wwan0", "eth0"))):
            release = self.hold_lock(lock)
            LAB.set_uplink("eth0", after == "eth0")
            lat = self.ping_latencies(conn, hold, seq)
            seq += len(lat)
            self.assertLess(max(lat), 0.2, "tetherd's loop blocked: ping took %.0f ms" % (max(lat) * 1000))
            # nothing could be committed meanwhile: still exactly the old upstream's rules
            self.assertEqual(own_rules(True), expected_rules([("usb0", before)]))
            self.assertIsNone(LAB.tetherd.poll(), log_tail())
            release()
            self.wait_rules([("usb0", after)])
            self.wait_online(phone, after)
            sys.stderr.write("  lock held %.0fs: ping max %.1f ms over %d pings\n" % (hold, max(lat) * 1000, len(lat)))
        self.assertIn("busy", LAB.tetherd_log())
        # `tether stop` while the lock is held: done (no error state), the rules go once it is free
        release = self.hold_lock(lock)
        self.assertIn("200 ", conn.call(seq, "tether stop"))
        # The master waits in Stopping for the lock (its stop timer bounds the wait).
        self.assertIn("master=Stopping", LAB.tetherctl("tether", "status").stdout)
        self.assertEqual(own_rules(True), expected_rules([("usb0", "eth0")]))
        release()
        L.wait_for(lambda: own_rules() == [], timeout=5, what="no rule left after tether stop")
        L.wait_for(lambda: "master=Initial" in LAB.tetherctl("tether", "status").stdout, timeout=5,
                   what="master Initial once the rules are gone")
        LAB.tetherctl("tether", "start", check=True)
        self.converged(["usb0"], online=[phone])

        def stop_while_locked():
            """SIGTERM while the lock is held: tetherd waits for it, then removes its rules."""
            release = self.hold_lock(lock)
            LAB.tetherd.send_signal(signal.SIGTERM)
            L.wait_for(lambda: "firewall busy at stop" in LAB.tetherd_log(), timeout=5,
                       what="tetherd waiting for the lock at stop (log:\n%s)" % log_tail())
            self.assertIsNone(LAB.tetherd.poll())
            self.assertEqual(own_rules(True), expected_rules([("usb0", "eth0")]))
            release()
            return LAB.stop_tetherd(signal.SIGTERM, timeout=5)
        self.finish(["usb0"], stop=stop_while_locked)

    def test_full_disk_under_run_and_state_dir(self):
        small = os.path.join(LAB.dir, "small")
        os.makedirs(small)
        L._run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tetherd-fault", small])

        def unmount():
            L._run(["umount", "-l", small], check=False)
            self.assertEqual(lab_mounts(), [])
        self.extra_cleanups.append(unmount)
        run_dir, state_dir = os.path.join(small, "run"), os.path.join(small, "state")
        phone = self.plug("usb0", "phone")
        # wwan0's DNS servers differ from eth0's, so that the failover must write the servers
        # file (tetherd writes it only when the servers change).
        config = LAB.default_config().replace(
            "[daemon]\n", "[daemon]\nrun_dir = %s\nstate_dir = %s\n" % (run_dir, state_dir))
        config = config.replace("[upstream.wwan0]\ndns = ", "[upstream.wwan0]\ndns = 192.0.2.53 ")
        self.start(config)
        self.converged(["usb0"])
        LAB.tetherctl("softap", "set", "ssid", "FaultLab", check=True)
        addr = phone.dhcp("udhcpc")
        self.wait_online(phone, "eth0")
        leases = os.path.join(state_dir, "dnsmasq-usb0.leases")
        L.wait_for(lambda: phone.mac in L._read(leases), what="the lease in the lease file")

        fillers = []

        def fill():
            """Takes every free block (again: what tetherd removes frees some)."""
            path = os.path.join(small, "filler%d" % len(fillers))
            fillers.append(path)
            with open(path, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC)
        fill()
        # A setting cannot be saved: refused plainly, neither applied nor lost.
        r = LAB.tetherctl("softap", "set", "ssid", "Other")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No space left on device", r.stderr)
        self.assertIn("ssid=FaultLab", LAB.tetherctl("softap", "get", "ssid").stdout)
        # The upstream changes: the DNS servers file cannot be written.
        fill()
        LAB.set_uplink("eth0", False)
        L.wait_for(lambda: "upstream=wwan0" in LAB.tetherctl("tether", "status").stdout, what="upstream wwan0")
        # said plainly: which file, and why (tethering waits for `tether clear-error`)
        status = LAB.tetherctl("tether", "status").stdout
        self.assertIn('cause="write %s/dnsmasq-servers.conf: No space left on device"' % run_dir, status)
        self.assertIn("No space left on device", LAB.tetherd_log())
        LAB.set_uplink("eth0", True)
        L.wait_for(lambda: "upstream=eth0" in LAB.tetherctl("tether", "status").stdout, what="upstream eth0")
        # Tethering cannot start again either: said plainly, tetherd keeps running.
        LAB.tetherctl("tether", "stop")
        LAB.tetherctl("tether", "clear-error")
        fill()
        r = LAB.tetherctl("tether", "start")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No space left on device", r.stderr)
        self.assertIn("No space left on device", LAB.tetherctl("tether", "status").stdout)
        self.assertEqual(LAB.tetherctl("ping").stdout.strip(), "pong")
        self.assertIsNone(LAB.tetherd.poll(), log_tail())

        # Space again: it works.
        for f in fillers:
            os.unlink(f)
        LAB.tetherctl("tether", "clear-error", check=True)
        LAB.tetherctl("tether", "start", check=True)
        self.converged(["usb0"], online=[phone])
        self.assertIn("%s %s" % (phone.mac, addr), L._read(leases))
        self.finish(["usb0"], ssid="FaultLab", state_dir=state_dir)
        for d in (run_dir, state_dir):
            self.assertEqual([n for n in os.listdir(d) if ".tmp-" in n], [], "temporary files left in " + d)


def doctor():
    """`tether doctor`'s problem lines."""
    out = LAB.tetherctl("tether", "doctor", check=True).stdout
    return [l for l in out.splitlines() if l.startswith("problem ")]


# The rulesets the unit tests read as nft's JSON and text (tests/unit/doctor/), loaded for real.
RULESETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "doctor")
USB0 = "usb0 (192.168.42.0/24)"


class DoctorTest(FaultTest):
    """`tether doctor` names the foreign rule or policy that stops tethered traffic: table,
    chain, rule number (and nftables handle) and the rule's text; and says nothing once the
    layout lets the traffic through. Each layout is made with the real nft / iptables-legacy."""

    def online_phone(self):
        phone = self.plug("usb0", "phone")
        self.start(LAB.default_config())
        self.converged(["usb0"])
        phone.dhcp("udhcpc")
        self.wait_online(phone, "eth0")
        self.assertEqual(doctor(), [])
        return phone

    def nft_file(self, name):
        LAB.app.run("nft", "-f", os.path.join(RULESETS, name + ".nft"), check=True)

    def test_plain_inet_filter_forward_policy_drop(self):
        phone = self.online_phone()
        self.nft_file("plain")
        self.assertIsNone(whoami(phone, 1))  # connected, but no internet
        self.assertEqual(doctor(), ["problem nftables table inet filter chain forward policy drop: drops forwarded "
                                    "traffic from %s to eth0" % USB0])
        # ip_forward switched off behind tetherd's back is named too
        LAB.app.sysctl("net.ipv4.ip_forward", 0)
        self.assertIn("problem ip_forward is off while tethering: the kernel forwards nothing from tethered clients",
                      doctor())
        LAB.app.sysctl("net.ipv4.ip_forward", 1)
        # forwarding allowed for the tethered interfaces: through, and nothing to say
        LAB.app.run("nft", "add", "rule", "inet", "filter", "forward", "iifname", "usb*", "oifname", "eth0", "accept",
                    check=True)
        self.wait_online(phone, "eth0")
        self.assertEqual(doctor(), [])
        LAB.app.run("nft", "delete", "table", "inet", "filter", check=True)
        self.finish(["usb0"])

    def test_firewalld_zones_final_reject(self):
        phone = self.online_phone()
        self.nft_file("firewalld")  # usb0 in the default zone (public): no forwarding
        self.assertIsNone(whoami(phone, 1))
        self.assertEqual(doctor(), ["problem nftables table inet firewalld chain filter_FORWARD rule 9 (handle 30) "
                                    "`reject with icmpx admin-prohibited`: rejects forwarded traffic from %s to eth0"
                                    % USB0])
        # `firewall-cmd --zone=trusted --change-interface=usb0`: the zone accepts
        LAB.app.run("nft", "insert", "rule", "inet", "firewalld", "filter_FORWARD_ZONES", "iifname", "usb0", "goto",
                    "filter_FWD_trusted", check=True)
        self.wait_online(phone, "eth0")
        self.assertEqual(doctor(), [])
        LAB.app.run("nft", "delete", "table", "inet", "firewalld", check=True)
        self.finish(["usb0"])

    def test_legacy_drop_before_tetherds_jump(self):
        phone = self.online_phone()
        legacy = lambda *a: LAB.app.run("iptables-legacy", "-w", *a, check=True)  # noqa: E731  (tetherd's lock)
        legacy("-I", "FORWARD", "1", "-i", "usb0", "-j", "DROP")
        self.assertIsNone(whoami(phone, 1))
        self.assertEqual(doctor(), ["problem iptables-legacy table filter chain FORWARD rule 1 `-A FORWARD -i usb0 -j "
                                    "DROP` before tetherd's jump (FORWARD rule 2): drops forwarded traffic from %s to "
                                    "eth0" % USB0])
        # a REJECT of the replies, under policy DROP
        legacy("-D", "FORWARD", "-i", "usb0", "-j", "DROP")
        legacy("-P", "FORWARD", "DROP")
        legacy("-I", "FORWARD", "1", "-o", "usb+", "-j", "REJECT")
        self.assertIsNone(whoami(phone, 1))
        self.assertEqual(doctor(), ["problem iptables-legacy table filter chain FORWARD rule 1 `-A FORWARD -o usb+ -j "
                                    "REJECT` before tetherd's jump (FORWARD rule 2): rejects replies from eth0 to %s"
                                    % USB0])
        legacy("-D", "FORWARD", "-o", "usb+", "-j", "REJECT")
        self.wait_online(phone, "eth0")  # policy DROP after tetherd's jump: tetherd's own rules accept first
        self.assertEqual(doctor(), [])
        legacy("-P", "FORWARD", "ACCEPT")
        self.finish(["usb0"])


if __name__ == "__main__":
    unittest.main()
