// IptcFirewall against the real legacy x_tables of the test's private network namespace
// (root_tests' main unshares one), checked with iptables-legacy, the tool an administrator
// would use to look at them.
#include "tether/system/netfilter/iptc_firewall.h"

#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>
#include <sstream>

#include <gtest/gtest.h>

using namespace tetherd;

namespace {

using Lines = std::vector<std::string>;
const char* const kTables[] = {"filter", "nat", "mangle"};

struct Outcome {
  int status = -1;
  std::string output;  // stdout and stderr
};

Outcome sh(const std::string& command) {
  Outcome r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

// Runs a command that must succeed.
std::string must(const std::string& command) {
  Outcome r = sh(command);
  EXPECT_EQ(r.status, 0) << command << "\n" << r.output;
  return r.output;
}

Lines split(const std::string& text) {
  Lines lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Lines listTable(const std::string& table) { return split(must("iptables-legacy -t " + table + " -S")); }

// tetherd's part of `iptables-legacy -S`: its "-N" lines, jumps and rules all name a tetherd_ chain.
Lines tetherdLines(const std::string& table) {
  Lines out;
  for (auto& line : listTable(table)) {
    if (line.find("tetherd_") != std::string::npos) out.push_back(line);
  }
  return out;
}

Lines foreignLines(const std::string& table) {
  Lines out;
  for (auto& line : listTable(table)) {
    if (line.find("tetherd_") == std::string::npos) out.push_back(line);
  }
  return out;
}

// The "-A <chain>" lines of one chain, in order.
Lines chainRules(const std::string& table, const std::string& chain) {
  Lines out;
  for (auto& line : listTable(table)) {
    if (line.rfind("-A " + chain + " ", 0) == 0) out.push_back(line);
  }
  return out;
}

FirewallState twoPairs() {
  return FirewallState{{"usb0", "wlan0"}, {{"usb0", "rmnet0"}, {"wlan0", "eth0"}}};
}

class IptcFirewallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/tetherd-xtables-lock-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    lockPath_ = path;
    // Read by IptcFirewall's default constructor and by iptables-legacy alike.
    ::setenv("XTABLES_LOCKFILE", path, 1);
    flushAll();
  }

  void TearDown() override {
    flushAll();
    ::unsetenv("XTABLES_LOCKFILE");
    ::unlink(lockPath_.c_str());
  }

  static void flushAll() {
    for (const char* t : kTables) must(std::string("iptables-legacy -t ") + t + " -F && iptables-legacy -t " + t + " -X");
  }

  void expectInstalled(const FirewallState& s) {
    auto expected = renderFirewallRules(s);
    for (const char* t : kTables) EXPECT_EQ(tetherdLines(t), expected[t]) << "table " << t;
  }

  static void expectNothingOfTetherd() {
    for (const char* t : kTables) EXPECT_EQ(tetherdLines(t), Lines{}) << "table " << t;
  }

  std::string lockPath_;
};

TEST_F(IptcFirewallTest, ApplyInstallsExactlyTheRenderedRules) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  expectInstalled(twoPairs());
  EXPECT_EQ(fw.commitCount(), 3u);  // one commit per table
}

TEST_F(IptcFirewallTest, ApplyTwiceChangesNothing) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  EXPECT_EQ(fw.readCount(), 3u) << "a first apply reads every table";
  const unsigned commits = fw.commitCount();
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  EXPECT_EQ(fw.commitCount(), commits) << "unchanged tables must not be committed";
  EXPECT_EQ(fw.readCount(), 3u) << "nor read";
  expectInstalled(twoPairs());
  EXPECT_EQ(chainRules("filter", "FORWARD"), Lines{"-A FORWARD -j tetherd_FORWARD"});
}

// Reads and commits per table since `fw` was made, as {filter, nat, mangle}.
struct PerTable {
  std::vector<unsigned> reads, commits;
  bool operator==(const PerTable&) const = default;
};

PerTable tally(const IptcFirewall& fw) {
  PerTable t;
  for (const char* table : kTables) {
    t.reads.push_back(fw.readCount(table));
    t.commits.push_back(fw.commitCount(table));
  }
  return t;
}

std::ostream& operator<<(std::ostream& out, const PerTable& t) {
  out << "reads";
  for (unsigned n : t.reads) out << " " << n;
  out << ", commits";
  for (unsigned n : t.commits) out << " " << n;
  return out;
}

FirewallState onePair() { return FirewallState{{"usb0"}, {{"usb0", "eth0"}}}; }
// A second downstream to the same upstream: only filter changes (the MASQUERADE per upstream
// and the MSS clamp are shared).
FirewallState secondDownstream() { return FirewallState{{"usb0", "wlan0"}, {{"usb0", "eth0"}, {"wlan0", "eth0"}}}; }

