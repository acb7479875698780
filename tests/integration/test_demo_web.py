"""Issue 17 point 5, the demo opens the page: `scripts/lab up --tetherd --web PORT` (what
scripts/demo.sh runs, here without clients) prints a URL on this machine's 127.0.0.1 and the
first-use setup code; through that URL the page answers, localhost may set the first password
(POST /api/setup, with the Origin a browser sends), and the code printed is the one
`tetherctl web setup-code` gave at that time. Ctrl-C (SIGINT) leaves no forward and no lab.
Bounded: one lab, ~15 s."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import support
from support import lab as L

PORT = 18719


def http(url, data=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class DemoWebTest(unittest.TestCase):
    def test_the_page_through_the_forward(self):
        support.require_lab()
        tetherd, tetherctl = support.require_binaries()
        env = dict(os.environ, TETHERD_BIN=tetherd, TETHERCTL_BIN=tetherctl)
        lab_cmd = os.path.join(support.SOURCE_DIR, "scripts", "lab")
        p = subprocess.Popen([sys.executable, lab_cmd, "up", "--tetherd", "--no-clients", "--web", str(PORT), "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        out = []
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = p.stdout.readline()
                if not line:
                    break
                out.append(line)
                if "Press Ctrl-C" in line:
                    break
            text = "".join(out)
            self.assertIn("Press Ctrl-C", text)
            self.assertIn("open http://127.0.0.1:%d/ in a browser on this machine" % PORT, text)
            code = re.search(r"setup code:\n\s+(\S+)\n", text)
            self.assertTrue(code, text)
            prefix = re.search(r"scripts/lab down (\S+)", text).group(1)
            base = "http://127.0.0.1:%d" % PORT
            status, body = http(base + "/")
            self.assertEqual(status, 200, body[:200])
            status, body = http(base + "/api/session")
            self.assertEqual(status, 200, body)
            self.assertFalse(json.loads(body)["passwordSet"], body)
            status, body = http(base + "/api/setup", json.dumps({"password": "demo password 1234"}).encode(),
                                {"Content-Type": "application/json", "Origin": base})
            self.assertEqual(status, 201, body)
        finally:
            p.send_signal(signal.SIGINT)
            try:
                rest, _ = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rest, _ = p.communicate()
        self.assertEqual(p.returncode, 0, "".join(out) + rest)
        self.assertEqual(L.leftovers(prefix), [], rest)
        with self.assertRaises(OSError):
            urllib.request.urlopen(base + "/", timeout=2)


if __name__ == "__main__":
    unittest.main()
