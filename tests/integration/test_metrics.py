"""Issue 17 point 4, Prometheus metrics, in the namespace lab: tetherd with the page enabled and
no admin password set, a phone tethered on usb0 that downloads 300 kB through eth0.
  - a scrape from loopback in the appliance namespace (no login, no token) passes
    `promtool check metrics` (Prometheus text 0.0.4, what curl is given), and its numbers are
    sane: the bytes sent to usb0 exceed what the phone downloaded, one client, usb0 tethered,
    eth0 selected, dnsmasq and hostapd restarts reported;
  - the same scrape as Prometheus asks for it (Accept: application/openmetrics-text) is
    OpenMetrics 1.0.0 (its content type, # EOF) and parses with the Python client's strict
    OpenMetrics parser, with the same samples;
  - from the phone (a downstream address): 401 without the token or with a wrong one, 200 with
    [web] metrics_token as a bearer token; the token is never in tetherd's log;
  - from the upstream side (inet, to eth0's address): no answer at all, token or not;
  - usb0's dnsmasq killed: tetherd_dnsmasq_restarts_total counts the supervisor's restart;
  - [web] https = on: plain HTTP still serves loopback's scrape, redirects the phone's, and the
    token works over HTTPS.
Bounded: two tetherd runs of ~5 s each."""
import os
import re
import signal
import subprocess
import unittest

import support
from support import lab as L

PORT = 18084
HTTPS_PORT = 18444
TOKEN = "lab-metrics-token-0123456789"
DOWNLOAD = 300000
OPENMETRICS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

# Parses OpenMetrics strictly (python3-prometheus-client) and prints "name{labels} value" lines.
OM_PARSE = r'''
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        print("%s{%s} %s" % (s.name, ",".join("%s=%s" % kv for kv in sorted(s.labels.items())), s.value))
'''

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition text (simple label values only)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read()
    except OSError:
        return ""