TEST_F(IptcFirewallTest, OnlyTheChangedTableIsReadAndCommitted) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{1, 1, 1}, {1, 1, 1}}));
  ASSERT_TRUE(fw.apply(secondDownstream()).ok());
  expectInstalled(secondDownstream());
  EXPECT_EQ(tally(fw), (PerTable{{2, 1, 1}, {2, 1, 1}})) << "nat and mangle are neither read nor committed";
  ASSERT_TRUE(fw.apply(secondDownstream()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{2, 1, 1}, {2, 1, 1}}));
  // The last pair gone: all three change.
  ASSERT_TRUE(fw.apply(FirewallState{}).ok());
  expectInstalled(FirewallState{});
  EXPECT_EQ(tally(fw), (PerTable{{3, 2, 2}, {3, 2, 2}}));
}

// A rule removed by hand from a table apply() does not read stays missing until an apply()
// reads that table again: the next one whose desired content for it changes.
TEST_F(IptcFirewallTest, RuleDeletedByHandIsRepairedByTheNextApplyThatReadsItsTable) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  must("iptables-legacy -D tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters");
  must("iptables-legacy -t nat -D tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE");

  ASSERT_TRUE(fw.apply(onePair()).ok());
  EXPECT_EQ(fw.readCount(), 3u) << "nothing to do: no table read";
  Lines withoutIt = renderFirewallRules(onePair())["filter"];
  std::erase(withoutIt, "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters");
  EXPECT_EQ(tetherdLines("filter"), withoutIt) << "trusted, not read";

  ASSERT_TRUE(fw.apply(secondDownstream()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{2, 1, 1}, {2, 1, 1}}));
  EXPECT_EQ(tetherdLines("filter"), renderFirewallRules(secondDownstream())["filter"]) << "filter was read: repaired";
  EXPECT_EQ(chainRules("nat", "tetherd_nat_POSTROUTING"), Lines{}) << "nat was not read";

  // A change to nat reads it, and the MASQUERADE it needs comes back.
  FirewallState otherUpstream{{"usb0", "wlan0"}, {{"usb0", "eth0"}, {"wlan0", "eth1"}}};
  ASSERT_TRUE(fw.apply(otherUpstream).ok());
  expectInstalled(otherUpstream);
}

// counters() reads filter anyway and checks tetherd's part of it: a change it finds there is
// repaired by the next apply(), even of the same state.
TEST_F(IptcFirewallTest, CountersNoticeFilterChangedByHandAndTheNextApplyRepairsIt) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  auto counters = fw.counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{2, 1, 1}, {1, 1, 1}})) << "counters() read filter; it was as applied";

  must("iptables-legacy -D FORWARD -j tetherd_FORWARD");
  counters = fw.counters();
  ASSERT_TRUE(counters.ok()) << "the counter rules are still there: " << counters.error().message;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{4, 1, 1}, {2, 1, 1}})) << "filter read and committed again, nat and mangle not";
  expectInstalled(onePair());
  EXPECT_EQ(chainRules("filter", "FORWARD"), Lines{"-A FORWARD -j tetherd_FORWARD"});
}

// After a failed apply() (here: the lock held elsewhere) nothing is trusted: the retry reads
// every table, and commits only what is still missing.
TEST_F(IptcFirewallTest, AfterAFailureEveryTableIsReadAgain) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  // flock() locks conflict between two opens of the file, in one process too.
  const int fd = ::open(lockPath_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  auto st = fw.apply(secondDownstream());
  ::close(fd);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::Busy);
  EXPECT_EQ(tally(fw), (PerTable{{1, 1, 1}, {1, 1, 1}})) << "nothing read while the lock was held";

  ASSERT_TRUE(fw.apply(secondDownstream()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{2, 2, 2}, {2, 1, 1}}));
  expectInstalled(secondDownstream());
}

TEST_F(IptcFirewallTest, ResetForgetsWhatWasApplied) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(onePair()).ok());
  ASSERT_TRUE(fw.reset().ok());
  EXPECT_EQ(tally(fw), (PerTable{{2, 2, 2}, {2, 2, 2}}));
  ASSERT_TRUE(fw.apply(onePair()).ok());
  EXPECT_EQ(tally(fw), (PerTable{{3, 3, 3}, {3, 3, 3}}));
  expectInstalled(onePair());
}

TEST_F(IptcFirewallTest, ApplyEmptyStateKeepsChainsAndHooks) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(FirewallState{}).ok());
  expectInstalled(FirewallState{});
}

