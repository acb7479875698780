"""Issue 12, IPv6 prefix delegation end to end with real programs in the namespace lab.

inet plays the upstream router on eth0's link: radvd announces 2001:db8:1::/64 (the
appliance's own address and default route), and kea-dhcp6 (its own instance: config, lease file
and sockets in the lab dir) delegates /56s out of 2001:db8:100::/48 with short timers (renew
every 5 s). Kea neither routes what it delegates nor sends RAs: inet has static routes to the
delegation pools via the appliance. tetherd runs with `ipv6 = pd`: it supervises dhcpcd (PD
only) on eth0, reads its hook's file, gives usb0 a /64 of the delegation and announces it. The
client takes a global address by SLAAC and fetches from inet over IPv6 without NAT: the server
logs the client's own address. Then kea delegates from another pool (restarted with a new
config and no lease file): at the next renewal the client gets the new prefix at once, the old
one deprecated (preferred lifetime 0, RFC 9096); so it is after a clean restart given another
prefix, and when `auto` leaves pd for relay (state_dir/pd-announced: a restarted dnsmasq would
forget it). After kill -9 of tetherd the next run stops
the dhcpcd it left (by the recorded pid and start time: dhcpcd rewrites its argv) and usb0
keeps its /64. After a stop nothing of dhcpcd's is left.

dhcpcd keeps its pid file, DUID and lease in compiled-in paths (/run/dhcpcd, /var/lib/dhcpcd):
tetherd runs here in its own mount namespace with lab directories bound over both."""
import os
import random
import re
import signal
import sys
import time
import unittest

import support
from support import lab as L

LAB = None
WWW6 = L.Lab.INET6_WWW
WAN_PREFIX = "2001:db8:1:"
POOL1, POOL2 = "2001:db8:100:", "2001:db8:200:"
KEA = None
KEA_CONF = """{"Dhcp6": {
  "interfaces-config": {"interfaces": ["to-app"]},
  "lease-database": {"type": "memfile", "name": "%(dir)s/kea-leases6.csv", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "%(dir)s/kea6.sock"},
  "data-directory": "%(dir)s",
  "renew-timer": 5, "rebind-timer": 8, "preferred-lifetime": 120, "valid-lifetime": 180,
  "subnet6": [{"subnet": "2001:db8:1::/64", "interface": "to-app",
               "pd-pools": [{"prefix": "%(pool)s", "prefix-len": 48, "delegated-len": 56}]}],
  "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
}}
"""


def global6(ns, ifname, prefix=""):
    return [a.split("/")[0] for a in ns.addresses(ifname, family=6, settled=True)
            if not a.startswith("fe80") and a.startswith(prefix)]


def addr_lines(ns, ifname):
    return ns.run("ip", "-6", "addr", "show", "dev", ifname).stdout


def start_kea(pool):
    """(Re)starts inet's kea-dhcp6 delegating from pool, with no lease remembered."""
    global KEA
    if KEA is not None:
        KEA.terminate()
        KEA.wait(10)
    kdir = os.path.join(LAB.dir, "kea")
    os.makedirs(kdir, exist_ok=True)
    for f in os.listdir(kdir):
        if f.startswith("kea-leases6"):
            os.unlink(os.path.join(kdir, f))
    conf = os.path.join(kdir, "kea-dhcp6.conf")
    with open(conf, "w") as f:
        f.write(KEA_CONF % {"dir": kdir, "pool": pool})
    LAB.inet.run("kea-dhcp6", "-t", conf, env={"KEA_PIDFILE_DIR": kdir, "KEA_LOCKFILE_DIR": kdir})
    KEA = LAB.inet.popen("kea-dhcp6", "-c", conf, log_name="inet-kea.log",
                         env={"KEA_PIDFILE_DIR": kdir, "KEA_LOCKFILE_DIR": kdir})


def setUpModule():
    global LAB
    support.require_lab()
    support.require_binaries()
    LAB = L.Lab().start()
    inet = LAB.inet
    LAB.inet_ipv6()
    wan = global6(LAB.app, "eth0", WAN_PREFIX)[0]
    for pool in (POOL1, POOL2):  # kea does not route what it delegates
        inet.ip("-6", "route", "add", pool + ":/48", "via", wan, "dev", "to-app")
    start_kea(POOL1 + ":")
    LAB.private_dhcpcd_dirs()


def tearDownModule():
    prefix = LAB.prefix
    LAB.teardown()
    left = L.leftovers(prefix)
    if left:
        raise AssertionError("the lab left: %s" % left)


