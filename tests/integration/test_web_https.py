"""Issue 15, HTTPS for the admin page, in the namespace lab: tetherd with [web] https = on.
  - the self-signed certificate: its SHA-256 fingerprint in `tetherctl web status` (text and
    --json) is the one the server presents; it is kept 0600 in state_dir and reused at restart;
  - curl over HTTPS, verifying the certificate (and its names) against that file: login (a
    Secure cookie) and an API call work;
  - plain HTTP gets a 308 to the same target on HTTPS, for every method, with a hostile Host
    replaced by the listen address, and nothing else (no login, no API);
  - stalled TLS clients (connected and silent; half a ClientHello), from the phone and from
    localhost, are closed at the header deadline (10 s), and an admin on localhost logs in over
    HTTPS meanwhile;
  - the user's certificate is served; a key that does not match it disables the page with
    an error naming [web] private_key;
  - OpenSSL is mapped into tetherd only with https on (the TLS module tetherd-tls.so, loaded
    at start); a tetherd that cannot find its module keeps running with the page disabled and
    an error naming [web] https and the file.
Bounded: 8 + 20 stalled connections, two tetherd runs of ~30 s."""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

import support
from support import lab as L

PORT = 18083
HTTPS_PORT = 18443
PASSWORD = "tether lab admin https"
FP = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")

# In a namespace: the certificate the server presents (DER, hex), no verification.
PEER_CERT = r'''
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
    with ctx.wrap_socket(s) as t:
        print(t.getpeercert(binary_form=True).hex(), t.version())
'''

# In a namespace: opens stalled TLS connections (silent ones and half a ClientHello each) from
# the given source addresses, prints "ready", then when each was closed (seconds since start).
STALL = r'''
import json, select, socket, sys, time
target, port, sources, hold = json.loads(sys.argv[1])
hello = bytes.fromhex("160301020001") + bytes(60)  # a record of 512 bytes announced, 66 sent
socks = []
start = time.monotonic()
for i, src in enumerate(sources):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    s.connect((target, port))
    if i % 2:
        s.sendall(hello)
    socks.append({"s": s, "kind": "half-hello" if i % 2 else "silent", "closed": None})
print("ready", flush=True)
while time.monotonic() - start < hold:
    live = [c for c in socks if c["closed"] is None]
    if not live:
        break
    r, _, _ = select.select([c["s"] for c in live], [], [], 0.25)
    for c in live:
        if c["s"] in r:
            try:
                data = c["s"].recv(4096)
            except OSError:
                data = b""
            if not data:
                c["closed"] = round(time.monotonic() - start, 1)
print(json.dumps([{"kind": c["kind"], "closed": c["closed"]} for c in socks]), flush=True)
'''


def setUpModule():
    support.require_lab()
    support.require_binaries()


