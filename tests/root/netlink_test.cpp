// NlNetlink and NetlinkMonitor against the real kernel, inside the private network
// namespace made by root/main.cpp. The tests set up and observe with `ip`; the adapter
// itself never runs it.
#include "tether/system/nl_monitor.h"
#include "tether/system/nl_netlink.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <algorithm>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/root/shell.h"

using namespace tetherd;
using namespace std::chrono_literals;

namespace {

using roottest::capture;
using roottest::sh;

// "5: nlA@nlB: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..." → index and flag words.
int ipIndex(const std::string& ifname) {
  std::string line = capture("ip -o link show dev " + ifname + " 2>/dev/null");
  return line.empty() ? 0 : std::atoi(line.c_str());
}

std::vector<std::string> ipFlags(const std::string& ifname) {
  std::string line = capture("ip -o link show dev " + ifname);
  std::vector<std::string> flags;
  auto open = line.find('<');
  auto close = line.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return flags;
  std::stringstream words(line.substr(open + 1, close - open - 1));
  for (std::string w; std::getline(words, w, ',');) flags.push_back(w);
  return flags;
}

bool hasFlag(const std::string& ifname, const std::string& flag) {
  for (const auto& f : ipFlags(ifname)) {
    if (f == flag) return true;
  }
  return false;
}

Ipv4Prefix prefix(const char* text) { return *Ipv4Prefix::parse(text); }
Ipv4Address address(const char* text) { return *Ipv4Address::parse(text); }

// The kernel's network state as tetherd sees it, one sorted line per link, address and
// default route: the monitor's view and a fresh dump must give the same text.
std::string picture(const std::vector<LinkInfo>& links, const std::vector<AddrInfo>& addrs,
                    const std::vector<DefaultRoute>& routes) {
  std::vector<std::string> lines;
  for (const auto& l : links)
    lines.push_back("link " + std::to_string(l.index) + " " + l.name + (l.adminUp ? " up" : "") + (l.lowerUp ? " lower-up" : ""));
  for (const auto& a : addrs) lines.push_back("addr " + std::to_string(a.index) + " " + a.ifname + " " + a.prefix.str());
  for (const auto& r : routes)
    lines.push_back("route " + std::to_string(r.index) + " " + r.ifname + " via " + r.gateway.str() + " metric " +
                    std::to_string(r.metric));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += "\n    " + l;
  return out;
}

std::string picture(const KernelView& view) {
  std::vector<LinkInfo> links;
  for (const auto& [index, l] : view.links) links.push_back(l);
  return picture(links, view.addrs, view.routes);
}

// Links made by a test, deleted afterwards whatever happened (with a veth, its peer goes too).
class Links {
 public:
  ~Links() {
    for (const auto& name : names_) sh("ip link del " + name + " 2>/dev/null");
  }
  void veth(const std::string& a, const std::string& b) {
    ASSERT_EQ(sh("ip link add " + a + " type veth peer name " + b), 0);
    names_.push_back(a);
  }
  void bridge(const std::string& name) {
    ASSERT_EQ(sh("ip link add " + name + " type bridge"), 0);
    names_.push_back(name);
  }
  void adopt(const std::string& name) { names_.push_back(name); }

