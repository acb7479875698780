"""Issue 11's acceptance for the one lease reader, in the namespace lab: a client whose DHCP
request carries hardware type 6 (IEEE 802) appears in `tetherctl client list` (text and
--json) and in the page's /api/clients, and is kicked and blocked by its MAC.

No real DHCP client sends htype 6 from an Ethernet interface, so the client is raw_dhcp.py: a
tiny DHCP client on an AF_PACKET socket in the client's namespace (DISCOVER/REQUEST with
htype=6, hlen=6, chaddr = its MAC), answered by tetherd's real dnsmasq, which then writes the
lease as "06-<mac>". The client sits on the Bluetooth downstream (a bnep port of bt-pan, as in
test_bluetooth.py, BlueZ played by python3-dbusmock): there a kick really does something the
test can see — tetherd calls Device1.Disconnect on the device with that MAC.

The page is the real one: tetherd serves it on 127.0.0.1 in the appliance; the password is set
with `tetherctl web set-password -` and the test logs in like the page's script does."""
import json
import os
import re
import signal
import sys
import time
import unittest

import support
from support import lab as L
import test_bluetooth
from test_bluetooth import PrivateBus

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 18081
PASSWORD = "tether lab admin 11"
WHOAMI = L.WHOAMI_URL       # by address: the raw client configures no DNS
ETH0_ADDR = "203.0.113.2"   # what inet sees of traffic leaving through eth0 (NAT)


def setUpModule():
    test_bluetooth.setUpModule()  # the lab, the programs, dbus-daemon, busctl, python3-dbusmock


def prefix_len(mask):
    return sum(bin(int(o)).count("1") for o in mask.split("."))


