"""The tethering core's acceptance, end to end in the namespace lab with the real kernel,
real dnsmasq (started by tetherd), real netfilter (libiptc) and real DHCP clients."""
import json
import os
import re
import signal
import time
import unittest

import support
from support import lab as L

LAB = None
WWW = "http://%s/" % L.WWW_NAME
WHOAMI = "http://%s/whoami" % L.WWW_NAME
ETH0_ADDR = "203.0.113.2"   # what inet sees of traffic leaving through eth0 (NAT)
UP2_ADDR = "192.0.2.2"      # ... through wwan0 and the second upstream router


def setUpModule():
    support.require_lab()
    support.require_binaries()


def rules():
    """tetherd's rules as iptables-legacy prints them (all three tables)."""
    out = []
    for table in ("filter", "nat", "mangle"):
        r = LAB.app.run("iptables-legacy", "-w", "-t", table, "-S")
        out += ["%s %s" % (table, line) for line in r.stdout.splitlines()]
    return out


def own_rules():
    return [r for r in rules() if "tetherd_" in r]


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


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid) as f:
        return f.read()


def web_call(method, path, body=None, csrf=None, port=18081):
    """A request to the admin page from the appliance itself (127.0.0.1), with the lab's cookie
    jar: (HTTP status, JSON body or None)."""
    jar = os.path.join(LAB.dir, "web-cookies")
    cmd = ["curl", "-sS", "--max-time", "10", "-X", method, "-b", jar, "-c", jar, "-w", "\n%{http_code}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    if csrf:
        cmd += ["-H", "X-CSRF-Token: " + csrf]
    r = LAB.app.run(cmd + ["http://127.0.0.1:%d%s" % (port, path)], check=False, timeout=15)
    text, _, code = r.stdout.rpartition("\n")
    try:
        return int(code), json.loads(text) if text else None
    except ValueError:
        return 0, r.stdout + r.stderr


def downstream_state(ifname):
    r = LAB.tetherctl("tether", "interface", "list")
    for line in r.stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            m = re.search(r"state=(\S+)", line)
            return m.group(1) if m else None
    return None


def wait_state(ifname, state, timeout=10):
    L.wait_for(lambda: downstream_state(ifname) == state, timeout=timeout,
               what="%s to be %s (log:\n%s)" % (ifname, state, LAB.tetherd_log()[-3000:]))


def fetch(client, url=WHOAMI, timeout=3):
    return client.curl(url, timeout=timeout).strip()


class TetheringTest(unittest.TestCase):
    """Each test starts its own tetherd and leaves the lab's downstreams as it found them."""

    def setUp(self):
        global LAB
        self.clients = {}
        LAB = L.Lab().start()  # a fresh lab per test: no state leaks between scenarios
        self.addCleanup(self.teardown_lab)
        LAB.start_tetherd(LAB.default_config())

    def teardown_lab(self):
        prefix = LAB.prefix
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def tearDown(self):
        for c in self.clients.values():
            try:
                c.dhcp_stop(release=False)
            except Exception:
                pass
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            rc = LAB.stop_tetherd(signal.SIGTERM)
            self.assertEqual(rc, 0, LAB.tetherd_log()[-3000:])
        # SIGTERM left nothing of tetherd's behind.
        self.assertEqual(own_rules(), [])
        self.assertEqual(dnsmasq_pids(), [])
        self.assertEqual(LAB.app.sysctl("net.ipv4.ip_forward"), "0")

    def plug(self, ifname, client_name, kind="dhclient"):
        c = LAB.add_downstream(ifname, client=client_name)
        self.clients[client_name] = c
        wait_state(ifname, "tethered")
        addr = c.dhcp(kind, timeout=10)
        # Its per-client counter rules follow the lease file (issue 14): in place before any
        # test compares rules.
        L.wait_for(lambda: any("-d %s/32 -j RETURN" % addr in r for r in rules()), timeout=5,
                   what="counter rules for %s" % addr)
        return c, addr

    def test_usb_client_gets_lease_dns_and_internet_through_nat(self):
        c, addr = self.plug("usb0", "phone")
        self.assertTrue(addr.startswith("192.168.42."), addr)
        self.assertEqual(LAB.app.addresses("usb0"), ["192.168.42.1/24"])
        self.assertEqual(c.dns_servers(), ["192.168.42.1"])
        self.assertEqual(c.dig(L.WWW_NAME, server="192.168.42.1").strip(), L.INET_WWW)
        self.assertEqual(fetch(c, WWW), L.HTTP_BODY.strip())
        self.assertEqual(fetch(c), ETH0_ADDR)  # the upstream sees the appliance (NAT)
        self.assertEqual(LAB.app.sysctl("net.ipv4.ip_forward"), "1")
        # dnsmasq binds only to the downstream: never port 53 of the upstream or loopback.
        ss = LAB.app.run("ss", "-lunH").stdout
        listening = re.findall(r"(\S+):53\s", ss)
        self.assertTrue(listening and all(a.startswith("192.168.42.1") for a in listening), ss)
        stats = LAB.tetherctl("tether", "stats", check=True).stdout
        m = re.search(r"usb0 eth0 rx_bytes=(\d+) rx_packets=(\d+) tx_bytes=(\d+)", stats)
        self.assertTrue(m and int(m.group(1)) > 0 and int(m.group(3)) > 0, stats)

    def test_two_downstreams_removing_one_keeps_the_other(self):
        phone, a1 = self.plug("usb0", "phone", "dhclient")
        laptop, a2 = self.plug("wlan0", "laptop", "udhcpc")
        self.assertTrue(a2.startswith("192.168.43."), a2)
        self.assertEqual(fetch(laptop), ETH0_ADDR)
        usb_dnsmasq = [p for p in dnsmasq_pids() if "usb0" in cmdline(p)]
        LAB.tetherctl("tether", "interface", "remove", "wlan0", check=True)
        wait_state("wlan0", "available")
        self.assertEqual(fetch(phone), ETH0_ADDR)
        self.assertEqual(phone.dig(L.WWW_NAME, server="192.168.42.1").strip(), L.INET_WWW)
        # usb0's DHCP server was never restarted by wlan0 leaving
        self.assertEqual([p for p in dnsmasq_pids() if "usb0" in cmdline(p)], usb_dnsmasq)
        self.assertFalse(any("wlan0" in r for r in own_rules()), own_rules())
        phone.dhcp_stop(release=False)
        self.assertEqual(phone.dhcp("dhclient"), a1)  # renewal still served, same lease

    def test_upstream_failover_and_back(self):
        c, _ = self.plug("usb0", "phone")
        self.assertEqual(fetch(c), ETH0_ADDR)
        t0 = time.monotonic()
        LAB.set_uplink("eth0", False)
        L.wait_for(lambda: fetch_or_none(c) == UP2_ADDR, timeout=2.0, interval=0.05,
                   what="traffic via wwan0 within 2 s")
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertIn("upstream=wwan0", LAB.tetherctl("tether", "status").stdout)
        self.assertEqual(c.dig(L.WWW_NAME, server="192.168.42.1").strip(), L.INET_WWW)
        LAB.set_uplink("eth0", True)
        L.wait_for(lambda: fetch_or_none(c) == ETH0_ADDR, timeout=3.0, interval=0.05, what="back via eth0")
        self.assertIn("upstream=eth0", LAB.tetherctl("tether", "status").stdout)

    def test_unplug_untethers_replug_retethers(self):
        c, addr = self.plug("usb0", "phone")
        LAB.remove_downstream("usb0")
        L.wait_for(lambda: downstream_state("usb0") is None, what="usb0 forgotten")
        L.wait_for(lambda: not any("usb0" in r for r in own_rules()), what="usb0 rules removed")
        L.wait_for(lambda: dnsmasq_pids() == [], what="usb0's dnsmasq stopped")
        LAB.restore_downstream("usb0")
        wait_state("usb0", "tethered")
        c.dhcp_stop(release=False)
        self.assertEqual(c.dhcp("dhclient"), addr)  # the lease file kept its lease
        self.assertEqual(fetch(c), ETH0_ADDR)

    def test_kill9_and_restart_converges_without_duplicates(self):
        c, addr = self.plug("usb0", "phone")
        before = rules()
        LAB.tetherd.send_signal(signal.SIGKILL)
        LAB.tetherd.wait(5)
        LAB.start_tetherd(LAB.default_config())
        wait_state("usb0", "tethered")
        L.wait_for(lambda: rules() == before, timeout=5, what="identical rules after restart:\n%s\nvs\n%s" % (before, rules()))
        self.assertEqual(len(dnsmasq_pids()), 1)  # the stale one was killed, one runs
        self.assertEqual(fetch(c), ETH0_ADDR)
        c.dhcp_stop(release=False)
        self.assertEqual(c.dhcp("dhclient"), addr)

    def test_dnsmasq_killed_is_back_within_2s(self):
        c, addr = self.plug("usb0", "phone")
        old = dnsmasq_pids()
        self.assertEqual(len(old), 1)
        os.kill(old[0], signal.SIGKILL)
        t0 = time.monotonic()
        L.wait_for(lambda: (lambda p: len(p) == 1 and p != old)(dnsmasq_pids()), timeout=2.0, what="dnsmasq back")
        L.wait_for(lambda: dig_or_none(c) == L.INET_WWW, timeout=2.0 - (time.monotonic() - t0) + 0.5,
                   what="DNS answering again")
        c.dhcp_stop(release=False)
        self.assertEqual(c.dhcp("dhclient"), addr)  # the lease survived the restart

    def test_upstream_inside_usb_subnet_moves_usb0(self):
        c, addr = self.plug("usb0", "phone")
        self.assertTrue(addr.startswith("192.168.42."))
        LAB.app.ip("addr", "add", "192.168.42.200/24", "dev", "wwan0")
        try:
            L.wait_for(lambda: LAB.app.addresses("usb0") not in ([], ["192.168.42.1/24"]),
                       what="usb0 moved off 192.168.42.0/24")
            wait_state("usb0", "tethered")
            new = LAB.app.addresses("usb0")[0]
            self.assertFalse(new.startswith("192.168.42."), new)
            c.dhcp_stop(release=False)
            moved = c.dhcp("dhclient")
            self.assertEqual(moved.rsplit(".", 1)[0], new.split("/")[0].rsplit(".", 1)[0])
            self.assertEqual(fetch(c), ETH0_ADDR)
        finally:
            LAB.app.ip("addr", "del", "192.168.42.200/24", "dev", "wwan0", check=False)

    def test_tether_stop_removes_everything(self):
        self.plug("usb0", "phone")
        LAB.tetherctl("tether", "stop", check=True)
        self.assertEqual(own_rules(), [])
        L.wait_for(lambda: dnsmasq_pids() == [], what="dnsmasq gone")
        self.assertEqual(LAB.app.sysctl("net.ipv4.ip_forward"), "0")
        self.assertEqual(LAB.app.addresses("usb0"), [])
        self.assertIn("Tethering stopped", LAB.tetherctl("tether", "status").stdout)
        LAB.tetherctl("tether", "start", check=True)
        wait_state("usb0", "tethered")

    def test_bad_input_is_typed_and_nothing_half_applied(self):
        self.plug("usb0", "phone")
        before = rules()
        r = LAB.tetherctl("tether", "interface", "add", "nosuch0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown-iface", r.stderr)
        r = LAB.tetherctl("nat", "enable", "usb0", "usb0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid-argument", r.stderr)
        r = LAB.tetherctl("nat", "enable", "x", "y")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown-iface", r.stderr)
        r = LAB.tetherctl("tether", "start")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already-exists", r.stderr)
        r = LAB.tetherctl("tether", "dns", "set", "1.2.3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not an IPv4 address", r.stderr)
        r = LAB.tetherctl("tether", "interface", "add", "bad name")
        self.assertEqual(r.returncode, 2)
        r = LAB.tetherctl("upstream", "set-priority", "usb0")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(rules(), before)
        self.assertEqual(downstream_state("usb0"), "tethered")

    def test_commands_and_events(self):
        mon = LAB.app.popen([LAB.tetherctl_bin, "--socket", LAB.socket_path, "monitor"], log_name="monitor.log")
        try:
            time.sleep(0.2)  # let the monitor connect before the events it must see
            self.plug("usb0", "phone")
            LAB.set_uplink("eth0", False)
            L.wait_for(lambda: "upstream=wwan0" in LAB.tetherctl("tether", "status").stdout, what="failover")
            LAB.set_uplink("eth0", True)
            L.wait_for(lambda: "upstream=eth0" in LAB.tetherctl("tether", "status").stdout, what="fall-back")
            def log():
                with open(os.path.join(LAB.dir, "monitor.log")) as f:
                    return f.read()
            for ev in ("600 Iface added usb0", "610 Tether usb0 tethered", "611 Upstream wwan0", "611 Upstream eth0",
                       "600 Iface linkstate eth0 down"):
                L.wait_for(lambda: ev in log(), timeout=5, what="event %r in\n%s" % (ev, log()))
        finally:
            mon.terminate()
            mon.wait(5)
        r = LAB.tetherctl("upstream", "list", check=True).stdout
        self.assertIn("eth0 priority=1 exists=yes up=yes route=yes dns=198.51.100.53 selected=yes", r)
        self.assertIn("wwan0 priority=2", r)
        r = LAB.tetherctl("ipfwd", "status", check=True).stdout
        self.assertIn("Forwarding enabled requesters=tethering", r)
        r = LAB.tetherctl("interface", "getcfg", "usb0", check=True).stdout
        self.assertIn("usb0 address=192.168.42.1/24 admin=up", r)
        r = LAB.tetherctl("--json", "tether", "interface", "list", check=True)
        self.assertIn('"state":"tethered"', r.stdout.replace(" ", ""))
        r = LAB.tetherctl("tether", "dns", "list", check=True).stdout
        self.assertIn("198.51.100.53", r)

    def test_block_any_client_kick_wired_refused_unblock(self):
        """Issue 6: block works for every downstream's clients (here a USB-named one with a real
        dhclient), survives a restart, and a kick of a wired client says why it cannot be done."""
        c, addr = self.plug("usb0", "phone")
        self.assertEqual(fetch(c), ETH0_ADDR)
        LAB.tetherctl("client", "block", c.mac.upper(), check=True)
        self.assertIn(c.mac, LAB.tetherctl("client", "blocked", check=True).stdout)
        self.assertIn("filter -A tetherd_FORWARD -i usb0 -m mac --mac-source %s -j DROP" % c.mac, rules())
        self.assertIsNone(fetch_or_none(c), "a blocked client's traffic must not be forwarded")
        self.assertIsNone(dig_or_none(c), "a blocked client must get no DNS from the appliance")
        c.dhcp_stop(release=False)
        with self.assertRaises(L.LabError):
            c.dhcp("udhcpc", timeout=3)  # nor a lease
        # Kept across a restart of tetherd.
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
        LAB.start_tetherd(LAB.default_config())
        wait_state("usb0", "tethered")
        self.assertIn(c.mac, LAB.tetherctl("client", "blocked", check=True).stdout)
        with self.assertRaises(L.LabError):
            c.dhcp("udhcpc", timeout=3)
        # Another downstream's client is not affected; a wired client cannot be kicked.
        laptop = LAB.add_downstream("lan1", client="laptop")
        self.clients["laptop"] = laptop
        LAB.tetherctl("tether", "interface", "add", "lan1", check=True)
        wait_state("lan1", "tethered")
        laptop.dhcp("dhclient", timeout=10)
        self.assertEqual(fetch(laptop), ETH0_ADDR)
        r = LAB.tetherctl("client", "kick", laptop.mac)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("cannot be disconnected from here; block it instead", r.stderr)
        r = LAB.tetherctl("client", "block", "02:00:00:00:00:01;reboot")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("mac:", r.stderr)
        # Unblocked: a lease and the Internet again.
        LAB.tetherctl("client", "unblock", c.mac, check=True)
        self.assertEqual(c.dhcp("dhclient", timeout=10), addr)
        self.assertEqual(fetch(c), ETH0_ADDR)
        self.assertNotIn(c.mac, " ".join(rules()))

    def test_dhcp_range_change_restarts_the_running_dnsmasq(self):
        """Issue 6: a new DHCP range (Settings page or SIGHUP: the same reconfigure) reaches the
        dnsmasq of a downstream that is already tethered; its client moves into the new range."""
        c, addr = self.plug("usb0", "phone")
        old = dnsmasq_pids()
        self.assertEqual(len(old), 1)
        LAB.write_config(LAB.default_config() + "\n[dhcp]\nrange_first_host = 200\nrange_last_host = 210\nlease_time = 10m\n")
        LAB.tetherd.send_signal(signal.SIGHUP)
        L.wait_for(lambda: (lambda p: len(p) == 1 and p != old and "192.168.42.200,192.168.42.210" in cmdline(p[0]))(dnsmasq_pids()),
                   timeout=5, what="dnsmasq restarted with the new range (log:\n%s)" % "\n".join(l for l in LAB.tetherd_log().splitlines() if "dnsmasq-dhcp" not in l)[-3000:])
        c.dhcp_stop(release=False)
        new = c.dhcp("dhclient", timeout=10)
        self.assertTrue(200 <= int(new.rsplit(".", 1)[1]) <= 210, (addr, new))
        self.assertEqual(fetch(c), ETH0_ADDR)
        self.assertEqual(downstream_state("usb0"), "tethered")

    def test_offload_on_a_kernel_without_flowtable_is_inactive_not_a_failure(self):
        """Issue 18: this kernel has no nf_flow_table. offload = software (SIGHUP) makes
        tetherd try its flowtable through libnftables; the kernel refuses it, offload is
        reported inactive with the reason, and tethering goes on unharmed."""
        c, addr = self.plug("usb0", "phone")
        LAB.write_config(LAB.default_config() + "\n[tethering]\noffload = software\n")
        LAB.tetherd.send_signal(signal.SIGHUP)
        want = {"offload": "inactive", "offload_reason": "kernel without flowtable support (nf_flow_table)"}
        try:
            L.wait_for(lambda: self._offload_fields() == want, timeout=5, what="offload inactive")
        except TimeoutError:
            self.fail("%s\n%s" % (LAB.tetherctl("tether", "status").stdout,
                                  "\n".join(l for l in LAB.tetherd_log().splitlines() if "dnsmasq" not in l)[-2500:]))
        doctor = LAB.tetherctl("tether", "doctor").stdout
        self.assertIn("offload inactive: kernel without flowtable support (nf_flow_table)", doctor)
        self.assertEqual(fetch(c), ETH0_ADDR)
        self.assertEqual(downstream_state("usb0"), "tethered")
        self.assertNotIn("tetherd_offload", LAB.app.run("nft", "list", "tables").stdout)

    def _offload_fields(self):
        r = LAB.tetherctl("tether", "status", json=True)
        f = r.json["fields"] if r.returncode == 0 else {}
        return {k: f.get(k) for k in ("offload", "offload_reason")}

    def test_page_settings_and_sighup_take_one_path(self):
        """Issue 11: the Settings page and SIGHUP change the configuration by the one applyConfig:
        the same dnsmasq restart (leases kept), the same log line, the same 610 event; a bad value
        by either path changes nothing. The page's saved settings stay over the file at SIGHUP."""
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
        conf = LAB.default_config() + "\n[web]\nenabled = yes\nport = 18081\nlisten = localhost\n"
        LAB.start_tetherd(conf)
        c, addr = self.plug("usb0", "phone")
        mon = LAB.app.popen([LAB.tetherctl_bin, "--socket", LAB.socket_path, "monitor"], log_name="config-monitor.log")

        def reloads():
            with open(os.path.join(LAB.dir, "config-monitor.log")) as f:
                return f.read().count("610 Config reloaded")

        def reloaded_lines():
            return LAB.tetherd_log().count("configuration reloaded from %s" % LAB.config_path)

        def dnsmasq_range(first, last):
            want = "192.168.42.%d,192.168.42.%d" % (first, last)
            p = dnsmasq_pids()
            return len(p) == 1 and want in cmdline(p[0])

        try:
            L.wait_for(lambda: int(LAB.tetherctl("status", json=True).json["fields"]["clients"]) >= 2,
                       timeout=5, what="the monitor to connect")
            L.wait_for(lambda: web_call("GET", "/api/session")[0] == 200, timeout=10, what="the admin page")
            status, j = web_call("POST", "/api/setup", {"password": "tether lab admin 1"})
            self.assertEqual(status, 201, j)
            csrf = j["csrfToken"]
            old = dnsmasq_pids()
            settings = os.path.join(LAB.state_dir, "web-settings")

            # Bad values by either path: refused, nothing restarted, saved or announced.
            status, j = web_call("PUT", "/api/settings", {"dhcp": {"leaseTimeSec": 600, "rangeLastHost": 300}}, csrf)
            self.assertEqual(status, 400, j)
            self.assertIn("dhcp.rangeLastHost", j["errors"])
            LAB.write_config(conf + "\n[dhcp]\nlease_time = 10m\nrange_last_host = 300\n")
            LAB.tetherd.send_signal(signal.SIGHUP)
            L.wait_for(lambda: "reload refused" in LAB.tetherd_log(), timeout=5, what="the refused reload")
            self.assertEqual(dnsmasq_pids(), old)
            self.assertFalse(os.path.exists(settings))
            self.assertEqual((reloads(), reloaded_lines()), (0, 0))

            # SIGHUP: the running dnsmasq restarts with the new range; one line, one event.
            LAB.write_config(conf + "\n[dhcp]\nrange_first_host = 200\nrange_last_host = 210\nlease_time = 10m\n")
            LAB.tetherd.send_signal(signal.SIGHUP)
            L.wait_for(lambda: dnsmasq_range(200, 210), timeout=5, what="dnsmasq restarted by SIGHUP")
            L.wait_for(lambda: reloads() == 1, timeout=5, what="610 Config reloaded after SIGHUP")
            self.assertEqual(reloaded_lines(), 1)

            # The page: the same restart, line and event.
            status, j = web_call("PUT", "/api/settings",
                                 {"dhcp": {"rangeFirstHost": 220, "rangeLastHost": 230, "leaseTimeSec": 600}}, csrf)
            self.assertEqual(status, 200, j)
            L.wait_for(lambda: dnsmasq_range(220, 230), timeout=5, what="dnsmasq restarted by the page")
            L.wait_for(lambda: reloads() == 2, timeout=5, what="610 Config reloaded after the page's change")
            self.assertEqual(reloaded_lines(), 2)
            self.assertTrue(os.path.exists(settings))

            # SIGHUP again: the page's saved settings stay over the file; dnsmasq is left alone.
            pids = dnsmasq_pids()
            LAB.tetherd.send_signal(signal.SIGHUP)
            L.wait_for(lambda: reloads() == 3, timeout=5, what="610 Config reloaded after the second SIGHUP")
            self.assertEqual(dnsmasq_pids(), pids)
            c.dhcp_stop(release=False)
            new = c.dhcp("dhclient", timeout=10)
            self.assertTrue(220 <= int(new.rsplit(".", 1)[1]) <= 230, (addr, new))
            self.assertEqual(fetch(c), ETH0_ADDR)
        finally:
            mon.terminate()
            mon.wait(5)


def fetch_or_none(c):
    try:
        return c.curl(WHOAMI, timeout=1, check=True).strip()
    except Exception:
        return None


def dig_or_none(c):
    try:
        return c.dig(L.WWW_NAME, server="192.168.42.1", timeout=1).strip()
    except Exception:
        return None


if __name__ == "__main__":
    unittest.main()
