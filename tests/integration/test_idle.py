"""Issue 14 points 6 and 7 in the namespace lab, with tetherd's real rules and dnsmasq.

Idle auto-off: with `[tethering] idle_timeout = 8s` and `idle_untether = usb`, a usb0 without a
client is untethered a few seconds after it was tethered, and `613 IfaceClass idle usb0 off`
arrives on the control socket's event stream; the kernel's IDLETIMER (mangle PREROUTING, its
label unique to the namespace) is what notices, and tetherd meanwhile sleeps on its sysfs file
(0 wake-ups in 2 s measured; at most one a second allowed). A client that keeps sending (ping, once a
second, for twice the timeout) keeps it tethered; once it stops, it is untethered.

Local-only: with `[tethering] local_only = usb`, the client leases, resolves its own DHCP host
name under .lan and pings the router, but nothing is forwarded (curl to the internet host
fails, the explicit DROP counts its packets), and dnsmasq asks no upstream server."""
import os
import signal
import time
import unittest

import support
from support import Conn, lab as L

LAB = None
ROUTER = "192.168.42.1"


def setUpModule():
    support.require_lab()
    support.require_binaries()


def downstream_line(ifname):
    for line in LAB.tetherctl("tether", "interface", "list").stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            return line
    return ""


def tethered(ifname):
    return "state=tethered" in downstream_line(ifname)


def read_text(path):
    with open(path) as f:
        return f.read()


def wakeups(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches for %d" % pid)


def netns_inode():
    return os.stat("/run/netns/" + LAB.app.name).st_ino


class Events:
    """The 6xx lines of one control connection."""

    def __init__(self):
        self.conn = Conn(LAB.socket_path)
        assert self.conn.call(1, "ping") == "200 1 pong"
        self.seen = []

    def wait(self, text, timeout):
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %ss; saw %r\nlog:\n%s" % (text, timeout, self.seen,
                                                                        LAB.tetherd_log()[-3000:]))
            try:
                self.seen.append(self.conn.readline(left))
            except TimeoutError:
                pass
        return True

    def close(self):
        self.conn.close()


class LabCase(unittest.TestCase):
    def start(self, extra_config):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        self.client = None
        LAB.start_tetherd(LAB.default_config() + extra_config)

    def teardown_lab(self):
        prefix = LAB.prefix
        if self.client is not None:
            try:
                self.client.dhcp_stop(release=False)
            except Exception:
                pass
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])


class IdleTest(LabCase):
    def test_usb0_without_clients_is_untethered_and_a_busy_one_is_kept(self):
        self.start("\n[tethering]\nidle_timeout = 8s\nidle_untether = usb\n")
        events = Events()
        self.addCleanup(events.close)
        c = LAB.add_downstream("usb0", client="phone")
        self.client = c
        L.wait_for(lambda: tethered("usb0"), timeout=10, what="usb0 tethered")
        label = "t%x_usb0" % netns_inode()
        timer = "/sys/class/xt_idletimer/timers/" + label
        rules = LAB.app.run("iptables-legacy", "-t", "mangle", "-S", "tetherd_mangle_PREROUTING").stdout
        self.assertIn("-A tetherd_mangle_PREROUTING -i usb0 -j IDLETIMER --timeout 8 --label %s" % label, rules)
        self.assertTrue(os.path.exists(timer), timer)

        # Waiting costs no wake-ups: tetherd sleeps on the timer's sysfs file (at most one a
        # second allowed, measured over 2 s by its voluntary context switches).
        with open("/proc/%d/comm" % LAB.tetherd.pid) as f:
            self.assertEqual(f.read().strip(), "tetherd")
        time.sleep(2.5)  # tethering's aftermath: the links' IPv6 link-local addresses (DAD) and routes
        switches = wakeups(LAB.tetherd.pid)
        time.sleep(2)
        woke = wakeups(LAB.tetherd.pid) - switches
        print("tetherd woke %d times in 2 s while usb0 was idle" % woke)
        self.assertLessEqual(woke, 2, "tetherd woke %d times in 2 s while usb0 was idle" % woke)

        # No client: untethered after 8 s, and the event says so.
        events.wait("613 IfaceClass idle usb0 off", timeout=14)
        L.wait_for(lambda: not tethered("usb0"), timeout=5, what="usb0 untethered")
        L.wait_for(lambda: not os.path.exists(timer), timeout=5, what="the idle timer removed with its rule")

        # Back: a client that keeps sending keeps it on for twice the timeout.
        rc = LAB.tetherctl("tether", "interface", "add", "usb0")
        self.assertEqual(rc.returncode, 0, rc.stdout + rc.stderr)
        L.wait_for(lambda: tethered("usb0"), timeout=10, what="usb0 tethered again")
        events.seen.clear()
        c.dhcp("udhcpc", timeout=10)
        self.assertTrue(c.ping(ROUTER, count=18, timeout=1))  # one a second, 17 s
        self.assertTrue(tethered("usb0"), downstream_line("usb0"))
        self.assertNotIn("613 IfaceClass idle usb0 off", events.seen)

        # It goes quiet: off again.
        c.dhcp_stop(release=False)
        events.wait("613 IfaceClass idle usb0 off", timeout=14)
        L.wait_for(lambda: not tethered("usb0"), timeout=5, what="usb0 untethered")


