#!/usr/bin/env python3
"""Time to online over IPv6 (bench/run.py --only online6; section "online6" of docs/PERFORMANCE.md).

One lab set up as integration.ipv6's: inet sends RAs for 2001:db8:1::/64 on the appliance's eth0
link (radvd) and serves HTTP on [2001:db8:ffff::10]:80. tetherd runs with `autostart = no` and
`ipv6 = <mode>`; the client `phone` behind usb0 starts its DHCPv4 client when its eth0 gets
carrier (the lab's udhcpc, as in "Time to online") and, at the same moment, starts fetching
http://[2001:db8:ffff::10]/ every 10 ms: its kernel takes an address by SLAAC from tetherd's RA
(after the kernel's own duplicate address detection, one second by default) and the fetch
succeeds once the address and the default route are there. Each run starts with the client's
interface brought down and up (a device joining afresh), its addresses and RA routes flushed, and no
lease on either side. t0 = `tetherctl tether start`;
measured: IPv4 lease, first IPv4 fetch (through NAT), first IPv6 fetch. Median of REPS runs per
mode. The IPv6 figure is shown beside the IPv4 one of the same runs (the issue's ask), and beside
its floor: the client's own duplicate address detection, twice (its link-local address before it
can solicit a router, then its SLAAC address), each `retrans_time_ms` x `dad_transmits` on its
eth0 after a random delay of up to `rtr_solicit_delay`; no router can shorten that.
"""
import logging
import os
import statistics
import threading
import time

log = logging.getLogger("bench")

BODY6 = "hello over IPv6"


def global6(ns, ifname, prefix=""):
    return [a.split("/")[0] for a in ns.addresses(ifname, family=6, settled=True)
            if not a.startswith("fe80") and a.startswith(prefix)]


def one_run(lab, c, L, h, mode, i):
    app = lab.app
    tag = "v6-%s-%d" % (mode, i)
    pdir = os.path.join(lab.dir, "probe")
    os.makedirs(pdir, exist_ok=True)
    files = {k: os.path.join(pdir, "%s.%s" % (tag, k)) for k in ("cready", "cout")}
    h["rm"](*[os.path.join(c.dir, f) for f in ("lease", "dhclient.leases", "events")])
    h["rm"](os.path.join(lab.state_dir, "dnsmasq-usb0.leases"))
    if not app.has_link("usb0"):
        lab.restore_downstream("usb0")
    # A device that joins: its interface is brought up afresh (a phone joining the AP, a laptop
    # seeing the USB gadget appear), so its kernel solicits a router once its link-local address
    # has passed DAD. (A kernel whose interface only regains carrier sends no solicitation and
    # waits for the next unsolicited RA.)
    c.link_down("eth0")
    c.ip("-4", "addr", "flush", "dev", "eth0")
    c.ip("-6", "addr", "flush", "dev", "eth0")
    c.ip("-6", "route", "flush", "dev", "eth0", "proto", "ra", check=False)
    c.link_up("eth0")
    lab.start_tetherd(h["tetherd_config"](lab, False) + "ipv6 = %s\n" % mode, env=h["lock_env"](lab))

    orig_popen = c.popen

    def wrapped(cmd, **kw):
        return orig_popen(["python3", h["probe"], "client", "--ready", files["cready"], "--out", files["cout"],
                           "--lease", c.lease_file, "--url", L.WHOAMI_URL, "--expect", L.APP_ETH0,
                           "--url6", "http://[%s]/" % L.Lab.INET6_WWW, "--expect6", BODY6, "--"] + list(cmd), **kw)

    c.popen = wrapped
    outcome = {}

    def client():
        try:
            outcome["addr"] = c.dhcp("udhcpc", timeout=20)
        except Exception as e:  # noqa: BLE001
            outcome["error"] = str(e)

    th = threading.Thread(target=client)
    th.start()
    try:
        h["wait_file"](files["cready"])
    finally:
        c.popen = orig_popen
    time.sleep(0.05)
    t0 = time.time()
    lab.tetherctl("tether", "start", check=True)
    th.join(30)
    cout = h["read_json"](files["cout"], timeout=30) or {}
    if "error" in outcome or "t_http" not in cout or "t_http6" not in cout:
        raise RuntimeError("online6 run %s failed: %s %s\n%s" % (tag, outcome.get("error"), cout,
                                                                lab.tetherd_log()[-2000:]))
    res = {"mode": mode, "lease": cout["t_lease"] - t0, "http": cout["t_http"] - t0,
           "http6": cout["t_http6"] - t0, "client6": global6(c, "eth0")}
    c.dhcp_stop(release=False)
    h["stop_tetherd"](lab)
    if app.has_link("usb0"):
        app.link_down("usb0")
    return res


