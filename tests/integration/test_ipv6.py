"""Issue 12, IPv6 in nat66 and relay modes, end to end with real programs in the namespace lab.

inet plays the upstream router on eth0's link: radvd announces 2001:db8:1::/64 there (the
appliance's eth0 gets a SLAAC address and its default route from it), a second dnsmasq on
198.51.100.54 answers www6.tether.test with an AAAA record only, and an HTTP server listens on
[2001:db8:ffff::10]:80, logging each client's address. Ipv6Nat66: tetherd runs with
`ipv6 = nat66`. The client behind usb0 gets a ULA address by SLAAC from tetherd's dnsmasq,
resolves the AAAA through tetherd and fetches over IPv6; the server sees the appliance's
address. A blocked MAC reaches nothing over IPv6; new connections from inet to the client are
refused; the admin page does not answer on the upstream's IPv6 address; after a stop (and
after kill -9 and a restart) nothing of tetherd's IPv6 state is left. Per client (issue 14):
the client's IPv6 download is counted within 2 %, cut by its quota, and held to its limit.
Ipv6Relay: eth0 has only radvd's SLAAC /64 and no delegation, so `ipv6 = auto` relays it: the
client gets an address in 2001:db8:1::/64 by SLAAC (announced off-link by usb0's dnsmasq),
resolves the AAAA through tetherd and fetches; the server sees the client's own address; a
blocked MAC reaches nothing; a second downstream (wlan0) is relayed too; after kill -9 (the next
run cleans up) and after a stop no proxy entry, /128 route, address or sysctl of tetherd's is
left (about 20 s), nor after kill -9 at random points, six rounds (about 20 s more)."""
import contextlib
import ipaddress
import os
import random
import re
import signal
import sys
import time
import unittest

import support
from support import lab as L

LAB = None
WWW6 = L.Lab.INET6_WWW
WWW6_NAME = "www6.tether.test"
DNS6_SERVER = "198.51.100.54"  # inet, answering WWW6_NAME with AAAA only
DNS6_SERVER6 = "2001:db8:ffff::53"  # the same server over IPv6 (tetherd's resolv_file names both)
WAN_PREFIX = "2001:db8:1:"
WEB_PORT = 18086
SYSCTLS = ("net.ipv6.conf.all.forwarding", "net.ipv6.conf.eth0.accept_ra", "net.ipv6.conf.eth0.proxy_ndp")


def global6(ns, ifname, prefix=""):
    """ns's global IPv6 addresses on ifname (without length) starting with prefix."""
    out = []
    for a in ns.addresses(ifname, family=6, settled=True):
        addr = a.split("/")[0]
        if not addr.startswith("fe80") and addr.startswith(prefix):
            out.append(addr)
    return out


def setUpModule():
    global LAB
    support.require_lab()
    support.require_binaries()
    LAB = L.Lab().start()
    LAB.private_dhcpcd_dirs()  # ipv6 = auto runs dhcpcd: never with the host's DUID and leases
    inet = LAB.inet
    inet.ip("addr", "add", DNS6_SERVER + "/32", "dev", "lo")
    inet.ip("-6", "addr", "add", DNS6_SERVER6 + "/128", "dev", "lo")
    with open(os.path.join(LAB.dir, "resolv6.conf"), "w") as f:
        f.write("nameserver %s\nnameserver %s\nnameserver fe80::1%%eth0\n" % (DNS6_SERVER, DNS6_SERVER6))
    inet.popen("dnsmasq", "-C", "/dev/null", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
               "--bind-interfaces", "--listen-address=%s" % DNS6_SERVER, "--listen-address=%s" % DNS6_SERVER6,
               "--pid-file=%s" % os.path.join(LAB.dir, "inet-dns6.pid"),
               "--local=/tether.test/", "--host-record=%s,%s" % (WWW6_NAME, WWW6),
               "--log-facility=-", "--log-queries", log_name="inet-dns6.log")
    # radvd and the web server; the appliance learns its own address and default route from
    # radvd (before tetherd runs).
    LAB.inet_ipv6()
    L.wait_for(lambda: LAB.inet.curl("http://[%s]/" % WWW6, check=False, args=["-g"]) == "hello over IPv6\n",
               timeout=10, what="the IPv6 web server")


def tearDownModule():
    prefix = LAB.prefix
    LAB.teardown()
    left = L.leftovers(prefix)
    if left:
        raise AssertionError("the lab left: %s" % left)


def config(tethering="", priority="eth0", upstream="", ipv6="nat66"):
    # eth0's DNS servers from a resolv.conf naming one IPv4 and one IPv6 server (and a scoped
    # link-local one, left out).
    return ("[daemon]\nlog_level = debug\n\n[upstream]\npriority = %s\nresolv_file = %s\n%s"
            "\n[tethering]\nipv6 = %s\n%s\n[web]\nenabled = yes\nport = %d\n"
            % (priority, os.path.join(LAB.dir, "resolv6.conf"), upstream, ipv6, tethering, WEB_PORT))


CLIENT = None


def usb0_client():
    global CLIENT
    if CLIENT is None:
        CLIENT = LAB.add_downstream("usb0")
    return CLIENT


def own_policy6():
    """tetherd's IPv6 rules (priorities 9200-9299) and routes (tables 9200-9263)."""
    rules = [r for r in LAB.app.run("ip", "-6", "rule", "show").stdout.splitlines()
             if 9200 <= int(r.split(":", 1)[0]) <= 9299]
    routes = [r for r in LAB.app.run("ip", "-6", "route", "show", "table", "all").stdout.splitlines()
              if re.search(r"\btable 92(0\d|[1-5]\d|6[0-3])\b", r)]
    return rules, routes


