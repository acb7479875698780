// Issue 14 points 6 and 7: idle auto-off and local-only downstreams, their pure parts — the
// config keys, the rules' exact text, the timer labels, dnsmasq's local-only argv, the idle
// decision on a fake clock, the monitor over a fake sysfs watch, the plan, the 613 line.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "tether/control/event_text.h"
#include "tether/core/idle.h"
#include "tether/core/planner.h"
#include "tether/system/dnsmasq.h"
#include "tether/system/netfilter/firewall.h"

using namespace tetherd;
using namespace std::chrono_literals;

namespace {

using Lines = std::vector<std::string>;

Result<Config> parse(const std::string& text) { return parseConfig(text, "t.conf"); }

}  // namespace

// ---------------------------------------------------------------------------- config

TEST(IdleConfig, TimeoutsTakeMinutesSecondsAndOff) {
  auto c = parse("[softap]\nidle_timeout = 10min\n[tethering]\nidle_timeout = 30s\nidle_untether = usb,bluetooth\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->softapIdleTimeoutSec, 600);
  EXPECT_EQ(c->idleTimeoutSec, 30);
  EXPECT_TRUE(c->idleUntether[static_cast<size_t>(IfaceKind::Usb)]);
  EXPECT_TRUE(c->idleUntether[static_cast<size_t>(IfaceKind::Bluetooth)]);
  EXPECT_FALSE(c->idleUntether[static_cast<size_t>(IfaceKind::Ethernet)]);
  for (const char* off : {"off", "0"}) {
    auto d = parse(std::string("[softap]\nidle_timeout = ") + off + "\n");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->softapIdleTimeoutSec, 0);
  }
  EXPECT_EQ(parse("[softap]\nidle_timeout = 1h\n")->softapIdleTimeoutSec, 3600);
  EXPECT_EQ(defaultConfig().softapIdleTimeoutSec, 0);  // off unless asked for
  EXPECT_EQ(defaultConfig().idleTimeoutSec, 0);
}

