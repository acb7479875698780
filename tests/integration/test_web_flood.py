"""Issue 15, points 1 and 2, as a hostile client on a downstream does it, in the namespace lab:
one client (the phone) takes ten more addresses of its downstream and opens eight connections
from each (80, bounded): half send a request header with "Expect: 100-continue" and never the
body, half send half a header line. While they are held:
  - an admin on the appliance (127.0.0.1) logs in and uses the page;
  - an admin on the same downstream with another address logs in and uses the page;
  - and one that logged in before the flood uses its session.
Then no connection of the flood outlives the request deadline (30 s; before the fix the
100-continue ones were held forever and the 64 slots answered 503 to everyone, localhost too).
Bounded: 80 connections, one wave, at most ~45 s."""
import json
import os
import sys
import time
import unittest

import support
from support import lab as L

PORT = 18082
PASSWORD = "tether lab admin 15"
FLOOD_ADDRS = ["192.168.42.%d" % a for a in range(240, 250)]
ADMIN_ADDR = "192.168.42.230"    # another "client" of the same downstream: an admin
SESSION_ADDR = "192.168.42.231"  # an admin who logged in before the flood

# Runs in the phone's namespace: opens the flood, reports when each connection was closed.
FLOOD = r'''
import json, select, socket, sys, time
addrs, target, port, hold = json.loads(sys.argv[1])
expect = (b"POST /api/login HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
          b"Expect: 100-continue\r\nContent-Length: 40\r\n\r\n" % (target.encode(), port))
half = b"GET / HTTP/1.1\r\nHost: " + target.encode()
socks, refused = [], 0
start = time.monotonic()
for a in addrs:
    for i in range(8):
        s = socket.socket()
        s.bind((a, 0))
        s.settimeout(3)
        s.connect((target, port))
        s.sendall(expect if i % 2 == 0 else half)
        socks.append({"s": s, "kind": "expect" if i % 2 == 0 else "half", "got": b"", "closed": None})
print("ready", flush=True)
while time.monotonic() - start < hold:
    live = [c for c in socks if c["closed"] is None]
    if not live:
        break
    r, _, _ = select.select([c["s"] for c in live], [], [], 0.5)
    for c in live:
        if c["s"] in r:
            try:
                data = c["s"].recv(4096)
            except OSError:
                data = b""
            c["got"] += data
            if not data:
                c["closed"] = round(time.monotonic() - start, 1)
out = [{"kind": c["kind"], "closed": c["closed"], "answer": c["got"][:40].decode("latin-1")} for c in socks]
print(json.dumps(out), flush=True)
'''


def setUpModule():
    support.require_lab()
    support.require_binaries()


class WebFloodTest(unittest.TestCase):
    def setUp(self):
        self.lab = L.Lab().start()
        self.addCleanup(self.lab.teardown)
        self.phone = self.lab.add_downstream("usb0", client="phone")
        config = self.lab.default_config() + "\n[web]\nenabled = yes\nport = %d\n" % PORT
        self.lab.start_tetherd(config)
        self.phone.dhcp("udhcpc", hostname="phone")
        self.url = "http://192.168.42.1:%d/" % PORT
        L.wait_for(lambda: "192.168.42.1:%d" % PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="the web page listening on the downstream")
        p = self.lab.app.run(self.lab.tetherctl_bin, "--socket", self.lab.socket_path, "web", "set-password", "-",
                             input=PASSWORD + "\n", check=False, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for a in FLOOD_ADDRS + [ADMIN_ADDR, SESSION_ADDR]:
            self.phone.run("ip", "addr", "add", a + "/32", "dev", "eth0")

    def curl(self, ns, *args, source=None, timeout=5):
        extra = ["--interface", source] if source else []
        r = ns.run("curl", "-sS", "-i", "--max-time", str(timeout), *extra, *args, check=False, timeout=timeout + 5)
        code = int(r.stdout.split(" ", 2)[1]) if r.stdout.startswith("HTTP/") else None
        return code, r.stdout + r.stderr

    def login_and_use(self, ns, base, source=None, jar=None):
        jar = jar or os.path.join(self.lab.dir, "jar-%s" % (source or "local"))
        code, out = self.curl(ns, "-c", jar, "-H", "Content-Type: application/json", "--data",
                              json.dumps({"password": PASSWORD}), base + "api/login", source=source)
        self.assertEqual(code, 200, "login from %s during the flood: %s" % (source or "127.0.0.1", out))
        code, out = self.curl(ns, "-b", jar, base + "api/status", source=source)
        self.assertEqual(code, 200, out)
        return jar

    def test_a_flood_from_one_client_never_locks_the_admin_out(self):
        local = "http://127.0.0.1:%d/" % PORT
        before = self.login_and_use(self.phone, self.url, source=SESSION_ADDR)
        flood = self.phone.popen("python3", "-c", FLOOD, json.dumps([FLOOD_ADDRS, "192.168.42.1", PORT, 40]),
                                 stdout=__import__("subprocess").PIPE, log_name="proc-flood.log")
        self.assertEqual(flood.stdout.readline().decode().strip(), "ready")
        started = time.monotonic()
        # During the flood: localhost, another address of the downstream, and a session.
        self.login_and_use(self.lab.app, local)
        self.login_and_use(self.phone, self.url, source=ADMIN_ADDR)
        code, out = self.curl(self.phone, "-b", before, self.url + "api/status", source=SESSION_ADDR)
        self.assertEqual(code, 200, out)
        self.assertLess(time.monotonic() - started, 10, "the admins got their answers while the flood held")
        out, _ = flood.communicate(timeout=60)
        conns = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual(len(conns), 80)
        early = [c for c in conns if c["closed"] is not None and c["closed"] < 9]
        sys.stderr.write("flood: %d connections closed early (given to others or refused), closed at: %s\n" % (
            len(early), sorted(c["closed"] for c in conns if c["closed"] is not None)))
        for c in conns:
            self.assertIsNotNone(c["closed"], "a flood connection outlived the request deadline: %s" % c)
            self.assertLessEqual(c["closed"], 36, c)
        self.assertTrue(any(c["kind"] == "expect" and c["answer"].startswith("HTTP/1.1 100 Continue") for c in conns),
                        "some 100-continue requests got the go-ahead and still were closed")
        # Slots of the flood were given to the admins (or refused to the flood itself).
        log = self.lab.tetherd_log()
        self.assertTrue("had not completed a request, for one from" in log or "refusing one from" in log, log[-2000:])


if __name__ == "__main__":
    unittest.main()