TEST_F(IptcFirewallTest, ApplyWithAPairRemoved) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  const unsigned commits = fw.commitCount();
  FirewallState fewer{{"usb0", "wlan0"}, {{"wlan0", "eth0"}}};
  ASSERT_TRUE(fw.apply(fewer).ok());
  expectInstalled(fewer);
  // filter and nat changed; mangle (one clamp rule while any pair exists) did not.
  EXPECT_EQ(fw.commitCount(), commits + 2);

  ASSERT_TRUE(fw.apply(FirewallState{}).ok());
  expectInstalled(FirewallState{});
}

TEST_F(IptcFirewallTest, RulesMadeByIptablesAreRecognisedAsTheSame) {
  // The same rules typed by an administrator: apply() must see nothing to change, which shows
  // that the hand-built entries are those iptables builds.
  for (const auto& [table, lines] : renderFirewallRules(twoPairs())) {
    for (const auto& line : lines) must("iptables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  EXPECT_EQ(fw.commitCount(), 0u);
  expectInstalled(twoPairs());
}

TEST_F(IptcFirewallTest, ResetRemovesEverything) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  ASSERT_TRUE(fw.reset().ok());
  expectNothingOfTetherd();
  const unsigned commits = fw.commitCount();
  ASSERT_TRUE(fw.reset().ok()) << "reset of nothing is fine";
  EXPECT_EQ(fw.commitCount(), commits);
}

// What a crashed earlier run (or an older version) may have left: duplicate jumps, stale
// rules, a chain no longer used, jumps from a foreign chain.
void makeLeftovers() {
  for (const char* cmd : {
           "-N tetherd_FORWARD",
           "-N tetherd_counters",
           "-N tetherd_old",
           "-A FORWARD -j tetherd_FORWARD",
           "-A FORWARD -i keep0 -j ACCEPT",
           "-A FORWARD -j tetherd_FORWARD",
           "-I FORWARD -j tetherd_FORWARD",
           "-A INPUT -j tetherd_old",
           "-A tetherd_FORWARD -i gone0 -o eth0 -g tetherd_counters",
           "-A tetherd_FORWARD -i gone0 -j DROP",
           "-A tetherd_counters -i gone0 -o eth0 -j ACCEPT",
           "-A tetherd_old -j tetherd_counters",
           "-N foreign",
           "-A foreign -j tetherd_FORWARD",
           "-t nat -N tetherd_nat_POSTROUTING",
           "-t nat -A POSTROUTING -j tetherd_nat_POSTROUTING",
           "-t nat -A POSTROUTING -j tetherd_nat_POSTROUTING",
           "-t nat -A tetherd_nat_POSTROUTING -o eth0 -j MASQUERADE",
           "-t mangle -N tetherd_mangle_FORWARD",
           "-t mangle -A FORWARD -j tetherd_mangle_FORWARD",
       }) {
    must(std::string("iptables-legacy ") + cmd);
  }
}

TEST_F(IptcFirewallTest, ResetRemovesLeftoversOfAPreviousRun) {
  makeLeftovers();
  IptcFirewall fw;
  ASSERT_TRUE(fw.reset().ok());
  expectNothingOfTetherd();
  EXPECT_EQ(chainRules("filter", "FORWARD"), Lines{"-A FORWARD -i keep0 -j ACCEPT"});
  EXPECT_EQ(chainRules("filter", "foreign"), Lines{}) << "the jump from a foreign chain went, the chain stays";
}

TEST_F(IptcFirewallTest, ApplyOverLeftoversConverges) {
  makeLeftovers();
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  // tetherd_old is not managed by apply (reset() removes it); everything else is as rendered.
  auto expected = renderFirewallRules(twoPairs());
  for (const char* t : kTables) {
    Lines got;
    for (auto& line : tetherdLines(t)) {
      if (line.find("tetherd_old") == std::string::npos && line != "-A foreign -j tetherd_FORWARD") got.push_back(line);
    }
    EXPECT_EQ(got, expected[t]) << "table " << t;
  }
  EXPECT_EQ(chainRules("filter", "FORWARD"), (Lines{"-A FORWARD -j tetherd_FORWARD", "-A FORWARD -i keep0 -j ACCEPT"}));
}

TEST_F(IptcFirewallTest, ForeignRulesAreUntouched) {
  for (const char* cmd : {
           "-P FORWARD DROP",
           "-A FORWARD -i foo0 -j ACCEPT",
           "-N DOCKER-USER",
           "-A DOCKER-USER -j RETURN",
           "-A FORWARD -j DOCKER-USER",
           "-t nat -A POSTROUTING -o bar0 -j MASQUERADE",
           "-t mangle -A FORWARD -o bar0 -j ACCEPT",
       }) {
    must(std::string("iptables-legacy ") + cmd);
  }
  std::map<std::string, Lines> before;
  for (const char* t : kTables) before[t] = listTable(t);

  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  for (const char* t : kTables) EXPECT_EQ(foreignLines(t), before[t]) << "table " << t;
  expectInstalled(twoPairs());
  // Our jump was inserted in front of the foreign rules.
  EXPECT_EQ(chainRules("filter", "FORWARD"),
            (Lines{"-A FORWARD -j tetherd_FORWARD", "-A FORWARD -i foo0 -j ACCEPT", "-A FORWARD -j DOCKER-USER"}));
  EXPECT_EQ(chainRules("nat", "POSTROUTING").front(), "-A POSTROUTING -j tetherd_nat_POSTROUTING");

  ASSERT_TRUE(fw.reset().ok());
  for (const char* t : kTables) EXPECT_EQ(listTable(t), before[t]) << "table " << t;
}

TEST_F(IptcFirewallTest, InvalidNamesAreRejectedBeforeAnythingIsTouched) {
  IptcFirewall fw;
  auto st = fw.apply(FirewallState{{"wlan0"}, {{"wlan0", "name with spaces"}}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::InvalidArgument);
  EXPECT_EQ(fw.commitCount(), 0u);
  expectNothingOfTetherd();
}

TEST_F(IptcFirewallTest, BusyWhileAnotherProcessHoldsTheLock) {
  int locked[2], release[2];
  ASSERT_EQ(::pipe(locked), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Another process (think: iptables-legacy -w) holding the lock until told to stop.
    ::close(locked[0]);
    ::close(release[1]);  // else its read below would never see EOF
    ::alarm(30);          // never outlive a parent that failed half-way
    const int fd = ::open(lockPath_.c_str(), O_RDONLY);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    char c = 'x';
    if (::write(locked[1], &c, 1) != 1) ::_exit(1);
    (void)!::read(release[0], &c, 1);  // returns at EOF, when the parent closes its end
    ::_exit(0);
  }
  ::close(locked[1]);
  ::close(release[0]);
  char c;
  ASSERT_EQ(::read(locked[0], &c, 1), 1);

  IptcFirewall fw;
  const auto start = std::chrono::steady_clock::now();
  auto st = fw.apply(twoPairs());
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::Busy) << st.error().message;
  EXPECT_LT(waited, std::chrono::milliseconds(100)) << "must not block the event loop";
  auto rs = fw.reset();
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.error().code, Errc::Busy);

  ::close(release[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(locked[0]);

  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  expectInstalled(twoPairs());
}

// Two more namespaces (a tethered client and a server behind the upstream) around the test's
// own, which routes between them through tetherd's rules.
class IptcFirewallTrafficTest : public IptcFirewallTest {
 protected:
  void SetUp() override {
    IptcFirewallTest::SetUp();
    client_ = spawnNamespace();
    server_ = spawnNamespace();
    ASSERT_GT(client_, 0);
    ASSERT_GT(server_, 0);
    const std::string c = std::to_string(client_), s = std::to_string(server_);
    must("ip link add fwd0 type veth peer name fwd0p && ip link set fwd0p netns " + c);
    must("ip link add fwu0 type veth peer name fwu0p && ip link set fwu0p netns " + s);
    must("ip addr add 10.77.1.1/24 dev fwd0 && ip link set fwd0 up");
    must("ip addr add 10.77.2.1/24 dev fwu0 && ip link set fwu0 up");
    must("echo 1 > /proc/sys/net/ipv4/ip_forward");  // this namespace's only
    must("nsenter -t " + c + " -n sh -c 'ip link set lo up && ip addr add 10.77.1.2/24 dev fwd0p && "
         "ip link set fwd0p up && ip route add default via 10.77.1.1'");
    // No route back to 10.77.1.0/24: replies only come back if MASQUERADE works.
    must("nsenter -t " + s + " -n sh -c 'ip link set lo up && ip addr add 10.77.2.2/24 dev fwu0p && "
         "ip link set fwu0p up'");
  }

  void TearDown() override {
    sh("ip link del fwd0; ip link del fwu0");
    for (pid_t pid : {client_, server_}) {
      if (pid > 0) ::kill(pid, SIGKILL);
    }
    IptcFirewallTest::TearDown();
  }

  // A process sitting in a new network namespace; its pid names the namespace.
  static pid_t spawnNamespace() {
    Outcome r = sh("unshare --net sleep 120 </dev/null >/dev/null 2>&1 & echo $!");
    return r.status == 0 ? static_cast<pid_t>(std::atoi(r.output.c_str())) : -1;
  }

  // `n` TCP connection attempts from the client to a closed port of the server: each is one
  // SYN out (tx) and one RST back (rx).
  void connectFromClient(int n) {
    must("nsenter -t " + std::to_string(client_) + " -n bash -c 'for i in $(seq " + std::to_string(n) +
         "); do (exec 3<>/dev/tcp/10.77.2.2/80) 2>/dev/null; done; true'");
  }

  pid_t client_ = -1, server_ = -1;
};

TEST_F(IptcFirewallTrafficTest, CountersCountForwardedTrafficAndSurviveApply) {
  IptcFirewall fw;
  FirewallState s{{"fwd0"}, {{"fwd0", "fwu0"}}};
  ASSERT_TRUE(fw.apply(s).ok());
  connectFromClient(3);

  auto counters = fw.counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  ASSERT_EQ(counters->size(), 1u);
  const TrafficCounter before = counters->front();
  EXPECT_EQ(before.downstream, "fwd0");
  EXPECT_EQ(before.upstream, "fwu0");
  EXPECT_EQ(before.txPackets, 3u);
  EXPECT_EQ(before.rxPackets, 3u);
  EXPECT_GE(before.txBytes, 3u * 40);  // at least IP + TCP headers
  EXPECT_GE(before.rxBytes, 3u * 40);

  // Another downstream and pair: tetherd_counters is rebuilt, the kept rules keep their counts.
  const unsigned commits = fw.commitCount();
  FirewallState more{{"fwd0", "fwd1"}, {{"fwd0", "fwu0"}, {"fwd1", "fwu0"}}};
  ASSERT_TRUE(fw.apply(more).ok());
  EXPECT_EQ(fw.commitCount(), commits + 1) << "only filter changes";
  counters = fw.counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  ASSERT_EQ(counters->size(), 2u);
  const TrafficCounter& after = counters->front();
  EXPECT_EQ(after.downstream, "fwd0");
  EXPECT_EQ(after.txPackets, before.txPackets);
  EXPECT_EQ(after.txBytes, before.txBytes);
  EXPECT_EQ(after.rxPackets, before.rxPackets);
  EXPECT_EQ(after.rxBytes, before.rxBytes);
  EXPECT_EQ((*counters)[1].downstream, "fwd1");
  EXPECT_EQ((*counters)[1].txPackets, 0u);

  // Traffic keeps being counted on the rebuilt rules.
  connectFromClient(2);
  counters = fw.counters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->front().txPackets, 5u);
  EXPECT_EQ(counters->front().rxPackets, 5u);

  // Without the pair, the client's traffic is dropped (the SYN is retransmitted into the
  // DROP rule until `timeout` ends the attempt) and nothing is counted.
  ASSERT_TRUE(fw.apply(FirewallState{{"fwd0"}, {}}).ok());
  EXPECT_NE(sh("timeout 2 nsenter -t " + std::to_string(client_) +
               " -n bash -c 'exec 3<>/dev/tcp/10.77.2.2/80'").status, 0);
  counters = fw.counters();
  ASSERT_TRUE(counters.ok());
  EXPECT_TRUE(counters->empty());
  const Lines verbose = split(must("iptables-legacy -v -S tetherd_FORWARD"));
  ASSERT_EQ(verbose.size(), 2u);
  EXPECT_EQ(verbose[1].rfind("-A tetherd_FORWARD -i fwd0 -c ", 0), 0u) << verbose[1];
  EXPECT_EQ(verbose[1].find("-c 0 0"), std::string::npos) << "the SYN hit the DROP rule: " << verbose[1];
}

TEST_F(IptcFirewallTest, CountersReportRulesRemovedBehindItsBack) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(FirewallState{{"wlan0"}, {{"wlan0", "eth0"}}}).ok());
  auto counters = fw.counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  ASSERT_EQ(counters->size(), 1u);
  EXPECT_EQ(counters->front().txPackets, 0u);

  must("iptables-legacy -D tetherd_counters -i eth0 -o wlan0 -j ACCEPT");
  counters = fw.counters();
  ASSERT_FALSE(counters.ok());
  EXPECT_EQ(counters.error().code, Errc::NotFound);

  ASSERT_TRUE(fw.apply(FirewallState{{"wlan0"}, {{"wlan0", "eth0"}}}).ok()) << "apply repairs it";
  EXPECT_TRUE(fw.counters().ok());
  ASSERT_TRUE(fw.reset().ok());
  counters = fw.counters();
  ASSERT_TRUE(counters.ok());
  EXPECT_TRUE(counters->empty());
}

