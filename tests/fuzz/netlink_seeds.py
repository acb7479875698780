#!/usr/bin/env python3
"""Captures real rtnetlink messages as seeds for netlink_fuzzer (corpus/netlink/).

Run as root: `unshare --net python3 tests/fuzz/netlink_seeds.py tests/fuzz/corpus/netlink`.
In the private network namespace it builds a veth pair, a bridge port, IPv4 addresses (one
with a label alias), a default route, a multipath default route and a non-main-table route,
and saves (1) the kernel's dump answers, one message per file, and (2) the event datagrams
(RTMGRP_LINK, IPV4_IFADDR, IPV4_ROUTE) that these changes and their undoing produce, each
datagram as a file and all of them concatenated as one receive buffer (a whole story; link
messages only for eth0 and usb0, to keep it short). Then keep what adds coverage:
  netlink_fuzzer -merge=1 tests/fuzz/corpus/netlink <this output>"""
import os
import socket
import struct
import subprocess
import sys

RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE = 3
GROUPS = 0x1 | 0x10 | 0x40  # RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def messages(buf):
    off = 0
    while off + 16 <= len(buf):
        length, mtype = struct.unpack_from("=IH", buf, off)
        if length < 16 or off + length > len(buf):
            break
        yield mtype, buf[off:off + length]
        off += (length + 3) & ~3


def dump(kind, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    out = []
    while True:
        data = s.recv(65536)
        for mtype, msg in messages(data):
            if mtype == NLMSG_DONE:
                s.close()
                return out
            out.append(msg)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    ev = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    ev.bind((0, GROUPS))
    ip("link", "set", "lo", "up")
    ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    ip("link", "add", "usb0", "type", "veth", "peer", "name", "usb0p")
    ip("link", "add", "br0", "type", "bridge")
    ip("link", "set", "usb0p", "master", "br0")
    for dev in ("eth0", "eth0p", "usb0", "usb0p", "br0"):
        ip("link", "set", dev, "up")
    ip("addr", "add", "192.0.2.10/24", "dev", "eth0")
    ip("addr", "add", "198.51.100.10/24", "dev", "eth0", "label", "eth0:1")
    ip("addr", "add", "192.168.42.1/24", "dev", "usb0")
    ip("route", "add", "default", "via", "192.0.2.1", "dev", "eth0", "metric", "100")
    ip("route", "add", "default", "metric", "200", "nexthop", "via", "192.0.2.1", "dev", "eth0",
       "nexthop", "via", "198.51.100.1", "dev", "eth0")
    ip("route", "add", "default", "via", "192.0.2.1", "dev", "eth0", "table", "100")
    ip("route", "replace", "default", "via", "192.0.2.2", "dev", "eth0", "metric", "100")

    for name, kind, body in (("link", RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0)),
                             ("addr", RTM_GETADDR, struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0)),
                             ("route", RTM_GETROUTE, struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0))):
        for i, msg in enumerate(dump(kind, body)):
            with open(os.path.join(outdir, "dump_%s_%02d" % (name, i)), "wb") as f:
                f.write(msg)

    ip("route", "del", "default", "metric", "200")
    ip("addr", "del", "198.51.100.10/24", "dev", "eth0")
    ip("link", "set", "usb0p", "nomaster")
    ip("link", "set", "eth0", "down")
    ip("link", "del", "usb0")

    ev.setblocking(False)
    story = b""
    n = 0
    while True:
        try:
            data = ev.recv(65536)
        except BlockingIOError:
            break
        with open(os.path.join(outdir, "event_%02d" % n), "wb") as f:
            f.write(data)
        n += 1
        # The story keeps links to eth0 and usb0 (link messages are large).
        if all(t not in (16, 17) or b"eth0\0" in m[32:] or b"usb0\0" in m[32:] for t, m in messages(data)):
            story += data
    with open(os.path.join(outdir, "events_all"), "wb") as f:
        f.write(story)
    print("netlink_seeds: %d dump messages, %d event datagrams" % (len(os.listdir(outdir)) - n - 1, n))


if __name__ == "__main__":
    main()
