"""Issue 14 point 4, rate limits, in the namespace lab with real programs: two clients behind
usb0 (a hub); `tetherctl client limit <mac> 5Mbit 3Mbit` on one. iperf3 from the inet namespace
(a few seconds each) shows the limited client's download at 5 Mbit/s within 10 % while the
unlimited one beside it gets more, and its upload at 3 Mbit/s within 10 %. The kernel state is
checked by observing it (tc -s class show, ip link: the tc program only reads): HTB 7e: on
usb0 with class 7e:10 at 5Mbit and a filter on the client's address, the ifb tifb-usb0 with
7e:10 at 3Mbit, the ingress qdisc on usb0. `client limit <mac> off` and tetherd's stop take all
of it away (usb0's qdisc back to the default, the ifb gone); after kill -9 the next start
removes the leftovers and applies the persisted limit again; a new lease of a limited MAC is
shaped within seconds, and unplugging the downstream takes its ifb. A per-kind limit from the config
([tethering] usb_download_limit / usb_upload_limit) shapes the whole downstream the same way."""
import json
import os
import signal
import stat
import time
import unittest

import support
from support import lab as L

LAB = None
LIMIT_DOWN = 5_000_000
LIMIT_UP = 3_000_000


def setUpModule():
    support.require_lab()
    support.require_binaries()


def tc(*args):
    return LAB.app.run("tc", *args).stdout


def shaped(ifname="usb0"):
    """What tetherd put on ifname, as the tc program shows it (observing only)."""
    return {
        "root": tc("qdisc", "show", "dev", ifname, "root"),
        "ingress": LAB.app.run("tc", "qdisc", "show", "dev", ifname, "ingress", check=False).stdout,
        "classes": tc("-s", "class", "show", "dev", ifname),
        "filters": tc("filter", "show", "dev", ifname),
        "ifb": LAB.app.has_link("tifb-" + ifname),
    }


def iperf(client, port, reverse, seconds=4):
    args = ["iperf3", "-c", L.INET_WWW, "-p", str(port), "-t", str(seconds), "-O", "1", "-J"]
    if reverse:
        args.append("-R")
    return client.popen(*args, stdout=-1, stderr=-1)


def rate_of(p):
    out, err = p.communicate(timeout=30)
    data = json.loads(out)
    if "error" in data:
        raise AssertionError("iperf3: %s %s" % (data["error"], err))
    return data["end"]["sum_received"]["bits_per_second"]