TEST_F(IptcFirewallTest, CountersOfNothingAreEmpty) {
  IptcFirewall fw;
  auto counters = fw.counters();
  ASSERT_TRUE(counters.ok());
  EXPECT_TRUE(counters->empty());
}

// ---- the admin page's port (tetherd_INPUT) ----------------------------------------------

FirewallState withAdminPort(FirewallState s) {
  s.adminPorts = {8080};
  s.upstreams = {"eth0", "rmnet0"};
  return s;
}

TEST_F(IptcFirewallTest, AdminPortInstallsTheInputChainAsRendered) {
  must("iptables-legacy -A INPUT -i lo -j ACCEPT");
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withAdminPort(twoPairs())).ok());
  expectInstalled(withAdminPort(twoPairs()));
  EXPECT_EQ(chainRules("filter", "INPUT"), (Lines{"-A INPUT -j tetherd_INPUT", "-A INPUT -i lo -j ACCEPT"}));
  EXPECT_EQ(chainRules("filter", "tetherd_INPUT"),
            (Lines{"-A tetherd_INPUT -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
                   "-A tetherd_INPUT -i rmnet0 -p tcp -m tcp --dport 8080 -j DROP"}));
  const unsigned commits = fw.commitCount();
  ASSERT_TRUE(fw.apply(withAdminPort(twoPairs())).ok());
  EXPECT_EQ(fw.commitCount(), commits) << "unchanged tables must not be committed";
}