class HardwareType6ClientTest(unittest.TestCase):
    def setUp(self):
        self.lab = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        self.bus = PrivateBus(self.lab).start()
        self.bus.start_bluez()
        self.bus.add_adapter()
        config = self.lab.default_config() + (
            "\n[bluetooth]\nenabled = yes\nadapter = hci0\nbridge = bt-pan\n"
            "\n[web]\nenabled = yes\nport = %d\n" % PORT)
        self.lab.start_tetherd(config, env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus.address})
        L.wait_for(lambda: "state=tethered" in self.downstream("bt-pan"), timeout=10,
                   what="bt-pan tethered (log:\n%s)" % self.lab.tetherd_log()[-2000:])
        L.wait_for(lambda: "127.0.0.1:%d" % PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="the page listening")

    def teardown_lab(self):
        prefix = self.lab.prefix
        if self.lab.tetherd is not None and self.lab.tetherd.poll() is None:
            self.assertEqual(self.lab.stop_tetherd(signal.SIGTERM), 0, self.lab.tetherd_log()[-3000:])
        self.lab.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def downstream(self, ifname):
        for line in self.lab.tetherctl("tether", "interface", "list").stdout.splitlines():
            if line.split(" ", 1)[0] == ifname:
                return line
        return ""

    # -- the page, as its script uses it
    def curl(self, *args, timeout=5):
        r = self.lab.app.run("curl", "-sS", "-i", "--max-time", str(timeout), *args, check=False, timeout=timeout + 5)
        head, body = (re.split(r"\r?\n\r?\n", r.stdout, maxsplit=1) + [""])[:2]
        code = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else None
        return code, body, r.stdout + r.stderr

    def login(self):
        p = self.lab.app.run(self.lab.tetherctl_bin, "--socket", self.lab.socket_path, "web", "set-password", "-",
                             input=PASSWORD + "\n", check=False, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.jar = os.path.join(self.lab.dir, "page-cookies")
        code, body, out = self.curl("-c", self.jar, "-H", "Content-Type: application/json", "--data",
                                    json.dumps({"password": PASSWORD}), self.page("api/login"))
        self.assertEqual(code, 200, out)
        self.csrf = json.loads(body)["csrfToken"]

    def page(self, path):
        return "http://127.0.0.1:%d/%s" % (PORT, path)

    def page_clients(self):
        code, body, out = self.curl("-b", self.jar, self.page("api/clients"))
        self.assertEqual(code, 200, out)
        return json.loads(body)

    def page_action(self, mac, action):
        return self.curl("-b", self.jar, "-X", "POST", "-H", "X-CSRF-Token: " + self.csrf,
                         self.page("api/clients/%s/%s" % (mac, action)))

    # -- the client
    def raw_dhcp(self, client, htype):
        r = client.run(sys.executable, os.path.join(HERE, "raw_dhcp.py"), client.IFNAME, client.mac,
                       "--htype", str(htype), "--hostname", "tokenring", "--timeout", "8", check=False, timeout=15)
        self.assertEqual(r.returncode, 0, "raw DHCP client: %s\n--- tetherd log:\n%s" % (
            r.stderr, "\n".join(l for l in self.lab.tetherd_log().splitlines() if "dnsmasq" in l)[-3000:]))
        return json.loads(r.stdout.strip().splitlines()[-1])

    def fetch(self, client):
        try:
            return client.curl(WHOAMI, timeout=2, check=True).strip()
        except Exception:
            return None

    def disconnects(self, device_path):
        return [c for c in self.bus.calls(device_path) if c[0] == "Disconnect"]

    def test_client_with_hardware_type_6_is_listed_kicked_and_blocked(self):
        started = time.monotonic()
        # A PAN client: BlueZ knows it, connected, its bnep port in tetherd's bridge.
        tr = self.lab.add_downstream("bnep0", client="tr")
        self.lab.app.ip("link", "set", "bnep0", "master", "bt-pan", "up")
        device = self.bus.busctl("call", "org.bluez", "/", "org.bluez.Mock", "AddDevice", "sss", "hci0",
                                 tr.mac.upper(), "tokenring", json_out=True).json["data"][0]
        self.bus.busctl("call", "org.bluez", device, "org.bluez.Device1", "Connect")

        # DHCP with hardware type 6 from tetherd's dnsmasq, which writes it as such.
        lease = self.raw_dhcp(tr, htype=6)
        ip = lease["ip"]
        self.assertTrue(ip.startswith("192.168.44."), lease)
        self.assertEqual((lease["router"], lease["server"], lease["mask"]), ("192.168.44.1", "192.168.44.1",
                                                                            "255.255.255.0"))
        with open(os.path.join(self.lab.state_dir, "dnsmasq-bt-pan.leases")) as f:
            self.assertRegex(f.read(), r"(?m)^\d+ 06-%s %s tokenring \*$" % (re.escape(tr.mac), re.escape(ip)))
        tr.ip("addr", "add", "%s/%d" % (ip, prefix_len(lease["mask"])), "dev", tr.IFNAME)
        tr.ip("route", "add", "default", "via", lease["router"])
        self.assertEqual(self.fetch(tr), ETH0_ADDR)

        # `tetherctl client list`, text and --json.
        now = int(time.time())
        text = self.lab.tetherctl("client", "list", check=True).stdout
        m = re.search(r"(?m)^mac=%s ip=%s hostname=tokenring downstream=bt-pan kind=bluetooth expires=(\d+) "
                      r"hwtype=6 client_id=none blocked=no rx_bytes=(\d+) tx_bytes=(\d+)$" % (re.escape(tr.mac), re.escape(ip)), text)
        self.assertTrue(m, text)
        expires = int(m.group(1))
        self.assertTrue(now + 3600 - 60 <= expires <= now + 3600 + 5, (now, expires))
        self.assertIn("Client list completed", text)
        j = self.lab.tetherctl("client", "list", json=True, check=True).json
        self.assertTrue(j["ok"])
        self.assertIn({"code": 120, "message": m.group(0),
                       "fields": {"mac": tr.mac, "ip": ip, "hostname": "tokenring", "downstream": "bt-pan",
                                  "kind": "bluetooth", "expires": str(expires), "hwtype": "6", "client_id": "none",
                                  "blocked": "no", "rx_bytes": m.group(2), "tx_bytes": m.group(3)}}, j["lines"])

        # The page lists it the same.
        self.login()
        rows = [c for c in self.page_clients()["clients"] if c["mac"] == tr.mac]
        self.assertEqual(len(rows), 1, self.page_clients())
        row = rows[0]
        self.assertEqual((row["ip"], row["hostname"], row["interface"], row["kind"], row["leaseExpires"]),
                         (ip, "tokenring", "bt-pan", "bluetooth", expires))
        self.assertEqual((row["canKick"], row["canBlock"], row["blocked"]), (True, True, False))

        # Kicked by its MAC, from tetherctl and from the page: BlueZ is asked to disconnect it.
        r = self.lab.tetherctl("client", "kick", tr.mac.upper(), timeout=10)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("kicked", r.stdout)
        self.assertEqual(len(self.disconnects(device)), 1, self.bus.calls(device))
        self.bus.busctl("call", "org.bluez", device, "org.bluez.Device1", "Connect")  # it comes back
        code, body, out = self.page_action(tr.mac, "kick")
        self.assertEqual(code, 200, out)
        self.assertEqual(len(self.disconnects(device)), 2, self.bus.calls(device))

        # Blocked from the page: its traffic is dropped; `client list` and the page say so.
        code, body, out = self.page_action(tr.mac, "block")
        self.assertEqual(code, 200, out)
        self.assertIn(tr.mac, self.lab.tetherctl("client", "blocked", check=True).stdout)
        rules = self.lab.app.run("iptables-legacy", "-w", "-S", "tetherd_FORWARD").stdout
        self.assertIn(("-A tetherd_FORWARD -i bt-pan -m mac --mac-source %s -j DROP" % tr.mac).lower(), rules.lower())
        self.assertIsNone(self.fetch(tr), "a blocked client's traffic must not be forwarded")
        self.assertIn("blocked=yes", [l for l in self.lab.tetherctl("client", "list", check=True).stdout.splitlines()
                                      if l.startswith("mac=" + tr.mac)][0])
        self.assertEqual([c["blocked"] for c in self.page_clients()["clients"] if c["mac"] == tr.mac], [True])

        # Unblocked from tetherctl: the Internet again.
        self.lab.tetherctl("client", "unblock", tr.mac, check=True)
        L.wait_for(lambda: self.fetch(tr) == ETH0_ADDR, timeout=5, what="traffic after unblock")
        self.assertNotIn(tr.mac, self.lab.app.run("iptables-legacy", "-w", "-S").stdout.lower())
        sys.stderr.write("htype 6 scenario: %.1f s\n" % (time.monotonic() - started))


if __name__ == "__main__":
    unittest.main()