 private:
  std::vector<std::string> names_;
};

// ---------------------------------------------------------------------------------------
// NlNetlink

TEST(NetlinkTest, LinksSeesVethMadeWithIp) {
  Links made;
  made.veth("nlA0", "nlB0");
  NlNetlink nl;
  auto links = nl.links();
  ASSERT_TRUE(links) << links.error().message;
  int seen = 0;
  for (const auto& l : *links) {
    if (l.name == "nlA0" || l.name == "nlB0") {
      ++seen;
      EXPECT_EQ(l.index, ipIndex(l.name));
      EXPECT_FALSE(l.adminUp);
      EXPECT_FALSE(l.lowerUp);
    }
    if (l.name == "lo") {
      EXPECT_TRUE(l.adminUp);
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST(NetlinkTest, SetLinkUpAndDownAsSeenByIp) {
  Links made;
  made.veth("nlA1", "nlB1");
  NlNetlink nl;
  ASSERT_TRUE(nl.setLinkUp("nlA1", true));
  EXPECT_TRUE(hasFlag("nlA1", "UP"));
  EXPECT_FALSE(hasFlag("nlA1", "LOWER_UP"));  // the peer is still down
  ASSERT_TRUE(nl.setLinkUp("nlA1", true));     // again: no change, no error
  ASSERT_TRUE(nl.setLinkUp("nlB1", true));
  EXPECT_TRUE(hasFlag("nlA1", "LOWER_UP"));

  auto links = nl.links();
  ASSERT_TRUE(links);
  for (const auto& l : *links) {
    if (l.name == "nlA1") {
      EXPECT_TRUE(l.adminUp);
      EXPECT_TRUE(l.lowerUp);
    }
  }

  ASSERT_TRUE(nl.setLinkUp("nlA1", false));
  EXPECT_FALSE(hasFlag("nlA1", "UP"));
  EXPECT_TRUE(hasFlag("nlB1", "UP"));  // only the one asked for
}

TEST(NetlinkTest, SetLinkUpOnABridge) {
  Links made;
  made.bridge("nlbr9");
  NlNetlink nl;
  ASSERT_TRUE(nl.setLinkUp("nlbr9", true));
  EXPECT_TRUE(hasFlag("nlbr9", "UP"));
  ASSERT_TRUE(nl.setLinkUp("nlbr9", false));
  EXPECT_FALSE(hasFlag("nlbr9", "UP"));
}

TEST(NetlinkTest, AddAddressTwiceSetsBroadcast) {
  Links made;
  made.veth("nlA2", "nlB2");
  NlNetlink nl;
  ASSERT_TRUE(nl.addAddress("nlA2", prefix("192.168.77.1/24")));
  auto again = nl.addAddress("nlA2", prefix("192.168.77.1/24"));
  EXPECT_TRUE(again) << again.error().message;

  std::string shown = capture("ip -4 -o addr show dev nlA2");
  EXPECT_NE(shown.find("inet 192.168.77.1/24 brd 192.168.77.255 "), std::string::npos) << shown;
  size_t count = 0;
  for (size_t at = shown.find(" inet "); at != std::string::npos; at = shown.find(" inet ", at + 1)) ++count;
  EXPECT_EQ(count, 1u) << shown;

  // No broadcast for a point-to-point /31.
  ASSERT_TRUE(nl.addAddress("nlA2", prefix("10.31.0.0/31")));
  std::string p2p = capture("ip -4 -o addr show dev nlA2 to 10.31.0.0/31");
  EXPECT_NE(p2p.find("inet 10.31.0.0/31 "), std::string::npos) << p2p;
  EXPECT_EQ(p2p.find(" brd "), std::string::npos) << p2p;

  auto addrs = nl.addresses();
  ASSERT_TRUE(addrs) << addrs.error().message;
  int index = ipIndex("nlA2");
  bool found = false;
  for (const auto& a : *addrs) {
    if (a == AddrInfo{index, "nlA2", prefix("192.168.77.1/24")}) found = true;
  }
  EXPECT_TRUE(found);
}

TEST(NetlinkTest, RemoveAddressTwice) {
  Links made;
  made.veth("nlA3", "nlB3");
  NlNetlink nl;
  ASSERT_TRUE(nl.addAddress("nlA3", prefix("192.168.78.1/24")));
  ASSERT_TRUE(nl.removeAddress("nlA3", prefix("192.168.78.1/24")));
  EXPECT_EQ(capture("ip -4 -o addr show dev nlA3"), "");
  auto again = nl.removeAddress("nlA3", prefix("192.168.78.1/24"));
  EXPECT_TRUE(again) << again.error().message;
  // Never had one of that length either.
  EXPECT_TRUE(nl.removeAddress("nlA3", prefix("192.168.78.1/25")));
}

TEST(NetlinkTest, UnknownInterface) {
  NlNetlink nl;
  auto up = nl.setLinkUp("nlnothere0", true);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, Errc::UnknownIface);
  EXPECT_NE(up.error().message.find("nlnothere0"), std::string::npos);

  auto add = nl.addAddress("nlnothere0", prefix("10.0.0.1/24"));
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().code, Errc::UnknownIface);
  EXPECT_NE(add.error().message.find("nlnothere0"), std::string::npos);

  auto del = nl.removeAddress("nlnothere0", prefix("10.0.0.1/24"));
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code, Errc::UnknownIface);

  auto bad = nl.setLinkUp("no/such", true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::UnknownIface);

  // The request socket is still in order afterwards.
  EXPECT_TRUE(nl.setLinkUp("lo", true));
}

// Any other failure is IfaceCfgError naming operation, interface and the kernel's reason.
// A child without CAP_NET_ADMIN (uid nobody) gets EPERM from the kernel.
TEST(NetlinkTest, KernelRefusalIsIfaceCfgError) {
  Links made;
  made.veth("nlA5", "nlB5");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    NlNetlink nl;
    auto up = nl.setLinkUp("nlA5", true);
    if (up || up.error().code != Errc::IfaceCfgError) ::_exit(11);
    const std::string& m = up.error().message;
    if (m.find("nlA5") == std::string::npos || m.find("set link up") == std::string::npos ||
        m.find("Operation not permitted") == std::string::npos) {
      ::_exit(12);
    }
    auto add = nl.addAddress("nlA5", *Ipv4Prefix::parse("10.5.0.1/24"));
    if (add || add.error().code != Errc::IfaceCfgError || add.error().message.find("nlA5") == std::string::npos) {
      ::_exit(13);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 code, 12 message, 13 addAddress";
  EXPECT_FALSE(hasFlag("nlA5", "UP"));
}

TEST(NetlinkTest, CreateBridgeIsIdempotentAndDeleteLinkRemovesIt) {
  Links made;
  made.adopt("nlbr0");  // removed whatever happens
  NlNetlink nl;
  ASSERT_TRUE(nl.createBridge("nlbr0"));
  EXPECT_NE(capture("ip -d -o link show dev nlbr0").find(" bridge "), std::string::npos);
  EXPECT_FALSE(hasFlag("nlbr0", "UP"));
  int index = ipIndex("nlbr0");
  auto again = nl.createBridge("nlbr0");  // a previous run's bridge is taken over as it is
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(ipIndex("nlbr0"), index);
  ASSERT_TRUE(nl.setLinkUp("nlbr0", true));
  ASSERT_TRUE(nl.addAddress("nlbr0", prefix("192.168.44.1/24")));
  ASSERT_TRUE(nl.deleteLink("nlbr0"));
  EXPECT_EQ(ipIndex("nlbr0"), 0);
  EXPECT_TRUE(nl.deleteLink("nlbr0"));  // not there: success
}

TEST(NetlinkTest, CreateBridgeRefusesAnotherKindOfLinkOfThatName) {
  Links made;
  made.veth("nlA9", "nlB9");
  NlNetlink nl;
  auto st = nl.createBridge("nlA9");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::AlreadyExists);
  EXPECT_NE(st.error().message.find("veth"), std::string::npos) << st.error().message;
  EXPECT_EQ(nl.createBridge("bad/name").error().code, Errc::InvalidArgument);
  // Deleting one end of a veth removes both: the adapter deletes whatever kind it is asked to.
  ASSERT_TRUE(nl.deleteLink("nlA9"));
  EXPECT_EQ(ipIndex("nlA9"), 0);
  EXPECT_EQ(ipIndex("nlB9"), 0);
}

TEST(NetlinkTest, DefaultRoutesOfEveryTableButTetherdsOwn) {
  Links made;
  made.veth("nlA4", "nlB4");
  ASSERT_EQ(sh("ip link set nlA4 up && ip link set nlB4 up && ip addr add 10.9.0.1/24 dev nlA4"), 0);
  ASSERT_EQ(sh("ip route add default via 10.9.0.254 dev nlA4 metric 77"), 0);
  ASSERT_EQ(sh("ip route add default via 10.9.0.252 dev nlA4"), 0);
  ASSERT_EQ(sh("ip route add default metric 90 nexthop via 10.9.0.250 dev nlA4 nexthop via 10.9.0.251 dev nlA4"), 0);
  // Learnt from another table too (issue 13: an upstream's routes from whatever table they are in).
  ASSERT_EQ(sh("ip route add default via 10.9.0.253 dev nlA4 table 100"), 0);
  // Not: tetherd's own tables (its copies), other destinations, other types.
  ASSERT_EQ(sh("ip route add default via 10.9.0.249 dev nlA4 table 9200"), 0);
  ASSERT_EQ(sh("ip route add 10.50.0.0/16 via 10.9.0.254 dev nlA4"), 0);
  ASSERT_EQ(sh("ip route add unreachable default metric 500"), 0);

  NlNetlink nl;
  nl.learnTables(LearntTables{9200, 9263});
  auto routes = nl.defaultRoutes();
  ASSERT_TRUE(routes) << routes.error().message;
  int index = ipIndex("nlA4");
  std::vector<DefaultRoute> expected = {
      {index, "nlA4", address("10.9.0.252"), 0},
      {index, "nlA4", address("10.9.0.254"), 77},
      {index, "nlA4", address("10.9.0.250"), 90},
      {index, "nlA4", address("10.9.0.251"), 90},
      {index, "nlA4", address("10.9.0.253"), 0, 100},
  };
  auto key = [](const DefaultRoute& r) { return std::tuple(r.table, r.metric, r.gateway.value); };
  std::sort(routes->begin(), routes->end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  std::sort(expected.begin(), expected.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  EXPECT_EQ(*routes, expected);

  sh("ip route flush table 100; ip route flush table 9200; ip route del unreachable default metric 500");
}

// ---------------------------------------------------------------------------------------
// NetlinkMonitor

class NetlinkMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    monitor = std::make_unique<NetlinkMonitor>(io, view, [this](const NetEvent& e) {
      events.push_back(e);
      if (onEvent) onEvent(e);
    });
  }
  void TearDown() override {
    if (monitor) {
      monitor->stop();
      monitor.reset();
    }
    for (const auto& e : events) {
      if (e.type == NetEvent::Type::Resync && !expectResync) ADD_FAILURE() << "unexpected Resync";
    }
  }

  // Runs the loop until pred holds or the deadline passes.
  bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (pred()) return true;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      if (io.stopped()) io.restart();
      io.run_one_for(deadline - now);
    }
  }

  // The first event at or after `from` of that type matching pred; its position, or -1.
  long find(size_t from, NetEvent::Type type, const std::function<bool(const NetEvent&)>& pred) const {
    for (size_t i = from; i < events.size(); ++i) {
      if (events[i].type == type && pred(events[i])) return static_cast<long>(i);
    }
    return -1;
  }

  bool waitEvent(size_t from, NetEvent::Type type, const std::function<bool(const NetEvent&)>& pred) {
    return waitFor([&] { return find(from, type, pred) >= 0; });
  }

  // What a fresh dump (NlNetlink links(), addresses(), defaultRoutes()) shows now.
  std::string freshDump() {
    NlNetlink nl;
    auto l = nl.links();
    auto a = nl.addresses();
    auto r = nl.defaultRoutes();
    if (!l || !a || !r) return "(dump failed)";
    return picture(*l, *a, *r);
  }

  // Runs the loop until the view shows what a fresh dump shows; on failure, both.
  void expectViewIsTheKernels(const std::string& after) {
    std::string kernel, seen;
    bool same = waitFor([&] {
      kernel = freshDump();
      seen = picture(view);
      return kernel == seen;
    });
    EXPECT_TRUE(same) << "after " << after << ":\n  kernel:" << kernel << "\n  view:" << seen;
  }

  std::string dump(size_t from = 0) const {
    std::ostringstream out;
    for (size_t i = from; i < events.size(); ++i) {
      const auto& e = events[i];
      out << "\n  " << netEventTypeName(e.type) << " link=" << e.link.index << ":" << e.link.name
          << (e.link.adminUp ? " up" : "") << (e.link.lowerUp ? " lower" : "") << " addr=" << e.addr.ifname << ":"
          << e.addr.prefix.str() << " route=" << e.route.ifname << " via " << e.route.gateway.str() << " metric "
          << e.route.metric;
    }
    return out.str();
  }

  boost::asio::io_context io;
  std::vector<NetEvent> events;
  std::function<void(const NetEvent&)> onEvent;
  KernelView view;  // the monitor's only store: it writes here
  std::unique_ptr<NetlinkMonitor> monitor;
  bool expectResync = false;
};

