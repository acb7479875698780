#!/usr/bin/env python3
"""The lab's "internet" web server (Python standard library only).

Runs inside the lab's `inet` namespace (started by lab.py). Routes:
  GET /            the known body (BODY below, also served for HEAD)
  GET /whoami      the requesting client's IP address, as the server sees it, plus "\n"
                   (tells which upstream and which NAT a request went through)
  GET /bytes/<n>   n bytes of 'x' (at most 64 MiB), for traffic and statistics tests
  GET /status/<c>  an empty reply with HTTP status c

Prints "READY <port>" on stdout once it listens, then serves until SIGTERM/SIGINT.
Logs requests to stderr.
"""
import argparse
import http.server
import signal
import socket
import sys

BODY = b"tetherd lab: hello from the internet\n"
MAX_BYTES = 64 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "tetherd-lab-inet/1"
    protocol_version = "HTTP/1.1"

    def _reply(self, status, body, content_type="text/plain; charset=utf-8", head=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, head):
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self._reply(200, BODY, head=head)
        if path == "/whoami":
            return self._reply(200, (self.client_address[0] + "\n").encode(), head=head)
        if path.startswith("/bytes/"):
            try:
                n = int(path[len("/bytes/"):])
            except ValueError:
                return self._reply(400, b"bad count\n", head=head)
            if n < 0 or n > MAX_BYTES:
                return self._reply(400, b"count out of range\n", head=head)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if not head:
                chunk = b"x" * 65536
                left = n
                while left > 0:
                    k = min(left, len(chunk))
                    self.wfile.write(chunk[:k])
                    left -= k
            return None
        if path.startswith("/status/"):
            try:
                code = int(path[len("/status/"):])
            except ValueError:
                code = 400
            if not 200 <= code <= 599:
                code = 400
            return self._reply(code, b"", head=head)
        return self._reply(404, b"not found\n", head=head)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._route(head=False)

    def do_HEAD(self):  # noqa: N802
        self._route(head=True)

    def log_message(self, fmt, *args):
        sys.stderr.write("inet-http: %s %s\n" % (self.client_address[0], fmt % args))
        sys.stderr.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=80)
    args = ap.parse_args()
    if ":" in args.bind:  # an IPv6 address
        Server.address_family = socket.AF_INET6
    server = Server((args.bind, args.port), Handler)

    def stop(_sig, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