TEST_F(IptcFirewallTest, AdminPortRulesMadeByIptablesAreRecognisedAsTheSame) {
  for (const auto& [table, lines] : renderFirewallRules(withAdminPort(twoPairs()))) {
    for (const auto& line : lines) must("iptables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withAdminPort(twoPairs())).ok());
  EXPECT_EQ(fw.commitCount(), 0u) << "the hand-built --dport entry must be the one iptables builds";
}

TEST_F(IptcFirewallTest, AdminPortRemovedTakesTheInputChainAway) {
  must("iptables-legacy -A INPUT -i lo -j ACCEPT");
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withAdminPort(twoPairs())).ok());
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  expectInstalled(twoPairs());
  EXPECT_EQ(chainRules("filter", "INPUT"), Lines{"-A INPUT -i lo -j ACCEPT"});
  const unsigned commits = fw.commitCount();
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  EXPECT_EQ(fw.commitCount(), commits) << "an absent chain that is already gone changes nothing";
}

TEST_F(IptcFirewallTest, ResetRemovesTheInputChainToo) {
  must("iptables-legacy -A INPUT -i lo -j ACCEPT");
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withAdminPort(twoPairs())).ok());
  ASSERT_TRUE(fw.reset().ok());
  expectNothingOfTetherd();
  EXPECT_EQ(chainRules("filter", "INPUT"), Lines{"-A INPUT -i lo -j ACCEPT"});
}