using T = NetEvent::Type;

TEST_F(NetlinkMonitorTest, LinkAddressAndRouteLifecycle) {
  ASSERT_TRUE(monitor->start());
  Links made;
  size_t mark = events.size();
  made.veth("nlmA", "nlmB");
  ASSERT_TRUE(waitEvent(mark, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlmA"; })) << dump();
  ASSERT_TRUE(waitEvent(mark, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlmB"; })) << dump();
  int index = ipIndex("nlmA");
  EXPECT_EQ(events[find(mark, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlmA"; })].link.index, index);

  mark = events.size();
  ASSERT_EQ(sh("ip link set nlmA up"), 0);
  ASSERT_TRUE(waitEvent(mark, T::LinkChanged, [&](const NetEvent& e) {
    return e.link.index == index && e.link.adminUp && !e.link.lowerUp;
  })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip link set nlmB up"), 0);
  ASSERT_TRUE(waitEvent(mark, T::LinkChanged, [&](const NetEvent& e) {
    return e.link.index == index && e.link.name == "nlmA" && e.link.adminUp && e.link.lowerUp;
  })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip addr add 10.60.0.1/24 dev nlmA"), 0);
  ASSERT_TRUE(waitEvent(mark, T::AddrAdded, [&](const NetEvent& e) {
    return e.addr == AddrInfo{index, "nlmA", prefix("10.60.0.1/24")};
  })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip route add default via 10.60.0.254 dev nlmA metric 33"), 0);
  DefaultRoute route{index, "nlmA", address("10.60.0.254"), 33};
  ASSERT_TRUE(waitEvent(mark, T::RouteAdded, [&](const NetEvent& e) { return e.route == route; })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip route del default via 10.60.0.254 dev nlmA metric 33"), 0);
  ASSERT_TRUE(waitEvent(mark, T::RouteRemoved, [&](const NetEvent& e) { return e.route == route; })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip addr del 10.60.0.1/24 dev nlmA"), 0);
  ASSERT_TRUE(waitEvent(mark, T::AddrRemoved, [&](const NetEvent& e) {
    return e.addr == AddrInfo{index, "nlmA", prefix("10.60.0.1/24")};
  })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip link set nlmA down"), 0);
  ASSERT_TRUE(waitEvent(mark, T::LinkChanged, [&](const NetEvent& e) {
    return e.link.index == index && !e.link.adminUp;
  })) << dump(mark);

  mark = events.size();
  ASSERT_EQ(sh("ip link del nlmA"), 0);
  ASSERT_TRUE(waitEvent(mark, T::LinkRemoved, [&](const NetEvent& e) {
    return e.link.index == index && e.link.name == "nlmA";
  })) << dump(mark);
  ASSERT_TRUE(waitEvent(mark, T::LinkRemoved, [&](const NetEvent& e) { return e.link.name == "nlmB"; })) << dump(mark);

  // Nothing is added or changed twice for one kernel change: a link is added once.
  int added = 0;
  for (const auto& e : events) {
    if (e.type == T::LinkAdded && e.link.index == index) ++added;
  }
  EXPECT_EQ(added, 1) << dump();
}

// The one view the monitor writes equals a fresh dump after every kind of change. A veth pair
// stands in for a dummy link (the dummy module is not always there); its peer is in the
// picture too.
TEST_F(NetlinkMonitorTest, ViewEqualsAFreshDumpAfterEachChange) {
  ASSERT_TRUE(monitor->start());
  expectViewIsTheKernels("start");
  Links made;
  made.adopt("nlvC");  // the renamed one, removed whatever happens
  made.veth("nlvA", "nlvB");
  expectViewIsTheKernels("creating nlvA/nlvB");
  const char* steps[] = {
      "ip link set nlvA up && ip link set nlvB up",
      "ip addr add 10.62.0.1/24 dev nlvA",
      "ip addr add 10.63.0.1/24 dev nlvA",
      "ip route add default via 10.62.0.254 dev nlvA metric 55",
      "ip link set nlvA down",  // the kernel flushes the route without a message
      "ip link set nlvA name nlvC",
      "ip addr del 10.63.0.1/24 dev nlvC",
      "ip link del nlvC",
  };
  for (const char* step : steps) {
    ASSERT_EQ(sh(step), 0) << step;
    expectViewIsTheKernels(step);
  }
  EXPECT_EQ(view.link("nlvB"), nullptr);
}

TEST_F(NetlinkMonitorTest, RenameIsLinkChangedWithTheNewName) {
  Links made;
  made.veth("nlrA", "nlrB");
  int index = ipIndex("nlrA");
  ASSERT_TRUE(monitor->start());
  size_t mark = events.size();
  ASSERT_EQ(sh("ip link set nlrA name nlrC"), 0);
  made.adopt("nlrC");
  ASSERT_TRUE(waitEvent(mark, T::LinkChanged, [&](const NetEvent& e) {
    return e.link.index == index && e.link.name == "nlrC";
  })) << dump(mark);
  EXPECT_EQ(find(mark, T::LinkRemoved, [&](const NetEvent& e) { return e.link.index == index; }), -1) << dump(mark);
  EXPECT_EQ(find(mark, T::LinkAdded, [&](const NetEvent& e) { return e.link.index == index; }), -1) << dump(mark);
}

TEST_F(NetlinkMonitorTest, BridgePortLeavingItsBridgeIsNotRemoved) {
  Links made;
  made.bridge("nlbr1");
  made.veth("nlpA", "nlpB");
  int port = ipIndex("nlpA");
  ASSERT_TRUE(monitor->start());
  size_t mark = events.size();
  ASSERT_EQ(sh("ip link set nlbr1 up && ip link set nlpA up && ip link set nlpA master nlbr1"), 0);
  ASSERT_EQ(sh("ip link set nlpA nomaster"), 0);
  // Events arrive in order: once the sentinel's is here, the bridge's have been handled.
  made.veth("nlsA", "nlsB");
  ASSERT_TRUE(waitEvent(mark, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlsA"; })) << dump(mark);
  EXPECT_EQ(find(mark, T::LinkRemoved, [&](const NetEvent& e) { return e.link.index == port; }), -1) << dump(mark);
  EXPECT_EQ(find(mark, T::LinkAdded, [&](const NetEvent& e) { return e.link.index == port; }), -1) << dump(mark);
  EXPECT_GT(ipIndex("nlpA"), 0);
}

TEST_F(NetlinkMonitorTest, RoutesTheKernelDropsSilentlyAreReportedRemoved) {
  Links made;
  made.veth("nlfA", "nlfB");
  int index = ipIndex("nlfA");
  ASSERT_EQ(sh("ip link set nlfA up && ip link set nlfB up && ip addr add 10.61.0.1/24 dev nlfA"), 0);
  ASSERT_TRUE(monitor->start());

  // Link down: the kernel flushes the route and sends no RTM_DELROUTE.
  size_t mark = events.size();
  ASSERT_EQ(sh("ip route add default via 10.61.0.254 dev nlfA metric 44"), 0);
  DefaultRoute first{index, "nlfA", address("10.61.0.254"), 44};
  ASSERT_TRUE(waitEvent(mark, T::RouteAdded, [&](const NetEvent& e) { return e.route == first; })) << dump(mark);
  mark = events.size();
  ASSERT_EQ(sh("ip link set nlfA down"), 0);
  ASSERT_TRUE(waitEvent(mark, T::RouteRemoved, [&](const NetEvent& e) { return e.route == first; })) << dump(mark);

  // Replace: only the new route is announced.
  ASSERT_EQ(sh("ip link set nlfA up && ip addr add 10.61.0.1/24 dev nlfA 2>/dev/null; true"), 0);
  mark = events.size();
  ASSERT_EQ(sh("ip route add default via 10.61.0.254 dev nlfA metric 45"), 0);
  DefaultRoute old{index, "nlfA", address("10.61.0.254"), 45};
  DefaultRoute replacement{index, "nlfA", address("10.61.0.253"), 45};
  ASSERT_TRUE(waitEvent(mark, T::RouteAdded, [&](const NetEvent& e) { return e.route == old; })) << dump(mark);
  mark = events.size();
  ASSERT_EQ(sh("ip route replace default via 10.61.0.253 dev nlfA metric 45"), 0);
  ASSERT_TRUE(waitEvent(mark, T::RouteAdded, [&](const NetEvent& e) { return e.route == replacement; })) << dump(mark);
  ASSERT_TRUE(waitEvent(mark, T::RouteRemoved, [&](const NetEvent& e) { return e.route == old; })) << dump(mark);

  // Losing the last address: the route through it goes without a message too.
  mark = events.size();
  ASSERT_EQ(sh("ip addr flush dev nlfA"), 0);
  ASSERT_TRUE(waitEvent(mark, T::RouteRemoved, [&](const NetEvent& e) { return e.route == replacement; })) << dump(mark);
  EXPECT_EQ(capture("ip -4 route show default dev nlfA"), "");
}

TEST_F(NetlinkMonitorTest, OverrunGivesOneResyncAndMonitoringGoesOn) {
  expectResync = true;
  Links made;
  made.veth("nloA", "nloB");
  int index = ipIndex("nloA");
  ASSERT_TRUE(monitor->start());
  // Something the kernel does not have: the resync must replace the view whole, not merge.
  view.links[99999] = LinkInfo{99999, "nlghost", true, true};
  view.addrs.push_back(AddrInfo{99999, "nlghost", prefix("10.99.0.1/24")});
  view.routes.push_back(DefaultRoute{99999, "nlghost", address("10.99.0.254"), 1});
  // Far more events than the receive buffer holds, while the loop does not read.
  std::string batch = "/tmp/tetherd-nl-batch-" + std::to_string(::getpid());
  {
    std::ofstream out(batch);
    for (int i = 0; i < 4000; ++i) out << "addr add 10.200." << i / 250 << "." << i % 250 + 1 << "/32 dev nloA\n";
  }
  ASSERT_EQ(sh("ip -batch " + batch), 0);
  std::remove(batch.c_str());

  ASSERT_TRUE(waitFor([&] { return find(0, T::Resync, [](const NetEvent&) { return true; }) >= 0; }));
  size_t mark = events.size();
  ASSERT_EQ(sh("ip link set nloA up"), 0);
  ASSERT_TRUE(waitEvent(mark, T::LinkChanged, [&](const NetEvent& e) { return e.link.index == index && e.link.adminUp; }))
      << dump(mark);
  int resyncs = 0;
  for (const auto& e : events) {
    if (e.type == T::Resync) ++resyncs;
  }
  EXPECT_GE(resyncs, 1);
  EXPECT_LE(resyncs, 2);  // one per overrun the kernel reports, not one per lost event
  EXPECT_EQ(view.links.count(99999), 0u);
  EXPECT_EQ(view.addressesOf("nlghost").size(), 0u);
  expectViewIsTheKernels("the overrun and its resync");
}

TEST_F(NetlinkMonitorTest, CallbackMayStopAndRestartTheMonitor) {
  NlNetlink nl;
  int calls = 0;
  onEvent = [&](const NetEvent&) {
    ++calls;
    auto links = nl.links();  // requests from inside the callback
    EXPECT_TRUE(links);
    monitor->stop();
  };
  ASSERT_TRUE(monitor->start());
  Links made;
  made.veth("nlcA", "nlcB");  // several events; only the first is delivered
  ASSERT_TRUE(waitFor([&] { return calls > 0; }));
  EXPECT_FALSE(monitor->running());
  onEvent = nullptr;

  ASSERT_TRUE(monitor->start());
  size_t mark = events.size();
  made.veth("nlcC", "nlcD");
  ASSERT_TRUE(waitEvent(mark, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlcC"; })) << dump();
  EXPECT_EQ(calls, 1);
  // Nothing more from the first subscription: nlcA/nlcB are known to the new one.
  EXPECT_EQ(find(1, T::LinkAdded, [](const NetEvent& e) { return e.link.name == "nlcA" || e.link.name == "nlcB"; }), -1)
      << dump();
}

TEST_F(NetlinkMonitorTest, CallbackMayDestroyTheMonitor) {
  onEvent = [&](const NetEvent&) { monitor.reset(); };
  ASSERT_TRUE(monitor->start());
  Links made;
  made.veth("nldA", "nldB");
  ASSERT_TRUE(waitFor([&] { return !events.empty(); }));
  EXPECT_EQ(monitor, nullptr);
  // The loop runs out of work: the subscription's wait is gone with it.
  io.restart();
  io.run_for(2s);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(events.size(), 1u);
}

}  // namespace
