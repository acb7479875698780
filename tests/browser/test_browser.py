"""The web admin page's acceptance in the namespace lab, in a real browser.

tetherd runs in the lab's appliance with [web] enabled; a client ("phone") on usb0 gets a DHCP
lease; Debian's chromium, driven by playwright-core (admin_page.mjs), runs inside that client's
namespace and goes through the whole page: first-run password, login, dashboard, the client in
the Clients list, the SSID change, a 7-character passphrase refused, the QR code, the traffic
graph moving while the client downloads from the lab's internet, settings, logout. Screenshots
of every page (desktop and 390x844) go to artifacts/screenshots/.

Why the client's namespace and not localhost: that is where users are. The browser reaches
tetherd on the downstream's own address through the tether (which proves the listener followed
the downstream), and it is itself the client the Clients page must show.

Then the security checks from outside the browser: a session cookie without its CSRF token is
refused; wrong passwords get rate-limited; and from the upstream side (the lab's "internet")
neither the appliance's eth0 address nor the downstream address routed through eth0 answers.

Nothing is skipped: a missing chromium, node or npm package is an error.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TETHERD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))

import support  # noqa: E402
from support import lab as L  # noqa: E402

PORT = 18080  # not the default: the configured port is the one that is served and firewalled
SCREENSHOTS = os.path.join(SOURCE_DIR, "artifacts", "screenshots")
CHROMIUM = "/usr/bin/chromium"


def setUpModule():
    support.require_lab()
    support.require_binaries()
    missing = [name for name, path in (("chromium", CHROMIUM), ("node", shutil.which("node")), ("npm", shutil.which("npm")))
               if not path or not os.access(path, os.X_OK)]
    if missing:
        raise AssertionError("the browser test needs %s (scripts/install-deps.sh installs them)" % ", ".join(missing))
    # The exact playwright-core of package-lock.json (offline when npm's cache has it).
    r = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("npm ci in tests/browser failed:\n%s%s" % (r.stdout, r.stderr))


class AdminPageTest(unittest.TestCase):
    def setUp(self):
        self.lab = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        self.phone = self.lab.add_downstream("usb0", client="phone")
        config = self.lab.default_config() + "\n[web]\nenabled = yes\nport = %d\n" % PORT
        self.lab.start_tetherd(config)
        self.addr = self.phone.dhcp("udhcpc", hostname="phone")
        self.url = "http://192.168.42.1:%d/" % PORT
        L.wait_for(lambda: "192.168.42.1:%d" % PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="the web page listening on the downstream (log:\n%s)" % self.lab.tetherd_log()[-2000:])

    def teardown_lab(self):
        prefix = self.lab.prefix
        if self.lab.tetherd is not None and self.lab.tetherd.poll() is None:
            self.assertEqual(self.lab.stop_tetherd(signal.SIGTERM), 0, self.lab.tetherd_log()[-3000:])
        # tetherd's stop took its chains away, tetherd_INPUT included.
        rules = self.lab.app.run("iptables-legacy", "-S", check=False).stdout
        self.assertNotIn("tetherd_", rules)
        self.lab.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def curl(self, ns, *args, timeout=5):
        """curl in a namespace: (exit status, status code or None, headers+body)."""
        r = ns.run("curl", "-sS", "-i", "--max-time", str(timeout), "--connect-timeout", str(timeout), *args,
                   check=False, timeout=timeout + 5)
        code = None
        if r.stdout.startswith("HTTP/"):
            code = int(r.stdout.split(" ", 2)[1])
        return r.returncode, code, r.stdout + r.stderr

    def test_admin_page_in_a_real_browser(self):
        started = time.monotonic()
        os.makedirs(SCREENSHOTS, exist_ok=True)
        # First use from the phone needs the one-time code tetherd logged; nobody else may set it.
        status, code, out = self.curl(self.phone, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"a hostile first user"}', self.url + "api/setup")
        self.assertEqual(code, 403, out)
        self.assertIn("tetherctl web setup-code", out)
        # A downstream's monthly quota, far from reached: its bar is on usb0's dashboard card.
        self.lab.tetherctl("tether", "quota", "usb0", "50GB", "month", check=True)
        setup_code = self.lab.tetherctl("web", "setup-code", check=True).stdout.strip()
        self.assertRegex(setup_code, r"^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$")
        self.assertIn(setup_code, self.lab.tetherd_log())
        env = dict(os.environ, WEB_URL=self.url, TETHER_NETNS=self.phone.name, SCREENSHOT_DIR=SCREENSHOTS, SETUP_CODE=setup_code,
                   CLIENT_MAC=self.phone.mac, CLIENT_IP=self.addr, CLIENT_HOSTNAME="phone",
                   DOWNLOAD_URL="http://%s/bytes/60000000" % L.INET_WWW, TETHER_LAB=self.lab.prefix)
        r = subprocess.run(["node", os.path.join(HERE, "admin_page.mjs")], env=env, capture_output=True, text=True,
                           timeout=240)
        sys.stderr.write(r.stderr)
        self.assertEqual(r.returncode, 0, "browser run failed:\n%s\n--- tetherd log:\n%s" % (
            r.stderr[-4000:], self.lab.tetherd_log()[-3000:]))
        findings = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(findings["ssid"], "tetherd lab café")
        self.assertIn("is the device you are using this page from", findings["ownBlockRefused"])
        self.assertNotIn(self.phone.mac, self.lab.tetherctl("client", "blocked", check=True).stdout)
        self.assertIn("tetherd_session", [c["name"] for c in findings["cookie"]] or ["tetherd_session"])
        # The daemon agrees with what the page showed.
        self.assertIn("ssid=tetherd lab café", self.lab.tetherctl("softap", "get", "ssid").stdout)
        # Issue 14: the usage, the limit and quota dialogs, the notice, the idle timeouts.
        self.assertIn("daily quota of 1.0 MB", findings["cutoffNotice"])
        self.assertNotIn(self.phone.mac, self.lab.tetherctl("client", "quotas", check=True).stdout, "the quota was removed")
        self.assertIn(self.phone.mac + " 5Mbit off", self.lab.tetherctl("client", "limits", check=True).stdout)
        settings = open(os.path.join(self.lab.state_dir, "web-settings")).read()
        self.assertIn("[tethering]\nauto_tether", settings)
        self.assertIn("idle_timeout = 600s\nidle_untether = usb\n", settings)
        for page in ("setup", "login", "dashboard", "clients", "wifi", "wifi-error", "traffic", "settings", "clients-quota", "cutoff"):
            for size in ("desktop", "phone"):
                path = os.path.join(SCREENSHOTS, "%s-%s.png" % (page, size))
                self.assertTrue(os.path.getsize(path) > 5000, path)
        sys.stderr.write("browser part: %.1f s\n" % (time.monotonic() - started))

        self.security_checks()

    def security_checks(self):
        phone, app = self.phone, self.lab.app
        jar = os.path.join(self.lab.dir, "cookies")
        # A logged-in cookie without the CSRF token changes nothing.
        status, code, out = self.curl(phone, "-c", jar, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"tether lab admin 1"}', self.url + "api/login")
        self.assertEqual(code, 200, out)
        csrf = json.loads(re.split(r"\r?\n\r?\n", out, maxsplit=1)[1])["csrfToken"]
        status, code, out = self.curl(phone, "-b", jar, "-X", "POST", self.url + "api/interfaces/usb0/stop")
        self.assertEqual(code, 403, out)
        self.assertIn('"csrf"', out)
        status, code, out = self.curl(phone, "-b", jar, "-X", "POST", "-H", "X-CSRF-Token: " + "0" * 64,
                                      self.url + "api/interfaces/usb0/stop")
        self.assertEqual(code, 403, out)
        status, code, out = self.curl(phone, "-b", jar, "-X", "POST", "-H", "Origin: http://evil.example",
                                      "-H", "X-CSRF-Token: " + csrf, self.url + "api/interfaces/usb0/stop")
        self.assertEqual(code, 403, out)
        self.assertIn("state=tethered", [l for l in self.lab.tetherctl("tether", "interface", "list").stdout.splitlines()
                                         if l.startswith("usb0")][0])
        status, code, out = self.curl(phone, "-b", jar, "-H", "X-CSRF-Token: " + csrf, self.url + "api/status")
        self.assertEqual(code, 200, out)
        # /api/me needs no session and tells the phone about itself only.
        status, code, out = self.curl(phone, self.url + "api/me")
        self.assertEqual(code, 200, out)
        me = json.loads(re.split(r"\r?\n\r?\n", out, maxsplit=1)[1])
        self.assertEqual(sorted(me), ["cutOff", "hostname", "ip", "known", "mac", "quota", "reason"])
        self.assertEqual((me["mac"], me["ip"], me["cutOff"]), (phone.mac, self.addr, False))
        # A page from another name (DNS rebinding) is refused.
        status, code, out = self.curl(phone, "-H", "Host: evil.example", self.url + "api/session")
        self.assertEqual(code, 421, out)

        # Wrong passwords: five are answered, then the address waits — seconds, never a lock
        # (from 127.0.0.1 in the appliance, so that the phone's own address is not slowed for
        # the checks above; loopback's waits stop at 5 s).
        local = "http://127.0.0.1:%d/api/login" % PORT
        codes = []
        for i in range(6):
            status, code, out = self.curl(app, "-H", "Content-Type: application/json", "--data",
                                          '{"password":"guess %d"}' % i, local)
            codes.append(code)
        self.assertEqual(codes, [401] * 5 + [429], out)
        self.assertRegex(out, r"Retry-After: [12]\r?\n")
        status, code, out = self.curl(app, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"tether lab admin 1"}', local)
        self.assertEqual(code, 429, "the right password waits too")
        status, code, out = self.curl(phone, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"tether lab admin 1"}', self.url + "api/login")
        self.assertEqual(code, 200, "per address: the phone is not slowed")
        time.sleep(2.5)
        status, code, out = self.curl(app, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"tether lab admin 1"}', local)
        self.assertEqual(code, 200, "a short wait, not a lock-out: %s" % out)

        # The upstream side gets no answer at all: not on the appliance's eth0 address (nothing
        # listens there), and not on the downstream address routed through eth0 (the kernel would
        # accept it there; tetherd_INPUT drops it). curl times out (28) instead of being refused (7).
        self.lab.inet.run("ip", "route", "add", "192.168.42.0/24", "via", "203.0.113.2")
        for target in ("203.0.113.2", "192.168.42.1"):
            status, code, out = self.curl(self.lab.inet, "http://%s:%d/" % (target, PORT), timeout=3)
            self.assertEqual(status, 28, "from the upstream side, %s:%d must not answer: %s" % (target, PORT, out))
            self.assertIsNone(code)
        # The same address from the downstream side still answers (the rule is about the side).
        status, code, out = self.curl(phone, self.url)
        self.assertEqual(code, 200)
        rules = app.run("iptables-legacy", "-S", "tetherd_INPUT").stdout
        self.assertIn("-A tetherd_INPUT -i eth0 -p tcp -m tcp --dport %d -j DROP" % PORT, rules)
        self.assertIn("-A tetherd_INPUT -i wwan0 -p tcp -m tcp --dport %d -j DROP" % PORT, rules)

        # The password from tetherctl, read from stdin (never in the process list): every web
        # session ends, the new password works.
        status_line = self.lab.tetherctl("web", "status", check=True).stdout
        self.assertIn("password=set", status_line)
        self.assertIn("listening=127.0.0.1:%d,192.168.42.1:%d" % (PORT, PORT), status_line)
        p = subprocess.run(["ip", "netns", "exec", app.name, self.lab.tetherctl_bin, "--socket", self.lab.socket_path,
                            "web", "set-password", "-"], input="a new admin password\n", capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        status, code, out = self.curl(phone, "-b", jar, self.url + "api/status")
        self.assertEqual(code, 401, "the sessions of the old password ended")
        status, code, out = self.curl(phone, "-H", "Content-Type: application/json", "--data",
                                      '{"password":"a new admin password"}', self.url + "api/login")
        self.assertEqual(code, 200, out)
        self.assertNotEqual(self.lab.tetherctl("web", "setup-code").returncode, 0, "used up: a password is set")
        r = self.lab.tetherctl("web", "set-password", "short")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password: shorter than 8 characters", r.stderr)


if __name__ == "__main__":
    unittest.main()
