#!/usr/bin/env python3
"""Footprint with 250 clients counted (issue 14's acceptance line), in one run, as root:

  sudo python3 bench/footprint250.py [--build-dir build] [--window 65] [--clients 250]

One lab, one tetherd (log level info, web off: bench/run.py's footprint set-up): usb0, wlan0 and
bt-pan, each a hub with real clients (7 + 7 + 6 = 20, udhcpc).

1. **20 clients**: every real client leased and counted (2 counter rules each). After 3 s of
   settling, tetherd's /proc status is read before and after a window of --window seconds (at
   least 61: the counter read runs once a minute), with no tetherctl call inside it.
2. **250 clients**: fake leases are appended to the three dnsmasq lease files (as
   bench/clients.py does) until 250 clients are leased, spread over the three downstreams;
   tetherd follows the files (inotify) to 500 counter rules. Three clients get a daily quota
   and three a rate limit (one of each per downstream, a real client among them), so the
   quota chains and the HTB/ifb trees are live. Settled, then the same window.

Each window starts with one ping from a real client (just before it, so the kernel counts a
few bytes and the next minute's read has something to write): the usage history file
(state_dir/client-usage) must be rewritten inside the window, which proves the once-a-minute
counter read and its flush happened in it. Wake-ups = voluntary context switches of all of
tetherd's threads (bench/run.py's definition).

Prints a Markdown table (the "Footprint with 250 clients" section of docs/PERFORMANCE.md)
with the 20- and 250-client figures side by side and as ratios to the budgets (< 5 MiB
resident, <= 1 wake-up/s) and to each other; the raw figures go to
<build dir>/bench-footprint250.json. The lab (namespaces, tetherd, dnsmasq, files) is removed
at the end, whatever happens. About 3 minutes. Run under the lab lock when sharing the machine:
  flock /tmp/tetherd-lab.lock python3 bench/footprint250.py --build-dir build
"""
import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402  (bench/run.py: the lab helpers, /proc readers)

L = R.L
log = logging.getLogger("footprint250")
GROUPS = {"usb0": ["u%d" % i for i in range(7)], "wlan0": ["w%d" % i for i in range(7)],
          "bt-pan": ["b%d" % i for i in range(6)]}


def lease_path(lab, ds):
    return os.path.join(lab.state_dir, "dnsmasq-%s.leases" % ds)


def acct_rules(lab):
    """Counter rules per downstream chain (tetherd_acct_<if>), from iptables-legacy -S."""
    out = {}
    for line in lab.app.run("iptables-legacy", "-w", "-S", env=R.lock_env(lab)).stdout.splitlines():
        if line.startswith("-A tetherd_acct_"):
            chain = line.split()[1]
            out[chain] = out.get(chain, 0) + 1
    return out


def n_rules(lab):
    return sum(acct_rules(lab).values())