def http6_log():
    with open(os.path.join(LAB.dir, "inet-http6.log"), errors="replace") as f:
        return f.read()


def ip6tables_save():
    return LAB.app.run("ip6tables-legacy-save").stdout


@contextlib.contextmanager
def wwan0_ipv6_via_up2(ipv4=True):
    """wwan0 gets 2001:db8:2::2/64 and an IPv6 default via up2 (2001:db8:2::1, metric 2048),
    which routes to inet (2001:db8:3::/64); without ipv4, wwan0's IPv4 address goes (an
    IPv6-only upstream). Leaving stops tetherd and undoes it all (wwan0's IPv4 back)."""
    app, up2, inet = LAB.app, LAB.up2, LAB.inet
    setup = [(up2, ("-6", "addr", "add", "2001:db8:2::1/64", "dev", "to-app", "nodad")),
             (up2, ("-6", "addr", "add", "2001:db8:3::2/64", "dev", "to-inet", "nodad")),
             (up2, ("-6", "route", "add", "default", "via", "2001:db8:3::1")),
             (inet, ("-6", "addr", "add", "2001:db8:3::1/64", "dev", "to-up2", "nodad")),
             (inet, ("-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8:3::2")),
             (app, ("-6", "addr", "add", "2001:db8:2::2/64", "dev", "wwan0", "nodad")),
             (app, ("-6", "route", "add", "default", "via", "2001:db8:2::1", "dev", "wwan0", "metric", "2048"))]
    if not ipv4:
        setup.insert(5, (app, ("-4", "addr", "flush", "dev", "wwan0")))
    forwarding = up2.sysctl("net.ipv6.conf.all.forwarding")
    try:
        up2.sysctl("net.ipv6.conf.all.forwarding", "1")
        for ns, args in setup:
            ns.ip(*args)
        yield
    finally:
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            LAB.stop_tetherd()
        for ns, args in reversed(setup):
            if args[2] == "add":
                ns.ip(*(args[:2] + ("del",) + args[3:]), check=False)
        up2.sysctl("net.ipv6.conf.all.forwarding", forwarding)
        if not ipv4:
            LAB.configure_uplink("wwan0")