def config():
    return ("[daemon]\nlog_level = debug\n\n[upstream]\npriority = eth0\n"
            "\n[tethering]\nipv6 = pd\npd_prefix_length = 56\n")


CLIENT = None


def usb0_client():
    global CLIENT
    if CLIENT is None:
        CLIENT = LAB.add_downstream("usb0")
    return CLIENT


def http6_log():
    with open(os.path.join(LAB.dir, "inet-http6.log"), errors="replace") as f:
        return f.read()


def fresh_ra(client, prefix):
    """The client's address in prefix and its preferred lifetime after a fresh router
    advertisement (IPv6 off and on again on the client: it solicits one), about kea's 120 s:
    far longer than a deprecation announced at once takes."""
    client.sysctl("net.ipv6.conf.eth0.disable_ipv6", 1)
    client.sysctl("net.ipv6.conf.eth0.disable_ipv6", 0)
    L.wait_for(lambda: global6(client, "eth0", prefix), timeout=30, what="the client's address again")
    addr = global6(client, "eth0", prefix)[0]
    line = re.search(r"inet6 %s/64 .*\n\s+valid_lft \d+sec preferred_lft (\d+)sec" % re.escape(addr),
                     addr_lines(client, "eth0"))
    if not line or int(line.group(1)) < 90:
        raise AssertionError("no fresh lifetimes for %s:\n%s" % (addr, addr_lines(client, "eth0")))
    return addr, int(line.group(1))


def assert_old_deprecated(test, client, old, since, preferred, router_net):
    """The client's old address `old` deprecated by the announcement (RFC 9096), well before its
    own preferred lifetime (`preferred` s from `since`) would end; and the appliance's old router
    address in `router_net` (a /48's first groups, "2001:db8:100:") deprecated by the kernel once
    its 5 s preferred lifetime ran out (flagged at its next address check, about a second later)."""
    L.wait_for(lambda: re.search(r"inet6 %s/64 [^\n]*deprecated" % re.escape(old), addr_lines(client, "eth0")),
               timeout=30, what="the client's old address deprecated:\n" + addr_lines(client, "eth0"))
    test.assertLess(time.monotonic() - since, preferred - 10, "deprecated by the announcement, not by its own lifetime")
    L.wait_for(lambda: re.search(r"inet6 %s[0-9a-f:]*:1/64 [^\n]*deprecated[^\n]*\n\s+valid_lft \d+sec "
                                 r"preferred_lft 0sec" % re.escape(router_net), addr_lines(LAB.app, "usb0")),
               timeout=10, what="usb0's old router address deprecated")


class Ipv6AutoFallsBackToRelay(unittest.TestCase):
    """ipv6 = auto: pd while kea delegates; kea gone, dhcpcd's EXPIRE6 (about T2 + 10 s after the
    last reply) turns usb0 to relay (eth0 still has radvd's SLAAC /64): the client gets an
    address in that /64 and the server sees it."""

    @classmethod
    def setUpClass(cls):
        cls.client = usb0_client()
        LAB.start_tetherd(config().replace("ipv6 = pd", "ipv6 = auto"))

    @classmethod
    def tearDownClass(cls):
        LAB.stop_tetherd()
        cls.client.ip("-6", "addr", "flush", "dev", "eth0", "scope", "global")
        start_kea(POOL1 + ":")  # for the next class

    def test_auto_is_pd_while_delegated_then_relay(self):
        L.wait_for(lambda: global6(self.client, "eth0", POOL1), timeout=40, what="the client's delegated address")
        old, preferred = fresh_ra(self.client, POOL1)
        self.assertIn("ipv6=pd", LAB.tetherctl("tether", "interface", "list", check=True).stdout)
        killed = time.monotonic()
        KEA.terminate()
        KEA.wait(10)
        L.wait_for(lambda: global6(LAB.app, "usb0", WAN_PREFIX), timeout=60, what="usb0's relay address after EXPIRE6")
        self.assertIn("ipv6=relay", LAB.tetherctl("tether", "interface", "list", check=True).stdout)
        L.wait_for(lambda: global6(self.client, "eth0", WAN_PREFIX), timeout=30, what="the client's address in eth0's /64")
        addr = global6(self.client, "eth0", WAN_PREFIX)[0]
        # The old delegated /64 is announced deprecated (RFC 9096) although usb0's dnsmasq
        # restarted for relay (the /64 is announced off-link now): the client stops choosing its
        # old address seconds after the switch (about 42 s after kea stopped), not when the
        # preferred lifetime it was given (kea's 120 s) ends.
        assert_old_deprecated(self, self.client, old, killed, preferred, "2001:db8:100:")
        L.wait_for(lambda: self.client.curl("http://[%s]/" % WWW6, check=False, timeout=2, args=["-g"])
                   == "hello over IPv6\n" and re.findall(r"^(\S+) - - ", http6_log(), re.M)[-1] == addr,
                   timeout=20, what="a fetch through relay (the server sees the client)")


