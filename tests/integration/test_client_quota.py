"""Issue 14 point 3, quotas, in the namespace lab with tetherd's real dnsmasq, DHCP clients and
curl: a client behind usb0 gets `client quota <mac> 5MB`; its download of more is cut in the
kernel (xt_quota with today's remaining bytes) at 5 MB +- 5 % (curl stalls; the counted bytes
and the bytes its interface received stay within bounds); `601 limit alert <mac> warning` and
then `... reached` arrive (from the minute's counter read: up to ~60 s late); a client behind
wlan0 downloads meanwhile, unaffected; what was told is kept in state_dir/quota-alerts;
`client quota <mac> reset` starts the day again (it downloads again), `off` removes the quota.
Then `tether quota wlan0 3MB month`: the downstream as a whole is cut at 3 MB +- 5 %, usb0
unaffected. Bounded: about 100 s."""
import signal
import time
import unittest

import support
from support import Events, client_rows, fields, ip_rx_bytes, lab as L

LAB = None
QUOTA = 5_000_000


def setUpModule():
    support.require_lab()
    support.require_binaries()


class ClientQuotaTest(unittest.TestCase):
    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        LAB.start_tetherd(LAB.default_config())
        self.clients = []

    def teardown_lab(self):
        prefix = LAB.prefix
        for c in self.clients:
            try:
                c.dhcp_stop(release=False)
            except Exception:
                pass
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def test_quota_cuts_at_5mb_alerts_and_off_restores(self):
        phone = LAB.add_downstream("usb0", client="phone")
        laptop = LAB.add_downstream("wlan0", client="laptop")
        self.clients = [phone, laptop]
        for ifname in ("usb0", "wlan0"):
            L.wait_for(lambda: LAB.tethered(ifname), timeout=10, what="%s tethered" % ifname)
        phone.dhcp("udhcpc", timeout=10)
        laptop.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: phone.mac in client_rows(LAB) and laptop.mac in client_rows(LAB), timeout=5, what="both leased")

        bad = LAB.tetherctl("client", "quota", phone.mac, "5")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("quota: '5' has no unit", bad.stdout + bad.stderr)
        r = LAB.tetherctl("client", "quota", phone.mac, "5MB")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        events = Events(LAB)
        self.addCleanup(events.close)

        def quota_rule():
            return "-m quota --quota" in LAB.app.run("iptables-legacy", "-S").stdout
        L.wait_for(quota_rule, timeout=5, what="the quota rule (log:\n%s)" % LAB.tetherd_log()[-3000:])
        used0 = int(fields(next(l for l in LAB.tetherctl("client", "quotas").stdout.splitlines() if phone.mac in l))["used"])
        self.assertLess(used0, 100_000)

        before = ip_rx_bytes(phone)
        # More than the quota: cut in the kernel, so curl stalls until its time is up.
        r = phone.run("curl", "-sS", "--max-time", "12", "-o", "/dev/null", "%sbytes/%d" % (L.HTTP_URL, 3 * QUOTA),
                      check=False, timeout=20)
        self.assertNotEqual(r.returncode, 0, "the download past the quota must not complete")
        received = ip_rx_bytes(phone) - before
        # The client beside it is unaffected.
        laptop.curl("%sbytes/%d" % (L.HTTP_URL, 3_000_000), timeout=20, args=["-o", "/dev/null"])

        row = client_rows(LAB)[phone.mac]
        used = int(row["rx_bytes"]) + int(row["tx_bytes"])
        self.assertLessEqual(used, QUOTA * 1.05, row)
        self.assertGreaterEqual(used, QUOTA * 0.95, row)
        self.assertLessEqual(received, QUOTA * 1.05, "the phone received %d" % received)
        self.assertGreaterEqual(received, QUOTA * 0.90, "the phone received %d" % received)
        self.assertEqual(int(row["quota"]), QUOTA)
        self.assertLess(int(row["remaining"]), QUOTA * 0.05, row)

        warning = events.wait("601 limit alert %s warning" % phone.mac, timeout=75)
        reached = events.wait("601 limit alert %s reached" % phone.mac, timeout=10)
        self.assertLess(events.seen.index(warning), events.seen.index(reached))

        # Still cut: a small download fails too.
        r = phone.run("curl", "-sS", "--max-time", "4", "-o", "/dev/null", "%sbytes/%d" % (L.HTTP_URL, 200_000),
                      check=False, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        # What was told is kept, so a restart does not tell it again.
        with open(LAB.state_dir + "/quota-alerts") as f:
            self.assertIn("%s %s 2" % (phone.mac, time.strftime("%Y-%m-%d")), f.read())
        # Reset: the day starts again for this client, so it downloads again, still limited.
        r = LAB.tetherctl("client", "quota", phone.mac, "reset")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = fields(next(l for l in LAB.tetherctl("client", "quotas").stdout.splitlines() if phone.mac in l))
        self.assertLess(int(row["used"]), 100_000, row)
        self.assertEqual((row["period"], row["resets"]), ("day", time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))))
        phone.curl("%sbytes/%d" % (L.HTTP_URL, 1_000_000), timeout=20, args=["-o", "/dev/null"])
        self.assertIn("-m quota --quota", LAB.app.run("iptables-legacy", "-S").stdout)
        # Off: forwarding comes back (the rule goes).
        r = LAB.tetherctl("client", "quota", phone.mac, "off")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("-m quota", LAB.app.run("iptables-legacy", "-S").stdout)
        phone.curl("%sbytes/%d" % (L.HTTP_URL, 1_000_000), timeout=20, args=["-o", "/dev/null"])
        self.assertEqual(LAB.tetherctl("client", "quotas").stdout.strip().count(phone.mac), 0)

        # A downstream's quota: wlan0 as a whole, whoever its client, cut at 3 MB +- 5 %.
        bad = LAB.tetherctl("tether", "quota", "wlan0", "3MB", "week")
        self.assertIn("period: 'week' is not day, month or total", bad.stdout + bad.stderr)
        r = LAB.tetherctl("tether", "quota", "wlan0", "3MB", "month")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = LAB.tetherctl("tether", "quotas").stdout
        self.assertIn("wlan0 quota=3000000 period=month used=", rows)
        # The laptop already moved ~3 MB this month on wlan0: reset so the quota starts now.
        self.assertEqual(LAB.tetherctl("tether", "quota", "wlan0", "reset").returncode, 0)
        before = ip_rx_bytes(laptop)
        r = laptop.run("curl", "-sS", "--max-time", "6", "-o", "/dev/null", "%sbytes/%d" % (L.HTTP_URL, 9_000_000),
                       check=False, timeout=15)
        self.assertNotEqual(r.returncode, 0, "the download past the downstream's quota must not complete")
        received = ip_rx_bytes(laptop) - before
        self.assertLessEqual(received, 3_000_000 * 1.05, "the laptop received %d" % received)
        self.assertGreaterEqual(received, 3_000_000 * 0.90, "the laptop received %d" % received)
        phone.curl("%sbytes/%d" % (L.HTTP_URL, 500_000), timeout=20, args=["-o", "/dev/null"])  # usb0 unaffected
        self.assertEqual(LAB.tetherctl("tether", "quota", "wlan0", "off").returncode, 0)
        laptop.curl("%sbytes/%d" % (L.HTTP_URL, 500_000), timeout=20, args=["-o", "/dev/null"])


if __name__ == "__main__":
    unittest.main()
