"""Each upstream's DNS servers reach every dnsmasq within a second, without a restart (issue 13,
point 3): the shared resolv.conf rewritten (by rename, as resolvconf does, and in place), and an
upstream switch between two upstreams whose DHCP clients wrote different servers. A second DNS
server in inet answers www.tether.test differently, so the client sees which server answered."""
import os
import re
import signal
import time
import unittest

import support
from support import lab as L

LAB = None
ALT_DNS = "198.51.100.54"   # a second server in inet ...
ALT_WWW = "198.51.100.99"   # ... whose answer for www.tether.test tells it apart


def setUpModule():
    support.require_lab()
    support.require_binaries()


def state(ifname):
    for line in LAB.tetherctl("tether", "interface", "list").stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            m = re.search(r"state=(\S+)", line)
            return m.group(1) if m else None
    return None


def write_atomic(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


class UpstreamDnsTest(unittest.TestCase):

    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        LAB.inet.ip("addr", "add", ALT_DNS + "/32", "dev", "lo")
        LAB.inet.popen("dnsmasq", "-C", "/dev/null", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                       "--no-poll", "--bind-interfaces", "--listen-address=%s" % ALT_DNS,
                       "--pid-file=%s" % os.path.join(LAB.dir, "alt-dnsmasq.pid"), "--local=/tether.test/",
                       "--host-record=%s,%s" % (L.WWW_NAME, ALT_WWW), "--log-facility=-",
                       log_name="alt-dnsmasq.log")
        L.wait_for(lambda: LAB.inet.dig(L.WWW_NAME, server=ALT_DNS, timeout=1, tries=1, check=False).strip()
                   == ALT_WWW, timeout=10, what="the second DNS server")
        self.shared = os.path.join(LAB.dir, "resolv.conf")
        self.wwan0 = os.path.join(LAB.dir, "wwan0.resolv")  # as wwan0's DHCP client would write it
        write_atomic(self.shared, "nameserver %s\n" % L.INET_DNS)
        write_atomic(self.wwan0, "# written by dhclient\nnameserver %s\n" % ALT_DNS)
        config = ("[daemon]\nlog_level = debug\n\n[upstream]\npriority = eth0 wwan0\nresolv_file = %s\n\n"
                  "[upstream.wwan0]\nresolv_file = %s\n" % (self.shared, self.wwan0))
        LAB.start_tetherd(config)
        self.client = LAB.add_downstream("usb0", client="phone")
        L.wait_for(lambda: state("usb0") == "tethered", timeout=10,
                   what="usb0 tethered (log:\n%s)" % LAB.tetherd_log()[-3000:])
        self.client.dhcp("dhclient", timeout=10)
        self.server = self.client.dns_servers()[0]  # the downstream's dnsmasq
        self.assertEqual(self.answer(), L.INET_WWW)
        self.pid = self.dnsmasq_pid()

    def teardown_lab(self):
        prefix = LAB.prefix
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def dnsmasq_pid(self):
        with open(os.path.join(LAB.run_dir, "dnsmasq-usb0.pid")) as f:
            return int(f.read().strip())

    def answer(self):
        return self.client.dig(L.WWW_NAME, server=self.server, timeout=1, tries=1, check=False).strip()

    def seconds_until(self, expected, what):
        """Seconds from now until the client's DNS query is answered `expected` (at most 3 s)."""
        t0 = time.monotonic()
        L.wait_for(lambda: self.answer() == expected, timeout=3, interval=0.02,
                   what="%s (log:\n%s)" % (what, LAB.tetherd_log()[-2000:]))
        return time.monotonic() - t0

    def test_resolv_conf_rewritten_reaches_dnsmasq_within_a_second_without_restart(self):
        t0 = time.monotonic()
        write_atomic(self.shared, "nameserver %s\n" % ALT_DNS)  # resolvconf/dhclient: rename
        took = time.monotonic() - t0 + self.seconds_until(ALT_WWW, "answered through the new server")
        print("resolv.conf renamed -> answered by the new server: %.3f s" % took)
        self.assertLess(took, 1.0)
        t0 = time.monotonic()
        with open(self.shared, "w") as f:  # an editor or a script: in place
            f.write("nameserver %s\n" % L.INET_DNS)
        took = time.monotonic() - t0 + self.seconds_until(L.INET_WWW, "answered through the old server again")
        print("resolv.conf written in place -> answered: %.3f s" % took)
        self.assertLess(took, 1.0)
        self.assertEqual(self.dnsmasq_pid(), self.pid)
        self.assertIn("DNS servers in %s: %s" % (self.shared, ALT_DNS), LAB.tetherd_log())

    def test_upstream_switch_switches_the_dns_servers(self):
        LAB.set_uplink("eth0", False)  # wwan0 takes over, with the servers its DHCP client wrote
        self.seconds_until(ALT_WWW, "answered through wwan0's server")
        t0 = time.monotonic()
        write_atomic(self.wwan0, "nameserver %s\n" % L.INET_DNS)  # wwan0's DHCP client renews
        took = time.monotonic() - t0 + self.seconds_until(L.INET_WWW, "wwan0's new server")
        self.assertLess(took, 1.0)
        write_atomic(self.wwan0, "nameserver %s\n" % ALT_DNS)
        self.seconds_until(ALT_WWW, "wwan0's server again")
        LAB.set_uplink("eth0", True)  # back to eth0 and the shared file's server
        self.seconds_until(L.INET_WWW, "answered through eth0's server after fall-back")
        self.assertEqual(self.dnsmasq_pid(), self.pid)
        with open(os.path.join(LAB.run_dir, "dnsmasq-servers.conf")) as f:
            self.assertEqual(f.read(), "server=%s\n" % L.INET_DNS)


if __name__ == "__main__":
    unittest.main()
