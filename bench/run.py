#!/usr/bin/env python3
"""tetherd's benchmarks: every figure next to its floor or limit measured in the same run.

Run through `bash bench/run.sh` (installs, builds build-bench/ in the shipped configuration,
RelWithDebInfo, with -DTETHERD_BENCH=ON, then runs this), as root. Rewrites docs/PERFORMANCE.md and writes the raw
samples to <build dir>/bench-results.json.

Sections (--only picks some; the others keep their text in the report as "not run"):
  online     time to online, from `tether start` and from the downstream appearing, to a
             client's lease (dhclient, udhcpc) and first HTTP fetch through NAT, versus the same
             address/rules/dnsmasq done by a hand-written sequence (the floor)
  churn      IptcFirewall::apply for one downstream with 0/1k/10k unrelated rules per table,
             versus iptables-legacy-restore --noflush of the same rules (bench_rule_churn)
  forwarding iperf3 TCP and 64-byte UDP through the appliance with tetherd's rules versus
             plain forwarding (ip_forward=1, no netfilter at all) in a second lab
  footprint  tetherd's RSS, CPU and wake-ups when idle with 3 downstreams and 20 clients;
             stripped binary size
  scale      100 client namespaces asking for leases at once, tetherd versus the floor
  web        /api/status of the web admin under wrk load over loopback, p50/p99 and requests/s,
             versus a minimal keep-alive server sending the same bytes (bench_http_floor);
             reported as pending while tetherd has no web server
  failover   the primary upstream blackholed: time until tetherd switches and until a client is
             online through the secondary, median of 9, next to the probes' hysteresis floor
  online6    time from `tether start` to a client's first IPv6 fetch (SLAAC from tetherd's RA),
             beside its first IPv4 fetch in the same runs and the client's DAD time (bench/online6.py)
  soak       10 000 tether/untether cycles, 100 000 control and 10 000 page requests (logins,
             event streams), tetherd's RSS and descriptors sampled throughout (bench/soak.py);
             about 20 minutes, so only with --only soak

docs/PERFORMANCE.md keeps the sections a run did not run as they were (bench/report_merge.py).

Everything runs in lab namespaces (tests/lab/lab.py) or, for churn, under `unshare -n`; the
labs are always removed. tetherd and the floor use a private xtables lock file, so nothing
waits for other users of /run/xtables.lock.
"""
import argparse
import datetime
import json
import logging
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "lab"))
import lab as L  # noqa: E402
import report_merge  # noqa: E402
import soak  # noqa: E402
import failover  # noqa: E402
import online6  # noqa: E402

PROBE = os.path.join(HERE, "ns_probe.py")
log = logging.getLogger("bench")
SECTIONS = ("online", "churn", "forwarding", "footprint", "scale", "web", "failover", "online6", "soak")
DEFAULT_SECTIONS = SECTIONS[:-1]  # the soak takes 20 minutes: --only soak
HEADINGS = {"online": "## Time to online", "churn": "## Rule churn", "forwarding": "## Forwarding",
            "footprint": "## Footprint", "scale": "## Scale", "web": "## Web (`/api/status`)", "soak": "## Soak",
            "failover": "## Upstream failover", "online6": "## Time to online over IPv6"}
RSS_BUDGET_KB = 5 * 1024          # < 5 MiB resident
WAKEUP_BUDGET_PER_S = 1.0         # no periodic wake-up faster than once a second
USB_ADDR = "192.168.42.1/24"


# ---------------------------------------------------------------------------------------------
# Small helpers

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def run(cmd, check=True, timeout=60, input=None, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, env=env)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    return r


def read_json(path, timeout=0.0):
    deadline = time.time() + timeout
    while True:
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            if time.time() >= deadline:
                return None
            time.sleep(0.02)


def wait_file(path, timeout=10.0):
    L.wait_for(lambda: os.path.exists(path), timeout=timeout, interval=0.005, what=path)