TEST(IdleConfig, BadValuesNameTheKeyAndTheCause) {
  auto c = parse("[softap]\nidle_timeout = soon\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("idle_timeout"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("'soon' is not a duration"), std::string::npos) << c.error().message;
  c = parse("[tethering]\nidle_timeout = 1500ms\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("whole number of seconds"), std::string::npos) << c.error().message;
  c = parse("[tethering]\nidle_timeout = 2d\n");
  ASSERT_FALSE(c);
  c = parse("[tethering]\nidle_timeout = 25h\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("between 1s and 24h"), std::string::npos) << c.error().message;
  c = parse("[tethering]\nidle_untether = wifi\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("[softap] idle_timeout"), std::string::npos) << c.error().message;
  c = parse("[tethering]\nidle_untether = usb, modem\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("'modem' is not one of usb, bluetooth, ethernet, none"), std::string::npos);
}

TEST(IdleConfig, LocalOnlyTakesKindsAndInterfaceNames) {
  auto c = parse("[tethering]\nlocal_only = wifi, lan7\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->localOnly("wlan0", IfaceKind::Wifi));
  EXPECT_TRUE(c->localOnly("lan7", IfaceKind::Ethernet));
  EXPECT_FALSE(c->localOnly("usb0", IfaceKind::Usb));
  EXPECT_FALSE(defaultConfig().localOnly("usb0", IfaceKind::Usb));
  auto bad = parse("[tethering]\nlocal_only = usb0 usb0\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("listed twice"), std::string::npos);
  bad = parse("[tethering]\nlocal_only = eth+\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("local_only"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("neither a kind"), std::string::npos) << bad.error().message;
}

// ---------------------------------------------------------------------------- rules

TEST(IdleRules, IdleTimerPerDownstreamInManglePrerouting) {
  FirewallState s;
  s.downstreams = {"usb0", "wlan0"};
  s.idleTimers["usb0"] = IdleTimer{"tf0000098_usb0", 600};
  s.idleTimers["wlan0"] = IdleTimer{"tf0000098_wlan0", 30};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["mangle"], (Lines{
                                 "-N tetherd_mangle_FORWARD",
                                 "-N tetherd_mangle_PREROUTING",
                                 "-A PREROUTING -j tetherd_mangle_PREROUTING",
                                 "-A FORWARD -j tetherd_mangle_FORWARD",
                                 "-A tetherd_mangle_PREROUTING -i usb0 -j IDLETIMER --timeout 600 --label tf0000098_usb0",
                                 "-A tetherd_mangle_PREROUTING -i wlan0 -j IDLETIMER --timeout 30 --label tf0000098_wlan0",
                             }));
  // None: no chain at all (removed when it was there), in either family.
  auto tables = fw::buildTables(FirewallState{});
  EXPECT_EQ(tables[2].absent, (std::vector<std::string>{"tetherd_mangle_PREROUTING"}));
  FirewallState none6;
  none6.ipv6 = true;
  EXPECT_EQ(fw::buildTables6(none6)[2].absent, (std::vector<std::string>{"tetherd_mangle_PREROUTING"}));
  // IPv6: the same rules, with the same labels (one kernel timer per downstream, restarted by
  // either family's packets), so IPv6-only activity keeps the downstream awake.
  s.ipv6 = true;
  auto rules6 = renderFirewallRules6(s);
  EXPECT_EQ(rules6["mangle"], rules["mangle"]);
}

TEST(IdleRules, LocalOnlyDownstreamIsDroppedFirstBothWays) {
  FirewallState s;
  s.downstreams = {"usb0", "wlan0"};
  s.pairs = {{"usb0", "eth0"}};
  s.localOnly = {"wlan0"};
  s.blockedMacs = {"02:00:00:00:00:01"};
  s.blockOn = {"usb0", "wlan0"};
  auto rules = renderFirewallRules(s);
  EXPECT_EQ(rules["filter"], (Lines{
                                 "-N tetherd_FORWARD",
                                 "-N tetherd_INPUT",
                                 "-N tetherd_counters",
                                 "-A INPUT -j tetherd_INPUT",
                                 "-A FORWARD -j tetherd_FORWARD",
                                 "-A tetherd_FORWARD -i wlan0 -j DROP",
                                 "-A tetherd_FORWARD -o wlan0 -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                                 "-A tetherd_FORWARD -i eth0 -o usb0 -m conntrack --ctstate RELATED,ESTABLISHED -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -m conntrack --ctstate INVALID -j DROP",
                                 "-A tetherd_FORWARD -i usb0 -o eth0 -g tetherd_counters",
                                 "-A tetherd_FORWARD -i usb0 -j DROP",
                                 "-A tetherd_FORWARD -i wlan0 -j DROP",
                                 "-A tetherd_INPUT -i usb0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                                 "-A tetherd_INPUT -i wlan0 -m mac --mac-source 02:00:00:00:00:01 -j DROP",
                                 "-A tetherd_counters -i usb0 -o eth0 -j ACCEPT",
                                 "-A tetherd_counters -i eth0 -o usb0 -j ACCEPT",
                             }));
}

TEST(IdleRules, LabelsAreUniquePerNamespaceAndValidated) {
  EXPECT_EQ(fw::idleTimerLabel(0xf0000098, "usb0"), "tf0000098_usb0");
  EXPECT_EQ(fw::idleTimerLabel(0xf0000099, "usb0"), "tf0000099_usb0");
  EXPECT_LE(fw::idleTimerLabel(0xffffffff, "abcdefghijklmno").size(), 27u);
  FirewallState s;
  s.idleTimers["usb0"] = IdleTimer{"tf0000098_usb0", 600};
  EXPECT_TRUE(fw::validate(s));
  s.idleTimers["usb0"] = IdleTimer{"t/../x", 600};
  auto st = fw::validate(s);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("idle timer label"), std::string::npos);
  s.idleTimers["usb0"] = IdleTimer{std::string(28, 'a'), 600};
  EXPECT_FALSE(fw::validate(s));
  s.idleTimers["usb0"] = IdleTimer{"ok", 0};
  EXPECT_FALSE(fw::validate(s));
  s.idleTimers.clear();
  s.localOnly = {"bad name"};
  EXPECT_FALSE(fw::validate(s));
}

// ---------------------------------------------------------------------------- dnsmasq

TEST(IdleDnsmasq, LocalOnlyAnswersLocalNamesAndForwardsNothing) {
  DnsmasqDownstream d;
  d.ifname = "wlan0";
  d.subnet = *Ipv4Prefix::parse("192.168.43.0/24");
  d.address = *Ipv4Address::parse("192.168.43.1");
  d.localOnly = true;
  auto argv = dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd");
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv, (std::vector<std::string>{
                       "/usr/sbin/dnsmasq",
                       "-C",
                       "/dev/null",
                       "--keep-in-foreground",
                       "--no-resolv",
                       "--no-poll",
                       "--no-hosts",
                       "--bind-dynamic",
                       "--interface=wlan0",
                       "--except-interface=lo",
                       "--dhcp-range=set:wlan0,192.168.43.10,192.168.43.250,255.255.255.0,3600s",
                       "--dhcp-option=tag:wlan0,option:router,192.168.43.1",
                       "--dhcp-option=tag:wlan0,option:dns-server,192.168.43.1",
                       "--dhcp-authoritative",
                       "--dhcp-leasefile=/var/lib/tetherd/dnsmasq-wlan0.leases",
                       "--dhcp-hostsfile=/run/tetherd/dnsmasq-hosts-wlan0.conf",
                       "--pid-file=/run/tetherd/dnsmasq-wlan0.pid",
                       "--log-facility=-",
                       "--log-dhcp",
                       "--no-ping",
                       "--local=/lan/",
                       "--domain=lan",
                   }));
  EXPECT_TRUE(isOwnDnsmasq(*argv, "/usr/sbin/dnsmasq", "/run/tetherd", "/var/lib/tetherd", "wlan0"));
  d.domain.clear();  // [tethering] domain = none: local-only still has its local names
  EXPECT_EQ(dnsmasqArgv("/usr/sbin/dnsmasq", d, "/run/tetherd", "/var/lib/tetherd")->back(), "--domain=lan");
}

// ---------------------------------------------------------------------------- the decision

TEST(IdleDecision, OffOnlyWhenExpiredWithoutStationsForTheWholeTimeout) {
  const IdleClock::time_point t0{};  // the fake clock
  using K = IdleVerdict::Kind;
  IdleInputs in{false, 0, std::nullopt, 600s};
  EXPECT_EQ(decideIdle(in, t0).kind, K::Wait);  // traffic within the timeout: the kernel tells us
  in.expired = true;
  EXPECT_EQ(decideIdle(in, t0).kind, K::Off);  // no client at all for 600 s
  in.stations = 1;
  EXPECT_EQ(decideIdle(in, t0).kind, K::Wait);  // a silent station still counts
  in.stations = 0;
  in.lastStationLeft = t0 - 100s;  // it left 100 s ago: 500 s more
  EXPECT_EQ(decideIdle(in, t0), (IdleVerdict{K::RecheckAt, t0 + 500s}));
  EXPECT_EQ(decideIdle(in, t0 + 499s).kind, K::RecheckAt);
  EXPECT_EQ(decideIdle(in, t0 + 500s).kind, K::Off);
}

TEST(IdleDecision, TimeoutPerDownstreamKind) {
  Config c = defaultConfig();
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Wifi, true), std::nullopt);
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Usb, false), std::nullopt);
  c.softapIdleTimeoutSec = 600;
  c.idleTimeoutSec = 120;
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Wifi, true), 600);
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Usb, false), std::nullopt);  // not in idle_untether
  c.idleUntether[static_cast<size_t>(IfaceKind::Usb)] = true;
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Usb, false), 120);
  EXPECT_EQ(idleTimeoutSec(c, IfaceKind::Bluetooth, false), std::nullopt);
}