class Ipv6PrefixDelegation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = usb0_client()
        LAB.start_tetherd(config())

    @classmethod
    def tearDownClass(cls):
        LAB.stop_tetherd()

    def fetch(self, timeout=2.0):
        return self.client.curl("http://[%s]/" % WWW6, check=False, timeout=timeout, args=["-g"])

    def fetched_from(self, source):
        """A fetch the server logged as coming from `source` (a few tries: DAD, RA timing)."""
        def ok():
            return self.fetch() == "hello over IPv6\n" and re.findall(r"^(\S+) - - ", http6_log(), re.M)[-1] == source
        L.wait_for(ok, timeout=20, what="a fetch over IPv6 from %s" % source)

    def test_1_client_gets_a_delegated_slash64_by_slaac_and_fetches_without_nat(self):
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL1), timeout=40, what="usb0's /64 of the delegation")
        router = global6(LAB.app, "usb0", POOL1)[0]
        self.assertRegex(router, r"^2001:db8:100:([0-9a-f]{1,2}00:)?:1$", "subnet 0 of the /56")
        L.wait_for(lambda: global6(self.client, "eth0", POOL1), timeout=30, what="the client's SLAAC address")
        addr = global6(self.client, "eth0", POOL1)[0]
        L.wait_for(lambda: self.client.routes("default", family=6), timeout=10, what="the client's default route")
        self.fetched_from(addr)  # the server sees the client's own address: routed, no NAT
        self.assertNotIn("MASQUERADE", LAB.app.run("ip6tables-legacy-save", "-t", "nat", check=False).stdout)
        text = LAB.tetherctl("tether", "interface", "list", check=True).stdout
        self.assertIn("ipv6=pd", text)
        self.assertIn("ipv6_prefix=%s/64" % router[:-1], text)
        # `tether status`: the delegated /56 with its lifetimes left (kea: 120 s / 180 s), usb0's /64.
        status = LAB.tetherctl("tether", "status", check=True).stdout
        m = re.search(r" ipv6=pd ipv6_mode=pd delegated=2001:db8:100:[0-9a-f:]*/56 preferred=(\d+)s valid=(\d+)s ipv6_left=none"
                      r" ipv6\.usb0=pd,%s/64(?: |$)" % re.escape(router[:-1]), status, re.M)
        self.assertTrue(m, status)
        self.assertLessEqual(int(m.group(1)), 120)
        self.assertLessEqual(int(m.group(2)), 180)
        # The client's delegated address in `client list` (the neighbour table, by MAC).
        self.client.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: re.search(r"(?m)^mac=%s .* ipv6=\S*%s" % (re.escape(self.client.mac), re.escape(addr)),
                                     LAB.tetherctl("client", "list").stdout),
                   timeout=10, what="the client's delegated address in `client list`")
        with open(os.path.join(LAB.state_dir, "pd-subnets")) as f:
            self.assertEqual(f.read(), "usb0 0\n")
        # The router address carries the delegation's lifetimes (kea: preferred 120 s, valid 180 s).
        line = re.search(r"inet6 %s/64 .*\n\s+valid_lft (\d+)sec preferred_lft (\d+)sec" % re.escape(router),
                         addr_lines(LAB.app, "usb0"))
        self.assertTrue(line, addr_lines(LAB.app, "usb0"))
        self.assertLessEqual(int(line.group(1)), 180)
        self.assertLessEqual(int(line.group(2)), 120)

    def test_2_a_new_prefix_reaches_the_client_at_once_and_the_old_one_is_deprecated(self):
        L.wait_for(lambda: global6(self.client, "eth0", POOL1), timeout=40, what="the first prefix")
        old = global6(self.client, "eth0", POOL1)[0]
        start_kea(POOL2 + ":")
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL2), timeout=30, what="usb0's /64 of the new delegation")
        # The appliance keeps the old router address, deprecated (preferred_lft 0).
        self.assertRegex(addr_lines(LAB.app, "usb0"),
                         r"inet6 2001:db8:100:[0-9a-f:]*:1/64 [^\n]*deprecated[^\n]*\n\s+valid_lft \d+sec preferred_lft 0sec")
        L.wait_for(lambda: global6(self.client, "eth0", POOL2), timeout=30, what="the client's new address")
        new = global6(self.client, "eth0", POOL2)[0]
        # The client: the old address deprecated by the RA (still valid for what uses it).
        L.wait_for(lambda: re.search(r"inet6 %s/64 [^\n]*deprecated" % re.escape(old),
                                     addr_lines(self.client, "eth0")),
                   timeout=30, what="the client's old address deprecated:\n" + addr_lines(self.client, "eth0"))
        self.fetched_from(new)
        text = LAB.tetherctl("tether", "interface", "list", check=True).stdout
        self.assertRegex(text, r"ipv6_prefix=2001:db8:200:[0-9a-f]*:/64")
        with open(os.path.join(LAB.state_dir, "pd-subnets")) as f:
            self.assertEqual(f.read(), "usb0 0\n", "the same subnet number in the new prefix")

    def test_2b_a_clean_restart_given_another_prefix_announces_the_old_one_deprecated(self):
        """SIGTERM, kea delegating from the first pool again, start: the /64 the last run announced
        (kept in state_dir/pd-announced) is announced deprecated beside the new one."""
        L.wait_for(lambda: global6(self.client, "eth0", POOL2), timeout=40, what="the second prefix")
        old, preferred = fresh_ra(self.client, POOL2)
        stopped = time.monotonic()
        self.assertEqual(LAB.stop_tetherd(), 0)
        with open(os.path.join(LAB.state_dir, "pd-announced")) as f:
            self.assertRegex(f.read(), r"(?m)^usb0 2001:db8:200:[0-9a-f:]*:1/64 \d+$")
        start_kea(POOL1 + ":")
        LAB.start_tetherd(config())
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL1), timeout=40, what="usb0's /64 of the new delegation")
        assert_old_deprecated(self, self.client, old, stopped, preferred, "2001:db8:200:")
        L.wait_for(lambda: global6(self.client, "eth0", POOL1), timeout=30, what="the client's new address")
        self.fetched_from(global6(self.client, "eth0", POOL1)[0])

    def dhcpcd_pids(self):
        return [p for p in LAB.app.pids() if "dhcpcd" in L._proc_desc(p)]

    def test_3_kill9_leaves_dhcpcd_which_the_next_run_stops_and_the_subnet_is_kept(self):
        # (usb0 also has test_2b's old /64 deprecated: only the current one, of POOL1, is looked at)
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL1), timeout=40, what="the third delegation")
        router = global6(LAB.app, "usb0", POOL1)
        LAB.stop_tetherd(signal.SIGKILL)
        orphans = self.dhcpcd_pids()
        self.assertTrue(orphans, "dhcpcd outlives a killed tetherd")
        with open(os.path.join(LAB.run_dir, "dhcpcd-pd.pid")) as f:
            self.assertEqual(int(f.read().split()[0]), min(orphans), "its pid and start time recorded")
        LAB.start_tetherd(config())
        L.wait_for(lambda: not set(orphans) & set(self.dhcpcd_pids()), timeout=10, what="the old dhcpcd stopped")
        L.wait_for(lambda: self.dhcpcd_pids(), timeout=10, what="a new dhcpcd")
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL1) == router, timeout=40,
                   what="usb0 back on the same /64 (%s)" % router)
        L.wait_for(lambda: global6(self.client, "eth0", POOL1), timeout=30, what="the client's address")
        self.fetched_from(global6(self.client, "eth0", POOL1)[0])
        # Known gap: the dhcpcd started right after a stale one was stopped sometimes ignores
        # SIGTERM for seconds (then SIGKILL after 7 s; tetherd removes the unreachable route it
        # leaves); test_4 checks a clean stop of an instance started normally.
        LAB.stop_tetherd()
        LAB.start_tetherd(config())

    def test_4_stop_leaves_nothing_of_dhcpcd_or_the_delegation(self):
        L.wait_for(lambda: global6(LAB.app, "usb0", "2001:db8:"), timeout=40, what="a delegation")
        status = LAB.stop_tetherd()
        left = [L._proc_desc(p) for p in self.dhcpcd_pids()]
        with open(LAB.tetherd_log_path, errors="replace") as f:
            log = "".join(l for l in f.readlines()[-400:] if "dhcpcd" in l)
        self.assertEqual(status, 0)
        self.assertFalse(left, "no dhcpcd left:\n%s\n%s" % ("\n".join(left), log))
        self.assertEqual(global6(LAB.app, "usb0"), [])
        self.assertEqual(LAB.app.run("ip", "-6", "route", "show", "proto", "dhcp").stdout.strip(), "",
                         "dhcpcd removed its unreachable route at SIGTERM:\n" + log)
        self.assertEqual([f for f in os.listdir(LAB.run_dir) if not f.endswith(".sock")], [])
        LAB.start_tetherd(config())  # for tearDownClass