def rm(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def ctx_switches(pid):
    """(voluntary, involuntary) summed over every thread of pid."""
    vol = inv = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            st = proc_status_path("/proc/%d/task/%s/status" % (pid, tid))
        except OSError:
            continue
        vol += int(st.get("voluntary_ctxt_switches", 0))
        inv += int(st.get("nonvoluntary_ctxt_switches", 0))
    return vol, inv


def proc_status_path(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def smaps(pid):
    """Where the resident memory is: /proc/<pid>/smaps_rollup totals and Rss per mapped file."""
    roll = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                roll[k] = kb(v.strip())
    per = {}
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if parts and re.match(r"^[0-9a-f]+-[0-9a-f]+$", parts[0]):
                cur = os.path.basename(parts[5]) if len(parts) > 5 else "[anonymous]"
            elif parts and parts[0] == "Rss:":
                per[cur] = per.get(cur, 0) + int(parts[1])
    return {"pss_kb": roll.get("Pss"), "uss_kb": roll.get("Private_Clean", 0) + roll.get("Private_Dirty", 0),
            "anonymous_kb": roll.get("Anonymous"), "shared_clean_kb": roll.get("Shared_Clean"),
            "rss_by_mapping_kb": sorted(per.items(), key=lambda kv: -kv[1])}


def udp_counters(ns):
    """The Udp: line of /proc/net/snmp in namespace ns, as a dict."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").stdout.splitlines() if l.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def kb(value):  # "1234 kB" -> 1234
    return int(value.split()[0])


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")[:-1]
    except OSError:
        return []


def ns_pids_named(ns, name):
    return [p for p in ns.pids() if comm(p) == name]


# ---------------------------------------------------------------------------------------------
# tetherd in a lab

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build_dir)
        self.tetherd = os.path.join(self.build, "tetherd")
        self.tetherctl = os.path.join(self.build, "tetherctl")
        self.churn_bin = os.path.join(self.build, "bench", "bench_rule_churn")

    def new_lab(self):
        return L.Lab(tetherd_bin=self.tetherd, tetherctl_bin=self.tetherctl, say=log.debug)


def log_problems(lab, res, section):
    """tetherd's warning and error lines over the whole section (all its starts), kept in the results."""
    lines = [l for l in lab.tetherd_log(since_start=False).splitlines() if l.startswith(("warning:", "error:"))]
    res.setdefault("tetherd_log_problems", {})[section] = lines[:50]
    if lines:
        log.warning("%s: tetherd logged %d warning/error line(s), e.g. %s", section, len(lines), lines[0])


def lock_env(lab):
    return {"XTABLES_LOCKFILE": os.path.join(lab.dir, "xtables.lock")}


def tetherd_config(lab, autostart=True):
    return lab.default_config(("eth0", "wwan0"), log_level="info") + \
        "\n[tethering]\nautostart = %s\n" % ("yes" if autostart else "no")


def start_tetherd(lab, autostart=True):
    lab.start_tetherd(tetherd_config(lab, autostart), env=lock_env(lab))


def stop_tetherd(lab):
    if lab.tetherd is not None and lab.tetherd.poll() is None:
        rc = lab.stop_tetherd(signal.SIGTERM)
        if rc != 0:
            raise RuntimeError("tetherd exited with %s:\n%s" % (rc, lab.tetherd_log()[-3000:]))


def iface_state(lab, ifname):
    r = lab.tetherctl("tether", "interface", "list")
    for line in r.stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            m = re.search(r"state=(\S+)", line)
            return m.group(1) if m else None
    return None


def wait_tethered(lab, *ifnames, timeout=15):
    for ifname in ifnames:
        L.wait_for(lambda: iface_state(lab, ifname) == "tethered", timeout=timeout, interval=0.05,
                   what="%s tethered (log:\n%s)" % (ifname, lab.tetherd_log()[-2000:]))


def wait_no_dnsmasq(lab, timeout=10):
    L.wait_for(lambda: not ns_pids_named(lab.app, "dnsmasq"), timeout=timeout, what="no dnsmasq in app")


def start_dhcp_clients(clients, timeout=15):
    """Runs c.dhcp('udhcpc') for every client in parallel threads; returns the addresses."""
    results, errors = {}, []

    def one(c):
        try:
            results[c.name] = c.dhcp("udhcpc", timeout=timeout)
        except Exception as e:  # noqa: BLE001
            errors.append("%s: %s" % (c.name, e))

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("DHCP failed:\n" + "\n".join(errors))
    return results


# ---------------------------------------------------------------------------------------------
# The floor: tetherd's work for usb0 done by a hand-written sequence

class Floor:
    """What tetherd does for one downstream, as a shell script: the same address (ip -batch),
    the same dnsmasq argv (paths moved to the floor's own directory), ip_forward=1 and the
    same rules (iptables-legacy-restore --noflush). Captured from a tetherd run in the same lab."""

    def __init__(self, lab, ifname="usb0"):
        self.lab = lab
        self.ifname = ifname
        self.dir = os.path.join(lab.dir, "floor")
        self.run_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")
        for d in (self.dir, self.run_dir, self.state_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        self.up_script = os.path.join(self.dir, "up.sh")
        self.lease_file = None
        self.argv = None

    def capture(self):
        """While tetherd has ifname tethered: its address, rules and dnsmasq argv."""
        lab = self.lab
        addrs = lab.app.addresses(self.ifname)
        if len(addrs) != 1:
            raise RuntimeError("%s has addresses %s" % (self.ifname, addrs))
        pids = ns_pids_named(lab.app, "dnsmasq")
        argv = next((cmdline(p) for p in pids if "--interface=%s" % self.ifname in cmdline(p)), None)
        if not argv:
            raise RuntimeError("no dnsmasq for %s in %s" % (self.ifname, lab.app.name))
        rules = []
        for table in ("filter", "nat", "mangle"):
            out = lab.app.run("iptables-legacy-save", "-t", table).stdout
            rules.append("*%s" % table)
            rules += [l for l in out.splitlines() if "tetherd_" in l]
            rules.append("COMMIT")
        self.rules_text = "\n".join(rules) + "\n"
        self.argv = [a.replace(lab.run_dir, self.run_dir).replace(lab.state_dir, self.state_dir) for a in argv]
        self.lease_file = next(a.split("=", 1)[1] for a in self.argv if a.startswith("--dhcp-leasefile="))
        shutil.copy(os.path.join(lab.run_dir, "dnsmasq-servers.conf"), os.path.join(self.run_dir, "dnsmasq-servers.conf"))
        os.chmod(os.path.join(self.run_dir, "dnsmasq-servers.conf"), 0o644)
        with open(os.path.join(self.dir, "rules.txt"), "w") as f:
            f.write(self.rules_text)
        with open(os.path.join(self.dir, "addr.batch"), "w") as f:
            f.write("addr add %s dev %s\nlink set %s up\n" % (addrs[0], self.ifname, self.ifname))
        with open(self.up_script, "w") as f:
            f.write("#!/bin/sh\n"
                    "# The floor: tetherd's work for %(if)s by hand (bench/run.py wrote this).\n"
                    "export XTABLES_LOCKFILE=%(lock)s\n"
                    "ip -batch %(dir)s/addr.batch\n"
                    "%(dnsmasq)s </dev/null >>%(dir)s/dnsmasq.log 2>&1 &\n"
                    "echo 1 > /proc/sys/net/ipv4/ip_forward\n"
                    "iptables-legacy-restore --noflush < %(dir)s/rules.txt\n"
                    % {"if": self.ifname, "lock": lock_env(lab)["XTABLES_LOCKFILE"], "dir": self.dir,
                       "dnsmasq": " ".join(shlex.quote(a) for a in self.argv)})
        os.chmod(self.up_script, 0o755)
        return self

    def up(self):
        self.lab.app.run("sh", self.up_script)

    def down(self):
        lab = self.lab
        for p in ns_pids_named(lab.app, "dnsmasq"):
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        wait_no_dnsmasq(lab)
        if lab.app.has_link(self.ifname):
            lab.app.ip("addr", "flush", "dev", self.ifname)
            lab.app.link_down(self.ifname)
        lab.app.sysctl("net.ipv4.ip_forward", 0)
        empty = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                 "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
                 "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                 ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
        lab.app.run("iptables-legacy-restore", input=empty, env=lock_env(lab))
        rm(os.path.join(self.run_dir, "dnsmasq-%s.pid" % self.ifname), self.lease_file)


def capture_floor(lab, ifname="usb0"):
    """A tetherd run that tethers ifname (present in the lab), to capture the floor from."""
    start_tetherd(lab, autostart=True)
    wait_tethered(lab, ifname)
    floor = Floor(lab, ifname).capture()
    stop_tetherd(lab)
    if lab.app.has_link(ifname):
        lab.app.link_down(ifname)
    return floor


# ---------------------------------------------------------------------------------------------
# Time to online

def online_run(b, lab, c, floor, impl, trigger, kind):
    """One measured run; returns seconds from t0 to carrier/DHCP server bound/lease/HTTP."""
    app = lab.app
    tag = "%s-%s-%s-%d" % (impl, trigger, kind, int(time.time() * 1000) % 100000000)
    pdir = os.path.join(lab.dir, "probe")
    os.makedirs(pdir, exist_ok=True)
    files = {k: os.path.join(pdir, "%s.%s" % (tag, k)) for k in
             ("cready", "cout", "uready", "uout", "lready", "lout")}
    rm(*[os.path.join(c.dir, f) for f in ("lease", "dhclient.leases", "events")])
    rm(os.path.join(lab.state_dir, "dnsmasq-usb0.leases"), floor.lease_file)
    present = trigger == "start"
    if present and not app.has_link("usb0"):
        lab.restore_downstream("usb0")
    if not present and app.has_link("usb0"):
        lab.remove_downstream("usb0")
    if present:
        c.ip("addr", "flush", "dev", "eth0")

    if impl == "tetherd":
        start_tetherd(lab, autostart=(trigger == "appear"))
        if trigger == "appear":
            L.wait_for(lambda: "started" in lab.tetherctl("tether", "status").stdout, timeout=5,
                       what="tethering started")
    elif trigger == "appear":
        app.popen("python3", PROBE, "on-link", "--ready", files["lready"], "--out", files["lout"],
                  "--ifname", "usb0", "--", "sh", floor.up_script, log_name="probe/%s.onlink.log" % tag)
        wait_file(files["lready"])
    app.popen("python3", PROBE, "udp-port", "--port", "67", "--ready", files["uready"], "--out", files["uout"],
              log_name="probe/%s.udp.log" % tag)
    wait_file(files["uready"])

    # The lab's own DHCP client command, started by the probe once eth0 has carrier.
    orig_popen = c.popen

    def wrapped(cmd, **kw):
        return orig_popen(["python3", PROBE, "client", "--ready", files["cready"], "--out", files["cout"],
                           "--lease", c.lease_file, "--url", L.WHOAMI_URL, "--expect", L.APP_ETH0, "--"]
                          + list(cmd), **kw)

    c.popen = wrapped
    outcome = {}

    def client():
        try:
            outcome["addr"] = c.dhcp(kind, timeout=20)
        except Exception as e:  # noqa: BLE001
            outcome["error"] = str(e)

    th = threading.Thread(target=client)
    th.start()
    try:
        wait_file(files["cready"])
    finally:
        c.popen = orig_popen
    time.sleep(0.05)  # let the probes settle into their polling loops

    t0 = time.time()
    if trigger == "start":
        if impl == "tetherd":
            lab.tetherctl("tether", "start", check=True)
        else:
            floor.up()
    else:
        proc, c.dhcp_proc = c.dhcp_proc, None  # restore_downstream would stop the waiting client
        lab.restore_downstream("usb0")
        c.dhcp_proc = proc
    th.join(30)
    cout = read_json(files["cout"], timeout=10) or {}
    uout = read_json(files["uout"], timeout=2) or {}
    lout = read_json(files["lout"], timeout=0) or {}
    if "error" in outcome or "t_http" not in cout:
        raise RuntimeError("online run %s failed: %s %s\n%s" % (tag, outcome.get("error"), cout,
                                                               lab.tetherd_log()[-2000:]))

    def rel(t):
        return None if t is None else t - t0

    result = dict(impl=impl, trigger=trigger, client=kind, carrier=rel(cout.get("t_carrier")),
                  dhcp_bound=rel(uout.get("t_bound")), lease=rel(cout.get("t_lease")),
                  http=rel(cout.get("t_http")), link_seen=rel(lout.get("t_link")))

    c.dhcp_stop(release=False)
    if impl == "tetherd":
        stop_tetherd(lab)
        if app.has_link("usb0"):
            app.link_down("usb0")
    else:
        floor.down()
    return result


def section_online(b, res):
    reps = b.args.online_reps
    runs = []
    with b.new_lab() as lab:
        c = lab.add_downstream("usb0", client="phone")
        floor = capture_floor(lab)
        res["online_floor"] = {"argv": floor.argv, "rules": floor.rules_text}
        # What the two triggers cost by themselves: a tetherctl round trip, an empty `ip netns exec`.
        start_tetherd(lab, autostart=False)
        ping, nsexec = [], []
        for _ in range(9):
            t = time.time()
            lab.tetherctl("ping", check=True)
            ping.append(time.time() - t)
            t = time.time()
            lab.app.run("true")
            nsexec.append(time.time() - t)
        stop_tetherd(lab)
        res["online_trigger_cost"] = {"tetherctl_ping": med(ping), "netns_exec_true": med(nsexec)}
        # Warm-up (not counted): the first of each kind pays for cold caches.
        for impl in ("tetherd", "floor"):
            online_run(b, lab, c, floor, impl, "start", "udhcpc")
        for rep in range(reps):
            for trigger in ("start", "appear"):
                for kind in ("udhcpc", "dhclient"):
                    order = ("tetherd", "floor") if rep % 2 == 0 else ("floor", "tetherd")
                    for impl in order:
                        r = online_run(b, lab, c, floor, impl, trigger, kind)
                        log.info("online %d/%d %-7s %-6s %-8s carrier %s  dhcp-bound %s  lease %.3f  http %.3f",
                                 rep + 1, reps, impl, trigger, kind, fmt_s(r["carrier"]), fmt_s(r["dhcp_bound"]),
                                 r["lease"], r["http"])
                        runs.append(r)
        log_problems(lab, res, "online")
    res["online"] = {"reps": reps, "runs": runs}


def fmt_s(v):
    return "-" if v is None else "%.3f" % v


# ---------------------------------------------------------------------------------------------
# Rule churn

def section_churn(b, res):
    tmp = tempfile.mkdtemp(prefix="tetherd-bench-churn-")
    try:
        cmd = ["unshare", "-n", b.churn_bin, "--lock", os.path.join(tmp, "xtables.lock"),
               "--reps", str(b.args.churn_reps), "--sizes", "0,1000,10000"]
        r = run(cmd, timeout=600)
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for row in rows:
        log.info("churn %5d rules/table %-6s: tether %.2f ms (floor %.2f)  untether %.2f ms (floor %.2f)  "
                 "no-op %.2f ms  commits %s/%s", row["rules_per_table"], row["case"], row["iptc_tether_ms"],
                 row["floor_tether_ms"], row["iptc_untether_ms"], row["floor_untether_ms"], row["iptc_noop_ms"],
                 set(row["tether_commits"]), set(row["untether_commits"]))
    res["churn"] = {"reps": b.args.churn_reps, "rows": rows}


# ---------------------------------------------------------------------------------------------
# Forwarding

def iperf(client, args, seconds):
    r = client.run("iperf3", "-c", L.INET_WWW, "-t", str(seconds), "-J", *args, check=False, timeout=seconds + 30)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        raise RuntimeError("iperf3 %s: %s %s" % (" ".join(args), r.stdout[-500:], r.stderr[-500:]))
    if "error" in data:
        raise RuntimeError("iperf3 %s: %s" % (" ".join(args), data["error"]))
    return data


def wait_iperf_server(lab):
    L.wait_for(lambda: ":5201 " in lab.inet.run("ss", "-ltnH").stdout, timeout=10, what="iperf3 server")


def section_forwarding(b, res):
    secs = b.args.fwd_seconds
    reps = b.args.fwd_reps
    samples = {"tetherd": {"tcp": [], "udp_pps": [], "udp_loss": []},
               "plain": {"tcp": [], "udp_pps": [], "udp_loss": []}}
    with b.new_lab() as nat_lab, b.new_lab() as plain_lab:
        # tetherd: usb0 tethered, client leased by DHCP, NAT through eth0.
        start_tetherd(nat_lab)
        nc = nat_lab.add_downstream("usb0", client="bench")
        wait_tethered(nat_lab, "usb0")
        nc.dhcp("udhcpc", timeout=10)
        # The limit: the same topology, the appliance only routes (ip_forward=1): no netfilter
        # table, no conntrack ever instantiated in its namespace; inet routes back to the client.
        pc = plain_lab.add_downstream("usb0", client="bench", app_up=True)
        plain_lab.app.ip("addr", "add", USB_ADDR, "dev", "usb0")
        plain_lab.app.sysctl("net.ipv4.ip_forward", 1)
        pc.ip("addr", "add", "192.168.42.10/24", "dev", "eth0")
        pc.ip("route", "add", "default", "via", "192.168.42.1")
        plain_lab.inet.ip("route", "add", "192.168.42.0/24", "via", L.APP_ETH0)
        seen = {"tetherd": nc.curl(L.WHOAMI_URL).strip(), "plain": pc.curl(L.WHOAMI_URL).strip()}
        if seen["tetherd"] != L.APP_ETH0 or seen["plain"] != "192.168.42.10":
            raise RuntimeError("unexpected whoami answers: %s" % seen)
        # Nothing of netfilter in the plain appliance (no table was ever created there).
        nf = plain_lab.app.run("sh", "-c", "cat /proc/net/ip_tables_names 2>/dev/null; nft list ruleset 2>/dev/null").stdout
        res["forwarding_plain_netfilter"] = nf.strip()
        for lab in (nat_lab, plain_lab):
            lab.inet.popen("iperf3", "-s", "-B", L.INET_WWW, log_name="iperf3-server.log")
            wait_iperf_server(lab)
        setups = {"tetherd": nc, "plain": pc}
        for test in ("tcp", "udp"):
            for rep in range(reps):
                order = ("tetherd", "plain") if rep % 2 == 0 else ("plain", "tetherd")
                for name in order:
                    client = setups[name]
                    if test == "tcp":
                        d = iperf(client, [], secs)
                        bps = d["end"]["sum_received"]["bits_per_second"]
                        samples[name]["tcp"].append(bps)
                        log.info("forwarding %d/%d tcp %-7s %.0f Mbit/s", rep + 1, reps, name, bps / 1e6)
                    else:
                        d = iperf(client, ["-u", "-l", "64", "-b", "0"], secs)
                        s = d["end"]["sum"]
                        delivered = (s["packets"] - s["lost_packets"]) / s["seconds"]
                        samples[name]["udp_pps"].append(delivered)
                        samples[name]["udp_loss"].append(s.get("lost_percent"))
                        log.info("forwarding %d/%d udp %-7s %.0f packets/s delivered (%.1f%% lost)",
                                 rep + 1, reps, name, delivered, s.get("lost_percent", 0))
        stop_tetherd(nat_lab)
        log_problems(nat_lab, res, "forwarding")
    res["forwarding"] = {"seconds": secs, "reps": reps, "samples": samples, "whoami": seen}


# ---------------------------------------------------------------------------------------------
# Footprint

def section_footprint(b, res):
    idle = b.args.idle_seconds
    out = {}
    with b.new_lab() as lab:
        start_tetherd(lab)
        groups = {"usb0": ["u%d" % i for i in range(7)], "wlan0": ["w%d" % i for i in range(7)],
                  "bt-pan": ["b%d" % i for i in range(6)]}
        clients = []
        for ds, names in groups.items():
            clients += lab.add_downstream(ds, client=names)
        wait_tethered(lab, *groups)
        leases = start_dhcp_clients(clients)
        out["clients"] = len(leases)
        pid = lab.tetherd.pid
        # lab.tetherd is `ip netns exec ... tetherd`, which execs: the pid is tetherd's.
        if comm(pid) != "tetherd":
            raise RuntimeError("pid %d is %r, not tetherd" % (pid, comm(pid)))
        dns = ns_pids_named(lab.app, "dnsmasq")
        time.sleep(3)  # settle: the last DHCP log lines, lease file writes
        st0, cpu0, cs0 = proc_status(pid), proc_cpu_ticks(pid), ctx_switches(pid)
        dcpu0 = {p: proc_cpu_ticks(p) for p in dns}
        dcs0 = {p: ctx_switches(p) for p in dns}
        t0 = time.monotonic()
        time.sleep(idle)
        dt = time.monotonic() - t0
        st1, cpu1, cs1 = proc_status(pid), proc_cpu_ticks(pid), ctx_switches(pid)
        hz = os.sysconf("SC_CLK_TCK")
        out.update(
            seconds=dt, threads=int(st1["Threads"]), rss_kb=kb(st1["VmRSS"]), hwm_kb=kb(st1["VmHWM"]),
            rss_anon_kb=kb(st1.get("RssAnon", "0 kB")), rss_file_kb=kb(st1.get("RssFile", "0 kB")),
            cpu_pct=100.0 * (cpu1 - cpu0) / hz / dt,
            wakeups_per_s=(cs1[0] - cs0[0]) / dt, involuntary_per_s=(cs1[1] - cs0[1]) / dt,
            dnsmasq=len(dns),
            dnsmasq_rss_kb=[kb(proc_status(p)["VmRSS"]) for p in dns],
            dnsmasq_cpu_pct=[100.0 * (proc_cpu_ticks(p) - dcpu0[p]) / hz / dt for p in dns],
            dnsmasq_wakeups_per_s=[(ctx_switches(p)[0] - dcs0[p][0]) / dt for p in dns],
            rss_kb_before_idle=kb(st0["VmRSS"]))
        out.update(smaps(pid))
        log.info("footprint: RSS %d kB (HWM %d kB), CPU %.3f %%, %.2f wake-ups/s over %.1f s, %d threads",
                 out["rss_kb"], out["hwm_kb"], out["cpu_pct"], out["wakeups_per_s"], dt, out["threads"])
        stop_tetherd(lab)
        log_problems(lab, res, "footprint")
    # Binary sizes (a stripped copy; the build keeps its symbols).
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in (("tetherd", b.tetherd), ("tetherctl", b.tetherctl)):
            dst = os.path.join(tmp, name)
            run(["strip", "-o", dst, path])
            out["%s_stripped_bytes" % name] = os.path.getsize(dst)
            out["%s_unstripped_bytes" % name] = os.path.getsize(path)
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        run(["strip", "-o", os.path.join(tmp, "dnsmasq"), dnsmasq])
        out["dnsmasq_stripped_bytes"] = os.path.getsize(os.path.join(tmp, "dnsmasq"))
    out["dynamic_libs"] = [l.split()[0] for l in run(["ldd", b.tetherd]).stdout.splitlines() if "=>" in l]
    res["footprint"] = out


# ---------------------------------------------------------------------------------------------
# Scale

def scale_run(lab, clients, impl, floor):
    """All clients' udhcpc released at once (a FIFO barrier); seconds to each lease."""
    sdir = os.path.join(lab.dir, "scale")
    os.makedirs(sdir, exist_ok=True)
    fifo = os.path.join(sdir, "go")
    rm(fifo)
    os.mkfifo(fifo)
    for c in clients:
        rm(c.lease_file, os.path.join(c.dir, "events"))
    if impl == "tetherd":
        rm(os.path.join(lab.state_dir, "dnsmasq-usb0.leases"))
        start_tetherd(lab)
        wait_tethered(lab, "usb0")
    else:
        rm(floor.lease_file)
        floor.up()
    ready = []
    for i, c in enumerate(clients):
        r = os.path.join(sdir, "ready.%d" % i)
        rm(r)
        ready.append(r)
        cmd = ["udhcpc", "-f", "-i", c.IFNAME, "-s", c.script, "-t", "30", "-T", "1", "-n",
               "-p", os.path.join(c.dir, "udhcpc.pid")]
        c.dhcp_kind = "udhcpc"
        c.dhcp_proc = c.popen("sh", "-c", ': > "$0"; read x < "$1" || true; shift; exec "$@"', r, fifo, *cmd,
                              log_name="client-%s/udhcpc.log" % c.client_name)
    L.wait_for(lambda: all(os.path.exists(r) for r in ready), timeout=60, interval=0.05, what="clients waiting")
    time.sleep(0.3)  # every waiting shell is blocked in open(fifo) by now
    watched = ns_pids_named(lab.app, "dnsmasq") + ([lab.tetherd.pid] if impl == "tetherd" else [])
    cpu0 = {p: proc_cpu_ticks(p) for p in watched}
    udp0 = udp_counters(lab.app)
    t0 = time.time()
    fd = os.open(fifo, os.O_WRONLY)  # releases every reader blocked in open()
    time.sleep(0.05)
    os.close(fd)                      # ... whose read then sees EOF: udhcpc starts
    deadline = time.time() + 60
    while time.time() < deadline and not all(os.path.exists(c.lease_file) for c in clients):
        time.sleep(0.02)
    hz = os.sysconf("SC_CLK_TCK")
    cpu = {comm(p): (proc_cpu_ticks(p) - cpu0[p]) / hz for p in watched}
    udp1 = udp_counters(lab.app)
    udp = {k: udp1[k] - udp0[k] for k in ("InDatagrams", "RcvbufErrors", "InErrors", "OutDatagrams")}
    times = []
    for c in clients:
        try:
            times.append(os.stat(c.lease_file).st_mtime - t0)
        except OSError:
            pass
    for c in clients:
        c.dhcp_stop(release=False)
    if impl == "tetherd":
        stop_tetherd(lab)
    else:
        floor.down()
    for c in clients:
        c.ip("addr", "flush", "dev", "eth0", check=False)
    times.sort()
    return dict(impl=impl, served=len(times), first=times[0] if times else None, median=med(times),
                last=times[-1] if times else None, cpu_s=cpu, app_udp=udp)


def section_scale(b, res):
    n = b.args.scale_clients
    runs = []
    with b.new_lab() as lab:
        t = time.monotonic()
        clients = lab.add_downstream("usb0", client=["s%d" % i for i in range(n)])
        build_s = time.monotonic() - t
        log.info("scale: %d client namespaces on a hub behind usb0 in %.1f s", n, build_s)
        floor = capture_floor(lab)
        for rep in range(b.args.scale_reps):
            order = ("tetherd", "floor") if rep % 2 == 0 else ("floor", "tetherd")
            for impl in order:
                r = scale_run(lab, clients, impl, floor)
                log.info("scale %d/%d %-7s: %d/%d served, first %.3f s, median %.3f s, last %.3f s, CPU %s, UDP %s",
                         rep + 1, b.args.scale_reps, impl, r["served"], n, r["first"] or -1, r["median"] or -1,
                         r["last"] or -1, r["cpu_s"], r["app_udp"])
                runs.append(r)
        log_problems(lab, res, "scale")
    res["scale"] = {"clients": n, "reps": b.args.scale_reps, "runs": runs, "build_s": build_s}


# ---------------------------------------------------------------------------------------------
# Web

WEB_PORT, FLOOR_PORT = 8080, 8081
WEB_PASSWORD = "bench-only-password-1"


def web_detect():
    """Whether tetherd can serve the web admin: web/ sources and a [web] section or --web option."""
    web_dir = os.path.join(SRC, "web")
    sources = sorted(f for f in os.listdir(web_dir) if f.endswith((".cpp", ".h", ".hpp")))
    main_src = open(os.path.join(SRC, "tether", "app", "main_tetherd.cpp")).read()
    config_src = ""
    for f in sorted(os.listdir(os.path.join(SRC, "config"))):
        if f.endswith((".cpp", ".h")):
            config_src += open(os.path.join(SRC, "config", f)).read()
    has_option = "--web" in main_src
    has_section = re.search(r'"web"|\[web\]', config_src) is not None
    has_server = any(f.startswith("web_server") for f in sources)
    return {"sources": sources, "option": has_option, "config_section": has_section,
            "status": "present" if has_server and (has_option or has_section) else "pending"}


def wrk_run(ns, url, conns, threads, seconds, headers=()):
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % seconds, "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = ns.run(*cmd, url, timeout=seconds + 30).stdout
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}

    def lat(pct):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, out, re.M)
        return float(m.group(1)) * unit[m.group(2)] if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(rps.group(1)) if rps else None, "p50": lat(50), "p99": lat(99),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def section_web(b, res):
    """/api/status of tetherd's web admin under loopback load (wrk), against a minimal
    keep-alive server answering with the same bytes (bench_http_floor)."""
    info = web_detect()
    res["web"] = info
    if info["status"] == "pending":
        return
    secs, reps = b.args.web_seconds, b.args.web_reps
    with b.new_lab() as lab:
        cfg = tetherd_config(lab) + "\n[web]\nenabled = yes\nport = %d\nlisten = localhost downstreams\n" % WEB_PORT
        lab.start_tetherd(cfg, env=lock_env(lab))
        c = lab.add_downstream("usb0", client="web")
        wait_tethered(lab, "usb0")
        c.dhcp("udhcpc", timeout=10)  # a client with a lease: /api/status has something to say
        base = "http://127.0.0.1:%d" % WEB_PORT
        L.wait_for(lambda: lab.app.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/api/session",
                                       check=False).stdout == "200", timeout=10, what="web server")
        st0 = proc_status(lab.tetherd.pid)
        r = lab.app.run("curl", "-sS", "-i", "-X", "POST", "-H", "Content-Type: application/json",
                        "-d", json.dumps({"password": WEB_PASSWORD}), base + "/api/setup")
        m = re.search(r"^Set-Cookie:\s*tetherd_session=([^;\s]+)", r.stdout, re.M | re.I)
        if not m:
            raise RuntimeError("web setup gave no session cookie:\n%s" % r.stdout[-1000:])
        cookie = "Cookie: tetherd_session=%s" % m.group(1)
        st1 = proc_status(lab.tetherd.pid)
        body_path = os.path.join(lab.dir, "api-status.json")
        r = lab.app.run("curl", "-sS", "-f", "-H", cookie, "-o", body_path, "-w", "%{http_code} %{size_download}",
                        base + "/api/status")
        body = open(body_path).read()
        json.loads(body)  # it is JSON
        ready = os.path.join(lab.dir, "floor-http.ready")
        lab.app.popen(os.path.join(b.build, "bench", "bench_http_floor"), "--port", str(FLOOR_PORT),
                      "--body", body_path, "--ready", ready, log_name="floor-http.log")
        wait_file(ready)
        urls = {"tetherd": base + "/api/status", "floor": "http://127.0.0.1:%d/api/status" % FLOOR_PORT}
        samples = {}
        for conns, threads in ((1, 1), (16, 2)):
            for rep in range(reps):
                order = ("tetherd", "floor") if rep % 2 == 0 else ("floor", "tetherd")
                for side in order:
                    w = wrk_run(lab.app, urls[side], conns, threads, secs, headers=(cookie,))
                    if w["non2xx"] or w["rps"] is None:
                        raise RuntimeError("wrk against %s: %s" % (side, w))
                    samples.setdefault("%s-c%d" % (side, conns), []).append(w)
                    log.info("web %d/%d %-7s c=%-2d %.0f req/s, p50 %s, p99 %s", rep + 1, reps, side, conns, w["rps"],
                             fmt_s(w["p50"]), fmt_s(w["p99"]))
        st2 = proc_status(lab.tetherd.pid)
        stop_tetherd(lab)
        log_problems(lab, res, "web")
    info.update(seconds=secs, reps=reps, body_bytes=len(body.encode()), samples=samples,
                rss_kb={"before_login": kb(st0["VmRSS"]), "after_login": kb(st1["VmRSS"]),
                        "after_load": kb(st2["VmRSS"])},
                hwm_kb={"before_login": kb(st0["VmHWM"]), "after_login": kb(st1["VmHWM"]),
                        "after_load": kb(st2["VmHWM"])},
                threads=int(st2["Threads"]))