// Issue 14: an idle timer per downstream (mangle PREROUTING, IDLETIMER revision 1) and a
// local-only downstream's drops, as iptables builds and prints them; the timer's sysfs file
// lives as long as its rule. (Labels are global across namespaces: this one has the pid.)
FirewallState withIdleAndLocalOnly(FirewallState s) {
  s.idleTimers["usb0"] = IdleTimer{"troot" + std::to_string(::getpid()) + "_usb0", 30};
  s.downstreams.insert("lan9");
  s.localOnly = {"lan9"};
  return s;
}

TEST_F(IptcFirewallTest, IdleTimerAndLocalOnlyInstallAsRenderedAndGoWithReset) {
  const FirewallState s = withIdleAndLocalOnly(twoPairs());
  const std::string timer = "/sys/class/xt_idletimer/timers/" + s.idleTimers.at("usb0").label;
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(s).ok());
  expectInstalled(s);
  EXPECT_EQ(::access(timer.c_str(), R_OK), 0) << timer;
  ASSERT_TRUE(fw.apply(twoPairs()).ok());
  expectInstalled(twoPairs());
  EXPECT_NE(::access(timer.c_str(), F_OK), 0) << "the timer goes with its rule";
  ASSERT_TRUE(fw.apply(s).ok());
  ASSERT_TRUE(fw.reset().ok());
  expectNothingOfTetherd();
  EXPECT_NE(::access(timer.c_str(), F_OK), 0);
}

