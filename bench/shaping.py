#!/usr/bin/env python3
"""Rate limits (issue 14 point 4): how close HTB through tetherd holds a per-client limit.

One lab: usb0 tethered by tetherd with two clients behind a hub, both leased by DHCP. For each
limit, `tetherctl client limit <limited> <down> <up>`, then iperf3 from inet: download (-R) of
both clients at once (the unlimited one beside it), then the limited client's upload alone;
`--seconds` per run (the first second omitted: TCP's start), `--reps` runs; medians. Reports
achieved / limit for each, and writes the "## Rate limits" section of docs/PERFORMANCE.md
(unless --no-report). Usage: sudo python3 bench/shaping.py --build-dir build
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "lab"))
import lab as L  # noqa: E402

LIMITS = [(1_000_000, 1_000_000), (5_000_000, 3_000_000), (20_000_000, 10_000_000)]


def mbit(b):
    return "%gMbit" % (b / 1e6)


def iperf(client, port, reverse, seconds):
    args = ["iperf3", "-c", L.INET_WWW, "-p", str(port), "-t", str(seconds), "-O", "1", "-J"]
    if reverse:
        args.append("-R")
    return client.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def rate_of(p, seconds):
    out, err = p.communicate(timeout=seconds + 30)
    data = json.loads(out)
    if "error" in data:
        raise RuntimeError("iperf3: %s %s" % (data["error"], err))
    return data["end"]["sum_received"]["bits_per_second"]


def tethered(lab):
    return any(l.startswith("usb0 ") and "state=tethered" in l
               for l in lab.tetherctl("tether", "interface", "list").stdout.splitlines())


def run(args):
    build = os.path.abspath(args.build_dir)
    lab = L.Lab(tetherd_bin=os.path.join(build, "tetherd"), tetherctl_bin=os.path.join(build, "tetherctl")).start()
    rows = []
    try:
        lab.start_tetherd(lab.default_config(log_level="info"))
        limited, free = lab.add_downstream("usb0", client=["limited", "free"])
        L.wait_for(lambda: tethered(lab), timeout=10, what="usb0 tethered")
        limited.dhcp("udhcpc", timeout=10)
        free.dhcp("udhcpc", timeout=10)
        for port in (5201, 5202):
            lab.inet.popen("iperf3", "-s", "-p", str(port), log_name="iperf3-%d.log" % port)
        L.wait_for(lambda: all(":%d " % p in lab.inet.run("ss", "-ltnH").stdout for p in (5201, 5202)),
                   timeout=10, what="iperf3 servers")
        queue = ""
        for down, up in LIMITS:
            r = lab.tetherctl("client", "limit", limited.mac, mbit(down), mbit(up))
            if r.returncode != 0:
                raise RuntimeError("client limit: %s %s" % (r.stdout, r.stderr))
            queue = re.search(r"shaping=(\S+)", lab.tetherctl("tether", "status").stdout).group(1)
            d_l, d_f, u_l = [], [], []
            for _ in range(args.reps):
                pl, pf = iperf(limited, 5201, True, args.seconds), iperf(free, 5202, True, args.seconds)
                d_l.append(rate_of(pl, args.seconds))
                d_f.append(rate_of(pf, args.seconds))
                u_l.append(rate_of(iperf(limited, 5201, False, args.seconds), args.seconds))
            row = dict(down=down, up=up, d_l=d_l, d_f=d_f, u_l=u_l)
            rows.append(row)
            print("limit %s/%s: download %.3f (%.3f×), unlimited beside it %.1f Mbit/s, upload %.3f (%.3f×)" % (
                mbit(down), mbit(up), statistics.median(d_l) / 1e6, statistics.median(d_l) / down,
                statistics.median(d_f) / 1e6, statistics.median(u_l) / 1e6, statistics.median(u_l) / up), flush=True)
        lab.tetherctl("client", "limit", limited.mac, "off")
    finally:
        if lab.tetherd is not None and lab.tetherd.poll() is None:
            lab.stop_tetherd()
        lab.teardown()
    return rows, queue


def section(rows, queue, args, started, minutes):
    commit = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    shown = os.environ.get("BENCH_ARGS_SHOWN")
    cmd = "sudo bash bench/shaping.sh%s" % ((" " + shown) if shown else "") if shown is not None else \
        "sudo python3 bench/shaping.py --build-dir %s" % args.build_dir
    w = []
    w.append("## Rate limits\n")
    w.append("`%s` (code %s, %s UTC, %.1f min, load average %s at start). Not written by `bench/run.sh`" % (
        cmd, commit, started.strftime("%Y-%m-%d %H:%M"), minutes, " ".join(load)))
    w.append("(kept by its merge).\n")
    w.append("usb0 tethered by tetherd, two clients behind a hub, both leased by DHCP; `tetherctl client limit")
    w.append("<limited> <down> <up>` on one. iperf3 TCP from the server in inet: download (`-R`) of both clients")
    w.append("at once (the unlimited one beside it), then the limited client's upload; %d s per run, the first" % args.seconds)
    w.append("second omitted (`-O 1`), %d runs, medians. HTB through libnl on usb0's egress (download) and on" % args.reps)
    w.append("tifb-usb0 (upload, redirected from usb0's ingress); leaf queue: **%s** (this kernel%s).\n" % (
        queue, " has no fq_codel" if queue == "pfifo" else ""))
    w.append("| limit down / up | download achieved | ratio | unlimited beside it | upload achieved | ratio | samples down / up (Mbit/s) |")
    w.append("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        dl, df, ul = statistics.median(r["d_l"]), statistics.median(r["d_f"]), statistics.median(r["u_l"])
        w.append("| %s / %s | %.3f Mbit/s | %.3f× | %.0f Mbit/s | %.3f Mbit/s | %.3f× | %s / %s |" % (
            mbit(r["down"]), mbit(r["up"]), dl / 1e6, dl / r["down"], df / 1e6, ul / 1e6, ul / r["up"],
            ", ".join("%.2f" % (x / 1e6) for x in r["d_l"]), ", ".join("%.2f" % (x / 1e6) for x in r["u_l"])))
    w.append("")
    w.append("The ratios are TCP goodput over the configured rate: HTB counts whole frames (Ethernet, IP and")
    w.append("TCP headers), so a goodput of about 0.95× is the limit held exactly; the acceptance bound is ±10 %.")
    w.append("")
    return "\n".join(w) + "\n"


def write_report(text, path):
    old = open(path).read() if os.path.exists(path) else "# Performance\n\n"
    parts = re.split(r"(?m)^(?=## )", old)
    for i, p in enumerate(parts):
        if p.startswith("## Rate limits\n"):
            parts[i] = text
            break
    else:
        # before the log section, if any, else at the end
        idx = next((i for i, p in enumerate(parts) if p.startswith("## tetherd's log")), len(parts))
        parts.insert(idx, text)
    with open(path, "w") as f:
        f.write("".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/shaping.py: must run as root")
    started = datetime.datetime.utcnow()
    rows, queue = run(args)
    minutes = (datetime.datetime.utcnow() - started).total_seconds() / 60
    text = section(rows, queue, args, started, minutes)
    print(text)
    if not args.no_report:
        write_report(text, os.path.join(SRC, "docs", "PERFORMANCE.md"))


if __name__ == "__main__":
    main()