# ---------------------------------------------------------------------------------------------
# Soak (bench/soak.py)

def section_soak(b, res):
    soak.section_soak(b, res, L, {"tetherd_config": tetherd_config, "lock_env": lock_env,
                                  "wait_tethered": wait_tethered, "stop_tetherd": stop_tetherd,
                                  "log_problems": log_problems, "comm": comm,
                                  "WEB_PORT": WEB_PORT, "WEB_PASSWORD": WEB_PASSWORD})
    m = res["machine"]
    res["soak"]["command"] = "sudo bash bench/run.sh " + os.environ.get("BENCH_ARGS_SHOWN", "--only soak")
    res["soak"]["run"] = {"date": m["date"], "commit": m["commit"],
                          "machine": "%d CPUs, load average at start %s" % (m["nproc"], " ".join(m["loadavg_start"]))}


# ---------------------------------------------------------------------------------------------
# The report

def machine_info(b):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    commit = first_line(["git", "-C", SRC, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", SRC, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "mem_gb": int(mem) / 1024 / 1024,
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "build": "RelWithDebInfo (the shipped build: -Os, --gc-sections, libstdc++ static in tetherd), %s" % os.path.relpath(b.build, SRC),
        "versions": {
            "dnsmasq": first_line(["dnsmasq", "--version"]),
            "iperf3": first_line(["iperf3", "--version"]),
            "busybox (udhcpc)": first_line(["busybox"]),
            "dhclient": first_line(["dhclient", "--version"]),
            "iptables": first_line(["iptables-legacy", "--version"]),
            "compiler": first_line(["c++", "--version"]),
        },
    }


def f_ms(s):
    return "—" if s is None else "%.0f ms" % (s * 1000) if s >= 0.1 else "%.1f ms" % (s * 1000)


def f_ratio(r):
    return "—" if r is None else "%.2f×" % r


def render(res, cmdline_used):
    m = res["machine"]
    out = []
    w = out.append
    w("# tetherd performance\n")
    w("Measured, not assumed: every figure below was produced by one run of the command below, next to")
    w("its floor (the same work done by hand) or its limit, measured in the same run on the same machine.")
    w("This file is rewritten by that command; do not edit the numbers by hand.\n")
    w("```\nsudo bash bench/run.sh%s\n```\n" % (" " + cmdline_used if cmdline_used else ""))
    w("- Machine: %d CPUs (`nproc`), %s, %.1f GiB RAM, kernel %s; load average at start %s" % (
        m["nproc"], m["cpu"], m["mem_gb"], m["kernel"], " ".join(m["loadavg_start"])))
    if m.get("loadavg_end"):
        w("  (at the end %s). The machine is shared, so only ratios measured side by side are meaningful;"
          % " ".join(m["loadavg_end"]))
        w("  every A/B pair alternates which side goes first.")
    w("- Code: %s, built %s; run %s, total %s." % (m["commit"], m["build"], m["date"],
                                                     "%.1f min" % (res["elapsed_s"] / 60) if res.get("elapsed_s") else "?"))
    w("- Tools: " + "; ".join("%s: %s" % kv for kv in m["versions"].items()))
    w("- Raw samples: `%s` (not committed).\n" % res.get("json_path", "bench-results.json"))
    w("Ratio = tetherd ÷ floor (or ÷ limit/budget): 1.00× is as good as the hand-written floor; for")
    w("throughput a ratio below 1 is the share of the limit tetherd keeps.\n")

    # -- summary
    w("## Summary\n")
    w("| figure | tetherd | floor / limit | ratio |")
    w("|---|---:|---:|---:|")
    summary_rows(res, w)
    w("")

    online_md(res, w)
    churn_md(res, w)
    forwarding_md(res, w)
    footprint_md(res, w)
    scale_md(res, w)
    web_md(res, w)
    failover.failover_md(res, w, f_ms)
    online6.online6_md(res, w, f_ms)
    soak.soak_md(res, w)
    probs = res.get("tetherd_log_problems") or {}
    if probs:
        w("## tetherd's log during these runs\n")
        total = sum(len(v) for v in probs.values())
        distinct = {}
        for lines in probs.values():
            for l in lines:
                key = re.sub(r"\b(usb0|wlan0|bt-pan)\b", "<if>", l)
                distinct[key] = distinct.get(key, 0) + 1
        if not total:
            w("No warning or error line in any section.\n")
        else:
            w("%d warning/error lines over all sections (tetherd was started %s); distinct messages:\n" % (
                total, "several times per section"))
            for k, n in sorted(distinct.items(), key=lambda kv: -kv[1]):
                w("- %d× `%s`" % (n, k))
            w("")
    return "\n".join(out) + "\n"


def online_stats(res):
    o = res.get("online")
    if not o:
        return None
    table = {}
    for r in o["runs"]:
        table.setdefault((r["trigger"], r["client"], r["impl"]), []).append(r)
    stats = {}
    for key, rs in table.items():
        stats[key] = {k: med([r[k] for r in rs]) for k in ("carrier", "dhcp_bound", "lease", "http", "link_seen")}
        stats[key]["n"] = len(rs)
        stats[key]["lease_max"] = max(r["lease"] for r in rs)
        stats[key]["lease_min"] = min(r["lease"] for r in rs)
    return stats


def summary_rows(res, w):
    st = online_stats(res)
    if st:
        for trigger, label in (("start", "`tether start`"), ("appear", "downstream appears")):
            for kind in ("udhcpc", "dhclient"):
                t, f = st.get((trigger, kind, "tetherd")), st.get((trigger, kind, "floor"))
                if t and f:
                    w("| online: %s → %s lease (median of %d) | %s | %s | %s |" % (
                        label, kind, t["n"], f_ms(t["lease"]), f_ms(f["lease"]), f_ratio(ratio(t["lease"], f["lease"]))))
                    w("| online: %s → first HTTP fetch via NAT (%s) | %s | %s | %s |" % (
                        label, kind, f_ms(t["http"]), f_ms(f["http"]), f_ratio(ratio(t["http"], f["http"]))))
    ch = res.get("churn")
    if ch:
        for row in ch["rows"]:
            if row["case"] != "first":
                continue
            w("| churn: tether + untether one downstream, %s rules/table | %.2f ms | %.2f ms | %s |" % (
                "{:,}".format(row["rules_per_table"]).replace(",", " "),
                row["iptc_tether_ms"] + row["iptc_untether_ms"], row["floor_tether_ms"] + row["floor_untether_ms"],
                f_ratio(ratio(row["iptc_tether_ms"] + row["iptc_untether_ms"],
                              row["floor_tether_ms"] + row["floor_untether_ms"]))))
    fw = res.get("forwarding")
    if fw:
        s = fw["samples"]
        t, p = med(s["tetherd"]["tcp"]), med(s["plain"]["tcp"])
        w("| forwarding: TCP (iperf3, median of %d × %d s) | %.0f Mbit/s | %.0f Mbit/s | %s |" % (
            fw["reps"], fw["seconds"], t / 1e6, p / 1e6, f_ratio(ratio(t, p))))
        t, p = med(s["tetherd"]["udp_pps"]), med(s["plain"]["udp_pps"])
        w("| forwarding: UDP 64-byte packets delivered | %.0f kpps | %.0f kpps | %s |" % (
            t / 1e3, p / 1e3, f_ratio(ratio(t, p))))
    fp = res.get("footprint")
    if fp:
        w("| footprint: RSS idle, 3 downstreams, %d clients | %.1f MiB | budget 5 MiB | %s %s |" % (
            fp["clients"], fp["rss_kb"] / 1024, f_ratio(fp["rss_kb"] / RSS_BUDGET_KB),
            "held" if fp["rss_kb"] < RSS_BUDGET_KB else "**exceeded**"))
        w("| footprint: peak RSS (VmHWM) | %.1f MiB | budget 5 MiB | %s %s |" % (
            fp["hwm_kb"] / 1024, f_ratio(fp["hwm_kb"] / RSS_BUDGET_KB),
            "held" if fp["hwm_kb"] < RSS_BUDGET_KB else "**exceeded**"))
        w("| footprint: wake-ups when idle | %.2f /s | budget ≤ 1 /s | %s %s |" % (
            fp["wakeups_per_s"], f_ratio(fp["wakeups_per_s"] / WAKEUP_BUDGET_PER_S),
            "held" if fp["wakeups_per_s"] <= WAKEUP_BUDGET_PER_S else "**exceeded**"))
        w("| footprint: CPU when idle (%.0f s) | %.3f %% | dnsmasq (median of %d) %.3f %% | — |" % (
            fp["seconds"], fp["cpu_pct"], fp["dnsmasq"], med(fp["dnsmasq_cpu_pct"]) or 0))
        w("| footprint: stripped binary | %.2f MiB | dnsmasq %.2f MiB | %s |" % (
            fp["tetherd_stripped_bytes"] / 2**20, fp["dnsmasq_stripped_bytes"] / 2**20,
            f_ratio(ratio(fp["tetherd_stripped_bytes"], fp["dnsmasq_stripped_bytes"]))))
    sc = res.get("scale")
    if sc:
        t = [r for r in sc["runs"] if r["impl"] == "tetherd"]
        f = [r for r in sc["runs"] if r["impl"] == "floor"]
        tl, fl = med([r["last"] for r in t]), med([r["last"] for r in f])
        w("| scale: %d clients at once → last lease (median of %d) | %s (%s served) | %s | %s |" % (
            sc["clients"], len(t), f_ms(tl), "/".join(str(r["served"]) for r in t), f_ms(fl), f_ratio(ratio(tl, fl))))
    web = res.get("web")
    if web and web["status"] == "pending":
        w("| web: `/api/status` p50/p99 | pending | — | — |")
    elif web and web.get("samples"):
        st = web_stats(web)
        t, f = st.get("tetherd-c1"), st.get("floor-c1")
        if t and f:
            w("| web: `/api/status` p50 / p99, 1 connection | %s / %s | %s / %s | %s / %s |" % (
                f_lat(t["p50"]), f_lat(t["p99"]), f_lat(f["p50"]), f_lat(f["p99"]),
                f_ratio(ratio(t["p50"], f["p50"])), f_ratio(ratio(t["p99"], f["p99"]))))
        t, f = st.get("tetherd-c16"), st.get("floor-c16")
        if t and f:
            w("| web: `/api/status` requests/s, 16 connections | %.0f | %.0f | %s |" % (
                t["rps"], f["rps"], f_ratio(ratio(t["rps"], f["rps"]))))
    failover.summary_rows(res, w, f_ms)
    online6.summary_rows(res, w, f_ms)
    soak.summary_rows(res, w)


def online_md(res, w):
    w("## Time to online\n")
    st = online_stats(res)
    if not st:
        w("_Not run this time._\n")
        return
    o = res["online"]
    w("One lab (tests/lab): the appliance namespace, the client `phone` behind `usb0`. Each run starts")
    w("from nothing tethered and a fresh lease database on both sides; the client's DHCP client is the")
    w("lab's own (`Client.dhcp`: dhclient or busybox udhcpc with the lab's script), started the moment its")
    w("`eth0` gets carrier, as a phone's or laptop's network manager does. Clock start (t0):")
    w("")
    w("- **`tether start`**: tetherd runs (`autostart = no`), usb0 exists, down; t0 = `tetherctl tether start`.")
    w("  Floor: t0 = `ip netns exec <app> sh up.sh` (below).")
    w("- **downstream appears**: tethering is started, usb0 does not exist; t0 = the lab creates the veth")
    w("  (`restore_downstream`). Floor: a watcher subscribed to rtnetlink link events runs `up.sh` when")
    w("  usb0 appears (the hand-written hotplug script).")
    w("")
    w("Measured from t0: *link up* (carrier on the client's eth0: the address is set and the link is up),")
    w("*DHCP bound* (something listens on UDP 67 in the appliance: dnsmasq is ready), *lease* (the DHCP")
    w("script has configured the address), *HTTP* (first successful `GET /whoami` through NAT, answered")
    w("`%s`). Medians of %d runs per row (plus one warm-up per side, not counted).\n" % (L.APP_ETH0, o["reps"]))
    w("The floor, `up.sh`, does what tetherd does for usb0 with the address, rules and dnsmasq argv")
    w("captured from tetherd in the same lab (only dnsmasq's file paths differ):\n")
    w("```sh")
    w("ip -batch addr.batch        # addr add %s dev usb0; link set usb0 up" % USB_ADDR)
    w("dnsmasq <tetherd's argv> &  # %s" % " ".join(a for a in res["online_floor"]["argv"][1:4]) + " ...")
    w("echo 1 > /proc/sys/net/ipv4/ip_forward")
    w("iptables-legacy-restore --noflush < rules.txt   # tetherd's chains, jumps and rules")
    w("```\n")
    w("| trigger | client | side | link up | DHCP bound | lease | lease min–max | HTTP | lease ratio | HTTP ratio |")
    w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for trigger, label in (("start", "`tether start`"), ("appear", "usb0 appears")):
        for kind in ("udhcpc", "dhclient"):
            t, f = st.get((trigger, kind, "tetherd")), st.get((trigger, kind, "floor"))
            if not (t and f):
                continue
            w("| %s | %s | tetherd | %s | %s | %s | %s–%s | %s | %s | %s |" % (
                label, kind, f_ms(t["carrier"]), f_ms(t["dhcp_bound"]), f_ms(t["lease"]),
                f_ms(t["lease_min"]).replace(" ms", ""), f_ms(t["lease_max"]), f_ms(t["http"]),
                f_ratio(ratio(t["lease"], f["lease"])), f_ratio(ratio(t["http"], f["http"]))))
            w("| | | floor | %s | %s | %s | %s–%s | %s | | |" % (
                f_ms(f["carrier"]), f_ms(f["dhcp_bound"]), f_ms(f["lease"]),
                f_ms(f["lease_min"]).replace(" ms", ""), f_ms(f["lease_max"]), f_ms(f["http"])))
    w("")
    tc = res.get("online_trigger_cost")
    if tc:
        w("The triggers by themselves (medians of 9): a `tetherctl ping` round trip from the appliance")
        w("namespace takes %s, an empty `ip netns exec <app> true` %s; so of tetherd's *link up* after" % (
            f_ms(tc["tetherctl_ping"]), f_ms(tc["netns_exec_true"])))
        w("`tether start`, about %s is the command-line client, the rest tetherd's own work (state" % f_ms(tc["tetherctl_ping"]))
        w("machine, subnet choice, address and link through netlink, dnsmasq spawned). Most of the time")
        w("to a lease is the DHCP clients' own: starting, running their script before the DISCOVER and")
        w("after the ACK (same on both sides). Run-to-run spread (min–max) is wide on this shared machine;")
        w("ratios within it are not resolved.\n")
    # Observations computed from the numbers.
    notes = []
    for (trigger, kind, impl), s in sorted(st.items()):
        if s["carrier"] is not None and s["dhcp_bound"] is not None and s["dhcp_bound"] > s["carrier"] \
                and s["lease"] is not None and s["lease"] - s["dhcp_bound"] > 0.5:
            notes.append((trigger, kind, impl, s))
    if notes:
        w("**Observed:** in %s the link came up *before* dnsmasq was listening, the client's first" %
          ", ".join("%s/%s/%s" % (t, k, i) for t, k, i, _ in notes))
        w("DHCPDISCOVER went unanswered, and the lease waited for the client's retransmission (udhcpc")
        w("`-T 1`: 1 s; dhclient: 1–2 s with its backoff). That retransmission, not tetherd's own work,")
        w("dominates time to online wherever it shows up; bringing the link up only once dnsmasq is")
        w("listening would remove it (for tetherd and the floor alike).\n")


def churn_md(res, w):
    w("## Rule churn\n")
    ch = res.get("churn")
    if not ch:
        w("_Not run this time._\n")
        return
    w("`bench/bench_rule_churn` (C++, linked to `tetherd_system`) under `unshare -n`, with its own")
    w("xtables lock file. Each table (filter, nat, mangle) first gets N unrelated rules")
    w("(`-A bench_fill -s 10.x.y.z/32 -p tcp --dport P -j ACCEPT|RETURN`); tetherd's hooks and empty")
    w("chains are in place (what tetherd keeps while running). Then, %d times each, alternating sides:" % ch["reps"])
    w("")
    w("- **tetherd**: `IptcFirewall::apply` with the pair usb0→eth0 added (tether) and removed (untether);")
    w("  *no-op* is `apply` of the state already installed (nothing changed since the last `apply`: no")
    w("  table read, nothing committed).")
    w("- **floor**: `iptables-legacy-restore --noflush` of exactly the same rules for the same tables (own")
    w("  chains declared, hence flushed, and refilled). After each floor step `apply` of the same state")
    w("  must commit nothing: proof that both sides install identical rules.")
    w("- *first*: no downstream was tethered (filter, nat and mangle change); *second*: wlan0→eth0 is")
    w("  already tethered (only filter changes: the MASQUERADE and the MSS clamp are shared).")
    w("")
    w("| rules per table | case | tether | floor | ratio | untether | floor | ratio | no-op apply "
      "| commits per tether / untether | tables read per tether / untether / no-op |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|")

    def counts(row, key):
        return ",".join(str(n) for n in sorted(set(int(x) for x in row[key]))) if key in row else "?"

    for row in ch["rows"]:
        w("| %s | %s | %.2f ms | %.2f ms | %s | %.2f ms | %.2f ms | %s | %.2f ms | %s / %s (floor restores %d) | %s / %s / %s |" % (
            "{:,}".format(row["rules_per_table"]).replace(",", " "), row["case"],
            row["iptc_tether_ms"], row["floor_tether_ms"], f_ratio(ratio(row["iptc_tether_ms"], row["floor_tether_ms"])),
            row["iptc_untether_ms"], row["floor_untether_ms"],
            f_ratio(ratio(row["iptc_untether_ms"], row["floor_untether_ms"])), row["iptc_noop_ms"],
            counts(row, "tether_commits"), counts(row, "untether_commits"), row["floor_tether_tables"],
            counts(row, "tether_reads"), counts(row, "untether_reads"), counts(row, "noop_reads")))
    w("")
    rows = {(r["rules_per_table"], r["case"]): r for r in ch["rows"]}
    a, z = rows.get((0, "first")), rows.get((10000, "first"))
    if a and z:
        m = rows.get((1000, "first"))
        w("Growth: tethering the first downstream takes %.2f ms with empty tables, %s with 1 000 rules per"
          % (a["iptc_tether_ms"], "%.2f ms" % m["iptc_tether_ms"] if m else "?"))
        w("table and %.2f ms with 10 000 — about %.1f ms per 1 000 rules in each of the three tables." % (
            z["iptc_tether_ms"], (z["iptc_tether_ms"] - a["iptc_tether_ms"]) / 10))
        w("libiptc reads each table whole (`iptc_init`) and writes a changed one back whole (`iptc_commit`),")
        firsts = [r for r in ch["rows"] if r["case"] == "first"]
        below = all(r["iptc_tether_ms"] <= r["floor_tether_ms"] * 1.05 for r in firsts)
        w("so the cost is linear in the size of the tables, for tetherd and the floor alike.")
        if below:
            w("For the first downstream tetherd is at or below the floor at every size: the floor also pays")
            w("for starting iptables-legacy-restore and parsing text, which dominates with small tables.")
        else:
            w("For the first downstream tetherd is **above** the floor at some size: see the ratio column.")
        commits_ok = all(set(r["tether_commits"]) == {float(r["floor_tether_tables"])} and
                         set(r["untether_commits"]) == {float(r["floor_untether_tables"])} for r in ch["rows"])
        w("Commits: %s" % ("exactly one per changed table in every run (`IptcFirewall::commitCount()`: 3 when\n"
                           "the first downstream comes or goes, 1 for a second one)." if commits_ok else
                           "**not** one per changed table in every run: see the raw samples."))
        s = rows.get((10000, "second"))
        if s:
            w("Reads: `apply` reads only the tables whose desired content changed since its last `apply`")
            w("(`IptcFirewall::readCount()`), so a second downstream reads and writes filter only, as the")
            w("floor does: with 10 000 rules per table it costs %.2f ms against the floor's %.2f ms (%s)."
              % (s["iptc_tether_ms"], s["floor_tether_ms"], f_ratio(ratio(s["iptc_tether_ms"], s["floor_tether_ms"]))))
    w("")


def forwarding_md(res, w):
    w("## Forwarding\n")
    fw = res.get("forwarding")
    if not fw:
        w("_Not run this time._\n")
        return
    s = fw["samples"]
    w("Two labs side by side. **tetherd**: usb0 tethered by tetherd, the client leased by DHCP, traffic")
    w("NATed out of eth0 (tetherd's filter, nat and mangle rules, conntrack). **limit**: the same topology")
    w("with the appliance only routing — `ip_forward=1`, address set by hand, a return route in inet,")
    w("and no netfilter table or conntrack ever instantiated in its namespace (`/proc/net/ip_tables_names`")
    w("there: %s). iperf3 from the client to the server in inet (`%s`), %d s per run, %d runs each," % (
        "`%s`" % fw.get("plain_netfilter", "") if fw.get("plain_netfilter") else "empty", L.INET_WWW, fw["seconds"],
        fw["reps"]))
    w("alternating sides; medians. UDP: `-u -l 64 -b 0` (as fast as the sender can), counted as packets")
    w("delivered to the receiver per second.\n")
    w("| test | tetherd | limit (plain forwarding) | ratio | samples tetherd / limit |")
    w("|---|---:|---:|---:|---|")
    t, p = med(s["tetherd"]["tcp"]), med(s["plain"]["tcp"])
    w("| TCP throughput | %.0f Mbit/s | %.0f Mbit/s | %s | %s / %s |" % (
        t / 1e6, p / 1e6, f_ratio(ratio(t, p)), ", ".join("%.0f" % (x / 1e6) for x in s["tetherd"]["tcp"]),
        ", ".join("%.0f" % (x / 1e6) for x in s["plain"]["tcp"])))
    t, p = med(s["tetherd"]["udp_pps"]), med(s["plain"]["udp_pps"])
    w("| UDP 64 B delivered | %.0f kpps | %.0f kpps | %s | %s / %s |" % (
        t / 1e3, p / 1e3, f_ratio(ratio(t, p)), ", ".join("%.0f" % (x / 1e3) for x in s["tetherd"]["udp_pps"]),
        ", ".join("%.0f" % (x / 1e3) for x in s["plain"]["udp_pps"])))
    w("| UDP 64 B lost at the receiver | %.1f %% | %.1f %% | | |" % (
        med(s["tetherd"]["udp_loss"]) or 0, med(s["plain"]["udp_loss"]) or 0))
    w("")
    spread = [(min(v), max(v)) for side in s.values() for k, v in side.items() if k != "udp_loss" and v]
    rel = max((hi - lo) / hi for lo, hi in spread) if spread else 0
    w("Run-to-run spread on this shared machine is up to %.0f %% of a side's best run, so ratios" % (rel * 100))
    w("within about that distance of 1.00× (including ratios above 1) mean \"no difference measured\".")
    w("")
    w("This measures the kernel's forwarding path with tetherd's rules in it, not tetherd itself (the")
    w("daemon is not on the data path). On this machine sender, forwarder and receiver share %s CPUs" %
      res["machine"]["nproc"])
    w("with each other and with other users, so absolute rates are far below real hardware.\n")


def footprint_md(res, w):
    w("## Footprint\n")
    fp = res.get("footprint")
    if not fp:
        w("_Not run this time._\n")
        return
    w("tetherd (log level info) with 3 downstreams — usb0, wlan0, bt-pan, each a hub bridge — and %d" % fp["clients"])
    w("clients holding leases (udhcpc; 7 + 7 + 6), 3 dnsmasq children. After 3 s of settling, tetherd's")
    w("`/proc/<pid>/status` and `/proc/<pid>/stat` are read before and after %.0f s of idling:" % fp["seconds"])
    w("wake-ups = voluntary context switches of all its threads (each one is a return from `epoll_wait`);")
    w("CPU = utime + stime.\n")
    w("| figure | tetherd | floor / limit | ratio | verdict |")
    w("|---|---:|---:|---:|---|")
    w("| resident (VmRSS) | %d kB (%.2f MiB) | budget < 5 MiB | %s | %s |" % (
        fp["rss_kb"], fp["rss_kb"] / 1024, f_ratio(fp["rss_kb"] / RSS_BUDGET_KB),
        "held" if fp["rss_kb"] < RSS_BUDGET_KB else "**exceeded**"))
    w("| of which anonymous / file-backed | %d kB / %d kB | | | |" % (fp["rss_anon_kb"], fp["rss_file_kb"]))
    if fp.get("pss_kb") is not None:
        w("| proportional (PSS) / private (USS) | %d kB / %d kB | budget < 5 MiB | %s / %s | %s |" % (
            fp["pss_kb"], fp["uss_kb"], f_ratio(fp["pss_kb"] / RSS_BUDGET_KB), f_ratio(fp["uss_kb"] / RSS_BUDGET_KB),
            "held" if fp["pss_kb"] < RSS_BUDGET_KB else "**exceeded**"))
    w("| peak resident (VmHWM) | %d kB (%.2f MiB) | budget < 5 MiB | %s | %s |" % (
        fp["hwm_kb"], fp["hwm_kb"] / 1024, f_ratio(fp["hwm_kb"] / RSS_BUDGET_KB),
        "held" if fp["hwm_kb"] < RSS_BUDGET_KB else "**exceeded**"))
    w("| resident, each dnsmasq (peer) | | %s kB | | |" % " / ".join(str(x) for x in fp["dnsmasq_rss_kb"]))
    w("| wake-ups per second, idle | %.2f | budget ≤ 1 | %s | %s |" % (
        fp["wakeups_per_s"], f_ratio(fp["wakeups_per_s"] / WAKEUP_BUDGET_PER_S),
        "held" if fp["wakeups_per_s"] <= WAKEUP_BUDGET_PER_S else "**exceeded**"))
    w("| involuntary context switches per second | %.2f | | | |" % fp["involuntary_per_s"])
    w("| wake-ups per second, each dnsmasq (peer) | | %s | | |" % " / ".join("%.2f" % x for x in fp["dnsmasq_wakeups_per_s"]))
    w("| CPU, idle | %.3f %% of a CPU | dnsmasq %s %% | | |" % (
        fp["cpu_pct"], " / ".join("%.3f" % x for x in fp["dnsmasq_cpu_pct"])))
    w("| threads | %d | | | |" % fp["threads"])
    w("| stripped binary, tetherd | %d bytes (%.2f MiB) | dnsmasq %d bytes | %s | |" % (
        fp["tetherd_stripped_bytes"], fp["tetherd_stripped_bytes"] / 2**20, fp["dnsmasq_stripped_bytes"],
        f_ratio(ratio(fp["tetherd_stripped_bytes"], fp["dnsmasq_stripped_bytes"]))))
    w("| stripped binary, tetherctl | %d bytes | | | |" % fp["tetherctl_stripped_bytes"])
    w("")
    w("The web admin is off here (its default); the Web section below has tetherd's memory with it on.")
    others = [os.path.basename(l).split(".so")[0] for l in fp["dynamic_libs"]
              if not re.search(r"lib(c|m|gcc_s|stdc\+\+)\.so|ld-linux|linux-vdso", l)]
    w("The sizes are of the shipped build, stripped. tetherd links libc and %d more libraries dynamically" % len(others))
    w("(%s); libstdc++ is linked in (its used parts only). libsystemd (sd-bus, for the Bluetooth NAP)," % ", ".join(others))
    w("libnftables (`tether doctor`), libsodium and libqrencode (the web page) are loaded with dlopen()")
    w("when first needed (`tether/base/lazy_library.h`), so a board that does not use them does not map them")
    w("or what they pull in (libgcrypt, liblzma, libzstd, liblz4, libcap, libnftnl, libgmp, ...).")
    by = fp.get("rss_by_mapping_kb")
    if by:
        libs = [(n, k) for n, k in by if n.startswith("lib") or n.startswith("ld-")]
        lib_kb = sum(k for _, k in libs)
        own = sum(k for n, k in by if n == "tetherd")
        w("")
        w("Where the resident memory is (`/proc/<pid>/smaps`): shared libraries %d kB in %d mappings, tetherd's" % (
            lib_kb, len(libs)))
        w("own code %d kB, `[heap]`, `[stack]` and anonymous mappings %d kB (library data pages count with" % (
            own, sum(k for n, k in by if not (n.startswith("lib") or n.startswith("ld-") or n == "tetherd"))))
        w("their library). Largest:")
        w("")
        w("| mapping | resident |")
        w("|---|---:|")
        for n, k in by[:12]:
            w("| %s | %d kB |" % (n, k))
        w("")
        w("Most of VmRSS is file-backed library and program text, shared with every other process that")
        w("maps the same files (hence the far smaller PSS); tetherd's private memory (USS) is what it")
        w("really costs on top of a system that already runs C++ programs.")
    w("")
    w("This section idles %.0f s, so it never holds the once-a-minute per-client counter read; with 250" % fp["seconds"])
    w("clients counted and that read inside 65 s windows, see \"Footprint with 250 clients counted\" below")
    w("(`bench/footprint250.py`, not part of this command).")
    w("")


def scale_md(res, w):
    w("## Scale\n")
    sc = res.get("scale")
    if not sc:
        w("_Not run this time._\n")
        return
    w("%d client namespaces on one hub bridge behind usb0 (built in %.0f s). Every client's udhcpc (the lab's" % (
        sc["clients"], sc["build_s"]))
    w("command and script) waits on one FIFO; opening it releases all at once (t0). Lease times are the")
    w("mtimes of the lease files the clients' DHCP scripts write. Both sides start from an empty lease")
    w("database; %d runs each, alternating; the floor is the same dnsmasq argv run by hand (`up.sh`)." % sc["reps"])
    w("")
    w("| side | served | first lease | median lease | last lease (per run) | last lease, median | ratio | DHCP datagrams in / dropped (rcvbuf) per run |")
    w("|---|---:|---:|---:|---|---:|---:|---|")
    t = [r for r in sc["runs"] if r["impl"] == "tetherd"]
    f = [r for r in sc["runs"] if r["impl"] == "floor"]
    tl, fl = med([r["last"] for r in t]), med([r["last"] for r in f])
    for name, rs, last in (("tetherd", t, tl), ("floor", f, fl)):
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, " / ".join("%d" % r["served"] for r in rs), f_ms(med([r["first"] for r in rs])),
            f_ms(med([r["median"] for r in rs])), ", ".join(f_ms(r["last"]) for r in rs), f_ms(last),
            f_ratio(ratio(tl, fl)) if name == "tetherd" else "",
            ", ".join("%d / %d" % (r["app_udp"]["InDatagrams"], r["app_udp"]["RcvbufErrors"]) for r in rs)))
    w("")
    all_served = all(r["served"] == sc["clients"] for r in sc["runs"])
    w("All %d served in every run: **%s**." % (sc["clients"], "yes" if all_served else "no"))
    tcpu = med([r["cpu_s"].get("tetherd") for r in t])
    dcpu_t = med([r["cpu_s"].get("dnsmasq") for r in t])
    dcpu_f = med([r["cpu_s"].get("dnsmasq") for r in f])
    w("From t0 to the last lease tetherd used %.2f s of CPU (it relays dnsmasq's `--log-dhcp` lines" % (tcpu or 0))
    w("into its log) and its dnsmasq %.2f s (the floor's dnsmasq: %.2f s): the server side is idle" % (
        dcpu_t or 0, dcpu_f or 0))
    w("for most of the burst. The spread of lease times is the clients' own: %d udhcpc processes" % sc["clients"])
    w("and their shell scripts competing for %s CPUs, and DHCP retransmissions (1 s apart) when" % res["machine"]["nproc"])
    w("the burst overflows dnsmasq's socket buffer (the *dropped* column). A single slow client")
    w("decides the last lease, so that ratio is noisy: compare the per-run columns, not the ratio")
    w("alone. What this benchmark establishes is that every client is served and that tetherd adds")
    w("no work of its own to the burst.\n")