class WebHttpsTest(unittest.TestCase):
    def setUp(self):
        self.lab = L.Lab().start()
        self.addCleanup(self.lab.teardown)
        self.phone = self.lab.add_downstream("usb0", client="phone")

    def config(self, extra=""):
        return self.lab.default_config() + ("\n[web]\nenabled = yes\nport = %d\nhttps = on\nhttps_port = %d\n%s" %
                                            (PORT, HTTPS_PORT, extra))

    def start(self, extra="", dhcp=True):
        self.lab.start_tetherd(self.config(extra))
        if dhcp:
            self.phone.dhcp("udhcpc", hostname="phone")
        L.wait_for(lambda: "192.168.42.1:%d" % HTTPS_PORT in self.lab.tetherctl("web", "status").stdout, timeout=10,
                   what="HTTPS listening on the downstream")

    def set_password(self):
        p = self.lab.app.run(self.lab.tetherctl_bin, "--socket", self.lab.socket_path, "web", "set-password", "-",
                             input=PASSWORD + "\n", check=False, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def status_fingerprint(self):
        text = self.lab.tetherctl("web", "status").stdout
        fields = self.lab.tetherctl("web", "status", json=True).json["fields"]
        self.assertEqual(fields["https"], "on", text)
        self.assertEqual(fields["https_port"], str(HTTPS_PORT), text)
        self.assertRegex(fields["fingerprint"], FP)
        self.assertIn("fingerprint=" + fields["fingerprint"], text)
        return fields["fingerprint"]

    def served_fingerprint(self, ns, host):
        out = ns.run("python3", "-c", PEER_CERT, host, str(HTTPS_PORT), timeout=15).stdout.split()
        der = bytes.fromhex(out[0])
        self.assertIn(out[1], ("TLSv1.2", "TLSv1.3"))
        return ":".join("%02X" % b for b in hashlib.sha256(der).digest())

    def curl(self, ns, *args, timeout=5):
        r = ns.run("curl", "-sS", "-i", "--max-time", str(timeout), *args, check=False, timeout=timeout + 5)
        code = int(r.stdout.split(" ", 2)[1]) if r.stdout.startswith("HTTP/") else None
        return code, r.stdout + r.stderr

    def login_and_use(self, ns, base, cacert, jar):
        # With the Origin a browser sends on a POST from the page (https://<host>).
        code, out = self.curl(ns, "--cacert", cacert, "-c", jar, "-H", "Content-Type: application/json",
                              "-H", "Origin: " + base.rstrip("/"), "--data", json.dumps({"password": PASSWORD}),
                              base + "api/login")
        self.assertEqual(code, 200, out)
        cookie = [l for l in out.splitlines() if l.lower().startswith("set-cookie:")]
        self.assertTrue(cookie and "; Secure" in cookie[0], out)
        code, out = self.curl(ns, "--cacert", cacert, "-b", jar, base + "api/status")
        self.assertEqual(code, 200, out)

    def test_a_self_signed_https_redirect_and_stalled_handshakes(self):
        self.start()
        self.set_password()
        fp = self.status_fingerprint()
        log = self.lab.tetherd_log()
        self.assertIn("a new self-signed certificate", log)
        self.assertIn("SHA-256 fingerprint " + fp, log)
        cert = os.path.join(self.lab.state_dir, "https-cert.pem")
        for name in ("https-cert.pem", "https-key.pem"):
            self.assertEqual(os.stat(os.path.join(self.lab.state_dir, name)).st_mode & 0o777, 0o600, name)
        # What the server presents is what tetherctl says, from the phone and on localhost.
        self.assertEqual(self.served_fingerprint(self.phone, "192.168.42.1"), fp)
        self.assertEqual(self.served_fingerprint(self.lab.app, "127.0.0.1"), fp)
        # The certificate verifies (its subjectAltName has the downstream's address).
        base = "https://192.168.42.1:%d/" % HTTPS_PORT
        self.login_and_use(self.phone, base, cert, os.path.join(self.lab.dir, "jar-phone"))
        code, out = self.curl(self.phone, "--cacert", cert, "--tlsv1.2", "--tls-max", "1.2", base + "api/session")
        self.assertEqual(code, 200, out)

        # Plain HTTP: the redirect and nothing else.
        plain = "http://192.168.42.1:%d/" % PORT
        code, out = self.curl(self.phone, plain + "api/status?x=1")
        self.assertEqual(code, 308, out)
        self.assertIn("Location: https://192.168.42.1:%d/api/status?x=1\n" % HTTPS_PORT, out)
        code, out = self.curl(self.phone, "-H", "Content-Type: application/json", "--data",
                              json.dumps({"password": PASSWORD}), plain + "api/login")
        self.assertEqual(code, 308, out)
        self.assertNotIn("Set-Cookie", out)
        code, out = self.curl(self.phone, "-H", "Host: evil.example/x", plain + "?")
        self.assertEqual(code, 308, out)
        self.assertIn("Location: https://192.168.42.1:%d/?\n" % HTTPS_PORT, out)
        code, out = self.curl(self.lab.app, "http://127.0.0.1:%d/" % PORT)
        self.assertEqual(code, 308, out)
        self.assertIn("Location: https://127.0.0.1:%d/\n" % HTTPS_PORT, out)

        # Stalled TLS: 8 from the phone's addresses, 20 from localhost (more than its 16 slots).
        srcs = ["192.168.42.%d" % a for a in range(240, 244)]
        for a in srcs:
            self.phone.run("ip", "addr", "add", a + "/32", "dev", "eth0")
        stall_phone = self.phone.popen("python3", "-c", STALL, json.dumps(["192.168.42.1", HTTPS_PORT, srcs * 2, 25]),
                                       stdout=subprocess.PIPE, log_name="proc-stall-phone.log")
        stall_local = self.lab.app.popen("python3", "-c", STALL,
                                         json.dumps(["127.0.0.1", HTTPS_PORT, ["127.0.0.1"] * 20, 25]),
                                         stdout=subprocess.PIPE, log_name="proc-stall-local.log")
        self.assertEqual(stall_phone.stdout.readline().decode().strip(), "ready")
        self.assertEqual(stall_local.stdout.readline().decode().strip(), "ready")
        started = time.monotonic()
        self.login_and_use(self.lab.app, "https://127.0.0.1:%d/" % HTTPS_PORT, cert,
                           os.path.join(self.lab.dir, "jar-local"))
        self.login_and_use(self.phone, base, cert, os.path.join(self.lab.dir, "jar-phone2"))
        self.assertLess(time.monotonic() - started, 8, "the admins got in while the stalled handshakes held")
        for who, p in (("phone", stall_phone), ("localhost", stall_local)):
            out, _ = p.communicate(timeout=40)
            conns = json.loads(out.decode().strip().splitlines()[-1])
            sys.stderr.write("stalled TLS from %s closed at: %s\n" % (who, sorted(c["closed"] for c in conns if c["closed"] is not None)))
            for c in conns:
                self.assertIsNotNone(c["closed"], "a stalled TLS client outlived the header deadline: %s" % conns)
                self.assertLessEqual(c["closed"], 12.5, conns)
                if who == "phone":  # slots to spare there: the header deadline (10 s) closed them
                    self.assertGreaterEqual(c["closed"], 9, conns)
        self.assertIsNone(self.lab.tetherd.poll(), self.lab.tetherd_log()[-3000:])

        # Restart: the same certificate.
        self.assertEqual(self.lab.stop_tetherd(), 0)
        self.start(dhcp=False)
        self.assertEqual(self.status_fingerprint(), fp)
        self.assertIn("the self-signed certificate " + cert, self.lab.tetherd_log())

    def maps(self):
        with open("/proc/%d/maps" % self.lab.tetherd.pid) as f:
            return f.read()

    def test_c_openssl_only_with_https_and_a_missing_module(self):
        # Page on over plain HTTP: no TLS module, no libssl/libcrypto in tetherd's memory.
        self.lab.start_tetherd(self.lab.default_config() + "\n[web]\nenabled = yes\nport = %d\n" % PORT)
        maps = self.maps()
        self.assertIn("/tetherd", maps)  # the right process
        for lib in ("tetherd-tls.so", "libssl.so", "libcrypto.so"):
            self.assertNotIn(lib, maps)
        self.assertEqual(self.lab.stop_tetherd(), 0)
        # HTTPS on: the module and OpenSSL are mapped.
        self.start(dhcp=False)
        maps = self.maps()
        for lib in ("tetherd-tls.so", "libssl.so", "libcrypto.so"):
            self.assertIn(lib, maps)
        self.assertEqual(self.lab.stop_tetherd(), 0)
        # A tetherd without its module beside it (and none installed): the page is disabled,
        # the error names [web] https and the file, the daemon runs on.
        alone = os.path.join(self.lab.dir, "alone")
        os.makedirs(alone)
        shutil.copy2(self.lab.tetherd_bin, alone)
        real = self.lab.tetherd_bin
        self.lab.tetherd_bin = os.path.join(alone, os.path.basename(real))
        try:
            self.lab.start_tetherd(self.config())
            L.wait_for(lambda: "web: admin page disabled: [web] https = on needs the TLS module " in self.lab.tetherd_log(),
                       timeout=10, what="the missing module logged")
            line = [l for l in self.lab.tetherd_log().splitlines() if "needs the TLS module" in l][0]
            path = re.search(r"needs the TLS module (\S+): ", line).group(1)
            self.assertTrue(path.endswith("/tetherd/tetherd-tls.so") and path.startswith("/"), line)
            self.assertFalse(os.path.exists(path), "an installed module at %s hides this case" % path)
            self.assertIn("No such file", line)
            self.assertEqual(self.lab.tetherctl("ping").returncode, 0)
            self.assertIsNone(self.lab.tetherd.poll())
            self.assertNotIn("libssl.so", self.maps())
        finally:
            self.lab.tetherd_bin = real

    def test_b_the_users_certificate(self):
        d = self.lab.dir
        cert, key, other = os.path.join(d, "user-cert.pem"), os.path.join(d, "user-key.pem"), os.path.join(d, "o.pem")
        for k, c in ((key, cert), (other, os.path.join(d, "o-cert.pem"))):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", k, "-out", c, "-days", "2", "-subj", "/CN=tether.test",
                            "-addext", "subjectAltName=IP:192.168.42.1,IP:127.0.0.1"],
                           check=True, capture_output=True, timeout=30)
        want = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"], check=True,
                              capture_output=True, text=True).stdout.strip().split("=", 1)[1]
        self.start("certificate = %s\nprivate_key = %s\n" % (cert, key))
        self.set_password()
        self.assertEqual(self.status_fingerprint(), want)
        self.assertEqual(self.served_fingerprint(self.phone, "192.168.42.1"), want)
        self.login_and_use(self.phone, "https://192.168.42.1:%d/" % HTTPS_PORT, cert, os.path.join(d, "jar"))
        self.assertFalse(os.path.exists(os.path.join(self.lab.state_dir, "https-cert.pem")))
        # A key of another pair: the page stays off, the error names the key and the cause.
        self.assertEqual(self.lab.stop_tetherd(), 0)
        self.lab.start_tetherd(self.config("certificate = %s\nprivate_key = %s\n" % (cert, other)))
        L.wait_for(lambda: "[web] private_key %s: does not match the certificate %s" % (other, cert)
                   in self.lab.tetherd_log(), timeout=10, what="the mismatch logged")
        self.assertIn("web: admin page disabled", self.lab.tetherd_log())
        code, out = self.curl(self.phone, "-k", "https://192.168.42.1:%d/" % HTTPS_PORT)
        self.assertIsNone(code, out)


if __name__ == "__main__":
    unittest.main()
