"""Issue 14 point 5, static leases, in the namespace lab with tetherd's real dnsmasq and a real
DHCP client (udhcpc): `tetherctl client pin <mac> <ip>` makes the client get that address when
its DHCP client restarts and after tetherd restarts; a pin outside the downstream's subnet (or
on the router's address) is refused with the reason; dnsmasq is never restarted by a pin or an
unpin (its pid stays: the hosts file is re-read on SIGHUP)."""
import os
import signal
import stat
import unittest

import support
from support import lab as L

LAB = None
PINNED = "192.168.42.77"


def setUpModule():
    support.require_lab()
    support.require_binaries()


def dnsmasq_pids():
    pids = []
    for pid in LAB.app.pids():
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "dnsmasq":
                    pids.append(pid)
        except OSError:
            pass
    return pids


def wait_tethered(ifname):
    L.wait_for(lambda: LAB.tethered(ifname), timeout=10,
               what="%s tethered (log:\n%s)" % (ifname, LAB.tetherd_log()[-3000:]))


class PinTest(unittest.TestCase):
    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        LAB.start_tetherd(LAB.default_config())
        self.client = None

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

    def ctl(self, *args):
        r = LAB.tetherctl(*args)
        return r.returncode, (r.stdout + r.stderr).strip()

    def test_pinned_client_keeps_its_address_without_dnsmasq_restarts(self):
        c = LAB.add_downstream("usb0", client="phone")
        self.client = c
        wait_tethered("usb0")
        dynamic = c.dhcp("udhcpc", timeout=10)
        self.assertNotEqual(dynamic, PINNED)
        [pid] = dnsmasq_pids()

        # Refused, each with its reason; nothing changes.
        rc, out = self.ctl("client", "pin", c.mac, "10.9.9.9")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("10.9.9.9 is outside every downstream's subnet", out)
        rc, out = self.ctl("client", "pin", c.mac, "192.168.42.1")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("the router's own address on usb0", out)
        rc, out = self.ctl("client", "pin", "02:00:00:00:00:99", dynamic)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("is leased to " + c.mac, out)

        # Pinned: saved (0600), in the hosts file, listed; dnsmasq re-read it, same pid.
        rc, out = self.ctl("client", "pin", c.mac, PINNED, "phone7")
        self.assertEqual(rc, 0, out)
        path = os.path.join(LAB.state_dir, "pinned-clients")
        with open(path) as f:
            self.assertEqual(f.read(), "%s %s phone7\n" % (c.mac, PINNED))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(os.path.join(LAB.run_dir, "dnsmasq-hosts-usb0.conf")) as f:
            self.assertEqual(f.read(), "%s,%s,phone7\n" % (c.mac, PINNED))
        self.assertIn("%s %s phone7" % (c.mac, PINNED), self.ctl("client", "pinned")[1])
        self.assertIn("pinned=" + PINNED, self.ctl("client", "list")[1])
        self.assertEqual(dnsmasq_pids(), [pid])

        # The client's DHCP client restarts: the pinned address.
        c.dhcp_stop(release=True)
        self.assertEqual(c.dhcp("udhcpc", timeout=10), PINNED)
        self.assertEqual(dnsmasq_pids(), [pid])

        # tetherd restarts: the pin is read back and still given.
        c.dhcp_stop(release=False)
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        LAB.start_tetherd(LAB.default_config())
        wait_tethered("usb0")
        self.assertIn("%s %s phone7" % (c.mac, PINNED), self.ctl("client", "pinned")[1])
        self.assertEqual(c.dhcp("udhcpc", timeout=10), PINNED)

        # Unpinned: gone from the hosts file, dnsmasq not restarted.
        [pid] = dnsmasq_pids()
        rc, out = self.ctl("client", "unpin", c.mac)
        self.assertEqual(rc, 0, out)
        with open(os.path.join(LAB.run_dir, "dnsmasq-hosts-usb0.conf")) as f:
            self.assertEqual(f.read(), "")
        self.assertEqual(self.ctl("client", "pinned"), (0, self.ctl("client", "pinned")[1]))
        self.assertNotIn(c.mac, self.ctl("client", "pinned")[1])
        self.assertEqual(dnsmasq_pids(), [pid])
        rc, out = self.ctl("client", "unpin", c.mac)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("is not pinned", out)


if __name__ == "__main__":
    unittest.main()
