"""Per-upstream routing (issue 13, point 1) in the namespace lab: tethered traffic follows the
priority list whatever the main table prefers, through tables and rules of tetherd's own that
are gone after a stop and after a kill -9 and restart."""
import pwd
import re
import signal
import unittest

import support
from support import lab as L

LAB = None
WHOAMI = "http://%s/whoami" % L.WWW_NAME
ETH0_ADDR = "203.0.113.2"
UP2_ADDR = "192.0.2.2"
TABLES = range(9200, 9264)
PRIORITIES = range(9200, 9300)


def setUpModule():
    support.require_lab()
    support.require_binaries()


def own_rules():
    out = LAB.app.run("ip", "-4", "rule", "show").stdout.splitlines()
    out += LAB.app.run("ip", "-6", "rule", "show").stdout.splitlines()
    return [r for r in out if int(r.split(":", 1)[0]) in PRIORITIES]


def own_routes():
    out = LAB.app.run("ip", "-4", "route", "show", "table", "all").stdout.splitlines()
    out += LAB.app.run("ip", "-6", "route", "show", "table", "all").stdout.splitlines()
    found = []
    for line in out:
        m = re.search(r"\btable (\d+)\b", line)
        if m and int(m.group(1)) in TABLES:
            found.append(line)
    return found


def state(ifname):
    r = LAB.tetherctl("tether", "interface", "list")
    for line in r.stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            m = re.search(r"state=(\S+)", line)
            return m.group(1) if m else None
    return None


def fetch_or_none(c):
    try:
        return c.curl(WHOAMI, timeout=1, check=True).strip()
    except Exception:
        return None


def appliance_whoami():
    return LAB.app.run("curl", "-sS", "--max-time", "3", WHOAMI).stdout.strip()


class UpstreamRoutingTest(unittest.TestCase):

    def setUp(self):
        global LAB
        self.clients = []
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)

    def teardown_lab(self):
        prefix = LAB.prefix
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def tearDown(self):
        for c in self.clients:
            try:
                c.dhcp_stop(release=False)
            except Exception:
                pass
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        self.assertEqual(own_rules(), [])
        self.assertEqual(own_routes(), [])

    def plug(self, config):
        LAB.start_tetherd(config)
        c = LAB.add_downstream("usb0", client="phone")
        self.clients.append(c)
        L.wait_for(lambda: state("usb0") == "tethered", timeout=10,
                   what="usb0 tethered (log:\n%s)" % LAB.tetherd_log()[-3000:])
        c.dhcp("dhclient", timeout=10)
        return c

    def test_priority_wins_over_the_kernels_metrics(self):
        # The kernel prefers wwan0 (metric 50 < eth0's 100); the priority list says eth0.
        LAB.app.ip("route", "replace", "default", "via", L.UP2_APP, "dev", "wwan0", "metric", "50")
        c = self.plug(LAB.default_config(("eth0", "wwan0")))
        self.assertEqual(L.wait_for(lambda: fetch_or_none(c), timeout=5, what="client online"), ETH0_ADDR)
        self.assertEqual(appliance_whoami(), UP2_ADDR)  # the appliance's own traffic: main's choice
        rules = own_rules()
        self.assertIn("9201:\tfrom all iif usb0 lookup 9200", rules)
        self.assertIn("9200:\tfrom all iif usb0 lookup main suppress_prefixlength 0", rules)

    def test_upstream_that_is_not_the_default_route(self):
        # wwan0 first, eth0 (metric 100) is main's default: tethered traffic still leaves by wwan0,
        # whose only default route is in a table of its own (200, as a DHCP client or
        # NetworkManager may keep it): learnt from there, mirrored into tetherd's 9200.
        LAB.app.ip("route", "del", "default", "via", L.UP2_APP, "dev", "wwan0", "metric", "200")
        c = self.plug(LAB.default_config(("wwan0", "eth0")))
        self.assertEqual(L.wait_for(lambda: fetch_or_none(c), timeout=5, what="client online"), UP2_ADDR)
        self.assertEqual(appliance_whoami(), ETH0_ADDR)
        self.assertTrue([r for r in own_routes() if r.startswith("default via %s dev wwan0 table 9200 " % L.UP2_APP)],
                        own_routes())
        # Failover to eth0 and back: the downstream's rule moves with the upstream.
        LAB.set_uplink("wwan0", False)
        L.wait_for(lambda: fetch_or_none(c) == ETH0_ADDR, timeout=3, what="via eth0 after wwan0 went down")
        LAB.set_uplink("wwan0", True)
        L.wait_for(lambda: fetch_or_none(c) == UP2_ADDR, timeout=3, what="back via wwan0")
        # The downstream's traffic and dnsmasq's (the clients' DNS, as Debian's dnsmasq user:
        # nothing else of the appliance's) follow the upstream.
        uid = pwd.getpwnam("dnsmasq").pw_uid
        self.assertEqual(sorted(r for r in own_rules() if r.startswith("9201:")),
                         ["9201:\tfrom all iif usb0 lookup 9200", "9201:\tfrom all uidrange %d-%d lookup 9200" % (uid, uid)])
        users = {l.split()[0] for l in LAB.app.run("ps", "-o", "user=", "-C", "dnsmasq").stdout.splitlines()}
        self.assertIn("dnsmasq", users)  # tetherd's dnsmasq (inet's runs as root)

    def test_kill9_leftovers_are_removed_by_the_next_run_and_by_stop(self):
        c = self.plug(LAB.default_config(("wwan0", "eth0")))
        L.wait_for(lambda: fetch_or_none(c) == UP2_ADDR, timeout=5, what="client online via wwan0")
        rules, routes = own_rules(), own_routes()
        self.assertTrue(rules and routes)
        LAB.tetherd.send_signal(signal.SIGKILL)
        LAB.tetherd.wait(5)
        self.assertEqual(own_rules(), rules)  # a crash leaves them
        # The next run starts from nothing of its own and converges on the same.
        LAB.app.run("ip", "rule", "add", "pref", "9250", "lookup", "9263")  # a leftover of an older run
        LAB.start_tetherd(LAB.default_config(("wwan0", "eth0")))
        L.wait_for(lambda: state("usb0") == "tethered", timeout=10, what="usb0 tethered again")
        L.wait_for(lambda: own_rules() == rules and sorted(own_routes()) == sorted(routes), timeout=5,
                   what="the same rules and routes:\n%s\n%s" % (own_rules(), own_routes()))
        L.wait_for(lambda: fetch_or_none(c) == UP2_ADDR, timeout=5, what="client online again")
        # tearDown stops tetherd and checks that nothing of it is left.


if __name__ == "__main__":
    unittest.main()
