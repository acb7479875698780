"""Shared by the integration tests: finds the lab, checks prerequisites (failing loudly,
never skipping), and talks the control protocol over a raw AF_UNIX socket."""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TETHERD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lab"))

import lab  # noqa: E402,F401  (re-exported for the tests)


def require_lab():
    """Raises (an error, not a skip) when the lab cannot run here."""
    problems = lab.check_prerequisites()
    if problems:
        raise RuntimeError("integration tests need: \n  " + "\n  ".join(problems))


def require_binaries():
    missing = []
    for var in ("TETHERD_BIN", "TETHERCTL_BIN"):
        path = os.environ.get(var)
        if not path or not os.access(path, os.X_OK):
            missing.append("%s=%r" % (var, path))
    if missing:
        raise RuntimeError("integration tests need the built programs: %s (CTest sets them; by hand: "
                           "TETHERD_BIN=build/tetherd TETHERCTL_BIN=build/tetherctl)" % ", ".join(missing))
    return os.environ["TETHERD_BIN"], os.environ["TETHERCTL_BIN"]


class Conn:
    """One raw connection to the control socket: send lines, read reply lines."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete line from tetherd within %.1fs (have %r)" % (timeout, self.buf))
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("tetherd closed the connection (have %r)" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def reply(self, seq, timeout=5.0):
        """The final reply line for seq (skipping 6xx events and other sequence numbers)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(max(0.01, deadline - time.monotonic()))
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[1] == str(seq) and parts[0][:1] in "2345":
                return line

    def call(self, seq, command, timeout=5.0):
        self.send("%d %s\n" % (seq, command))
        return self.reply(seq, timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def fields(line):
    """A control reply line's key=value fields."""
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def client_rows(lab):
    """`client list`, by MAC."""
    return {f["mac"]: f for f in map(fields, lab.tetherctl("client", "list").stdout.splitlines()) if "mac" in f}


def ip_rx_bytes(client):
    """Bytes the client's eth0 received at the IP level (without the Ethernet headers)."""
    out = client.run("cat", "/sys/class/net/eth0/statistics/rx_bytes", "/sys/class/net/eth0/statistics/rx_packets").stdout.split()
    return int(out[0]) - 14 * int(out[1])


class Events:
    """The 6xx lines of one control connection to lab's tetherd."""

    def __init__(self, lab):
        self.lab = lab
        self.conn = Conn(lab.socket_path)
        assert self.conn.call(1, "ping") == "200 1 pong"
        self.seen = []

    def wait(self, prefix, timeout):
        """The first line seen starting with prefix, reading more for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while not any(s.startswith(prefix) for s in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %ss; saw %r\nlog:\n%s" % (prefix, timeout, self.seen,
                                                                        self.lab.tetherd_log()[-3000:]))
            try:
                self.seen.append(self.conn.readline(left))
            except TimeoutError:
                pass
        return next(s for s in self.seen if s.startswith(prefix))

    def close(self):
        self.conn.close()