TEST_F(IptcFirewallTest, IdleTimerRulesMadeByIptablesAreRecognisedAsTheSame) {
  const FirewallState s = withIdleAndLocalOnly(twoPairs());
  for (const auto& [table, lines] : renderFirewallRules(s)) {
    for (const auto& line : lines) must("iptables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_EQ(fw.commitCount(), 0u) << "the hand-built IDLETIMER entry must be the one iptables builds";
}

// Issue 14: a client's quota (its own chain with an xt_quota match, jumped to from its
// counting rules) and a downstream's (its chain first in tetherd_counters), as iptables builds
// and prints them; a new remaining figure replaces the match;
// the chain goes with the quota.
FirewallState withQuota(FirewallState s, uint64_t left) {
  s.clients = {{"usb0", {"192.168.42.10", "192.168.42.11"}}};
  s.quotaOf = {{"192.168.42.10", "02:00:00:00:00:01"}};
  s.quotaLeft = {{"02:00:00:00:00:01", left}};
  s.downstreamQuotaLeft = {{"usb0", left * 2}};
  return s;
}

TEST_F(IptcFirewallTest, QuotaRulesMadeByIptablesAreRecognisedAsTheSame) {
  const FirewallState s = withQuota(twoPairs(), 5'000'000);
  for (const auto& [table, lines] : renderFirewallRules(s)) {
    for (const auto& line : lines) must("iptables-legacy -t " + table + " " + line);
  }
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_EQ(fw.commitCount(), 0u) << "the hand-built quota entry must be the one iptables builds";
  expectInstalled(s);
}

TEST_F(IptcFirewallTest, QuotaInstallsAsRenderedFollowsItsFigureAndGoes) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withQuota(twoPairs(), 5'000'000)).ok());
  expectInstalled(withQuota(twoPairs(), 5'000'000));
  ASSERT_TRUE(fw.apply(withQuota(twoPairs(), 1'234)).ok());
  expectInstalled(withQuota(twoPairs(), 1'234));
  FirewallState none = withQuota(twoPairs(), 0);
  none.quotaOf.clear();
  none.quotaLeft.clear();
  none.downstreamQuotaLeft.clear();
  ASSERT_TRUE(fw.apply(none).ok());
  expectInstalled(none);
  auto counters = fw.clientCounters();
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->size(), 2u);
  auto pairs = fw.counters();  // the downstream quota's jumps in tetherd_counters are no pair
  ASSERT_TRUE(pairs) << pairs.error().message;
}

// A listener on the downstream's address, as the web server has: Linux would accept a
// connection to it arriving on the upstream (weak host model); tetherd_INPUT drops it there,
// while the downstream side still connects.
TEST_F(IptcFirewallTrafficTest, AdminPortIsUnreachableFromTheUpstreamSide) {
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(8080);
  ASSERT_EQ(::inet_pton(AF_INET, "10.77.1.1", &sa.sin_addr), 1);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(ls, 16), 0);
  must("nsenter -t " + std::to_string(server_) + " -n ip route add 10.77.1.0/24 via 10.77.2.1");
  auto connectFrom = [](pid_t ns) {
    return sh("timeout 2 nsenter -t " + std::to_string(ns) + " -n bash -c 'exec 3<>/dev/tcp/10.77.1.1/8080'").status;
  };
  IptcFirewall fw;
  FirewallState s{{"fwd0"}, {{"fwd0", "fwu0"}}};
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_EQ(connectFrom(server_), 0) << "without the rule the upstream side reaches the listener";
  s.adminPorts = {8080};
  s.upstreams = {"fwu0"};
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_NE(connectFrom(server_), 0) << "the SYN from the upstream side must be dropped";
  EXPECT_EQ(connectFrom(client_), 0) << "the downstream side still connects";
  ::close(ls);
}


// ---- blocked clients (-m mac) -----------------------------------------------------------

FirewallState withBlocked(FirewallState s) {
  s.blockedMacs = {"02:00:00:00:00:01", "0a:bb:cc:dd:ee:ff"};
  s.blockOn = {"rndis0", "usb0"};
  return s;
}

TEST_F(IptcFirewallTest, BlockedMacsInstallAsRenderedAndMatchWhatIptablesBuilds) {
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(withBlocked(twoPairs())).ok());
  expectInstalled(withBlocked(twoPairs()));
  ASSERT_TRUE(fw.reset().ok());
  for (const auto& [table, lines] : renderFirewallRules(withBlocked(twoPairs()))) {
    for (const auto& line : lines) must("iptables-legacy -t " + table + " " + line);
  }
  IptcFirewall again;
  ASSERT_TRUE(again.apply(withBlocked(twoPairs())).ok());
  EXPECT_EQ(again.commitCount(), 0u) << "the hand-built mac entry must be the one iptables builds";
  ASSERT_TRUE(again.apply(twoPairs()).ok());
  expectInstalled(twoPairs());
}

// The client's own MAC blocked: its forwarded traffic and what it sends the appliance itself
// are dropped; unblocked, both work again.
TEST_F(IptcFirewallTrafficTest, BlockedClientMacCannotForwardNorReachTheAppliance) {
  const std::string c = std::to_string(client_);
  const std::string m = "02:77:00:00:00:02";
  must("nsenter -t " + c + " -n ip link set fwd0p address " + m);
  // 0 when the address answers (a refused connection is an answer: the RST came back), else
  // the connection attempt timed out: its SYN was dropped.
  auto reach = [&](const std::string& addr) {
    int st = sh("timeout 1 nsenter -t " + c + " -n bash -c 'exec 3<>/dev/tcp/" + addr + "/9' 2>/dev/null").status;
    return WEXITSTATUS(st) == 124 ? 1 : 0;
  };
  IptcFirewall fw;
  FirewallState s{{"fwd0"}, {{"fwd0", "fwu0"}}};
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_EQ(reach("10.77.2.2"), 0);
  EXPECT_EQ(reach("10.77.1.1"), 0);
  s.blockedMacs = {m};
  s.blockOn = {"fwd0"};
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_NE(reach("10.77.2.2"), 0) << "forwarded traffic of a blocked MAC must be dropped";
  EXPECT_NE(reach("10.77.1.1"), 0) << "the appliance must not answer a blocked MAC";
  s.blockedMacs.clear();
  ASSERT_TRUE(fw.apply(s).ok());
  EXPECT_EQ(reach("10.77.2.2"), 0);
  EXPECT_EQ(reach("10.77.1.1"), 0);
}

}  // namespace