def section_online6(b, res, L, h):
    reps = b.args.online6_reps
    modes = [m for m in b.args.online6_modes.split(",") if m]
    lab = b.new_lab()
    runs = []
    try:
        lab.start()
        lab.private_dhcpcd_dirs()
        lab.inet_ipv6()
        c = lab.add_downstream("usb0", client="phone")
        dad = int(c.sysctl("net.ipv6.neigh.eth0.retrans_time_ms")) * int(c.sysctl("net.ipv6.conf.eth0.dad_transmits"))
        delay = 1000 * int(c.sysctl("net.ipv6.conf.eth0.router_solicitation_delay"))  # seconds
        for i in range(reps):
            for mode in (modes if i % 2 == 0 else modes[::-1]):
                r = one_run(lab, c, L, h, mode, i)
                runs.append(r)
                log.info("online6 %d/%d %-6s lease %.3f  http %.3f  http6 %.3f  (%s)", i + 1, reps, mode,
                         r["lease"], r["http"], r["http6"], " ".join(r["client6"]))
        h["log_problems"](lab, res, "online6")
    finally:
        lab.teardown()
    # Two DADs, each after a random delay in [0, delay): from 2 x dad to 2 x (dad + delay), mean 2 x (dad + delay/2).
    res["online6"] = {"reps": reps, "modes": modes, "runs": runs, "floor_min_s": 2 * dad / 1000.0,
                      "floor_max_s": 2 * (dad + delay) / 1000.0, "floor_mean_s": (2 * dad + delay) / 1000.0}


def _med(runs, mode, key):
    return statistics.median(r[key] for r in runs if r["mode"] == mode)


def summary_rows(res, w, f_ms):
    o = res.get("online6")
    if not o or not o["runs"]:
        return
    for mode in o["modes"]:
        v6, v4 = _med(o["runs"], mode, "http6"), _med(o["runs"], mode, "http")
        w("| online over IPv6 (`ipv6 = %s`): `tether start` → first IPv6 fetch (IPv4: %s) | %s | %s–%s | %.2f× |" % (
            mode, f_ms(v4), f_ms(v6), f_ms(o["floor_min_s"]), f_ms(o["floor_max_s"]), v6 / o["floor_mean_s"]))


def online6_md(res, w, f_ms):
    w("## Time to online over IPv6\n")
    o = res.get("online6")
    if not o:
        w("_Not run this time._\n")
        return
    w("One lab as `integration.ipv6`'s: inet sends RAs for 2001:db8:1::/64 to the appliance's eth0 and")
    w("serves HTTP on [2001:db8:ffff::10]. tetherd runs with `autostart = no`; the client behind usb0")
    w("starts udhcpc when its eth0 gets carrier and, from the same moment, fetches the IPv6 page every")
    w("10 ms; its kernel takes an address by SLAAC from tetherd's RA. Each run starts with the client's")
    w("interface brought down and up (a device joining afresh: its kernel solicits a router once its")
    w("link-local address has passed DAD), its addresses and RA routes flushed and no lease on either")
    w("side; t0 = `tetherctl tether start`.")
    w("Medians of %d runs per mode (modes alternate in order). The **floor** is the client's own" % o["reps"])
    w("duplicate address detection, twice: its link-local address before it can solicit a router, then")
    w("its SLAAC address; each `retrans_time_ms` × `dad_transmits` after a random delay of up to")
    w("`router_solicitation_delay` (%s–%s; the ratio is against the mean, %s). No router can" % (
        f_ms(o["floor_min_s"]), f_ms(o["floor_max_s"]), f_ms(o["floor_mean_s"])))
    w("shorten it. tetherd's own side: the downstream's link-local address skips DAD (`accept_dad = 0`,")
    w("restored at stop), so the router answers the client's first solicitation; with DAD there the")
    w("first solicitation often went unanswered and the client asked again 4 s later (median 7.6 s).\n")
    w("| mode | IPv4 lease | first IPv4 fetch | first IPv6 fetch | IPv6 min–max | floor | ratio |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for mode in o["modes"]:
        rs = [r for r in o["runs"] if r["mode"] == mode]
        v6 = [r["http6"] for r in rs]
        w("| %s | %s | %s | %s | %s–%s | %s | %s |" % (
            mode, f_ms(_med(o["runs"], mode, "lease")), f_ms(_med(o["runs"], mode, "http")),
            f_ms(_med(o["runs"], mode, "http6")), f_ms(min(v6)), f_ms(max(v6)),
            "%s–%s" % (f_ms(o["floor_min_s"]), f_ms(o["floor_max_s"])), "%.2f×" % (statistics.median(v6) / o["floor_mean_s"])))
    w("")