def dhcpcd_pids():
    return [p for p in LAB.app.pids() if "dhcpcd" in L._proc_desc(p)]


class Ipv6Kill9Converges(unittest.TestCase):
    """Issue 12's acceptance: kill -9 of tetherd and of the PD client (dhcpcd) at random points,
    ROUNDS times (20; TETHERD_KILL_ROUNDS to change, TETHERD_KILL_SEED to replay), converges:
    every fifth round and at the end usb0 has its /64 of the delegation (the same subnet), one
    dhcpcd runs, no rule is there twice, and the client fetches over IPv6 from its own address;
    after the last stop nothing of tetherd's IPv6 state or of dhcpcd is left."""
    ROUNDS = int(os.environ.get("TETHERD_KILL_ROUNDS", "20"))

    def converged(self, client):
        usb0 = global6(LAB.app, "usb0", POOL1)
        self.assertTrue(usb0, "usb0 has no /64 of the delegation:\n" + addr_lines(LAB.app, "usb0"))
        rules = [l for l in LAB.app.run("ip6tables-legacy-save").stdout.splitlines() if "tetherd_" in l]
        self.assertEqual(len(rules), len(set(rules)), "no rule twice:\n" + "\n".join(rules))
        L.wait_for(lambda: global6(client, "eth0", POOL1), timeout=30, what="the client's delegated address")
        addr = global6(client, "eth0", POOL1)[0]
        L.wait_for(lambda: client.curl("http://[%s]/" % WWW6, check=False, timeout=2, args=["-g"]) == "hello over IPv6\n"
                   and re.findall(r"^(\S+) - - ", http6_log(), re.M)[-1] in global6(client, "eth0", POOL1),
                   timeout=20, what="a fetch over IPv6 from the client's own address (%s)" % addr)
        return usb0

    def test_kill9_of_tetherd_and_dhcpcd_at_random_points_converges(self):
        seed = int(os.environ.get("TETHERD_KILL_SEED") or int(time.time()))
        rng = random.Random(seed)
        client = usb0_client()
        LAB.start_tetherd(config())
        L.wait_for(lambda: global6(LAB.app, "usb0", POOL1), timeout=40, what="the first delegation")
        first = self.converged(client)
        kills = []
        for i in range(1, self.ROUNDS + 1):
            time.sleep(rng.uniform(0.0, 1.5))
            if rng.random() < 0.5 or not dhcpcd_pids():
                kills.append("tetherd")
                LAB.stop_tetherd(signal.SIGKILL)
                LAB.start_tetherd(config())
            else:
                kills.append("dhcpcd")
                os.kill(min(dhcpcd_pids()), signal.SIGKILL)
            if i % 5 == 0 or i == self.ROUNDS:
                L.wait_for(lambda: global6(LAB.app, "usb0", POOL1) and len(set(dhcpcd_pids())) >= 1, timeout=40,
                           what="usb0's /64 after round %d (seed %d, kills %s)" % (i, seed, kills))
                L.wait_for(lambda: global6(LAB.app, "usb0", POOL1) == first, timeout=20,
                           what="the same /64 as before (seed %d)" % seed)
                self.converged(client)
        sys.stderr.write("kill -9 rounds: %d (seed %d): %s\n" % (self.ROUNDS, seed, " ".join(kills)))
        self.assertEqual(LAB.stop_tetherd(), 0)
        L.wait_for(lambda: not dhcpcd_pids(), timeout=10, what="no dhcpcd after stop")
        self.assertEqual(global6(LAB.app, "usb0"), [])
        self.assertNotIn("tetherd_", LAB.app.run("ip6tables-legacy-save").stdout)
        self.assertEqual(LAB.app.run("ip", "-6", "route", "show", "proto", "dhcp").stdout.strip(), "")
        self.assertEqual([f for f in os.listdir(LAB.run_dir) if not f.endswith(".sock")], [])


if __name__ == "__main__":
    unittest.main()