class ShapingTest(unittest.TestCase):
    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        LAB.start_tetherd(LAB.default_config())
        self.servers = [LAB.inet.popen("iperf3", "-s", "-p", str(p), log_name="iperf3-%d.log" % p) for p in (5201, 5202)]
        self.clients = []
        L.wait_for(lambda: all(":%d " % p in LAB.inet.run("ss", "-ltnH").stdout for p in (5201, 5202)),
                   timeout=10, what="iperf3 servers")

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

    def ctl(self, *args):
        r = LAB.tetherctl(*args)
        return r.returncode, (r.stdout + r.stderr).strip()

    def assert_unshaped(self):
        s = shaped()
        self.assertNotIn("htb", s["root"])
        self.assertNotIn("ingress", s["ingress"])
        self.assertEqual(s["classes"].strip(), "")
        self.assertFalse(s["ifb"])
        self.assertNotIn("tifb-", LAB.app.run("ip", "-o", "link", "show").stdout)

    def assert_shaped(self, ip):
        s = shaped()
        self.assertIn("qdisc htb 7e: root", s["root"])
        self.assertIn("class htb 7e:10 parent 7e:1 ", s["classes"])
        self.assertRegex(s["classes"], r"class htb 7e:10 parent 7e:1 .*rate 5Mbit ceil 5Mbit")
        self.assertIn("ingress ffff:", s["ingress"])
        self.assertIn("mirred", s["filters"] + tc("filter", "show", "dev", "usb0", "ingress"))
        self.assertTrue(s["ifb"])
        ifb = tc("-s", "class", "show", "dev", "tifb-usb0")
        self.assertRegex(ifb, r"class htb 7e:10 parent 7e:1 .*rate 3Mbit ceil 3Mbit")
        # the client's address, as u32 shows it (hex): 192.168.42.x
        want = "%02x%02x%02x%02x/ffffffff" % tuple(int(x) for x in ip.split("."))
        self.assertIn(want, tc("filter", "show", "dev", "usb0"))
        self.assertIn(want, tc("filter", "show", "dev", "tifb-usb0"))

    def test_limit_holds_beside_an_unlimited_client_and_goes_with_stop(self):
        slow, fast = LAB.add_downstream("usb0", client=["slow", "fast"])
        self.clients = [slow, fast]
        L.wait_for(lambda: LAB.tethered("usb0"), timeout=10, what="usb0 tethered")
        ip_slow = slow.dhcp("udhcpc", timeout=10)
        fast.dhcp("udhcpc", timeout=10)
        self.assert_unshaped()

        # Bad input, each refused naming the field; nothing applied.
        rc, out = self.ctl("client", "limit", slow.mac, "5", "off")
        self.assertNotEqual(rc, 0)
        self.assertIn("download: '5' has no unit", out)
        rc, out = self.ctl("client", "limit", "nonsense", "5Mbit", "off")
        self.assertNotEqual(rc, 0)
        self.assertIn("mac:", out)
        self.assert_unshaped()

        rc, out = self.ctl("client", "limit", slow.mac, "5Mbit", "3Mbit")
        self.assertEqual(rc, 0, out)
        self.assert_shaped(ip_slow)
        limits = os.path.join(LAB.state_dir, "client-limits")
        self.assertEqual(stat.S_IMODE(os.stat(limits).st_mode), 0o600)
        with open(limits) as f:
            self.assertIn(slow.mac.lower() + " 5Mbit 3Mbit", f.read())
        status = LAB.tetherctl("tether", "status").stdout
        self.assertRegex(status, r"shaping=(fq_codel|pfifo)")
        rc, out = self.ctl("client", "limits")
        self.assertIn(slow.mac.lower() + " 5Mbit 3Mbit", out)

        # Download: both at once, a few seconds.
        ps, pf = iperf(slow, 5201, True), iperf(fast, 5202, True)
        down_slow, down_fast = rate_of(ps), rate_of(pf)
        print("download: limited %.3f Mbit/s, unlimited %.3f Mbit/s" % (down_slow / 1e6, down_fast / 1e6))
        self.assertLess(abs(down_slow - LIMIT_DOWN) / LIMIT_DOWN, 0.10, down_slow)
        self.assertGreater(down_fast, 2 * LIMIT_DOWN)
        # Upload of the limited client.
        up_slow = rate_of(iperf(slow, 5201, False))
        print("upload: limited %.3f Mbit/s" % (up_slow / 1e6))
        self.assertLess(abs(up_slow - LIMIT_UP) / LIMIT_UP, 0.10, up_slow)
        self.assertRegex(tc("-s", "class", "show", "dev", "tifb-usb0"), r"class htb 7e:10 [^\n]*\n Sent [1-9]")
        # The counters moved in the limited client's class.
        self.assertRegex(tc("-s", "class", "show", "dev", "usb0"), r"class htb 7e:10 [^\n]*\n Sent [1-9]")

        # off: all of it goes.
        rc, out = self.ctl("client", "limit", slow.mac, "off")
        self.assertEqual(rc, 0, out)
        self.assert_unshaped()
        rc, out = self.ctl("client", "limit", slow.mac, "off")
        self.assertNotEqual(rc, 0)
        self.assertIn("has no rate limit", out)

        # A crash leaves it; the next start removes the leftovers and applies the kept limit anew.
        self.assertEqual(self.ctl("client", "limit", slow.mac, "5Mbit", "3Mbit")[0], 0)
        self.assert_shaped(ip_slow)
        LAB.stop_tetherd(signal.SIGKILL)
        self.assertTrue(shaped()["ifb"])
        LAB.start_tetherd(LAB.default_config())
        L.wait_for(lambda: LAB.tethered("usb0"), timeout=10, what="usb0 tethered again")
        L.wait_for(lambda: "7e:10" in tc("class", "show", "dev", "usb0"), timeout=10, what="the limit applied again")
        self.assert_shaped(ip_slow)
        self.assertIn("removed a previous run's rate limits on usb0", LAB.tetherd_log())

        # Stop: qdiscs back to the default, the ifb gone.
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        self.assert_unshaped()

    def test_a_new_lease_of_a_limited_client_is_shaped_within_seconds_and_unplug_takes_the_ifb(self):
        c = LAB.add_downstream("usb0", client="phone")
        self.clients = [c]
        L.wait_for(lambda: LAB.tethered("usb0"), timeout=10, what="usb0 tethered")
        rc, out = self.ctl("client", "limit", c.mac, "5Mbit", "3Mbit")
        self.assertEqual(rc, 0, out)
        self.assert_unshaped()  # no lease yet: nothing to shape
        ip = c.dhcp("udhcpc", timeout=10)
        t0 = time.monotonic()
        L.wait_for(lambda: "7e:10" in tc("class", "show", "dev", "usb0"), timeout=5, what="shaped after the lease")
        print("shaped %.1f s after the lease" % (time.monotonic() - t0))
        self.assert_shaped(ip)
        # The downstream goes (a USB unplug): its ifb goes with it.
        LAB.remove_downstream("usb0")
        L.wait_for(lambda: not LAB.app.has_link("tifb-usb0"), timeout=5, what="tifb-usb0 removed with usb0")

    def test_a_downstream_limit_from_the_config_holds_for_all_its_clients(self):
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
        LAB.start_tetherd(LAB.default_config() + "\n[tethering]\nusb_download_limit = 5Mbit\nusb_upload_limit = 3Mbit\n")
        c = LAB.add_downstream("usb0", client="phone")
        self.clients = [c]
        L.wait_for(lambda: LAB.tethered("usb0"), timeout=10, what="usb0 tethered")
        c.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: "7e:1 " in tc("class", "show", "dev", "usb0"), timeout=5, what="usb0 shaped")
        self.assertRegex(tc("class", "show", "dev", "usb0"), r"class htb 7e:1 root .*rate 5Mbit ceil 5Mbit")
        self.assertRegex(tc("class", "show", "dev", "tifb-usb0"), r"class htb 7e:1 root .*rate 3Mbit ceil 3Mbit")
        self.assertNotIn("7e:10", tc("class", "show", "dev", "usb0"))  # no client of its own
        down = rate_of(iperf(c, 5201, True))
        print("downstream limit: download %.3f Mbit/s" % (down / 1e6))
        self.assertLess(abs(down - LIMIT_DOWN) / LIMIT_DOWN, 0.10, down)
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        self.assert_unshaped()


if __name__ == "__main__":
    unittest.main()