def setUpModule():
    support.require_lab()
    support.require_binaries()
    for tool in ("promtool", "/usr/bin/python3"):
        if subprocess.run(["sh", "-c", "command -v %s" % tool], capture_output=True).returncode != 0:
            raise RuntimeError("test_metrics needs %s (scripts/install-deps.sh: prometheus, python3-prometheus-client)" % tool)


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.lab = L.Lab().start()
        self.addCleanup(self.lab.teardown)
        self.phone = self.lab.add_downstream("usb0", client="phone")

    def curl(self, ns, url, *args, timeout=5):
        r = ns.run("curl", "-sS", "-D", "-", "--max-time", str(timeout), *args, url, check=False, timeout=timeout + 5)
        head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")  # (text mode: already \n)
        code = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else None
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in head.splitlines()[1:])}
        return code, headers, body, r.stderr

    def test_scrape_check_and_access(self):
        self.lab.start_tetherd(self.lab.default_config() +
                               "\n[web]\nenabled = yes\nport = %d\nmetrics_token = %s\n" % (PORT, TOKEN))
        self.phone.dhcp("udhcpc", hostname="phone")
        L.wait_for(lambda: "192.168.42.1:%d" % PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="the page listening on the downstream")
        got = self.phone.curl("http://%s/bytes/%d" % (L.INET_WWW, DOWNLOAD), timeout=20)
        self.assertEqual(len(got), DOWNLOAD)

        # Loopback, as curl asks: text 0.0.4, and promtool is happy with it.
        local = "http://127.0.0.1:%d/metrics" % PORT
        code, headers, text, err = self.curl(self.lab.app, local)
        self.assertEqual(code, 200, text + err)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        check = self.lab.app.run("promtool", "check", "metrics", input=text, check=False)
        self.assertEqual(check.returncode, 0, "promtool check metrics:\n%s%s\n---\n%s" % (check.stdout, check.stderr, text))
        s = samples(text)
        sent = value(s, "tetherd_downstream_sent_bytes_total", downstream="usb0", upstream="eth0")
        self.assertIsNotNone(sent, text)
        self.assertGreater(sent, DOWNLOAD, "more than the phone downloaded went to usb0 (headers, DHCP aside)")
        # Packets: a few dozen (veths pass GSO packets of up to 64 kB, counted once each).
        self.assertGreater(value(s, "tetherd_downstream_sent_packets_total", downstream="usb0", upstream="eth0"), 4)
        self.assertGreater(value(s, "tetherd_downstream_received_bytes_total", downstream="usb0", upstream="eth0"), 0)
        self.assertGreater(value(s, "tetherd_downstream_received_packets_total", downstream="usb0", upstream="eth0"), 0)
        self.assertEqual(value(s, "tetherd_downstream_clients", downstream="usb0"), 1, text)
        self.assertEqual(value(s, "tetherd_downstream_state", downstream="usb0", kind="usb", state="tethered"), 1)
        self.assertEqual(value(s, "tetherd_downstream_state", downstream="usb0", kind="usb", state="failed"), 0)
        self.assertEqual(value(s, "tetherd_upstream_selected", upstream="eth0"), 1)
        self.assertEqual(value(s, "tetherd_upstream_selected", upstream="wwan0"), 0)
        self.assertEqual(value(s, "tetherd_upstream_state", upstream="eth0", state="ready"), 1)
        self.assertEqual(value(s, "tetherd_tethering_state", state="TetherModeAlive"), 1)
        self.assertEqual(value(s, "tetherd_dnsmasq_running", downstream="usb0"), 1)
        self.assertEqual(value(s, "tetherd_dnsmasq_restarts_total", downstream="usb0"), 0)
        self.assertEqual(value(s, "tetherd_hostapd_restarts_total", interface="wlan0"), 0)
        self.assertEqual(value(s, "tetherd_tethering_errors_total"), 0)
        # The same counters as `tether stats`, read a moment later: never less.
        stats = self.lab.tetherctl("tether", "stats", check=True).stdout
        m = re.search(r"usb0 eth0 rx_bytes=(\d+)", stats)
        self.assertTrue(m, stats)
        self.assertGreaterEqual(int(m.group(1)), sent)

        # As Prometheus asks: OpenMetrics, strictly parsed, the same samples.
        code, headers, om, err = self.curl(self.lab.app, local, "-H", "Accept: " + OPENMETRICS_ACCEPT)
        self.assertEqual(code, 200, om + err)
        self.assertEqual(headers["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.assertTrue(om.endswith("# EOF\n"), om[-200:])
        self.assertIn("# UNIT tetherd_downstream_sent_bytes bytes\n", om)
        parsed = self.lab.app.run("/usr/bin/python3", "-c", OM_PARSE, input=om, check=False)
        self.assertEqual(parsed.returncode, 0, parsed.stderr + "\n---\n" + om)
        self.assertEqual(set(samples(om)), set(samples(text)))

        # From the phone: only with the token.
        remote = "http://192.168.42.1:%d/metrics" % PORT
        code, headers, body, err = self.curl(self.phone, remote)
        self.assertEqual(code, 401, body + err)
        self.assertEqual(headers.get("www-authenticate"), 'Bearer realm="tetherd metrics"')
        code, _, body, err = self.curl(self.phone, remote, "-H", "Authorization: Bearer " + TOKEN[:-1] + "X")
        self.assertEqual(code, 401, body + err)
        code, _, body, err = self.curl(self.phone, remote, "-H", "Authorization: Bearer " + TOKEN)
        self.assertEqual(code, 200, body + err)
        self.assertIn('tetherd_downstream_clients{downstream="usb0"} 1\n', body)

        # From the upstream side: nothing answers, token or not.
        upstream = "http://%s:%d/metrics" % (L.APP_ETH0, PORT)
        for extra in ((), ("-H", "Authorization: Bearer " + TOKEN)):
            code, _, body, err = self.curl(self.lab.inet, upstream, "--connect-timeout", "2", *extra, timeout=3)
            self.assertIsNone(code, body + err)

        # usb0's dnsmasq killed: the supervisor's restart is counted.
        old = [p for p in self.lab.app.pids() if "--interface=usb0" in cmdline(p)]
        self.assertEqual(len(old), 1)
        os.kill(old[0], signal.SIGKILL)

        def restarts():
            _, _, t, _ = self.curl(self.lab.app, local)
            return value(samples(t), "tetherd_dnsmasq_restarts_total", downstream="usb0")
        L.wait_for(lambda: restarts() == 1, timeout=10, what="the dnsmasq restart counted")

        self.assertNotIn(TOKEN, self.lab.tetherd_log())
        self.assertIsNone(self.lab.tetherd.poll(), self.lab.tetherd_log()[-3000:])

    def test_https_on(self):
        # Plain HTTP only redirects, but not this machine's scrape (no secret in it): a local
        # Prometheus needs no certificate. The token goes over TLS only.
        self.lab.start_tetherd(self.lab.default_config() + "\n[web]\nenabled = yes\nport = %d\nhttps = on\n"
                               "https_port = %d\nmetrics_token = %s\n" % (PORT, HTTPS_PORT, TOKEN))
        self.phone.dhcp("udhcpc", hostname="phone")
        L.wait_for(lambda: "192.168.42.1:%d" % HTTPS_PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="HTTPS listening on the downstream")
        code, _, text, err = self.curl(self.lab.app, "http://127.0.0.1:%d/metrics" % PORT)
        self.assertEqual(code, 200, text + err)
        self.assertIn('tetherd_downstream_clients{downstream="usb0"} 1\n', text)
        code, headers, body, err = self.curl(self.phone, "http://192.168.42.1:%d/metrics" % PORT,
                                             "-H", "Authorization: Bearer " + TOKEN)
        self.assertEqual(code, 308, body + err)
        self.assertEqual(headers.get("location"), "https://192.168.42.1:%d/metrics" % HTTPS_PORT)
        code, _, body, err = self.curl(self.phone, "https://192.168.42.1:%d/metrics" % HTTPS_PORT, "-k")
        self.assertEqual(code, 401, body + err)
        code, _, body, err = self.curl(self.phone, "https://192.168.42.1:%d/metrics" % HTTPS_PORT, "-k",
                                       "-H", "Authorization: Bearer " + TOKEN)
        self.assertEqual(code, 200, body + err)


if __name__ == "__main__":
    unittest.main()