// ---------------------------------------------------------------------------- the monitor

namespace {

struct FakeWatch : IdleTimerWatch {
  uint32_t* left;
  std::function<void()>* fired;
  FakeWatch(uint32_t* l, std::function<void()>* f) : left(l), fired(f) {}
  ~FakeWatch() override { *fired = nullptr; }
  Result<uint32_t> remaining() override { return *left; }
  void wait(std::function<void()> f) override { *fired = std::move(f); }
};

struct MonitorRig {
  boost::asio::io_context io;
  uint32_t left = 600;
  std::function<void()> fired;
  IdleClock::time_point now{};
  std::vector<std::string> off;
  std::vector<std::string> events;
  std::vector<std::string> opened;
  IdleMonitor monitor{io,
                      [this](const std::string& label) -> Result<std::unique_ptr<IdleTimerWatch>> {
                        opened.push_back(label);
                        return std::unique_ptr<IdleTimerWatch>(std::make_unique<FakeWatch>(&left, &fired));
                      },
                      [this] { return now; },
                      [this](const std::string& n) -> Status {
                        off.push_back(n);
                        return {};
                      },
                      [this](const Event& e) { events.push_back(control::formatEvent(e).text); }};
  void poll() {
    io.restart();  // poll() stops the context when it runs out of work
    io.poll();
  }
  void notify() {
    auto f = fired;
    ASSERT_TRUE(f);
    f();
    poll();
  }
  void station(bool connected) {
    using K = events::ClientChanged::Kind;
    monitor.onEvent(Event{events::ClientChanged{connected ? K::StationConnected : K::StationDisconnected,
                                                "02:00:00:00:00:01", std::string("wlan0")}});
    poll();
  }
};

}  // namespace

TEST(IdleMonitor, ExpiryWithNoClientTurnsItOffAndSays613) {
  MonitorRig r;
  r.monitor.sync({{"usb0", IdleTimer{"tf0000098_usb0", 600}}});
  r.poll();
  EXPECT_EQ(r.opened, (Lines{"tf0000098_usb0"}));
  EXPECT_TRUE(r.off.empty());  // 600 s left: it sleeps on the notification
  r.left = 0;
  r.notify();
  EXPECT_EQ(r.off, (Lines{"usb0"}));
  EXPECT_EQ(r.events, (Lines{"IfaceClass idle usb0 off"}));
  r.monitor.sync({});
  EXPECT_EQ(r.monitor.watching(), 0u);
}