class LocalOnlyTest(LabCase):
    def test_local_only_usb0_leases_and_resolves_but_forwards_nothing(self):
        self.start("\n[tethering]\nlocal_only = usb\n")
        c = LAB.add_downstream("usb0", client="phone")
        self.client = c
        L.wait_for(lambda: tethered("usb0"), timeout=10, what="usb0 tethered")
        ip = c.dhcp("udhcpc", timeout=10, hostname="phone7")
        self.assertTrue(ip.startswith("192.168.42."), ip)

        # Local names: its own DHCP host name; nothing asked upstream.
        L.wait_for(lambda: c.dig("phone7.lan", server=ROUTER, check=False).strip() == ip, timeout=5,
                   what="phone7.lan resolving to %s" % ip)
        before = len(LAB.inet_dns_log())
        self.assertEqual(c.dig(L.WWW_NAME, server=ROUTER, check=False).strip(), "")
        self.assertNotIn(L.WWW_NAME, LAB.inet_dns_log()[before:])  # nothing asked upstream
        self.assertTrue(c.ping(ROUTER))

        # Nothing forwarded, even with a route there: the explicit DROP comes first.
        self.assertNotEqual(c.run("curl", "-sS", "--max-time", "3", L.HTTP_URL, check=False).returncode, 0)
        self.assertFalse(c.ping(L.INET_WWW))
        filt = LAB.app.run("iptables-legacy", "-S", "tetherd_FORWARD").stdout.splitlines()
        self.assertEqual(filt[1:3], ["-A tetherd_FORWARD -i usb0 -j DROP", "-A tetherd_FORWARD -o usb0 -j DROP"])
        counted = LAB.app.run("iptables-legacy", "-L", "tetherd_FORWARD", "-v", "-x", "-n").stdout.splitlines()
        self.assertGreater(int(counted[2].split()[0]), 0, "\n".join(counted))
        nat = LAB.app.run("iptables-legacy", "-t", "nat", "-S", "tetherd_nat_POSTROUTING").stdout
        self.assertNotIn("MASQUERADE", nat)
        self.assertIn("--local=/lan/", read_text("/proc/%d/cmdline" % self.dnsmasq_pid()).replace("\0", " "))

    def dnsmasq_pid(self):
        for pid in LAB.app.pids():
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "dnsmasq":
                        return pid
            except OSError:
                pass
        raise AssertionError("no dnsmasq")


if __name__ == "__main__":
    unittest.main()
