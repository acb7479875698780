// Rule churn: how long tethering and untethering one downstream takes in netfilter, with
// 0 / 1 000 / 10 000 unrelated rules in each table, through IptcFirewall::apply (libiptc:
// read the whole table, modify, write the whole table back; one commit per changed table)
// versus the floor, `iptables-legacy-restore --noflush` of exactly the same rules for the
// same tables (one process, one commit per table). Also timed: apply() of the state already
// installed (nothing changed since the last apply: no table read, nothing committed), and
// counted: the commits and table reads per operation (IptcFirewall::commitCount() and
// readCount()); checked: that the floor's rules are exactly IptcFirewall's.
//
// Must run in a private network namespace (`unshare -n bench_rule_churn ...`): it refuses to
// run where any interface other than lo exists, because it flushes filter, nat and mangle.
// It uses its own xtables lock file (--lock), so it never waits for (or blocks) anyone else's
// iptables.
//
// Output: one JSON object per line on stdout (bench/run.py reads them); progress on stderr.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tether/system/netfilter/firewall.h"
#include "tether/system/netfilter/iptc_firewall.h"

extern char** environ;

using namespace tetherd;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kTables[] = {"filter", "nat", "mangle"};
const char* const kRestore = "iptables-legacy-restore";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bench_rule_churn: %s\n", message.c_str());
  std::exit(1);
}

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Runs `argv` with `input` on its stdin; returns the exit status (-1: could not run).
int runWithInput(const std::vector<std::string>& argv, const std::string& input) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    return -1;
  }
  size_t off = 0;
  while (off < input.size()) {
    const ssize_t n = ::write(fds[1], input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void restoreOrDie(const std::string& text, bool noflush, const char* what) {
  std::vector<std::string> argv{kRestore};
  if (noflush) argv.push_back("--noflush");
  if (int st = runWithInput(argv, text); st != 0) {
    die(std::string(what) + ": " + kRestore + " failed (status " + std::to_string(st) + ") on:\n" +
        text.substr(0, 2000));
  }
}

// Empty filter/nat/mangle: built-in chains with policy ACCEPT, no user chains.
void flushAll() {
  std::string t;
  t += "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  t += "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
  t += "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
       ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
  restoreOrDie(t, false, "flush");
}

// `n` unrelated rules in each table, in a chain of their own ("bench_fill"), each with an
// address and a tcp port match: the kind of rules other software (Docker, fail2ban, a VPN)
// leaves in a router's tables.
void fill(int n) {
  if (n == 0) return;
  std::string t;
  for (const char* table : kTables) {
    t += std::string("*") + table + "\n:bench_fill - [0:0]\n";
    const char* target = std::strcmp(table, "filter") == 0 ? "ACCEPT" : "RETURN";
    char line[160];
    for (int i = 0; i < n; ++i) {
      std::snprintf(line, sizeof line, "-A bench_fill -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j %s\n",
                    (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 1024 + i % 60000, target);
      t += line;
    }
    t += "COMMIT\n";
  }
  restoreOrDie(t, true, "fill");
}

// The floor's input: for each table that differs between `from` and `to`, `to`'s own chains
// declared (":chain - [0:0]", which --noflush empties when it exists) and refilled. The hook
// jumps are already there (the baseline has them), so they are not repeated.
std::string restoreText(const FirewallState& from, const FirewallState& to, int* tables) {
  auto before = renderFirewallRules(from);
  auto after = renderFirewallRules(to);
  std::string text;
  *tables = 0;
  for (const char* table : kTables) {
    if (before[table] == after[table]) continue;
    ++*tables;
    text += '*';
    text += table;
    text += '\n';
    for (const auto& line : after[table]) {
      if (line.rfind("-N ", 0) == 0) {
        text += ':';  // appended piecewise: gcc 12 -O3 warns (-Wrestrict) on ":" + std::string
        text.append(line, 3, std::string::npos);
        text += " - [0:0]\n";
      } else if (line.rfind("-A tetherd_", 0) == 0) {  // not the hook jumps ("-A FORWARD ...")
        text += line + "\n";
      }
    }
    text += "COMMIT\n";
  }
  return text;
}

FirewallState state(std::initializer_list<const char*> downstreams, const char* upstream) {
  FirewallState s;
  for (const char* d : downstreams) {
    s.downstreams.insert(d);
    s.pairs.insert(NatPair{d, upstream});
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

std::string jsonList(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

struct Case {
  const char* name;       // "first" (no downstream before) or "second" (one already tethered)
  FirewallState base;     // untethered
  FirewallState tethered; // base + usb0
};

// A namespace made by `unshare -n` has nothing but lo. Anything else (eth0, veths, ...) means
// this is a real network's namespace, whose tables must not be flushed.
bool inPrivateNetns() {
  FILE* f = std::fopen("/proc/self/net/dev", "r");
  if (f == nullptr) return false;
  char line[512];
  bool onlyLo = true;
  for (int n = 0; std::fgets(line, sizeof line, f) != nullptr; ++n) {
    if (n < 2) continue;  // two header lines
    const char* p = line;
    while (*p == ' ') ++p;
    if (std::strncmp(p, "lo:", 3) != 0) onlyLo = false;
  }
  std::fclose(f);
  return onlyLo;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{0, 1000, 10000};
  int reps = 11;
  std::string lock;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--reps") {
      reps = std::atoi(next().c_str());
    } else if (a == "--lock") {
      lock = next();
    } else if (a == "--sizes") {
      sizes.clear();
      std::string list = next();
      for (size_t p = 0; p <= list.size();) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        sizes.push_back(std::atoi(list.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else {
      die("usage: unshare -n bench_rule_churn --lock FILE [--reps N] [--sizes 0,1000,10000]");
    }
  }
  if (lock.empty() || reps < 1) die("--lock FILE is required; --reps must be >= 1");
  if (!inPrivateNetns()) die("refusing to run in a namespace with interfaces other than lo: run me under `unshare -n`");
  // Both sides use the private lock file: iptables-legacy-restore reads XTABLES_LOCKFILE too.
  ::setenv("XTABLES_LOCKFILE", lock.c_str(), 1);

  IptcFirewall fw(lock);
  const std::vector<Case> cases = {
      {"first", state({}, "eth0"), state({"usb0"}, "eth0")},
      {"second", state({"wlan0"}, "eth0"), state({"wlan0", "usb0"}, "eth0")},
  };

  for (int n : sizes) {
    flushAll();
    fill(n);
    for (const auto& c : cases) {
      if (auto st = fw.reset(); !st) die("reset: " + st.error().message);
      if (auto st = fw.apply(c.base); !st) die("apply base: " + st.error().message);
      int floorTetherTables = 0, floorUntetherTables = 0;
      const std::string tetherText = restoreText(c.base, c.tethered, &floorTetherTables);
      const std::string untetherText = restoreText(c.tethered, c.base, &floorUntetherTables);

      std::vector<double> iptcTether, iptcUntether, iptcNoop, floorTether, floorUntether;
      std::vector<double> tetherCommits, untetherCommits, tetherReads, untetherReads, noopReads;
      for (int r = 0; r < reps; ++r) {
        // Alternate which side goes first, so that drift on a shared machine hits both.
        auto iptcSide = [&] {
          unsigned before = fw.commitCount();
          unsigned readsBefore = fw.readCount();
          auto t0 = Clock::now();
          if (auto st = fw.apply(c.tethered); !st) die("apply tethered: " + st.error().message);
          iptcTether.push_back(msSince(t0));
          tetherCommits.push_back(fw.commitCount() - before);
          tetherReads.push_back(fw.readCount() - readsBefore);
          // The same state again: nothing to commit (and nothing to read: no table changed).
          before = fw.commitCount();
          readsBefore = fw.readCount();
          t0 = Clock::now();
          if (auto st = fw.apply(c.tethered); !st) die("apply tethered again: " + st.error().message);
          iptcNoop.push_back(msSince(t0));
          if (fw.commitCount() != before) die("re-applying the same state committed a table");
          noopReads.push_back(fw.readCount() - readsBefore);
          before = fw.commitCount();
          readsBefore = fw.readCount();
          t0 = Clock::now();
          if (auto st = fw.apply(c.base); !st) die("apply base: " + st.error().message);
          iptcUntether.push_back(msSince(t0));
          untetherCommits.push_back(fw.commitCount() - before);
          untetherReads.push_back(fw.readCount() - readsBefore);
        };
        auto floorSide = [&] {
          auto t0 = Clock::now();
          restoreOrDie(tetherText, true, "floor tether");
          floorTether.push_back(msSince(t0));
          // The floor must have produced exactly tetherd's rules: apply() reads the tables the
          // floor wrote (they differ from what it applied last) and finds nothing to commit.
          unsigned before = fw.commitCount();
          unsigned readsBefore = fw.readCount();
          if (auto st = fw.apply(c.tethered); !st) die("verify tethered: " + st.error().message);
          if (fw.commitCount() != before) die("the floor's tether rules differ from IptcFirewall's");
          if (fw.readCount() - readsBefore != static_cast<unsigned>(floorTetherTables))
            die("verifying the floor's tether rules did not read the tables it wrote");
          t0 = Clock::now();
          restoreOrDie(untetherText, true, "floor untether");
          floorUntether.push_back(msSince(t0));
          before = fw.commitCount();
          readsBefore = fw.readCount();
          if (auto st = fw.apply(c.base); !st) die("verify base: " + st.error().message);
          if (fw.commitCount() != before) die("the floor's untether rules differ from IptcFirewall's");
          if (fw.readCount() - readsBefore != static_cast<unsigned>(floorUntetherTables))
            die("verifying the floor's untether rules did not read the tables it wrote");
        };
        if (r % 2 == 0) {
          iptcSide();
          floorSide();
        } else {
          floorSide();
          iptcSide();
        }
      }
      std::printf(
          "{\"rules_per_table\":%d,\"case\":\"%s\",\"reps\":%d,"
          "\"iptc_tether_ms\":%.3f,\"iptc_untether_ms\":%.3f,\"iptc_noop_ms\":%.3f,"
          "\"floor_tether_ms\":%.3f,\"floor_untether_ms\":%.3f,"
          "\"tether_commits\":%s,\"untether_commits\":%s,"
          "\"tether_reads\":%s,\"untether_reads\":%s,\"noop_reads\":%s,"
          "\"floor_tether_tables\":%d,\"floor_untether_tables\":%d,"
          "\"samples\":{\"iptc_tether\":%s,\"iptc_untether\":%s,\"floor_tether\":%s,\"floor_untether\":%s}}\n",
          n, c.name, reps, median(iptcTether), median(iptcUntether), median(iptcNoop), median(floorTether),
          median(floorUntether), jsonList(tetherCommits).c_str(), jsonList(untetherCommits).c_str(),
          jsonList(tetherReads).c_str(), jsonList(untetherReads).c_str(), jsonList(noopReads).c_str(),
          floorTetherTables, floorUntetherTables, jsonList(iptcTether).c_str(), jsonList(iptcUntether).c_str(),
          jsonList(floorTether).c_str(), jsonList(floorUntether).c_str());
      std::fflush(stdout);
      std::fprintf(stderr, "bench_rule_churn: %d rules/table, %s downstream: done\n", n, c.name);
    }
  }
  if (auto st = fw.reset(); !st) die("reset: " + st.error().message);
  flushAll();
  return 0;
}
