#!/usr/bin/env python3
"""Small probes bench/run.py starts *inside* lab namespaces (`ip netns exec <ns> python3
ns_probe.py <mode> ...`). Python 3 standard library only. Each writes `--ready` once it is
watching (so the driver knows it may start the clock) and its timestamps (time.time(), the
same clock in every namespace) as JSON to `--out`.

  client   --ready R --out O --lease FILE --url URL [--expect TEXT] -- DHCPCLIENT ARGS...
           A client device: waits for carrier on eth0 (like a phone's network manager, which
           starts DHCP when the link comes up), then execs the DHCP client; a detached child
           waits for the lease file the lab's DHCP script writes last (address and route are
           set by then), then GETs URL until it answers (TEXT in the body). With --url6 it
           also GETs that URL (IPv6, the address SLAAC gives) from carrier on, every 10 ms
           until it answers (--expect6 in the body).
           Out: t_carrier, t_lease, t_http, body (and t_http6, body6).
  udp-port --ready R --out O --port 67
           Polls /proc/net/udp (this namespace's) until something listens on the port: the
           moment the DHCP server can answer. Out: t_bound.
  on-link  --ready R --out O --ifname usb0 -- COMMAND ARGS...
           Subscribes to rtnetlink link events, then execs COMMAND as soon as ifname exists
           (the hand-written floor's "hotplug script"). Out: t_link.
"""
import argparse
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time

POLL = 0.002  # 2 ms


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, path)


def touch(path):
    with open(path, "w") as f:
        f.write("%d\n" % os.getpid())


def carrier(ifname):
    try:
        with open("/sys/class/net/%s/carrier" % ifname) as f:
            return f.read().strip() == "1"
    except OSError:  # no such interface yet, or admin down (EINVAL)
        return False


def wait(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return time.time()
        time.sleep(POLL)
    return None


def http_get(url, timeout):
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
    conn = http.client.HTTPConnection(host.strip("[]"), 80, timeout=timeout)  # "[v6]" -> v6
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def poll_url(url, expect, timeout, out, suffix):
    """GETs url until it answers 200 with expect in the body: out["t_http" + suffix], out["body" + suffix]."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status, body = http_get(url, timeout=1.0)
            if status == 200 and expect in body:
                out["t_http" + suffix] = time.time()
                out["body" + suffix] = body.strip()[:100]
                return
        except OSError:
            pass
        time.sleep(0.01)


def mode_client(a, cmd):
    touch(a.ready)
    t_carrier = wait(lambda: carrier("eth0"), a.timeout)
    if t_carrier is None:
        write_json(a.out, {"error": "no carrier on eth0 within %ss" % a.timeout})
        os.execvp(cmd[0], cmd)
    # A detached grandchild watches for the lease and the first fetch; this process becomes
    # the DHCP client (so the lab's dhcp_stop() and teardown stop the right process).
    pid = os.fork()
    if pid == 0:
        if os.fork() != 0:
            os._exit(0)
        out = {"t_carrier": t_carrier}
        v6 = None
        if a.url6:
            v6 = threading.Thread(target=poll_url, args=(a.url6, a.expect6, a.timeout, out, "6"))
            v6.start()
        t_lease = wait(lambda: os.path.exists(a.lease), a.timeout)
        if t_lease is not None:
            try:
                t_lease = os.stat(a.lease).st_mtime  # written by the DHCP script (ns precision)
            except OSError:
                pass
            out["t_lease"] = t_lease
            poll_url(a.url, a.expect, a.timeout, out, "")
        if v6 is not None:
            v6.join()
        write_json(a.out, out)
        os._exit(0)
    os.waitpid(pid, 0)
    os.execvp(cmd[0], cmd)


def udp_bound(port):
    want = ":%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            local = line.split()[1]
            if local.endswith(want):
                return True
    return False


def mode_udp_port(a):
    touch(a.ready)
    t = wait(lambda: udp_bound(a.port), a.timeout)
    write_json(a.out, {"t_bound": t} if t else {"error": "port %d not bound within %ss" % (a.port, a.timeout)})


RTMGRP_LINK = 1
RTM_NEWLINK = 16
IFLA_IFNAME = 3


def link_names(data):
    """Interface names of the RTM_NEWLINK messages in one rtnetlink datagram."""
    names = []
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if mtype == RTM_NEWLINK:
            a = off + 16 + 16  # nlmsghdr + ifinfomsg
            end = off + length
            while a + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype == IFLA_IFNAME:
                    names.append(data[a + 4:a + alen].split(b"\0", 1)[0].decode(errors="replace"))
                a += (alen + 3) & ~3
        off += (length + 3) & ~3
    return names


def mode_on_link(a, cmd):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, RTMGRP_LINK))
    touch(a.ready)
    try:
        socket.if_nametoindex(a.ifname)
        present = True
    except OSError:
        present = False
    s.settimeout(a.timeout)
    while not present:
        present = a.ifname in link_names(s.recv(65536))
    t = time.time()
    s.close()
    write_json(a.out, {"t_link": t})
    os.execvp(cmd[0], cmd)


def main():
    argv = sys.argv[1:]
    cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("client", "udp-port", "on-link"))
    p.add_argument("--ready", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--lease")
    p.add_argument("--url")
    p.add_argument("--expect", default="")
    p.add_argument("--url6")
    p.add_argument("--expect6", default="")
    p.add_argument("--port", type=int, default=67)
    p.add_argument("--ifname")
    a = p.parse_args(argv)
    if a.mode == "client":
        mode_client(a, cmd)
    elif a.mode == "udp-port":
        mode_udp_port(a)
    else:
        mode_on_link(a, cmd)


if __name__ == "__main__":
    main()