class Ipv6Nat66(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = {k: LAB.app.sysctl(k) for k in SYSCTLS}
        cls.client = usb0_client()
        LAB.start_tetherd(config())

    @classmethod
    def tearDownClass(cls):
        LAB.stop_tetherd()

    def wait_client_address(self):
        L.wait_for(lambda: global6(self.client, "eth0", "fd"), timeout=30,
                   what="the client's SLAAC address from tetherd's RA")
        return global6(self.client, "eth0", "fd")[0]

    def router6(self):
        addrs = global6(LAB.app, "usb0", "fd")
        self.assertEqual(len(addrs), 1, addrs)
        return addrs[0]

    def fetch(self, check=True, timeout=5.0):
        return self.client.curl("http://[%s]/" % WWW6, check=check, timeout=timeout, args=["-g"])

    def test_1_client_gets_ula_by_slaac_resolves_aaaa_and_fetches_through_nat66(self):
        addr = self.wait_client_address()
        router = self.router6()
        self.assertTrue(router.endswith("::1"), router)
        self.assertEqual(addr.split(":")[:4], router.split(":")[:4], "the client's /64 is usb0's")
        L.wait_for(lambda: self.client.routes("default", family=6), timeout=10, what="the client's default route")
        self.assertEqual(self.client.dig(WWW6_NAME, server=router, rtype="AAAA").strip(), WWW6)
        # tetherd forwards to the upstream's IPv4 and IPv6 servers.
        with open(os.path.join(LAB.run_dir, "dnsmasq-servers.conf")) as f:
            self.assertEqual(f.read(), "server=%s\nserver=%s\n" % (DNS6_SERVER, DNS6_SERVER6))
        # The first try may race the client's duplicate address detection: a few tries.
        L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=15,
                   what="a fetch over IPv6")
        wan = global6(LAB.app, "eth0", WAN_PREFIX)
        seen = re.findall(r"^(\S+) - - ", http6_log(), re.M)
        self.assertTrue(seen and seen[-1] in wan, "the server saw %s, the appliance has %s" % (seen[-1:], wan))
        self.assertNotIn(addr, http6_log())
        # The sysctls tetherd holds while it forwards.
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.all.forwarding"), "1")
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.eth0.accept_ra"), "2")
        # usb0's link-local address skips DAD: the router answers a client's first solicitation.
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.usb0.accept_dad"), "0")
        # Shown: the downstream's IPv6 prefix and mode.
        text = LAB.tetherctl("tether", "interface", "list", check=True).stdout
        self.assertIn("ipv6=nat66", text)
        self.assertIn("ipv6_prefix=%s/64" % router[:-1], text)
        # `tether status`: nat66, usb0's mode and /64, text and --json.
        status = LAB.tetherctl("tether", "status", check=True).stdout
        self.assertIn(" ipv6=nat66 ipv6_mode=nat66 delegated=none ipv6_left=none ipv6.usb0=nat66,%s/64" % router[:-1],
                      status)
        fields = LAB.tetherctl("tether", "status", json=True, check=True).json["fields"]
        self.assertEqual((fields["ipv6"], fields["ipv6_mode"], fields["ipv6.usb0"]),
                         ("nat66", "nat66", "nat66,%s/64" % router[:-1]))
        # The client list shows the client's IPv6 address (from the neighbour table).
        self.client.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: re.search(r"(?m)^mac=%s .* ipv6=\S*%s" % (re.escape(self.client.mac), re.escape(addr)),
                                     LAB.tetherctl("client", "list").stdout),
                   timeout=10, what="the client's IPv6 address in `client list`")

    def test_2_blocked_mac_reaches_nothing_over_ipv6(self):
        self.wait_client_address()
        router = self.router6()
        L.wait_for(lambda: self.fetch(check=False) == "hello over IPv6\n", timeout=10, what="a fetch")
        LAB.tetherctl("client", "block", self.client.mac, check=True)
        try:
            self.assertEqual(self.fetch(check=False, timeout=2), "")
            answer = self.client.dig(WWW6_NAME, server=router, rtype="AAAA", check=False, timeout=1, tries=1)
            self.assertNotIn(WWW6, answer)
            self.assertIn("no servers could be reached", answer)
        finally:
            LAB.tetherctl("client", "unblock", self.client.mac, check=True)
        L.wait_for(lambda: self.fetch(check=False) == "hello over IPv6\n", timeout=10, what="a fetch once unblocked")

    def test_3_new_connections_from_the_internet_to_the_client_are_refused(self):
        addr = self.wait_client_address()
        wan = global6(LAB.app, "eth0", WAN_PREFIX)[0]
        net = ":".join(addr.split(":")[:4]) + "::/64"
        LAB.inet.ip("-6", "route", "replace", net, "via", wan)  # inet routes the ULA /64 to the appliance
        listener = self.client.popen(sys.executable, "-m", "http.server", "--bind", "::", "8000",
                                     log_name="client-http6.log")
        try:
            L.wait_for(lambda: self.client.curl("http://[%s]:8000/" % addr, check=False, args=["-g", "-o", "/dev/null",
                                                                                              "-w", "%{http_code}"]) == "200",
                       timeout=10, what="the client's own server")
            self.assertEqual(LAB.inet.curl("http://[%s]:8000/" % addr, check=False, timeout=2,
                                           args=["-g", "-o", "/dev/null", "-w", "%{http_code}"]), "000")
        finally:
            listener.terminate()
            listener.wait(5)
            LAB.inet.ip("-6", "route", "del", net, check=False)

    def test_4_admin_page_does_not_answer_on_the_upstreams_ipv6_address(self):
        wan = global6(LAB.app, "eth0", WAN_PREFIX)[0]
        self.assertEqual(LAB.inet.curl("http://[%s]:%d/" % (wan, WEB_PORT), check=False, timeout=2,
                                       args=["-g", "-o", "/dev/null", "-w", "%{http_code}"]), "000")
        self.assertIn("-A tetherd_INPUT -i eth0 -p tcp -m tcp --dport %d -j DROP" % WEB_PORT, ip6tables_save())

    def test_5_kill9_then_restart_converges_and_stop_leaves_nothing(self):
        self.wait_client_address()
        LAB.stop_tetherd(signal.SIGKILL)
        LAB.start_tetherd(config())
        L.wait_for(lambda: self.fetch(check=False) == "hello over IPv6\n", timeout=30, what="a fetch after restart")
        rules = [l for l in ip6tables_save().splitlines() if "tetherd_" in l]
        self.assertEqual(len(rules), len(set(rules)), "no rule twice:\n" + "\n".join(rules))
        self.assertEqual(len(global6(LAB.app, "usb0", "fd")), 1)
        LAB.stop_tetherd()
        self.assertNotIn("tetherd_", ip6tables_save())
        self.assertEqual(global6(LAB.app, "usb0"), [])
        for k, v in self.before.items():
            self.assertEqual(LAB.app.sysctl(k), v, k)
        # usb0's accept_dad is back to what the interface had (a new interface's default, 1).
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.usb0.accept_dad"), "1")
        self.assertEqual([f for f in os.listdir(LAB.run_dir) if not f.endswith(".sock")], [])
        LAB.start_tetherd(config())  # for tearDownClass

    def test_6_client_counted_over_ipv6_and_cut_by_its_quota(self):
        """Issue 14 over IPv6: the leased client's ULA address (from the neighbour table) gets
        counting rules in ip6tables; what it downloads over IPv6 is counted within 2 % of what
        its interface received, in `client list` with its IPv4 bytes; its quota cuts an IPv6
        download; off restores it. About 15 s."""
        addr = self.wait_client_address()
        self.client.dhcp("udhcpc", timeout=10)  # counted clients are the leased ones
        L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=15, what="a fetch")
        rule = "-A tetherd_acct_usb0 -d %s/128 -j RETURN" % addr
        L.wait_for(lambda: rule in ip6tables_save(), timeout=10,
                   what="the client's IPv6 counting rule (log:\n%s)" % LAB.tetherd_log()[-3000:])
        with open(os.path.join(LAB.dir, "www6", "big.bin"), "wb") as f:
            f.write(os.urandom(3_000_000))

        def counted():
            for line in LAB.tetherctl("client", "list").stdout.splitlines():
                f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if f.get("mac") == self.client.mac:
                    return int(f["rx_bytes"]), int(f["tx_bytes"])
            raise AssertionError("no row for %s" % self.client.mac)

        def ip_rx():
            out = self.client.run("cat", "/sys/class/net/eth0/statistics/rx_bytes",
                                  "/sys/class/net/eth0/statistics/rx_packets").stdout.split()
            return int(out[0]) - 14 * int(out[1])

        rx0, _ = counted()
        ip0 = ip_rx()
        self.client.curl("http://[%s]/big.bin" % WWW6, timeout=20, args=["-g", "-o", "/dev/null"])
        received = ip_rx() - ip0
        rx1, tx1 = counted()
        self.assertGreater(received, 3_000_000)
        print("IPv6 download: counted %d, the interface received %d (%.2f %%)"
              % (rx1 - rx0, received, 100.0 * ((rx1 - rx0) - received) / received), file=sys.stderr)
        self.assertLessEqual(abs((rx1 - rx0) - received), received * 0.02,
                             "counted %d, the interface received %d" % (rx1 - rx0, received))

        # A quota 1 MB above what it used: the IPv6 download is cut in the kernel.
        quota = rx1 + tx1 + 1_000_000
        LAB.tetherctl("client", "quota", self.client.mac, "%dB" % quota, check=True)
        L.wait_for(lambda: "-m quota --quota" in ip6tables_save(), timeout=5, what="the IPv6 quota rule")
        ip0 = ip_rx()
        r = self.client.run("curl", "-sS", "-g", "--max-time", "6", "-o", "/dev/null", "http://[%s]/big.bin" % WWW6,
                            check=False, timeout=15)
        self.assertNotEqual(r.returncode, 0, "the IPv6 download past the quota must not complete")
        received = ip_rx() - ip0
        print("IPv6 download past a quota with 1000000 left: received %d" % received, file=sys.stderr)
        self.assertLess(received, 1_300_000, "received %d past a quota with 1 MB left" % received)
        LAB.tetherctl("client", "quota", self.client.mac, "off", check=True)
        self.assertNotIn("-m quota", ip6tables_save())
        self.client.curl("http://[%s]/big.bin" % WWW6, timeout=20, args=["-g", "-o", "/dev/null"])

    def test_7_client_limit_holds_over_ipv6(self):
        """Issue 14 over IPv6: `client limit` puts the client's IPv6 address in its HTB class
        (u32 on the IPv6 header: protocol ipv6, its address at byte 24 on usb0, 8 on the ifb);
        an IPv6 download holds the limit; off lifts it. About 5 s."""
        addr = self.wait_client_address()
        self.client.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=15, what="a fetch")
        L.wait_for(lambda: "-A tetherd_acct_usb0 -d %s/128 -j RETURN" % addr in ip6tables_save(), timeout=10,
                   what="the client's IPv6 counting rule")
        with open(os.path.join(LAB.dir, "www6", "1mb.bin"), "wb") as f:
            f.write(os.urandom(1_000_000))
        limit = 4_000_000
        LAB.tetherctl("client", "limit", self.client.mac, "4Mbit", "4Mbit", check=True)
        word = "".join("%02x" % b for b in ipaddress.IPv6Address(addr).packed[:4])
        L.wait_for(lambda: "%s/ffffffff at 24" % word in LAB.app.run("tc", "filter", "show", "dev", "usb0").stdout,
                   timeout=5, what="the IPv6 filter on usb0")
        self.assertIn("%s/ffffffff at 8" % word, LAB.app.run("tc", "filter", "show", "dev", "tifb-usb0").stdout)

        def speed():  # bits per second of a 1 MB download over IPv6
            out = self.client.curl("http://[%s]/1mb.bin" % WWW6, timeout=15,
                                   args=["-g", "-o", "/dev/null", "-w", "%{speed_download}"])
            return float(out) * 8
        limited = speed()
        print("IPv6 download under a 4 Mbit/s limit: %.0f bit/s (%.2f)" % (limited, limited / limit), file=sys.stderr)
        self.assertLessEqual(limited, limit * 1.1, "%d bit/s under a %d limit" % (limited, limit))
        self.assertGreaterEqual(limited, limit * 0.7, "%d bit/s under a %d limit" % (limited, limit))
        LAB.tetherctl("client", "limit", self.client.mac, "off", check=True)
        self.assertGreater(speed(), limit * 3)

    def dhclient6(self, *flags):
        """A real DHCPv6 client (ISC dhclient -6, once), its script's environment as a dict."""
        env = os.path.join(self.client.dir, "dhclient6.env")
        script = os.path.join(self.client.dir, "dhclient6.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nenv > %s.$reason\n" % env)
        os.chmod(script, 0o755)
        self.client.run("dhclient", "-6", *flags, "-1", "-sf", script, "-lf", os.path.join(self.client.dir, "dhclient6.leases"),
                        "-pf", os.path.join(self.client.dir, "dhclient6.pid"), "eth0", timeout=20)
        got = {}
        for name in os.listdir(self.client.dir):
            if name.startswith("dhclient6.env."):
                with open(os.path.join(self.client.dir, name)) as f:
                    got.update(dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l))
        return got

    def test_8_dhcpv6_gives_dns_and_the_local_domain_and_stateful_addresses(self):
        # Stateless (the default): DHCPv6 answers an information request with tetherd's DNS
        # server and the local domain (also sent as DNSSL in the RAs).
        self.wait_client_address()
        router = self.router6()
        env = self.dhclient6("-S")
        self.assertIn(router, env.get("new_dhcp6_name_servers", ""), env)
        self.assertIn("lan", env.get("new_dhcp6_domain_search", ""), env)
        # The client's DHCP host name answers in the local domain.
        ip4 = self.client.dhcp("udhcpc", timeout=10, hostname="phone6")
        self.assertEqual(self.client.dig("phone6.lan", server=router).strip(), ip4)
        # Stateful: an address from DHCPv6 (::1000-::ffff of usb0's /64), SLAAC kept.
        LAB.stop_tetherd()
        LAB.start_tetherd(config("ipv6_dhcp = stateful\n"))
        self.wait_client_address()
        env = self.dhclient6()
        addr = env.get("new_ip6_address", "")
        self.assertTrue(addr.startswith(self.router6()[:-1]), env)
        self.assertGreaterEqual(int(addr.rsplit(":", 1)[1], 16), 0x1000, addr)
        LAB.stop_tetherd()
        LAB.start_tetherd(config())  # for tearDownClass

    def test_9_ipv6_leaves_by_the_priority_upstream_not_the_kernels_choice(self):
        """Issue 13 point 1 over IPv6: wwan0 gets a static IPv6 default at metric 100, which
        main prefers to eth0's RA-learnt one (1024); the priority list says eth0 first. The
        client's IPv6 traffic leaves by eth0 (the server sees eth0's address) through
        tetherd's table and rules for IPv6; a kill -9's are replaced by the next run's; after a stop
        nothing of them is left. About 9 s."""
        self.wait_client_address()
        LAB.stop_tetherd()
        app, up2 = LAB.app, LAB.up2
        up2.ip("-6", "addr", "add", "2001:db8:2::1/64", "dev", "to-app", "nodad")
        app.ip("-6", "addr", "add", "2001:db8:2::2/64", "dev", "wwan0", "nodad")
        app.ip("-6", "route", "add", "default", "via", "2001:db8:2::1", "dev", "wwan0", "metric", "100")
        try:
            self.assertIn("dev wwan0", app.run("ip", "-6", "route", "get", WWW6).stdout)  # main's choice
            LAB.start_tetherd(config(priority="eth0 wwan0"))
            L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=20,
                       what="a fetch over IPv6 (log:\n%s)" % LAB.tetherd_log()[-3000:])
            wan = global6(app, "eth0", WAN_PREFIX)
            seen = re.findall(r"^(\S+) - - ", http6_log(), re.M)
            self.assertIn(seen[-1], wan, "the server saw %s, eth0 has %s" % (seen[-1], wan))
            rules, routes = own_policy6()
            self.assertIn("9201:\tfrom all iif usb0 lookup 9200", rules)
            self.assertIn("9200:\tfrom all iif usb0 lookup main suppress_prefixlength 0", rules)
            self.assertIn("9202:\tfrom all oif wwan0 lookup 9201", rules)
            self.assertTrue([r for r in routes if r.startswith("default via fe80::") and " dev eth0 table 9200 " in r],
                            routes)
            self.assertTrue([r for r in routes if r.startswith("default via 2001:db8:2::1 dev wwan0 table 9201 ")],
                            routes)
            # A crash leaves them; the next run removes what is not its own any more (an older
            # run's leftovers in the range) and converges on the same.
            LAB.stop_tetherd(signal.SIGKILL)
            app.ip("-6", "rule", "add", "pref", "9250", "lookup", "9263")
            app.ip("-6", "route", "add", "default", "via", "fe80::99", "dev", "eth0", "table", "9263")
            LAB.start_tetherd(config(priority="eth0 wwan0"))
            L.wait_for(lambda: tuple(map(sorted, own_policy6())) == (sorted(rules), sorted(routes)), timeout=10,
                       what="the same IPv6 rules and routes after kill -9:\n%s" % (own_policy6(),))
            LAB.stop_tetherd()
            self.assertEqual(own_policy6(), ([], []))
        finally:
            if LAB.tetherd is not None and LAB.tetherd.poll() is None:
                LAB.stop_tetherd()
            app.ip("-6", "route", "del", "default", "via", "2001:db8:2::1", "dev", "wwan0", check=False)
            app.ip("-6", "addr", "del", "2001:db8:2::2/64", "dev", "wwan0", check=False)
            up2.ip("-6", "addr", "del", "2001:db8:2::1/64", "dev", "to-app", check=False)
            LAB.start_tetherd(config())  # for tearDownClass

    def test_9b_a_candidate_without_ipv4_is_probed_over_ipv6(self):
        """Issue 13 point 2 over IPv6: wwan0 has IPv6 only (its IPv4 address removed; up2
        routes 2001:db8:2::/64 to inet). With validation on, its health probe asks its IPv6
        DNS server for AAAA and fetches the probe URL over IPv6, bound to wwan0 and from its
        own address: `upstream list` shows it validated, and the DNS server and the web
        server saw wwan0's address. About 1 s."""
        LAB.stop_tetherd()
        http = LAB.inet.popen(sys.executable, "-u", os.path.join(os.path.dirname(L.__file__), "inet_http.py"),
                              "--bind", WWW6, "--port", "8080", log_name="inet-http6-204.log")
        try:
            with wwan0_ipv6_via_up2(ipv4=False):
                LAB.start_tetherd(config(priority="eth0 wwan0", upstream=(
                    "validation = on\nprobe_url = http://%s:8080/status/204\nprobe_fallback_url =\n" % WWW6_NAME)))

                def probed():
                    with open(os.path.join(LAB.dir, "inet-http6-204.log"), errors="replace") as f:
                        return "inet-http: 2001:db8:2::2 " in f.read()

                def wwan0():  # validation=<state> last_probe=<when or none>
                    m = re.search(r"^wwan0 priority=.*(validation=\S+ last_probe=\S+)",
                                  LAB.tetherctl("upstream", "list").stdout, re.M)
                    return m.group(1) if m else None
                L.wait_for(probed, timeout=10, what="wwan0's probe at the IPv6 web server (log:\n%s)"
                           % LAB.tetherd_log()[-2000:])
                L.wait_for(lambda: re.match(r"validation=validated last_probe=\d", wwan0() or ""), timeout=5,
                           what="wwan0 validated by its probe (now %s)" % wwan0())
                with open(os.path.join(LAB.dir, "inet-dns6.log"), errors="replace") as f:
                    self.assertIn("query[AAAA] %s from 2001:db8:2::2" % WWW6_NAME, f.read())
        finally:
            http.terminate()
            http.wait(5)
            LAB.start_tetherd(config())  # for tearDownClass

    def test_9c_an_ipv6_only_upstream_is_selected_and_the_client_fetches_through_it(self):
        """Issue 13: the only candidate, wwan0, has IPv6 only (no IPv4 address or default; an
        IPv6 address and default via up2, which routes 2001:db8:2::/64 to inet). It is selected
        (before, the choice looked at IPv4 default routes only and nothing was), the client's
        IPv6 leaves by it through nat66 (the server sees wwan0's address) by tetherd's table,
        and `upstream list` says why. About 5 s."""
        self.wait_client_address()
        LAB.stop_tetherd()
        app = LAB.app
        try:
            with wwan0_ipv6_via_up2(ipv4=False):
                self.assertEqual(app.run("ip", "-4", "route", "show", "dev", "wwan0").stdout.strip(), "")
                LAB.start_tetherd(config(priority="wwan0"))
                L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=20,
                           what="a fetch over IPv6 through wwan0 (log:\n%s)" % LAB.tetherd_log()[-3000:])
                seen = re.findall(r"^(\S+) - - ", http6_log(), re.M)
                self.assertEqual(seen[-1], "2001:db8:2::2", "the server saw %s, not wwan0's address" % seen[-1])
                listing = LAB.tetherctl("upstream", "list", check=True).stdout
                self.assertRegex(listing, r"(?m)^wwan0 priority=1 .*route=no .*selected=yes .*route6=yes dns6=%s .*"
                                 r"reason=\"IPv6 only, no candidate usable with IPv4: first usable by priority; "
                                 r"validation off\"" % re.escape(DNS6_SERVER6))
                rules, routes = own_policy6()
                self.assertIn("9201:\tfrom all iif usb0 lookup 9200", rules)
                self.assertTrue([r for r in routes if r.startswith("default via 2001:db8:2::1 dev wwan0 table 9200 ")],
                                routes)
                # dnsmasq forwards to wwan0's IPv6 server only: its IPv4 one is out of reach through it.
                with open(os.path.join(LAB.run_dir, "dnsmasq-servers.conf")) as f:
                    self.assertEqual(f.read(), "server=%s\n" % DNS6_SERVER6)
        finally:
            LAB.start_tetherd(config())  # for tearDownClass



    def test_9d_a_switch_removes_the_ipv6_flows_nated_to_the_old_upstream(self):
        """Issue 13: the conntrack flush at a switch covers nat66. A client's long-lived UDP
        flow over IPv6 is masqueraded to eth0's address; a new priority list moves tethering to
        wwan0 while eth0 stays up (the kernel's masquerade notifiers remove nothing then): the
        flow's entry with eth0's address is gone and its next packets are NATed to wwan0's
        IPv6 address. About 6 s."""
        self.wait_client_address()
        LAB.stop_tetherd()
        app = LAB.app
        port = 40124
        sender = ("import socket, time\n"
                  "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                  "s.bind(('::', %d))\n"
                  "for _ in range(1200):\n"
                  "    try:\n"
                  "        s.sendto(b'ping', ('%s', 9999))\n"
                  "    except OSError:\n"
                  "        pass\n"
                  "    time.sleep(0.05)\n" % (port, WWW6))

        def nated_to():
            """The address each IPv6 conntrack entry of the flow is NATed to (its reply's dst)."""
            out = []
            for line in app.run("cat", "/proc/net/nf_conntrack").stdout.splitlines():
                if not line.startswith("ipv6") or " udp " not in line or "sport=%d " % port not in line:
                    continue
                dsts = re.findall(r"\bdst=(\S+)", line)
                if len(dsts) == 2:
                    out.append(ipaddress.ip_address(dsts[1]).compressed)
            return sorted(out)
        proc = None
        try:
            with wwan0_ipv6_via_up2(ipv4=True):
                LAB.start_tetherd(config(priority="eth0 wwan0"))
                L.wait_for(lambda: self.fetch(check=False, timeout=2) == "hello over IPv6\n", timeout=20,
                           what="a fetch over IPv6 (log:\n%s)" % LAB.tetherd_log()[-3000:])
                wan = global6(app, "eth0", WAN_PREFIX)
                proc = self.client.popen("python3", "-c", sender, log_name="udp6-sender.log")
                L.wait_for(lambda: nated_to() and set(nated_to()) <= set(wan), timeout=5,
                           what="the UDP flow NATed to eth0's address %s: %s" % (wan, nated_to()))
                old = nated_to()[0]
                LAB.tetherctl("upstream", "set-priority", "wwan0", "eth0", check=True)
                L.wait_for(lambda: nated_to() == ["2001:db8:2::2"], timeout=3,
                           what="the flow NATed to wwan0's address only: %s (log:\n%s)" % (
                               nated_to(), LAB.tetherd_log()[-2000:]))
                # The flow (and the fetch's TCP connection if its entry is still there).
                self.assertRegex(LAB.tetherd_log(), r"removed [1-9]\d* flow\(s\) NATed to %s \(eth0\)" % re.escape(old))
                # wwan0's static default (a global gateway) went into the table eth0 had: its
                # on-link prefix with it, else the kernel refuses it.
                self.assertNotIn("policy routing:", LAB.tetherd_log())
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(5)
            LAB.start_tetherd(config())  # for tearDownClass


