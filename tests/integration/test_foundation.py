"""The foundation's acceptance: tetherd runs in the lab's appliance namespace and serves its
control socket (ping, status, help, version) robustly; signals, reload, socket activation
and the command line behave as documented."""
import json
import os
import signal
import socket
import stat
import subprocess
import threading
import unittest

import support
from support import Conn
from support import lab as L

LAB = None


def setUpModule():
    global LAB
    support.require_lab()
    support.require_binaries()
    LAB = L.Lab().start()


def tearDownModule():
    prefix = LAB.prefix
    LAB.teardown()
    left = L.leftovers(prefix)
    if left:
        raise AssertionError("the lab left: %s" % left)


def wait_log(text, timeout=10):
    return L.wait_for(lambda: text in LAB.tetherd_log(), timeout=timeout, what="tetherd log to say %r" % text)


class RunningDaemonTest(unittest.TestCase):
    """One tetherd for the whole class; each test leaves it serving."""

    @classmethod
    def setUpClass(cls):
        LAB.start_tetherd(LAB.default_config())
        cls.pid = LAB.tetherd.pid

    @classmethod
    def tearDownClass(cls):
        rc = LAB.stop_tetherd(signal.SIGTERM)
        assert rc == 0, "tetherd exit status %s\n%s" % (rc, LAB.tetherd_log())

    def tearDown(self):
        # whatever a test did, the daemon is still the same process and still answers
        self.assertIsNone(LAB.tetherd.poll(), LAB.tetherd_log())
        self.assertEqual(LAB.tetherd.pid, self.pid)
        with Conn(LAB.socket_path) as c:
            self.assertEqual(c.call(4242, "ping"), "200 4242 pong")

    def test_runs_in_the_appliance_namespace(self):
        self.assertIn(LAB.tetherd.pid, LAB.app.pids())

    def test_ping(self):
        r = LAB.tetherctl("ping")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "pong\n")

    def test_json_status(self):
        r = LAB.tetherctl("status", json=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(r.json, "not JSON: %r" % r.stdout)
        self.assertEqual(r.json["code"], 201)
        self.assertIs(r.json["ok"], True)
        self.assertEqual(r.json["lines"], [])
        f = r.json["fields"]
        self.assertEqual(f["state"], "running")
        version = LAB.app.run(LAB.tetherd_bin, "--version").stdout.split()[1]
        self.assertEqual(f["version"], version)
        self.assertRegex(f["uptime"], r"^\d+$")
        self.assertGreaterEqual(int(f["clients"]), 1)
        self.assertEqual(f["config"], LAB.config_path)
        self.assertIn("state=running", r.json["message"])
        # the text form is the message itself
        self.assertRegex(LAB.tetherctl("status").stdout, r"^state=running version=\S+ uptime=\d+ ")

    def test_help_and_version(self):
        r = LAB.tetherctl("help", json=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        usages = [l["message"] for l in r.json["lines"]]
        self.assertEqual({l["code"] for l in r.json["lines"]}, {118})
        for cmd in ("ping", "status", "version", "help"):
            self.assertTrue(any(u.split()[0] == cmd for u in usages), usages)
        r = LAB.tetherctl("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^tetherd \S+\n$")

    def test_unknown_command_exits_2(self):
        r = LAB.tetherctl("nosuchcommand")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("Command not recognized: nosuchcommand", r.stderr)
        r = LAB.tetherctl("ping", "extra")  # a known command with bad arguments: 5xx too
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_no_daemon_exits_3(self):
        r = LAB.tetherctl("ping", socket_path=os.path.join(LAB.dir, "nobody-here.sock"))
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_socket_mode_0660(self):
        st = os.lstat(LAB.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660, oct(st.st_mode))
        self.assertEqual(st.st_uid, 0)

    def test_malformed_lines_get_5xx_and_the_daemon_keeps_serving(self):
        cases = [
            ("hello", r"^500 0 Invalid sequence number$"),
            ('5 "unclosed', r"^500 5 Unclosed quotes error$"),
            ("6 bad\\escape", r"^500 6 Invalid escape"),
            ("7", r"^500 7 Missing command$"),
            ("8 ping extra", r"^500 8 Usage: ping$"),
            # the sequence number is readable here, yet tetherd answers with 0 (reported as a
            # bug: tetherctl then waits for its timeout); accept both until it is fixed
            ("9 ping\x01", r"^500 (9|0) Invalid character"),
            ("10 nosuch", r"^500 10 Command not recognized: nosuch$"),
            ("4294967296 ping", r"^500 0 Invalid sequence number$"),
        ]
        with Conn(LAB.socket_path) as c:
            for seq, (line, want) in enumerate(cases, start=100):
                c.send(line + "\n")
                self.assertRegex(c.readline(), want, "reply to %r" % line)
                # the same connection keeps working after each bad line
                self.assertEqual(c.call(seq, "ping"), "200 %d pong" % seq)
            c.send("\n\r\n   \n")  # empty lines: no reply at all
            self.assertEqual(c.call(200, "ping"), "200 200 pong")
        with Conn(LAB.socket_path) as c:
            self.assertEqual(c.call(201, "ping"), "200 201 pong")

    def test_50_concurrent_clients(self):
        n = 50
        barrier = threading.Barrier(n, timeout=20)
        replies = [None] * n
        errors = []
        conns = []
        lock = threading.Lock()

        def client(i):
            try:
                c = Conn(LAB.socket_path, timeout=10)
                with lock:
                    conns.append(c)
                barrier.wait()  # all connected before anyone sends
                seq = 1000 + i
                c.send("%d ping\n" % seq)
                replies[i] = c.reply(seq, timeout=10)
                barrier.wait()  # all still connected while we count them below
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append("client %d: %r" % (i, e))
                barrier.abort()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        try:
            self.assertEqual(errors, [])
            self.assertEqual(replies, ["200 %d pong" % (1000 + i) for i in range(n)])
            st = LAB.tetherctl("status", json=True)
            self.assertGreaterEqual(int(st.json["fields"]["clients"]), n + 1)
        finally:
            for c in conns:
                c.close()
        L.wait_for(lambda: int(LAB.tetherctl("status", json=True).json["fields"]["clients"]) == 1, timeout=5,
                   what="the 50 sessions to be closed")

    def test_client_disconnecting_mid_line_harms_nothing(self):
        c = Conn(LAB.socket_path)
        c.send("11 pi")
        c.close()
        c = Conn(LAB.socket_path)
        c.send("12 ping\n")  # asks and leaves without reading the reply
        c.close()
        slow = Conn(LAB.socket_path)  # half a line, then silence: blocks nobody
        slow.send("13 pi")
        try:
            for seq in range(14, 20):
                with Conn(LAB.socket_path) as other:
                    self.assertEqual(other.call(seq, "ping"), "200 %d pong" % seq)
            slow.send("ng\n")
            self.assertEqual(slow.reply(13), "200 13 pong")
        finally:
            slow.close()
        self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")

    def test_overlong_line(self):
        with Conn(LAB.socket_path) as c:
            c.send("21 " + "x" * 10240 + "\n")
            self.assertRegex(c.readline(), r"^500 21 Command too long$")
            # the rest of that line was discarded: the next line is served normally
            self.assertEqual(c.call(22, "ping"), "200 22 pong")
            # also when the long line arrives in pieces
            c.send("23 " + "y" * 3000)
            c.send("y" * 3000)
            c.send("y" * 3000 + "\n24 ping\n")
            self.assertRegex(c.readline(), r"^500 23 Command too long$")
            self.assertEqual(c.readline(), "200 24 pong")


class LifecycleTest(unittest.TestCase):
    """Each test starts (and ends) its own tetherd."""

    def tearDown(self):
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            LAB.stop_tetherd(signal.SIGKILL)

    def test_sighup_refuses_a_broken_config_and_reloads_a_good_one(self):
        LAB.start_tetherd(LAB.default_config(log_level="info"))
        pid = LAB.tetherd.pid
        text_mon = LAB.app.popen(LAB.tetherctl_bin, "--socket", LAB.socket_path, "monitor",
                                 stdout=subprocess.PIPE, log_name="monitor.log")
        json_mon = LAB.app.popen(LAB.tetherctl_bin, "--socket", LAB.socket_path, "--json", "monitor",
                                 stdout=subprocess.PIPE, log_name="monitor.log")
        with Conn(LAB.socket_path) as monitor:
            self.assertEqual(monitor.call(1, "ping"), "200 1 pong")
            L.wait_for(lambda: int(LAB.tetherctl("status", json=True).json["fields"]["clients"]) >= 4,
                       timeout=5, what="both tetherctl monitors to connect")
            LAB.write_config("[daemon]\nlog_level = debug\nno_such_key = 1\n")
            LAB.tetherd.send_signal(signal.SIGHUP)
            wait_log("reload refused")
            self.assertIn("no_such_key", LAB.tetherd_log())
            self.assertIsNone(LAB.tetherd.poll())
            self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
            self.assertEqual(LAB.tetherd.pid, pid)
            LAB.write_config(LAB.default_config(log_level="notice"))
            LAB.tetherd.send_signal(signal.SIGHUP)
            wait_log("configuration reloaded")
            # the refused reload sent no event; the good one did
            self.assertEqual(monitor.readline(), "610 Config reloaded")
        self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
        try:
            self.assertEqual(L.read_line(text_mon, 5), "610 Config reloaded")
            self.assertEqual(json.loads(L.read_line(json_mon, 5)), {"code": 610, "event": "Config reloaded"})
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
            # a monitor ends (exit 3) when the daemon goes away
            self.assertEqual(text_mon.wait(5), 3)
            self.assertEqual(json_mon.wait(5), 3)
        finally:
            for p in (text_mon, json_mon):
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()

    def _stop_with(self, sig, name):
        LAB.start_tetherd(LAB.default_config())
        self.assertTrue(os.path.exists(LAB.socket_path))
        with Conn(LAB.socket_path) as idle:  # a connected client does not hold up the exit
            self.assertEqual(idle.call(1, "ping"), "200 1 pong")
            rc = LAB.stop_tetherd(sig, timeout=10)
        self.assertEqual(rc, 0, LAB.tetherd_log())
        self.assertFalse(os.path.exists(LAB.socket_path), "control socket left behind")
        self.assertIn("received %s" % name, LAB.tetherd_log())
        self.assertEqual(LAB.tetherctl("ping").returncode, 3)

    def test_sigterm_exits_0_and_removes_the_socket(self):
        self._stop_with(signal.SIGTERM, "SIGTERM")

    def test_sigint_exits_0_and_removes_the_socket(self):
        self._stop_with(signal.SIGINT, "SIGINT")

    def test_stale_socket_file_is_replaced(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(LAB.socket_path)  # a leftover of a crashed run: nobody listens
        s.close()
        LAB.start_tetherd(LAB.default_config())
        self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
        self.assertEqual(LAB.stop_tetherd(), 0)

    def test_second_daemon_on_the_same_socket_is_refused(self):
        LAB.start_tetherd(LAB.default_config())
        cmd = LAB.tetherd_command(config_path=LAB.write_config(LAB.default_config(),
                                                               path=os.path.join(LAB.dir, "second.conf")))
        r = LAB.app.run(cmd, check=False, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("another tetherd is answering", r.stderr)
        self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
        self.assertEqual(LAB.stop_tetherd(), 0)

    def test_readiness_reload_and_stop_are_notified_to_systemd(self):
        """Type=notify without libsystemd: READY=1 once the control socket answers, RELOADING=1
        then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, all on $NOTIFY_SOCKET."""
        path = os.path.join(LAB.dir, "notify.sock")
        n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            n.bind(path)
            n.settimeout(10)
            LAB.start_tetherd(LAB.default_config(), env=dict(os.environ, NOTIFY_SOCKET=path))
            self.assertEqual(n.recv(256), b"READY=1")
            self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
            LAB.tetherd.send_signal(signal.SIGHUP)
            self.assertEqual(n.recv(256), b"RELOADING=1")
            self.assertEqual(n.recv(256), b"READY=1")
            self.assertEqual(LAB.stop_tetherd(), 0)
            self.assertEqual(n.recv(256), b"STOPPING=1")
        finally:
            n.close()

    def test_socket_activation(self):
        unused = os.path.join(LAB.dir, "not-used.sock")
        for p in (LAB.socket_path, unused):
            if os.path.exists(p):
                os.unlink(p)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(LAB.socket_path)
            os.chmod(LAB.socket_path, 0o660)
            listener.listen(16)
            inode = os.stat(LAB.socket_path).st_ino
            LAB.start_tetherd("[daemon]\ncontrol_socket = %s\n" % unused, activation_socket=listener,
                              socket_arg=False)
            self.assertEqual(LAB.tetherctl("ping").stdout, "pong\n")
            self.assertIn("socket activation", LAB.tetherd_log())
            self.assertFalse(os.path.exists(unused), "tetherd bound its own socket despite activation")
            self.assertEqual(os.stat(LAB.socket_path).st_ino, inode)
            with Conn(LAB.socket_path) as c:
                self.assertEqual(c.call(7, "ping"), "200 7 pong")
            self.assertEqual(LAB.stop_tetherd(), 0)
            # the socket belongs to the service manager: tetherd leaves the file alone
            self.assertTrue(os.path.exists(LAB.socket_path))
        finally:
            listener.close()
            if os.path.exists(LAB.socket_path):
                os.unlink(LAB.socket_path)

    def test_lab_teardown_stops_tetherd(self):
        with L.Lab() as lab:
            lab.start_tetherd(lab.default_config())
            proc = lab.tetherd
            prefix = lab.prefix
        self.assertEqual(proc.returncode, 0)  # stopped with SIGTERM, not killed
        self.assertEqual(L.leftovers(prefix), [])


class CommandLineTest(unittest.TestCase):
    def test_version_and_help(self):
        r = LAB.app.run(LAB.tetherd_bin, "--version", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^tetherd \d+\.\d+\.\d+\S*\n$")
        r = LAB.app.run(LAB.tetherd_bin, "--help", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Usage: tetherd", r.stdout)
        for opt in ("--config", "--control-socket", "--log-level"):
            self.assertIn(opt, r.stdout)
        r = LAB.app.run(LAB.tetherctl_bin, "--help", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Usage: tetherctl", r.stdout)

    def test_bad_options_exit_2(self):
        for args in (["--bogus"], ["--config"], ["--log-level", "loud"]):
            r = LAB.app.run(LAB.tetherd_bin, *args, check=False, timeout=10)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)

    def test_unknown_config_key_is_refused_with_file_line_and_key(self):
        path = LAB.write_config("[daemon]\nlog_level = info\n\n[upstream]\nfrobnicate = yes\n",
                                path=os.path.join(LAB.dir, "unknown-key.conf"), lab_paths=False)
        r = LAB.app.run(LAB.tetherd_command(config_path=path), check=False, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("%s:5:" % path, r.stderr)
        self.assertIn("frobnicate", r.stderr)
        self.assertFalse(os.path.exists(LAB.socket_path))

    def test_missing_explicit_config_is_an_error(self):
        r = LAB.app.run(LAB.tetherd_command(config_path=os.path.join(LAB.dir, "nonexistent.conf")),
                        check=False, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nonexistent.conf", r.stderr)


if __name__ == "__main__":
    unittest.main()
