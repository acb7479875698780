"""The lab itself: topology, services over both uplinks, DHCP helpers, and teardown that
leaves nothing behind (normal exit, exception, SIGTERM, SIGINT, atexit, crash + cleanup)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

import support
from support import lab as L

LAB_DIR = os.path.join(support.SOURCE_DIR, "tests", "lab")
SCRIPT = os.path.join(support.SOURCE_DIR, "scripts", "lab")


def setUpModule():
    support.require_lab()


def child_python(body):
    """A child python that imports the lab, runs body, and prints the lab's prefix."""
    code = ("import logging, sys, time\nsys.path.insert(0, %r)\nimport lab as L\n"
            "logging.basicConfig(level=logging.INFO, format='%%(message)s')\n" % LAB_DIR + textwrap.dedent(body))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(p):
    """Kills the child if it still runs; returns its stderr; closes its pipes."""
    if p.poll() is None:
        p.kill()
    p.wait(30)
    try:
        _, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a grandchild still holds the pipe
        err = ""
        for f in (p.stdout, p.stderr):
            f.close()
    return err or ""


def read_prefix(p, timeout=20):
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.startswith("PREFIX "):
            return line.split()[1]
        if not line and p.poll() is not None:
            break
    raise AssertionError("child lab did not start: %r\n%s" % (line, p.stderr.read() if p.poll() is not None else ""))


class DhcpServer:
    """A throwaway dnsmasq DHCP server on a downstream (stands in for tetherd in lab tests)."""

    def __init__(self, lab, ifname, net):
        self.lab = lab
        lab.app.ip("addr", "add", "%s.1/24" % net, "dev", ifname)
        lab.app.link_up(ifname)
        self.proc = lab.app.popen(
            "dnsmasq", "-C", "/dev/null", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
            "--bind-dynamic", "--interface=" + ifname, "--except-interface=lo", "--port=0",
            "--dhcp-range=%s.10,%s.250,255.255.255.0,1h" % (net, net),
            "--dhcp-option=option:router,%s.1" % net, "--dhcp-option=option:dns-server,%s.1" % net,
            "--dhcp-leasefile=%s/test-%s.leases" % (lab.dir, ifname), "--pid-file=",
            "--log-facility=-", "--no-ping", "--dhcp-authoritative", log_name="test-dnsmasq-%s.log" % ifname)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


class TopologyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab()
        cls.lab.start()

    @classmethod
    def tearDownClass(cls):
        prefix = cls.lab.prefix
        cls.lab.teardown()
        assert L.leftovers(prefix) == [], L.leftovers(prefix)

    def test_namespaces_links_addresses_routes(self):
        lab = self.lab
        self.assertRegex(lab.prefix, r"^tl[0-9a-f]{4}-$")
        for ns in (lab.inet, lab.up2, lab.app):
            self.assertIn(ns.name, L.list_netns())
            for ifname in ns.links():
                self.assertLessEqual(len(ifname), 15)
        self.assertEqual(lab.app.addresses("eth0"), ["203.0.113.2/24"])
        self.assertEqual(lab.app.addresses("wwan0"), ["100.64.0.2/24"])
        defaults = {(r["dev"], r.get("metric", 0)) for r in lab.app.routes("default")}
        self.assertEqual(defaults, {("eth0", 100), ("wwan0", 200)})
        # forwarding is tetherd's business: the lab leaves the kernel default (off)
        self.assertEqual(lab.app.sysctl("net.ipv4.ip_forward"), "0")
        # no lab interface is ever visible in the root namespace
        self.assertEqual(L._root_links(lab.prefix), [])

    def test_http_and_dns_over_eth0(self):
        app = self.lab.app
        self.assertEqual(app.curl(L.HTTP_URL), L.HTTP_BODY)
        self.assertEqual(app.curl(L.WHOAMI_URL).strip(), L.APP_ETH0)
        self.assertEqual(app.dig(L.WWW_NAME, server=L.INET_DNS).strip(), L.INET_WWW)
        # the appliance's resolv.conf points at inet's DNS: names work too
        self.assertEqual(app.curl("http://%s/whoami" % L.WWW_NAME).strip(), L.APP_ETH0)
        # inet is authoritative for tether.test and nothing else
        self.assertEqual(app.dig("nosuch.tether.test", server=L.INET_DNS).strip(), "")
        self.assertIn("NXDOMAIN", app.dig("nosuch.tether.test", server=L.INET_DNS, short=False))
        self.assertIn("REFUSED", app.dig("example.com", server=L.INET_DNS, short=False))
        self.assertIn(L.APP_ETH0, self.lab.inet_dns_log())

    def test_http_and_dns_via_up2_over_wwan0(self):
        app = self.lab.app
        self.assertEqual(app.curl(L.HTTP_URL, interface="wwan0"), L.HTTP_BODY)
        self.assertEqual(app.curl(L.WHOAMI_URL, interface="wwan0").strip(), L.UP2_INET)
        self.assertEqual(app.dig(L.WWW_NAME, server=L.INET_DNS, source=L.APP_WWAN0).strip(), L.INET_WWW)
        L.wait_for(lambda: "from %s" % L.UP2_INET in self.lab.inet_dns_log(), timeout=5,
                   what="inet to log the query that came through up2")

    def test_failover_when_eth0_goes_down(self):
        lab, app = self.lab, self.lab.app
        lab.set_uplink("eth0", False)
        try:
            self.assertEqual({r["dev"] for r in app.routes("default")}, {"wwan0"})
            self.assertEqual(app.curl(L.WHOAMI_URL).strip(), L.UP2_INET)
            self.assertEqual(app.dig(L.WWW_NAME, server=L.INET_DNS).strip(), L.INET_WWW)
        finally:
            lab.set_uplink("eth0", True)
        self.assertEqual(app.curl(L.WHOAMI_URL).strip(), L.APP_ETH0)

    def test_carrier_loss_and_blackhole(self):
        lab, app = self.lab, self.lab.app
        lab.set_uplink_carrier("eth0", False)
        try:
            L.wait_for(lambda: not app.has_carrier("eth0"), timeout=5, what="eth0 to lose carrier")
            self.assertTrue(app.is_up("eth0"))
            self.assertEqual(app.addresses("eth0"), ["203.0.113.2/24"])
        finally:
            lab.set_uplink_carrier("eth0", True)
        L.wait_for(lambda: app.has_carrier("eth0"), timeout=5, what="eth0 carrier back")
        lab.blackhole_uplink("eth0", True)
        try:
            self.assertTrue(app.has_carrier("eth0"))
            self.assertEqual(app.curl(L.WHOAMI_URL, timeout=1, check=False), "")
            self.assertEqual(app.curl(L.WHOAMI_URL, interface="wwan0").strip(), L.UP2_INET)
        finally:
            lab.blackhole_uplink("eth0", False)
        self.assertEqual(app.curl(L.WHOAMI_URL).strip(), L.APP_ETH0)

    def test_remove_and_restore_uplink(self):
        lab, app = self.lab, self.lab.app
        old = app.link("wwan0")["ifindex"]
        lab.remove_uplink("wwan0")
        self.assertFalse(app.has_link("wwan0"))
        lab.restore_uplink("wwan0")
        self.assertNotEqual(app.link("wwan0")["ifindex"], old)
        self.assertEqual(app.curl(L.WHOAMI_URL, interface="wwan0").strip(), L.UP2_INET)

    def test_downstreams_and_dhcp_clients(self):
        lab, app = self.lab, self.lab.app
        clients = {name: lab.add_downstream(name) for name in L.DOWNSTREAM_NAMES}
        for name, c in clients.items():
            link = app.link(name)
            self.assertIsNotNone(link, name)
            self.assertNotIn("UP", link["flags"])          # tetherd brings it up
            self.assertEqual(app.addresses(name), [])       # and gives it its address
            self.assertEqual(c.link("eth0")["address"], c.mac)
            self.assertTrue(c.is_up("eth0"))
            self.assertEqual(c.downstream, name)
        resolv_before = L._read("/etc/resolv.conf")
        servers = [DhcpServer(lab, "usb0", "192.168.42"), DhcpServer(lab, "wlan0", "192.168.43")]
        try:
            usb, wlan = clients["usb0"], clients["wlan0"]
            addr = usb.dhcp("dhclient", timeout=10)
            self.assertRegex(addr, r"^192\.168\.42\.\d+$")
            self.assertEqual(usb.address, addr)
            self.assertEqual(usb.lease["router"], "192.168.42.1")
            self.assertEqual(usb.dns_servers(), ["192.168.42.1"])
            self.assertEqual({r["gateway"] for r in usb.routes("default")}, {"192.168.42.1"})
            self.assertTrue(usb.ping("192.168.42.1"))
            usb.dhcp_stop(release=True)
            self.assertIsNone(usb.address)
            addr = wlan.dhcp("udhcpc", timeout=10)
            self.assertRegex(addr, r"^192\.168\.43\.\d+$")
            self.assertEqual(wlan.dns_servers(), ["192.168.43.1"])
            self.assertTrue(any("bound" in e for e in wlan.dhcp_events()))
            # the clients' files stay in the lab dir; the host's resolv.conf is untouched
            self.assertEqual(L._read("/etc/resolv.conf"), resolv_before)
            self.assertTrue(os.path.exists(os.path.join(usb.dir, "dhclient.leases")))
            # unplug and replug: same client, same MAC, new interface
            lab.remove_downstream("usb0")
            self.assertFalse(app.has_link("usb0"))
            self.assertFalse(usb.has_link("eth0"))
            lab.restore_downstream("usb0")
            self.assertEqual(usb.link("eth0")["address"], usb.mac)
            lab.set_downstream_carrier("wlan0", False)
            L.wait_for(lambda: not app.has_carrier("wlan0"), timeout=5, what="wlan0 carrier loss")
            lab.set_downstream_carrier("wlan0", True)
        finally:
            for s in servers:
                s.stop()
            for c in clients.values():
                c.dhcp_stop(release=False)

    def test_hub_with_several_clients(self):
        lab = self.lab
        a, b = lab.add_downstream("ap0", client=["sta1", "sta2"], app_up=True)
        server = DhcpServer(lab, "ap0", "192.168.47")
        try:
            ip_a = a.dhcp("udhcpc", timeout=10)
            ip_b = b.dhcp("dhclient", timeout=10)
            self.assertNotEqual(ip_a, ip_b)
            self.assertTrue(a.ping(ip_b))
            c = lab.attach_to_hub("ap0", "sta3")
            self.assertRegex(c.dhcp("udhcpc", timeout=10), r"^192\.168\.47\.\d+$")
            lab.detach_from_hub("ap0", c)
            self.assertFalse(c.has_link("eth0"))
        finally:
            server.stop()

    def test_wait_for(self):
        t0 = time.monotonic()
        self.assertEqual(L.wait_for(lambda: time.monotonic() - t0 > 0.1 and "yes", timeout=2), "yes")
        with self.assertRaises(TimeoutError):
            L.wait_for(lambda: False, timeout=0.2, what="never")
        with self.assertRaises(L.StopWaiting):
            L.wait_for(self._stop, timeout=5)
        self.assertLess(time.monotonic() - t0, 2)

    @staticmethod
    def _stop():
        raise L.StopWaiting("no point")

    def test_config_paths_added(self):
        text = self.lab.with_lab_paths("[daemon]\nlog_level = debug\nrun_dir = /x/run\n[upstream]\npriority = eth0\n")
        self.assertIn("run_dir = /x/run", text)
        self.assertNotIn("run_dir = %s" % self.lab.run_dir, text)
        self.assertIn("state_dir = %s" % self.lab.state_dir, text)
        self.assertIn("control_socket = %s" % self.lab.socket_path, text)
        self.assertEqual(text.count("[daemon]"), 1)
        text = self.lab.with_lab_paths("")
        self.assertTrue(text.startswith("[daemon]\n"))