class Ipv6Relay(unittest.TestCase):
    """ipv6 = auto with eth0's SLAAC /64 and no delegation: relay (issue 12 point 3)."""

    @classmethod
    def setUpClass(cls):
        cls.before = {k: LAB.app.sysctl(k) for k in SYSCTLS}
        cls.client = usb0_client()
        cls.client.ip("-6", "addr", "flush", "dev", "eth0", "scope", "global")  # nat66's ULA
        LAB.start_tetherd(config(ipv6="auto"))

    @classmethod
    def tearDownClass(cls):
        LAB.stop_tetherd()

    def fetch(self, check=False, timeout=2.0):
        return self.client.curl("http://[%s]/" % WWW6, check=check, timeout=timeout, args=["-g"])

    def client_address(self):
        L.wait_for(lambda: global6(self.client, "eth0", WAN_PREFIX), timeout=30,
                   what="the client's SLAAC address in eth0's /64 (log:\n%s)" % LAB.tetherd_log()[-2000:])
        return global6(self.client, "eth0", WAN_PREFIX)[0]

    def test_1_auto_relays_the_upstreams_slash64_and_the_server_sees_the_client(self):
        addr = self.client_address()
        router = global6(LAB.app, "usb0", WAN_PREFIX)
        self.assertEqual(len(router), 1, router)
        router = router[0]
        self.assertRegex(router, r"^2001:db8:1::ffff:[0-9a-f]+$")
        # usb0's address has no prefix route: eth0's on-link /64 stays the appliance's own.
        self.assertIn("noprefixroute", LAB.app.run("ip", "-6", "addr", "show", "dev", "usb0").stdout)
        self.assertNotIn("usb0", LAB.app.run("ip", "-6", "route", "show", "2001:db8:1::/64").stdout)
        # The client got the /64 off-link (no on-link route), and its default route from usb0.
        self.assertEqual(self.client.run("ip", "-6", "route", "show", "2001:db8:1::/64").stdout.strip(), "")
        L.wait_for(lambda: self.client.routes("default", family=6), timeout=10, what="the client's default route")
        # DNS through tetherd (its reply finds the client by its /128 once the address is
        # learnt: the first query may be lost while it is looked for).
        L.wait_for(lambda: self.client.dig(WWW6_NAME, server=router, rtype="AAAA", check=False, timeout=1,
                                           tries=1).strip() == WWW6, timeout=10, what="the AAAA through tetherd")
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n", timeout=15, what="a fetch over IPv6 in relay")
        seen = re.findall(r"^(\S+) - - ", http6_log(), re.M)
        self.assertEqual(seen[-1], addr, "the server sees the client's own address")
        self.assertNotIn("MASQUERADE", LAB.app.run("ip6tables-legacy-save", "-t", "nat", check=False).stdout)
        # The kernel state: a /128 back to usb0, a proxy entry on eth0, proxy_ndp on eth0.
        self.assertIn("dev usb0", LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout)
        self.assertIn(addr, LAB.app.run("ip", "-6", "neigh", "show", "proxy", "dev", "eth0").stdout)
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.eth0.proxy_ndp"), "1")
        status = LAB.tetherctl("tether", "status", check=True).stdout
        self.assertIn(" ipv6=auto ipv6_mode=relay delegated=none ipv6_left=none ipv6.usb0=relay,2001:db8:1::/64", status)
        self.assertIn("ipv6=relay", LAB.tetherctl("tether", "interface", "list", check=True).stdout)
        # `tether doctor` says relay is in force, with the /64 and the proxied addresses.
        self.assertRegex(LAB.tetherctl("tether", "doctor", check=True).stdout,
                         r"ok relay active: upstream eth0's /64 2001:db8:1::/64 shared with usb0, [1-9][0-9]* client "
                         r"address(es)? proxied")
        # How the client's address was found (the NsWatch trigger, or the client's own solicitation).
        print("\n".join(l for l in LAB.tetherd_log().splitlines() if "IPv6 relay" in l)[-1500:], file=sys.stderr)

    def proxied(self, addr):
        """eth0 answers NDP for addr (a proxy entry) and a /128 leads back to usb0."""
        return (addr in LAB.app.run("ip", "-6", "neigh", "show", "proxy", "dev", "eth0").stdout,
                "dev usb0" in LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout)

    def test_2_blocked_mac_reaches_nothing_over_ipv6_in_relay(self):
        addr = self.client_address()
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n", timeout=15, what="a fetch")
        self.assertEqual(self.proxied(addr), (True, True))
        LAB.tetherctl("client", "block", self.client.mac, check=True)
        try:
            # At once: eth0 no longer answers the router for the blocked client, no route back.
            L.wait_for(lambda: self.proxied(addr) == (False, False), timeout=2,
                       what="the blocked client's proxy entry and /128 removed")
            self.assertEqual(self.fetch(), "")
            self.assertEqual(self.proxied(addr), (False, False), "not relayed again while blocked")
            router = global6(LAB.app, "usb0", WAN_PREFIX)[0]
            answer = self.client.dig(WWW6_NAME, server=router, rtype="AAAA", check=False, timeout=1, tries=1)
            self.assertNotIn(WWW6, answer)
        finally:
            LAB.tetherctl("client", "unblock", self.client.mac, check=True)
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n", timeout=10, what="a fetch once unblocked")
        self.assertEqual(self.proxied(addr), (True, True), "relayed again once unblocked")

    def test_3_a_second_downstream_is_relayed_too(self):
        laptop = LAB.add_downstream("wlan0", client="laptop6")
        L.wait_for(lambda: global6(laptop, "eth0", WAN_PREFIX), timeout=30, what="the laptop's address in eth0's /64")
        addr = global6(laptop, "eth0", WAN_PREFIX)[0]
        wlan0 = global6(LAB.app, "wlan0", WAN_PREFIX)
        self.assertEqual(len(wlan0), 1, wlan0)
        self.assertNotEqual(wlan0, global6(LAB.app, "usb0", WAN_PREFIX))
        L.wait_for(lambda: laptop.curl("http://[%s]/" % WWW6, check=False, timeout=2, args=["-g"]) == "hello over IPv6\n",
                   timeout=15, what="the laptop's fetch over IPv6")
        self.assertEqual(re.findall(r"^(\S+) - - ", http6_log(), re.M)[-1], addr)
        self.assertIn("dev wlan0", LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout)
        self.assertEqual(self.fetch(), "hello over IPv6\n")  # usb0's client still relayed

    def test_4_kill9_and_stop_leave_no_proxy_entry_route_address_or_sysctl(self):
        addr = self.client_address()
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n", timeout=15, what="a fetch")
        # kill -9: the next run (IPv6 off now) removes what the killed one left.
        LAB.stop_tetherd(signal.SIGKILL)
        self.assertIn(addr, LAB.app.run("ip", "-6", "neigh", "show", "proxy", "dev", "eth0").stdout)
        LAB.start_tetherd(config(ipv6="off"))
        L.wait_for(lambda: LAB.app.run("ip", "-6", "neigh", "show", "proxy").stdout.strip() == "", timeout=5,
                   what="the killed run's proxy entries removed")
        self.assertEqual(LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout.strip(), "")
        self.assertEqual(global6(LAB.app, "usb0") + global6(LAB.app, "wlan0"), [])
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.eth0.proxy_ndp"), self.before["net.ipv6.conf.eth0.proxy_ndp"])
        LAB.stop_tetherd()
        # And a plain stop after relaying.
        LAB.start_tetherd(config(ipv6="auto"))
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n", timeout=15, what="a fetch after the restart")
        self.assertEqual(LAB.stop_tetherd(), 0)
        self.assertEqual(LAB.app.run("ip", "-6", "neigh", "show", "proxy").stdout.strip(), "")
        self.assertEqual(LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout.strip(), "")
        self.assertEqual(global6(LAB.app, "usb0"), [])
        for k, v in self.before.items():
            self.assertEqual(LAB.app.sysctl(k), v, k)
        self.assertEqual([f for f in os.listdir(LAB.run_dir) if not f.endswith(".sock")], [])

    def test_5_kill9_at_random_points_converges_and_stop_leaves_nothing(self):
        """kill -9 of tetherd at random points while relaying, RELAY_KILL_ROUNDS times
        (TETHERD_KILL_SEED replays a run): each next run removes what the killed one left
        (run_dir/relay-hosts) and relays again; then the client fetches from its own address,
        relayed once; after the last stop nothing of relay's is left."""
        seed = int(os.environ.get("TETHERD_KILL_SEED") or int(time.time()))
        rng = random.Random(seed)
        LAB.start_tetherd(config(ipv6="auto"))
        addr = self.client_address()
        for _ in range(RELAY_KILL_ROUNDS):
            time.sleep(rng.uniform(0.0, 1.5))
            LAB.stop_tetherd(signal.SIGKILL)
            LAB.start_tetherd(config(ipv6="auto"))
        L.wait_for(lambda: self.fetch() == "hello over IPv6\n" and re.findall(r"^(\S+) - - ", http6_log(), re.M)[-1] == addr,
                   timeout=20, what="a fetch from the client's own address after %d kill -9 (seed %d)" % (RELAY_KILL_ROUNDS, seed))
        proxies = LAB.app.run("ip", "-6", "neigh", "show", "proxy").stdout.split()
        self.assertEqual(proxies.count(addr), 1, "one proxy entry (seed %d)" % seed)
        self.assertEqual(len(LAB.app.run("ip", "-6", "route", "show", addr + "/128").stdout.strip().splitlines()), 1)
        with open(os.path.join(LAB.run_dir, "relay-hosts")) as f:
            self.assertIn("usb0 eth0 %s\n" % addr, f.read())
        self.assertEqual(LAB.app.sysctl("net.ipv6.conf.eth0.proxy_ndp"), "1")
        self.assertEqual(LAB.stop_tetherd(), 0)
        self.assertEqual(LAB.app.run("ip", "-6", "neigh", "show", "proxy").stdout.strip(), "")
        self.assertEqual([r for r in LAB.app.run("ip", "-6", "route", "show").stdout.splitlines()
                          if r.startswith(WAN_PREFIX) and not re.search(r" dev eth0\b", r)], [],
                         "no route into the /64 left but eth0's own")
        for k, v in self.before.items():
            self.assertEqual(LAB.app.sysctl(k), v, k)
        self.assertEqual([f for f in os.listdir(LAB.run_dir) if not f.endswith(".sock")], [])
        sys.stderr.write("relay kill -9 rounds: %d (seed %d)\n" % (RELAY_KILL_ROUNDS, seed))


RELAY_KILL_ROUNDS = int(os.environ.get("TETHERD_KILL_ROUNDS", "6"))


if __name__ == "__main__":
    unittest.main()