// Per-client accounting (issue 14): the chains, jumps and host rules are byte for byte what
// iptables-legacy lists for the rendered text; a downstream that stops forwarding loses its
// chain; clientCounters() names every address, in chain order.
TEST_F(IptcFirewallTest, PerClientChainsAreInstalledPrunedAndRead) {
  IptcFirewall fw;
  FirewallState s = twoPairs();
  s.clients = {{"usb0", {"192.168.42.10", "192.168.42.11"}}, {"wlan0", {"192.168.43.20"}}};
  ASSERT_TRUE(fw.apply(s).ok());
  expectInstalled(s);
  auto counters = fw.clientCounters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  EXPECT_EQ(*counters, (std::vector<ClientCounter>{{"usb0", "192.168.42.10"}, {"usb0", "192.168.42.11"}, {"wlan0", "192.168.43.20"}}));

  s.clients.erase("wlan0");
  s.clients["usb0"].erase("192.168.42.11");
  ASSERT_TRUE(fw.apply(s).ok());
  expectInstalled(s);
  EXPECT_EQ(chainRules("filter", "tetherd_acct_wlan0"), Lines{});
  counters = fw.clientCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(*counters, (std::vector<ClientCounter>{{"usb0", "192.168.42.10"}}));
}

// Issue 14 with IPv6: IPv6-only activity of a client keeps its downstream awake. The timer's
// IPv6 rule (same label: one kernel timer) is restarted by an IPv6 packet from the client,
// which the IPv4 rule alone does not see.
TEST_F(IptcFirewallTrafficTest, Ipv6OnlyActivityRestartsTheIdleTimer) {
  const std::string c = std::to_string(client_);
  must("ip -6 addr add fd77:1::1/64 dev fwd0 nodad");
  must("nsenter -t " + c + " -n ip -6 addr add fd77:1::2/64 dev fwd0p nodad");
  FirewallState s{{"fwd0"}, {{"fwd0", "fwu0"}}};
  const std::string label = "tv6" + std::to_string(::getpid()) + "_fwd0";
  s.idleTimers["fwd0"] = IdleTimer{label, 3};
  const std::string timer = "/sys/class/xt_idletimer/timers/" + label;
  auto left = [&] { return std::atoi(must("cat " + timer).c_str()); };
  auto quiet = [&] {  // until the timer runs down (the client's own RS/MLD may restart it first)
    for (int i = 0; i < 100 && left() > 1; ++i) ::usleep(100'000);
    ASSERT_LE(left(), 1);
  };
  auto ipv6Packet = [&] {  // one SYN to a closed port of fwd0's IPv6 address (an RST back)
    must("nsenter -t " + c + " -n bash -c '(exec 3<>/dev/tcp/fd77:1::1/80) 2>/dev/null; true'");
  };
  IptcFirewall fw;
  ASSERT_TRUE(fw.apply(s).ok());  // IPv4 only
  quiet();
  ipv6Packet();
  EXPECT_LE(left(), 1) << "the IPv4 rule does not see IPv6";
  s.ipv6 = true;
  ASSERT_TRUE(fw.apply(s).ok());
  quiet();
  ipv6Packet();
  EXPECT_GE(left(), 2) << "the IPv6 rule restarted the timer";
  ASSERT_TRUE(fw.reset().ok());
}
