"""Issue 14 points 1 and 2, per-client counters and usage history, in the namespace lab with
tetherd's real dnsmasq, real DHCP clients and curl: two clients behind usb0 and wlan0 download
known amounts; each one's rx_bytes (tetherd's per-client firewall counters, by MAC) matches
what its own interface received at the IP level within 2 % (and is at least the payload);
the other client's bytes do not leak into it. The history is flushed within a minute; after
kill -9 and a restart it still holds those bytes. A corrupt history file is set aside
(client-usage.corrupt), reported in the log, and tetherd starts anyway."""
import os
import re
import signal
import time
import unittest

import support
from support import client_rows, fields, ip_rx_bytes, lab as L

LAB = None
PHONE_BYTES = 3_000_000
LAPTOP_BYTES = 1_200_000


def setUpModule():
    support.require_lab()
    support.require_binaries()


def usage(mac):
    r = LAB.tetherctl("client", "usage", mac, json=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return [line["fields"] for line in r.json["lines"]]


class ClientUsageTest(unittest.TestCase):
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

    def test_per_client_bytes_match_and_survive_kill9(self):
        phone = LAB.add_downstream("usb0", client="phone")
        laptop = LAB.add_downstream("wlan0", client="laptop")
        self.clients = [phone, laptop]
        for ifname in ("usb0", "wlan0"):
            L.wait_for(lambda: LAB.tethered(ifname), timeout=10, what="%s tethered" % ifname)
        phone.dhcp("udhcpc", timeout=10)
        laptop.dhcp("udhcpc", timeout=10)
        # The counter rules follow the lease files (inotify): both clients are counted.
        addrs = {c.mac: fields(next(l for l in LAB.tetherctl("client", "list").stdout.splitlines() if c.mac in l))["ip"]
                 for c in self.clients}

        def counted_rules():
            text = LAB.app.run("iptables-legacy", "-S").stdout
            return all("-d %s/32 -j RETURN" % a in text for a in addrs.values())
        L.wait_for(counted_rules, timeout=5, what="counter rules for %s (log:\n%s)" % (addrs, LAB.tetherd_log()[-3000:]))
        base = {c.mac: int(client_rows(LAB)[c.mac]["rx_bytes"]) for c in self.clients}
        before = {c.mac: ip_rx_bytes(c) for c in self.clients}
        for c, n in ((phone, PHONE_BYTES), (laptop, LAPTOP_BYTES)):
            c.curl("%sbytes/%d" % (L.HTTP_URL, n), timeout=20, args=["-o", "/dev/null"])
        rows = client_rows(LAB)
        moved = {}
        for c, n in ((phone, PHONE_BYTES), (laptop, LAPTOP_BYTES)):
            counted = int(rows[c.mac]["rx_bytes"]) - base[c.mac]
            wire = ip_rx_bytes(c) - before[c.mac]
            moved[c.mac] = counted
            self.assertGreaterEqual(counted, n, "%s: counted %d < payload %d" % (c.name, counted, n))
            self.assertLess(abs(counted - wire), 0.02 * wire, "%s: counted %d vs %d at the IP level" % (c.name, counted, wire))
            self.assertGreater(int(rows[c.mac]["tx_bytes"]), 0)
        # `client usage` (--json) has today's record per client, on its own downstream.
        today = {c.mac: sum(int(f["rx_bytes"]) for f in usage(c.mac)) for c in self.clients}
        for c in self.clients:
            self.assertGreaterEqual(today[c.mac], moved[c.mac])
            self.assertTrue(all(f["downstream"] == ("usb0" if c is phone else "wlan0") for f in usage(c.mac)))

        # Flushed within a minute (the 60 s timer while clients are counted).
        path = os.path.join(LAB.state_dir, "client-usage")

        def flushed():
            try:
                with open(path) as f:
                    text = f.read()
            except OSError:
                return False
            return all(re.search(r" %s \S+ (\d+) " % m, text) and
                       int(re.search(r" %s \S+ (\d+) " % m, text).group(1)) >= today[m] for m in today)
        L.wait_for(flushed, timeout=75, what="usage flushed to %s" % path)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

        LAB.tetherd.send_signal(signal.SIGKILL)
        LAB.tetherd.wait(5)
        LAB.start_tetherd(LAB.default_config())
        for ifname in ("usb0", "wlan0"):
            L.wait_for(lambda: LAB.tethered(ifname), timeout=10, what="%s tethered again" % ifname)
        for c in self.clients:
            kept = sum(int(f["rx_bytes"]) for f in usage(c.mac))
            self.assertGreaterEqual(kept, today[c.mac], "%s: history after kill -9" % c.name)

        # A corrupt history: set aside, reported, tetherd starts with a new one.
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        with open(path, "w") as f:
            f.write("tetherd-usage 1\nnot a record\n")
        LAB.start_tetherd(LAB.default_config())
        L.wait_for(lambda: LAB.tethered("usb0"), timeout=10, what="usb0 tethered after a corrupt history")
        self.assertTrue(os.path.exists(path + ".corrupt"))
        self.assertIn("usage history %s: line 2: expected 5 fields" % path, LAB.tetherd_log())
        self.assertEqual(LAB.tetherctl("client", "usage").returncode, 0)


if __name__ == "__main__":
    unittest.main()
