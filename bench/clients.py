#!/usr/bin/env python3
"""Per-client counters (issue 14): what 250 counted clients cost, in one run, as root:

  sudo python3 bench/clients.py [--build-dir build-bench] [--reps 5] [--seconds 3]

1. Rule cost per lease change: bench_client_rules (C++, IptcFirewall::apply under `unshare -n`)
   with 0 and 250 clients on one downstream: ms per apply (one commit of filter) when one lease
   goes and another comes.
2. Forwarding with and without the 250 per-client rules: one lab, tetherd tethering usb0, one
   real client leased by DHCP; iperf3 TCP and 64-byte UDP to inet with only its own counter
   rules, then with 249 more leases written to dnsmasq's lease file (tetherd follows it: 500
   rules in tetherd_acct_usb0, the real client's in sorted order among them), alternating.
Prints a Markdown table (the "Per-client counters" section of docs/PERFORMANCE.md) and writes
the raw samples to <build dir>/bench-clients.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402  (bench/run.py: the lab helpers and iperf)

L = R.L


def rule_cost(build, reps):
    with tempfile.TemporaryDirectory(prefix="tetherd-bench-clients-") as tmp:
        r = subprocess.run(["unshare", "-n", os.path.join(build, "bench", "bench_client_rules"), "--lock",
                            os.path.join(tmp, "xtables.lock"), "--reps", str(reps), "--sizes", "0,250"],
                           check=True, capture_output=True, text=True, timeout=600)
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def fake_leases(lab, real_ip, n):
    path = os.path.join(lab.state_dir, "dnsmasq-usb0.leases")
    with open(path) as f:
        text = f.read()
    lines, host = [], 2
    while len(lines) < n:
        ip = "192.168.42.%d" % host
        host += 1
        if ip in (real_ip, "192.168.42.1"):
            continue
        lines.append("0 02:00:00:00:%02x:%02x %s * *" % (host // 256, host % 256, ip))
    with open(path, "w") as f:
        f.write(text + "\n".join(lines) + "\n")


def acct_rules(lab):
    return sum(1 for line in lab.app.run("iptables-legacy", "-S").stdout.splitlines()
               if line.startswith("-A tetherd_acct_usb0 "))


def forwarding(b, reps, secs):
    samples = {k: {"tcp": [], "udp_pps": []} for k in ("one", "many")}
    with b.new_lab() as lab:
        R.start_tetherd(lab)
        c = lab.add_downstream("usb0", client="bench")
        R.wait_tethered(lab, "usb0")
        ip = c.dhcp("udhcpc", timeout=10)
        L.wait_for(lambda: acct_rules(lab) == 2, timeout=5, what="the client's counter rules")
        lab.inet.popen("iperf3", "-s", "-B", L.INET_WWW, log_name="iperf3-server.log")
        R.wait_iperf_server(lab)

        def measure(name):
            d = R.iperf(c, [], secs)
            samples[name]["tcp"].append(d["end"]["sum_received"]["bits_per_second"])
            d = R.iperf(c, ["-u", "-l", "64", "-b", "0"], secs)
            s = d["end"]["sum"]
            samples[name]["udp_pps"].append((s["packets"] - s["lost_packets"]) / s["seconds"])
        path = os.path.join(lab.state_dir, "dnsmasq-usb0.leases")
        with open(path) as f:
            original = f.read()
        for rep in range(reps):
            for name in (("one", "many") if rep % 2 == 0 else ("many", "one")):
                if name == "many":
                    fake_leases(lab, ip, 249)
                    L.wait_for(lambda: acct_rules(lab) == 500, timeout=10, what="500 counter rules")
                else:
                    with open(path, "w") as f:
                        f.write(original)
                    L.wait_for(lambda: acct_rules(lab) == 2, timeout=10, what="2 counter rules")
                measure(name)
        R.stop_tetherd(lab)
    return samples


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(R.SRC, "build-bench"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--rule-reps", type=int, default=51)
    args = p.parse_args()
    b = R.Bench(argparse.Namespace(build_dir=args.build_dir))
    res = {"rules": rule_cost(args.build_dir, args.rule_reps), "forwarding": forwarding(b, args.reps, args.seconds)}
    with open(os.path.join(args.build_dir, "bench-clients.json"), "w") as f:
        json.dump(res, f, indent=1)
    med = statistics.median
    print("| measure | without per-client rules | with 250 clients counted | ratio |")
    print("|---|---:|---:|---:|")
    r0, r250 = res["rules"]
    print("| one lease change: IptcFirewall::apply (median / max of %d) | %.2f / %.2f ms | %.2f / %.2f ms | |" % (
        r0["reps"], r0["apply_ms_median"], r0["apply_ms_max"], r250["apply_ms_median"], r250["apply_ms_max"]))
    print("| commits / table reads per lease change | %.0f / %.0f | %.0f / %.0f | |" % (
        r0["commits_per_change"], r0["reads_per_change"], r250["commits_per_change"], r250["reads_per_change"]))
    fw = res["forwarding"]
    t1, t2 = med(fw["one"]["tcp"]), med(fw["many"]["tcp"])
    print("| TCP throughput (median of %d) | %.0f Mbit/s | %.0f Mbit/s | %.2f× |" % (args.reps, t1 / 1e6, t2 / 1e6, t2 / t1))
    u1, u2 = med(fw["one"]["udp_pps"]), med(fw["many"]["udp_pps"])
    print("| UDP 64 B delivered (median of %d) | %.0f kpps | %.0f kpps | %.2f× |" % (args.reps, u1 / 1e3, u2 / 1e3, u2 / u1))


if __name__ == "__main__":
    main()