def web_stats(web):
    out = {}
    for key, ws in web.get("samples", {}).items():
        out[key] = {k: med([w[k] for w in ws]) for k in ("rps", "p50", "p99")}
    return out


def f_lat(s):
    return "—" if s is None else ("%.0f µs" % (s * 1e6) if s < 1e-3 else "%.2f ms" % (s * 1e3))


def web_md(res, w):
    w("## Web (`/api/status`)\n")
    web = res.get("web")
    if not web:
        w("_Not run this time._\n")
        return
    if web["status"] == "pending":
        w("**Pending.** The web admin is being written in parallel (issue: web admin); at the time of this")
        w("run tetherd cannot serve HTTP: `web/` holds %s, `tetherd` has no `--web`" % (
            "only its CMakeLists.txt" if not web["sources"] else ", ".join(web["sources"])))
        w("option and the configuration has no `[web]` section, so there is no `/api/status` to load.")
        w("Once it exists, `bench/run.py` measures it (the code is there and switches itself on when")
        w("`web/web_server.cpp` and a `[web]` section exist).\n")
        return
    st = web_stats(web)
    w("tetherd with `[web] enabled = yes`, `listen = localhost downstreams`, usb0 tethered and one client")
    w("leased; the admin password is set through `POST /api/setup`, whose session cookie the load")
    w("carries. wrk (in the appliance namespace, over loopback) GETs `/api/status` (%d bytes of JSON) for" % web["body_bytes"])
    w("%d s per run, %d runs per row, alternating sides; medians. **floor**: `bench/bench_http_floor`, a" % (
        web["seconds"], web["reps"]))
    w("one-thread epoll keep-alive server answering every request with the same body (no routing,")
    w("session check or JSON building) — the least any HTTP server can do on this machine.\n")
    w("| load | side | requests/s | p50 | p99 | throughput ratio | p50 ratio | p99 ratio |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for conns, label in ((1, "1 connection (`-c1`)"), (16, "16 connections (`-t2 -c16`)")):
        t, f = st.get("tetherd-c%d" % conns), st.get("floor-c%d" % conns)
        if not (t and f):
            continue
        w("| %s | tetherd | %.0f | %s | %s | %s | %s | %s |" % (
            label, t["rps"], f_lat(t["p50"]), f_lat(t["p99"]), f_ratio(ratio(t["rps"], f["rps"])),
            f_ratio(ratio(t["p50"], f["p50"])), f_ratio(ratio(t["p99"], f["p99"]))))
        w("| | floor | %.0f | %s | %s | | | |" % (f["rps"], f_lat(f["p50"]), f_lat(f["p99"])))
    w("")
    fl = [w_["p99"] for k, ws in web["samples"].items() if k.startswith("floor") for w_ in ws if w_["p99"]]
    if fl:
        w("p99 over loopback on this shared 2-CPU machine mostly measures scheduling delays: the floor's")
        w("own p99 ranged %s–%s across its runs. The p50 and requests/s columns are the stable ones." % (
            f_lat(min(fl)), f_lat(max(fl))))
        t1, f1 = st.get("tetherd-c1"), st.get("floor-c1")
        if t1 and f1:
            w("One request round trip on one connection averages %s with tetherd against %s with the" % (
                f_lat(1.0 / t1["rps"]), f_lat(1.0 / f1["rps"])))
            w("floor (the client's own share included). tetherd's event loop is single-threaded and builds")
            w("the JSON afresh for every request, which includes reading the filter table's counters through")
            w("libiptc (`iptc_init`: a copy of the whole table, so this grows with the table like the no-op")
            w("column of Rule churn) and reading the dnsmasq lease files.")
        w("")
    rk, hk = web["rss_kb"], web["hwm_kb"]
    w("tetherd's memory with the web admin on: VmRSS %d kB before the first login, %d kB after it"
      % (rk["before_login"], rk["after_login"]))
    w("(VmHWM %d kB: the password hash), %d kB after the load (VmHWM %d kB); %d threads."
      % (hk["after_login"], rk["after_load"], hk["after_load"], web["threads"]))
    w("")


# ---------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(SRC, "build-bench"))
    p.add_argument("--out", default=os.path.join(SRC, "docs", "PERFORMANCE.md"))
    p.add_argument("--json", help="raw results (default: <build dir>/bench-results.json)")
    p.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    p.add_argument("--online-reps", type=int, default=9)
    p.add_argument("--churn-reps", type=int, default=21)
    p.add_argument("--fwd-reps", type=int, default=5)
    p.add_argument("--fwd-seconds", type=int, default=3)
    p.add_argument("--idle-seconds", type=float, default=10.0)
    p.add_argument("--scale-clients", type=int, default=100)
    p.add_argument("--scale-reps", type=int, default=3)
    p.add_argument("--web-seconds", type=int, default=5)
    p.add_argument("--web-reps", type=int, default=3)
    p.add_argument("--failover-reps", type=int, default=9)
    p.add_argument("--online6-reps", type=int, default=9)
    p.add_argument("--online6-modes", default="nat66", help="comma-separated ipv6 modes to time")
    p.add_argument("--soak-rounds", type=int, default=10)
    p.add_argument("--soak-cycles", type=int, default=10000)
    p.add_argument("--soak-requests", type=int, default=100000)
    p.add_argument("--soak-page", type=int, default=10000)
    p.add_argument("--soak-warm-cycles", type=int, default=100)
    p.add_argument("--soak-warm-requests", type=int, default=2000)
    p.add_argument("--soak-warm-page", type=int, default=500)
    p.add_argument("--no-report", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    p.add_argument("--render", metavar="JSON", help="only rewrite the report from earlier raw results")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.render:
        with open(args.render) as f:
            res = json.load(f)
        with open(args.out, "w") as f:
            f.write(render(res, os.environ.get("BENCH_ARGS_SHOWN", "")))
        return
    if os.geteuid() != 0:
        sys.exit("bench/run.py: must run as root (namespaces, netfilter)")
    problems = L.check_prerequisites(L.REQUIRED_TOOLS + ("iperf3", "unshare", "iptables-legacy-restore", "strip"))
    if problems:
        sys.exit("bench/run.py: " + "; ".join(problems))
    b = Bench(args)
    only = args.only.split(",") if args.only else list(DEFAULT_SECTIONS)
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        sys.exit("bench/run.py: unknown section(s) %s; sections: %s" % (", ".join(unknown), ",".join(SECTIONS)))
    for f in (b.tetherd, b.tetherctl) + ((b.churn_bin,) if "churn" in only else ()):
        if not os.access(f, os.X_OK):
            sys.exit("bench/run.py: %s missing: build with bench/run.sh" % f)
    json_path = args.json or os.path.join(b.build, "bench-results.json")
    res = {"machine": machine_info(b), "json_path": os.path.relpath(json_path, SRC)}
    t_start = time.monotonic()
    funcs = {"online": section_online, "churn": section_churn, "forwarding": section_forwarding,
             "footprint": section_footprint, "scale": section_scale, "web": section_web,
             "failover": lambda b, res: failover.section_failover(b, res, L, {
                 "tetherd_config": tetherd_config, "lock_env": lock_env, "wait_tethered": wait_tethered,
                 "stop_tetherd": stop_tetherd, "log_problems": log_problems}),
             "online6": lambda b, res: online6.section_online6(b, res, L, {
                 "tetherd_config": tetherd_config, "lock_env": lock_env, "stop_tetherd": stop_tetherd,
                 "log_problems": log_problems, "rm": rm, "wait_file": wait_file, "read_json": read_json,
                 "probe": PROBE}),
             "soak": section_soak}
    for name in SECTIONS:
        if name not in only:
            continue
        t = time.monotonic()
        log.info("== %s", name)
        funcs[name](b, res)
        res.setdefault("section_s", {})[name] = time.monotonic() - t
        log.info("== %s done in %.1f s", name, time.monotonic() - t)
    if "forwarding" in res:
        res["forwarding"]["plain_netfilter"] = res.pop("forwarding_plain_netfilter", "")
    res["elapsed_s"] = time.monotonic() - t_start
    res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1)
    extra = os.environ.get("BENCH_ARGS_SHOWN", "")
    if not args.no_report:
        text = render(res, extra)
        if os.path.exists(args.out) and set(only) != set(SECTIONS):
            # The sections not run keep their text (and summary rows) from the file as it was.
            m = res["machine"]
            note = ("- Re-run: `sudo bash bench/run.sh %s` at %s, %s, total %.1f min." % (
                extra, m["commit"], m["date"], res["elapsed_s"] / 60)) if args.only else ""
            with open(args.out) as f:
                text = report_merge.merge(f.read(), text, only, HEADINGS, note, new_preamble=not args.only)
        with open(args.out, "w") as f:
            f.write(text)
        log.info("wrote %s (raw: %s) in %.1f min", args.out, json_path, res["elapsed_s"] / 60)


if __name__ == "__main__":
    main()