TEST(IdleMonitor, TrafficBeforeTheNotificationKeepsItOn) {
  MonitorRig r;
  r.monitor.sync({{"usb0", IdleTimer{"tf0000098_usb0", 600}}});
  r.poll();
  r.left = 42;  // a notification, but a client's packet restarted the timer since
  r.notify();
  EXPECT_TRUE(r.off.empty());
  EXPECT_TRUE(r.fired);  // still waiting for the next one
}

TEST(IdleMonitor, AnAssociatedStationKeepsTheSoftApOn) {
  MonitorRig r;
  r.monitor.sync({{"wlan0", IdleTimer{"tf0000098_wlan0", 600}}});
  r.poll();
  r.station(true);
  r.left = 0;
  r.notify();
  EXPECT_TRUE(r.off.empty());  // expired, but a silent station is associated
  r.station(false);            // it left now: the timeout counts from here
  EXPECT_TRUE(r.off.empty());
  r.monitor.sync({{"wlan0", IdleTimer{"tf0000098_wlan0", 601}}});  // a changed timer: watched anew
  r.poll();
  EXPECT_EQ(r.opened.size(), 2u);
  EXPECT_EQ(r.off, (Lines{"wlan0"}));  // a new watch forgets the station: expired and empty
}

// ---------------------------------------------------------------------------- the plan

namespace {

Facts usb0Forwarding() {
  Facts f;
  f.kernel.links[1] = {1, "lo", true, true};
  f.kernel.links[2] = {2, "eth0", true, true};
  f.kernel.links[4] = {4, "usb0", true, true};
  f.kernel.addrs.push_back({2, "eth0", *Ipv4Prefix::parse("10.0.1.2/24")});
  f.kernel.addrs.push_back({4, "usb0", *Ipv4Prefix::parse("192.168.42.1/24")});
  f.kernel.routes = {{2, "eth0", *Ipv4Address::parse("10.0.1.254"), 100}};
  f.upstreamDns = {{"eth0", {*Ipv4Address::parse("10.0.1.1")}}};
  f.chains = f.dns = f.ipForwarding = true;
  f.stages["usb0"] = Stage::Forwarding;
  f.assigned["usb0"] = *Ipv4Prefix::parse("192.168.42.1/24");
  f.netns = 0xf0000098;
  return f;
}

Intent tethering() {
  Intent i;
  i.config = defaultConfig();
  i.config.upstreamPriority = i.priority = {"eth0"};
  i.config.policyRouting = false;
  i.tethering = true;
  return i;
}

}  // namespace

TEST(IdlePlan, IdleUntetherKindGetsItsTimer) {
  Intent i = tethering();
  Desired d = plan(usb0Forwarding(), i);
  ASSERT_TRUE(d.firewall);
  EXPECT_TRUE(d.firewall->idleTimers.empty());
  i.config.idleTimeoutSec = 5;
  i.config.idleUntether[static_cast<size_t>(IfaceKind::Usb)] = true;
  d = plan(usb0Forwarding(), i);
  ASSERT_TRUE(d.firewall);
  EXPECT_EQ(d.firewall->idleTimers, (std::map<std::string, IdleTimer>{{"usb0", IdleTimer{"tf0000098_usb0", 5}}}));
  EXPECT_EQ(d.firewall->pairs, (std::set<NatPair>{{"usb0", "eth0"}}));
}

TEST(IdlePlan, LocalOnlyDownstreamHasNoPairNoRouteAndItsOwnDnsmasq) {
  Intent i = tethering();
  i.config.localOnlyKinds[static_cast<size_t>(IfaceKind::Usb)] = true;
  i.config.policyRouting = true;
  Desired d = plan(usb0Forwarding(), i);
  ASSERT_TRUE(d.firewall);
  EXPECT_TRUE(d.firewall->pairs.empty());
  EXPECT_EQ(d.firewall->localOnly, (std::set<std::string>{"usb0"}));
  EXPECT_EQ(d.firewall->downstreams, (std::set<std::string>{"usb0"}));
  ASSERT_TRUE(d.configured.count("usb0"));
  EXPECT_TRUE(d.configured["usb0"].localOnly);
  for (const auto& r : d.routing.rules) EXPECT_NE(r.iif, "usb0");
}

TEST(IdleEvents, SixThirteenLine) {
  auto line = control::formatEvent(Event{events::IfaceClassActivity{"wlan0", false, "off"}});
  EXPECT_EQ(line, (control::EventLine{613, "IfaceClass idle wlan0 off"}));
}
