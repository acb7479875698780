#!/usr/bin/env python3
"""A tiny DHCPv4 client on a raw AF_PACKET socket, for tests that need a DHCP request no real
client sends: any hardware type (htype) in the BOOTP header, e.g. 6 (IEEE 802) from an
Ethernet interface. It sends DISCOVER, takes the first OFFER, sends REQUEST and waits for the
ACK, all with the broadcast flag set (the server answers to 255.255.255.255, so nothing
depends on ARP for an address the client does not have yet). It configures nothing: it prints
the result as one JSON line, {"ip", "mask", "router", "server", "lease"}, and exits 0; on a NAK
or when the deadline passes it prints why on stderr and exits 1.

Run it inside the client's namespace (root): raw_dhcp.py IFNAME MAC [--htype 6] [--hostname h]
[--timeout 8]. Python 3 standard library only."""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
BOOTREQUEST, BOOTREPLY = 1, 2
DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
MAGIC = b"\x63\x82\x53\x63"
CLIENT_PORT, SERVER_PORT = 68, 67


def mac_bytes(mac):
    b = bytes(int(x, 16) for x in mac.split(":"))
    if len(b) != 6:
        raise ValueError("not a MAC address: %r" % mac)
    return b


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def option(code, value):
    return bytes([code, len(value)]) + value


def bootp(xid, htype, chaddr, msg_type, extra_options, hostname):
    """The BOOTP/DHCP message (RFC 2131): hlen = len(chaddr), broadcast flag, chaddr padded."""
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", BOOTREQUEST, htype, len(chaddr), 0, xid, 0, 0x8000,
                       b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr.ljust(16, b"\0"), b"", b"")
    opts = option(53, bytes([msg_type]))
    opts += extra_options
    if hostname:
        opts += option(12, hostname.encode())
    opts += option(55, bytes([1, 3, 6, 51, 54]))  # mask, router, DNS, lease time, server id
    opts += b"\xff"
    msg = head + MAGIC + opts
    return msg.ljust(300, b"\0")  # the minimal BOOTP size some servers insist on


def frame(src_mac, payload):
    """Ethernet broadcast / IPv4 0.0.0.0 -> 255.255.255.255 / UDP 68 -> 67 (no UDP checksum)."""
    udp = struct.pack("!HHHH", CLIENT_PORT, SERVER_PORT, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\xff" * 6 + src_mac + struct.pack("!H", ETH_P_IP) + ip + udp


def parse_reply(data, xid):
    """(message type, yiaddr, options) of a DHCP reply to xid in an Ethernet frame, or None."""
    if len(data) < 14 + 20 + 8 + 240 or struct.unpack("!H", data[12:14])[0] != ETH_P_IP:
        return None
    ip = data[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != socket.IPPROTO_UDP:
        return None
    udp = ip[ihl:]
    if struct.unpack("!H", udp[2:4])[0] != CLIENT_PORT:
        return None
    msg = udp[8:]
    if len(msg) < 240 or msg[0] != BOOTREPLY or struct.unpack("!I", msg[4:8])[0] != xid or msg[236:240] != MAGIC:
        return None
    opts, i = {}, 240
    while i < len(msg) and msg[i] != 255:
        if msg[i] == 0:
            i += 1
            continue
        if i + 1 >= len(msg):
            break
        code, length = msg[i], msg[i + 1]
        opts[code] = msg[i + 2:i + 2 + length]
        i += 2 + length
    if 53 not in opts or len(opts[53]) != 1:
        return None
    return opts[53][0], socket.inet_ntoa(msg[16:20]), opts


def exchange(sock, src_mac, packet, xid, wanted, deadline, resend=1.0):
    """Sends packet (again every `resend` s) until a reply of a type in `wanted` arrives."""
    next_send = 0.0
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError("no DHCP reply of type %s" % sorted(wanted))
        if now >= next_send:
            sock.send(frame(src_mac, packet))
            next_send = now + resend
        r, _, _ = select.select([sock], [], [], max(0.01, min(deadline, next_send) - now))
        if not r:
            continue
        got = parse_reply(sock.recv(4096), xid)
        if got and got[0] in wanted:
            return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ifname")
    ap.add_argument("mac")
    ap.add_argument("--htype", type=int, default=1)
    ap.add_argument("--hostname", default="")
    ap.add_argument("--timeout", type=float, default=8.0)
    a = ap.parse_args()
    mac = mac_bytes(a.mac)
    deadline = time.monotonic() + a.timeout
    xid = struct.unpack("!I", os.urandom(4))[0]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((a.ifname, ETH_P_IP))
    try:
        _, offered, opts = exchange(sock, mac, bootp(xid, a.htype, mac, DISCOVER, b"", a.hostname), xid, {OFFER},
                                    deadline)
        server = opts.get(54, b"")
        request = bootp(xid, a.htype, mac, REQUEST, option(50, socket.inet_aton(offered)) + option(54, server),
                        a.hostname)
        kind, yiaddr, opts = exchange(sock, mac, request, xid, {ACK, NAK}, deadline)
    except TimeoutError as e:
        print("raw_dhcp: %s on %s within %.1f s" % (e, a.ifname, a.timeout), file=sys.stderr)
        return 1
    finally:
        sock.close()
    if kind == NAK:
        print("raw_dhcp: NAK for %s (%s)" % (offered, opts.get(56, b"").decode(errors="replace")), file=sys.stderr)
        return 1
    print(json.dumps({
        "ip": yiaddr,
        "mask": socket.inet_ntoa(opts[1]) if len(opts.get(1, b"")) == 4 else None,
        "router": socket.inet_ntoa(opts[3][:4]) if len(opts.get(3, b"")) >= 4 else None,
        "server": socket.inet_ntoa(server) if len(server) == 4 else None,
        "lease": struct.unpack("!I", opts[51])[0] if len(opts.get(51, b"")) == 4 else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