def fake_leases(lab, total):
    """Appends fake leases to the three lease files until `total` clients are leased, spread
    evenly; returns {downstream: [(mac, ip), ...]} of the fakes."""
    real = {}
    for ds in GROUPS:
        with open(lease_path(lab, ds)) as f:
            real[ds] = [line.split() for line in f if line.strip()]
    per = {ds: total // len(GROUPS) + (1 if i < total % len(GROUPS) else 0) for i, ds in enumerate(GROUPS)}
    fakes, k = {}, 0
    for i, ds in enumerate(GROUPS):
        taken = {r[2] for r in real[ds]}
        prefix = real[ds][0][2].rsplit(".", 1)[0]
        taken.add(prefix + ".1")  # the router
        lines, host = [], 254
        while len(real[ds]) + len(lines) < per[ds]:
            ip = "%s.%d" % (prefix, host)
            host -= 1
            if host < 2:
                raise RuntimeError("%s: no room for %d leases" % (ds, per[ds]))
            if ip in taken:
                continue
            k += 1
            mac = "02:00:00:%02x:%02x:%02x" % (i, k // 256, k % 256)
            lines.append((mac, ip))
        fakes[ds] = lines
        with open(lease_path(lab, ds), "a") as f:
            f.write("".join("0 %s %s * *\n" % (mac, ip) for mac, ip in lines))
    return fakes


def usage_mtime(lab):
    try:
        return os.stat(os.path.join(lab.state_dir, "client-usage")).st_mtime
    except FileNotFoundError:
        return None


def heap_kb(pid):
    total = 0
    with open("/proc/%d/smaps" % pid) as f:
        cur = None
        for line in f:
            parts = line.split()
            if parts and "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
                cur = parts[5] if len(parts) > 5 else ""
            elif parts and parts[0] == "Rss:" and cur == "[heap]":
                total += int(parts[1])
    return total


def window(lab, pid, pinger, seconds):
    """tetherd's figures over `seconds` of idling; a ping from `pinger` just before, and the
    usage file's rewrite inside the window checked."""
    for _attempt in range(3):
        if not pinger.ping(L.INET_WWW, count=1, timeout=2):
            raise RuntimeError("%s cannot ping %s" % (pinger.name, L.INET_WWW))
        m_before = usage_mtime(lab)
        time.sleep(0.5)  # the ping's own traces (none expected) before the window
        if usage_mtime(lab) == m_before:
            break  # the minute's read did not just take the ping's bytes: they are for the window
    st0, cpu0, cs0 = R.proc_status(pid), R.proc_cpu_ticks(pid), R.ctx_switches(pid)
    wall0, t0 = time.time(), time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    st1, cpu1, cs1 = R.proc_status(pid), R.proc_cpu_ticks(pid), R.ctx_switches(pid)
    m_after = usage_mtime(lab)
    hz = os.sysconf("SC_CLK_TCK")
    out = dict(seconds=dt, rss_kb=R.kb(st1["VmRSS"]), hwm_kb=R.kb(st1["VmHWM"]),
               rss_anon_kb=R.kb(st1.get("RssAnon", "0 kB")), rss_file_kb=R.kb(st1.get("RssFile", "0 kB")),
               rss_kb_window_start=R.kb(st0["VmRSS"]), heap_kb=heap_kb(pid), threads=int(st1["Threads"]),
               cpu_pct=100.0 * (cpu1 - cpu0) / hz / dt, wakeups=cs1[0] - cs0[0],
               wakeups_per_s=(cs1[0] - cs0[0]) / dt, involuntary_per_s=(cs1[1] - cs0[1]) / dt,
               history_flushed_in_window=m_after is not None and m_after > wall0 and m_after != m_before,
               history_flush_at_s=(m_after - wall0) if m_after is not None else None)
    out.update(R.smaps(pid))
    out["rss_by_mapping_kb"] = out["rss_by_mapping_kb"][:8]
    return out


def settle(lab, pid, seconds=3.0):
    time.sleep(seconds)
    if lab.tetherd.poll() is not None:
        raise RuntimeError("tetherd exited:\n" + lab.tetherd_log()[-3000:])
    if R.comm(pid) != "tetherd":
        raise RuntimeError("pid %d is %r, not tetherd" % (pid, R.comm(pid)))


def ctl(lab, *args):
    r = lab.tetherctl(*args)
    if r.returncode != 0:
        raise RuntimeError("tetherctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def measure(b, args):
    res = {"window_s": args.window, "clients_total": args.clients}
    with b.new_lab() as lab:
        R.start_tetherd(lab)
        clients = {}
        for ds, names in GROUPS.items():
            clients[ds] = lab.add_downstream(ds, client=names)
        R.wait_tethered(lab, *GROUPS)
        leases = R.start_dhcp_clients([c for cs in clients.values() for c in cs])
        real = len(leases)
        L.wait_for(lambda: n_rules(lab) == 2 * real, timeout=10, what="%d counter rules" % (2 * real))
        pid = lab.tetherd.pid
        pinger = clients["usb0"][0]
        settle(lab, pid)
        log.info("20 clients: %d counter rules; measuring %d s", n_rules(lab), args.window)
        res["small"] = window(lab, pid, pinger, args.window)
        res["small"].update(clients=real, counter_rules=acct_rules(lab))
        log.info("20 clients: %s", {k: res["small"][k] for k in ("rss_kb", "hwm_kb", "wakeups_per_s",
                                                                  "history_flushed_in_window")})

        # 250: fake leases, then quotas and limits on a handful (one real client each).
        t = time.monotonic()
        fakes = fake_leases(lab, args.clients)
        want = 2 * args.clients
        L.wait_for(lambda: n_rules(lab) == want, timeout=20, what="%d counter rules" % want)
        res["rules_follow_s"] = time.monotonic() - t
        quota_macs, limit_macs = [], []
        for ds in GROUPS:
            quota_macs += [clients[ds][1].link("eth0")["address"] if ds == "usb0" else fakes[ds][0][0]]
            limit_macs += [clients[ds][2].link("eth0")["address"] if ds == "usb0" else fakes[ds][1][0]]
        quota_macs.append(fakes["usb0"][0][0])
        limit_macs.append(fakes["usb0"][1][0])
        for mac in quota_macs:
            ctl(lab, "client", "quota", mac, "1GB")
        for mac in limit_macs:
            ctl(lab, "client", "limit", mac, "5Mbit", "2Mbit")
        res["quotas"], res["limits"] = len(quota_macs), len(limit_macs)
        quota_chains = sum(1 for line in lab.app.run("iptables-legacy", "-w", "-S", env=R.lock_env(lab)).stdout.splitlines()
                           if line.startswith("-N tetherd_quota_"))
        htb = {ds: lab.app.run("tc", "class", "show", "dev", ds).stdout.count("class htb") for ds in GROUPS}
        res["quota_chains"], res["htb_classes"] = quota_chains, htb
        if quota_chains != len(quota_macs) or any(v == 0 for v in htb.values()):
            raise RuntimeError("quotas/limits not applied: %d quota chains, HTB classes %s\n%s" % (
                quota_chains, htb, lab.tetherd_log()[-3000:]))
        settle(lab, pid)
        log.info("%d clients: %d counter rules, %d quota chains, HTB classes %s; measuring %d s",
                 args.clients, n_rules(lab), quota_chains, htb, args.window)
        res["large"] = window(lab, pid, pinger, args.window)
        res["large"].update(clients=real + sum(len(v) for v in fakes.values()), counter_rules=acct_rules(lab))
        log.info("%d clients: %s", args.clients, {k: res["large"][k] for k in ("rss_kb", "hwm_kb", "wakeups_per_s",
                                                                                "history_flushed_in_window")})
        # What a reader pays on demand with 250 (outside the windows): one counter read.
        t = time.monotonic()
        listed = ctl(lab, "client", "list")
        res["client_list_ms"] = 1000 * (time.monotonic() - t)
        res["client_list_lines"] = len(listed.splitlines())
        R.stop_tetherd(lab)
        problems = [line for line in lab.tetherd_log(since_start=False).splitlines()
                    if line.startswith(("warning:", "error:"))]
        res["tetherd_log_problems"] = problems[:20]
        prefix = lab.prefix
    res["leftovers"] = L.leftovers(prefix)
    return res


def render(res, cmd):
    s, g = res["small"], res["large"]
    budget_kb, budget_w = R.RSS_BUDGET_KB, R.WAKEUP_BUDGET_PER_S
    n1, n2 = s["clients"], g["clients"]

    def verdict(v, lim, strict=True):
        return "held" if (v < lim if strict else v <= lim) else "**NOT held**"

    out = []
    w = out.append
    w("| figure | %d clients | %d clients | budget | %d ÷ budget | %d ÷ budget | %d ÷ %d | verdict (%d) |" % (
        n1, n2, n1, n2, n2, n1, n2))
    w("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, key in (("resident (VmRSS), end of window", "rss_kb"), ("peak resident (VmHWM)", "hwm_kb")):
        w("| %s | %d kB (%.2f MiB) | %d kB (%.2f MiB) | < 5 MiB | %.2f× | %.2f× | %.3f× | %s |" % (
            name, s[key], s[key] / 1024, g[key], g[key] / 1024, s[key] / budget_kb, g[key] / budget_kb,
            g[key] / s[key], verdict(g[key], budget_kb)))
    w("| of which anonymous / file-backed | %d / %d kB | %d / %d kB | | | | | |" % (
        s["rss_anon_kb"], s["rss_file_kb"], g["rss_anon_kb"], g["rss_file_kb"]))
    w("| `[heap]` resident | %d kB | %d kB | | | | %.2f× | |" % (s["heap_kb"], g["heap_kb"], g["heap_kb"] / max(1, s["heap_kb"])))
    w("| private (USS) | %d kB | %d kB | < 5 MiB | %.2f× | %.2f× | %.3f× | %s |" % (
        s["uss_kb"], g["uss_kb"], s["uss_kb"] / budget_kb, g["uss_kb"] / budget_kb, g["uss_kb"] / s["uss_kb"],
        verdict(g["uss_kb"], budget_kb)))
    w("| wake-ups per second, idle (%.0f s window) | %.3f (%d) | %.3f (%d) | ≤ 1 | %.3f× | %.3f× | %s | %s |" % (
        g["seconds"], s["wakeups_per_s"], s["wakeups"], g["wakeups_per_s"], g["wakeups"], s["wakeups_per_s"] / budget_w,
        g["wakeups_per_s"] / budget_w,
        "%.2f×" % (g["wakeups_per_s"] / s["wakeups_per_s"]) if s["wakeups_per_s"] else "—",
        verdict(g["wakeups_per_s"], budget_w, strict=False)))
    w("| CPU, idle, over the window | %.3f %% | %.3f %% | | | | | |" % (s["cpu_pct"], g["cpu_pct"]))
    w("| counter read + history flush inside the window | %s (at %s s) | %s (at %s s) | | | | | |" % (
        "yes" if s["history_flushed_in_window"] else "no", "%.0f" % s["history_flush_at_s"] if s["history_flush_at_s"] else "—",
        "yes" if g["history_flushed_in_window"] else "no", "%.0f" % g["history_flush_at_s"] if g["history_flush_at_s"] else "—"))
    w("| counter rules (tetherd_acct_*) | %d | %d | | | | | |" % (sum(s["counter_rules"].values()),
                                                                sum(g["counter_rules"].values())))
    w("| quotas / rate-limited clients | 0 / 0 | %d / %d | | | | | |" % (res["quotas"], res["limits"]))
    w("")
    w("Command: `%s`; %s UTC; lease files → %d rules followed in %.2f s; `tetherctl client list` with %d "
      "clients (one counter read) %.0f ms; tetherd's warnings/errors: %d; lab leftovers: %d." % (
          cmd, datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
          2 * res["clients_total"], res["rules_follow_s"], n2, res["client_list_ms"],
          len(res["tetherd_log_problems"]), len(res["leftovers"])))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(R.SRC, "build"))
    p.add_argument("--window", type=float, default=65.0, help="seconds per window (>= 61: one counter read)")
    p.add_argument("--clients", type=int, default=250)
    args = p.parse_args()
    if args.window < 61:
        p.error("--window: at least 61 s, so that the once-a-minute counter read falls inside")
    if args.clients < 40 or args.clients > 700:
        p.error("--clients: 40..700 (3 downstreams of a /24 each)")
    if os.geteuid() != 0:
        sys.exit("bench/footprint250.py: must run as root (network namespaces, netfilter)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    b = R.Bench(argparse.Namespace(build_dir=args.build_dir))
    t = time.monotonic()
    res = measure(b, args)
    res["total_s"] = time.monotonic() - t
    res["commit"] = subprocess.run(["git", "-C", R.SRC, "rev-parse", "--short", "HEAD"], capture_output=True,
                                   text=True).stdout.strip()
    with open(os.path.join(args.build_dir, "bench-footprint250.json"), "w") as f:
        json.dump(res, f, indent=1)
    cmd = "python3 bench/footprint250.py --build-dir %s%s" % (
        os.path.relpath(args.build_dir, R.SRC), "" if args.window == 65 else " --window %g" % args.window)
    print(render(res, cmd))
    print("\ntotal %.1f min at %s" % (res["total_s"] / 60, res["commit"]))


if __name__ == "__main__":
    main()