class TeardownTest(unittest.TestCase):
    def test_normal_exit_leaves_nothing(self):
        with L.Lab() as lab:
            c = lab.add_downstream("usb0")
            c.popen("sleep", "300")              # something running in a client namespace
            lab.app.popen("sh", "-c", "sleep 300 & sleep 300")  # and a grandchild
            prefix = lab.prefix
            self.assertGreater(len(L.leftovers(prefix)), 4)
            self.assertTrue(any(x.startswith("process") for x in L.leftovers(prefix)))
        self.assertEqual(L.leftovers(prefix), [])
        lab.teardown()  # idempotent
        self.assertEqual(L.leftovers(prefix), [])

    def test_exception_inside_with_leaves_nothing(self):
        prefix = None
        with self.assertRaises(ZeroDivisionError):
            with L.Lab() as lab:
                prefix = lab.prefix
                lab.add_downstream("wlan0")
                1 / 0
        self.assertEqual(L.leftovers(prefix), [])

    def test_two_labs_at_once_are_separate(self):
        with L.Lab() as a, L.Lab() as b:
            self.assertNotEqual(a.prefix, b.prefix)
            self.assertEqual(a.app.curl(L.WHOAMI_URL).strip(), L.APP_ETH0)
            self.assertEqual(b.app.curl(L.WHOAMI_URL).strip(), L.APP_ETH0)
            pa = a.prefix
        self.assertEqual(L.leftovers(pa), [])
        self.assertEqual(L.leftovers(b.prefix), [])

    def _killed_child(self, sig, expect_rc):
        p = child_python("""
            with L.Lab() as lab:
                c = lab.add_downstream("usb0")
                c.popen("sleep", "300")
                print("PREFIX", lab.prefix, flush=True)
                time.sleep(60)
        """)
        try:
            prefix = read_prefix(p)
            self.assertTrue(L.leftovers(prefix))
            p.send_signal(sig)
            p.wait(30)
        finally:
            err = finish(p)
        self.assertIn(p.returncode, expect_rc, err)
        self.assertEqual(L.leftovers(prefix), [], err)
        self.assertIn("deleted netns %sapp" % prefix, err)  # it logs what it removed
        return err

    def test_sigterm_leaves_nothing(self):
        self._killed_child(signal.SIGTERM, (-signal.SIGTERM,))

    def test_sigint_leaves_nothing(self):
        err = self._killed_child(signal.SIGINT, (1, -signal.SIGINT))
        self.assertIn("KeyboardInterrupt", err)

    def test_sighup_leaves_nothing(self):
        self._killed_child(signal.SIGHUP, (-signal.SIGHUP,))

    def test_atexit_leaves_nothing(self):
        p = child_python("""
            lab = L.Lab().start()
            lab.add_downstream("bt-pan")
            print("PREFIX", lab.prefix, flush=True)
            sys.exit(3)
        """)
        try:
            prefix = read_prefix(p)
            p.wait(30)
        finally:
            err = finish(p)
        self.assertEqual(p.returncode, 3, err)
        self.assertEqual(L.leftovers(prefix), [], err)

    def test_crash_then_cleanup(self):
        # SIGKILL cannot be caught: leftovers() sees the remains, cleanup() (scripts/lab down) removes them
        p = child_python("""
            lab = L.Lab().start()
            lab.add_downstream("usb0").popen("sleep", "300")
            print("PREFIX", lab.prefix, flush=True)
            time.sleep(60)
        """)
        try:
            prefix = read_prefix(p)
        finally:
            finish(p)
        try:
            left = L.leftovers(prefix)
            self.assertTrue(any(x.startswith("netns %sapp" % prefix) for x in left), left)
            self.assertTrue(any(x.startswith("process") for x in left), left)
            self.assertIn(prefix, L.lab_prefixes())
            self.assertIsNone(L.lab_prefixes()[prefix])  # owner gone
            r = subprocess.run([sys.executable, SCRIPT, "down", prefix], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("deleted netns %sapp" % prefix, r.stdout + r.stderr)
            self.assertEqual(L.leftovers(prefix), [])
        finally:
            L.cleanup(prefix)

    def test_script_up_and_ctrl_c(self):
        p = subprocess.Popen([sys.executable, SCRIPT, "up"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        out = []
        prefix = None
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = p.stdout.readline()
                if not line:
                    break
                out.append(line)
                if line.startswith("lab tl") and prefix is None:
                    prefix = line.split()[1].rstrip(":")
                if "Ctrl-C" in line:
                    break
            self.assertIsNotNone(prefix, "".join(out))
            text = "".join(out)
            self.assertIn("ip netns exec %sapp bash" % prefix, text)
            for ns in ("inet", "up2", "app", "c-usb0", "c-wlan0", "c-btpan"):
                self.assertIn(prefix + ns, L.list_netns())
            p.send_signal(signal.SIGINT)
            rest, _ = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, text + rest)
            self.assertEqual(L.leftovers(prefix), [])
        finally:
            finish(p)
            if prefix:
                L.cleanup(prefix)


if __name__ == "__main__":
    unittest.main()
