// The rtnetlink parsers on messages built as the kernel sends them: which default routes are
// learnt (issue 13 point 1: "from whatever table they are in", never tetherd's own copies),
// with their table, and how the view keeps the same route in two tables apart.
#include "tether/system/nl_parse.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <memory>
#include <vector>

using namespace tetherd;

namespace {

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

const LearntTables kTables{9200, 9263};  // tetherd's own range (the default)
constexpr int kWwan0 = 3;

struct Route {
  uint16_t type = RTM_NEWROUTE;
  int family = AF_INET;
  uint32_t table = RT_TABLE_MAIN;
  bool tableAttr = true;  // tables above 255 exist only as RTA_TABLE
  std::string gateway = "100.64.0.1";
  uint32_t metric = 200;
  uint8_t dstLen = 0;
  uint8_t rtType = RTN_UNICAST;
};

MsgPtr message(const Route& r) {
  MsgPtr m(nlmsg_alloc_simple(r.type, 0));
  rtmsg rtm{};
  rtm.rtm_family = static_cast<unsigned char>(r.family);
  rtm.rtm_dst_len = r.dstLen;
  rtm.rtm_table = r.table < 256 ? static_cast<unsigned char>(r.table) : static_cast<unsigned char>(RT_TABLE_UNSPEC);
  rtm.rtm_type = r.rtType;
  EXPECT_GE(nlmsg_append(m.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO), 0);
  if (r.tableAttr) {
    EXPECT_GE(nla_put_u32(m.get(), RTA_TABLE, r.table), 0);
  }
  EXPECT_GE(nla_put_u32(m.get(), RTA_OIF, kWwan0), 0);
  EXPECT_GE(nla_put_u32(m.get(), RTA_PRIORITY, r.metric), 0);
  unsigned char gw[16] = {};
  EXPECT_EQ(inet_pton(r.family, r.gateway.c_str(), gw), 1);
  EXPECT_GE(nla_put(m.get(), RTA_GATEWAY, r.family == AF_INET ? 4 : 16, gw), 0);
  return m;
}

std::vector<std::string> v4(const Route& r) {
  auto m = message(r);
  std::vector<std::string> out;
  for (const auto& d : rtnl::parseDefaultRoutes(nlmsg_hdr(m.get()), kTables))
    out.push_back(d.gateway.str() + " dev " + std::to_string(d.index) + " metric " + std::to_string(d.metric) +
                  " table " + std::to_string(d.table));
  return out;
}

std::vector<std::string> v6(const Route& r) {
  auto m = message(r);
  std::vector<std::string> out;
  for (const auto& d : rtnl::parseDefaultRoutes6(nlmsg_hdr(m.get()), kTables))
    out.push_back(d.gateway.str() + " dev " + std::to_string(d.index) + " metric " + std::to_string(d.metric) +
                  " table " + std::to_string(d.table));
  return out;
}

using Lines = std::vector<std::string>;

TEST(NlParseDefaultRoutes, LearntFromMainAndFromAnyOtherTableWithTheirTable) {
  EXPECT_EQ(v4({}), (Lines{"100.64.0.1 dev 3 metric 200 table 254"}));
  EXPECT_EQ(v4({.table = 100}), (Lines{"100.64.0.1 dev 3 metric 200 table 100"}));
  EXPECT_EQ(v4({.table = 100, .tableAttr = false}), (Lines{"100.64.0.1 dev 3 metric 200 table 100"}));
  EXPECT_EQ(v4({.table = 253}), (Lines{"100.64.0.1 dev 3 metric 200 table 253"}));  // "default"
  EXPECT_EQ(v4({.table = 51820}), (Lines{"100.64.0.1 dev 3 metric 200 table 51820"}));
  EXPECT_EQ(v4({.table = 9199}), (Lines{"100.64.0.1 dev 3 metric 200 table 9199"}));
  EXPECT_EQ(v4({.table = 9264}), (Lines{"100.64.0.1 dev 3 metric 200 table 9264"}));
}

TEST(NlParseDefaultRoutes, NeverTetherdsOwnTablesNorLocalOrUnspec) {
  EXPECT_EQ(v4({.table = 9200}), Lines{});
  EXPECT_EQ(v4({.table = 9263}), Lines{});
  EXPECT_EQ(v4({.table = RT_TABLE_LOCAL}), Lines{});
  EXPECT_EQ(v4({.table = RT_TABLE_UNSPEC, .tableAttr = false}), Lines{});
  // Still only default unicast routes.
  EXPECT_EQ(v4({.table = 100, .dstLen = 24}), Lines{});
  EXPECT_EQ(v4({.table = 100, .rtType = RTN_BLACKHOLE}), Lines{});
}

TEST(NlParseDefaultRoutes, Ipv6TheSame) {
  const Route r{.family = AF_INET6, .gateway = "fe80::1", .metric = 1024};
  EXPECT_EQ(v6(r), (Lines{"fe80::1 dev 3 metric 1024 table 254"}));
  Route other = r;
  other.table = 100;
  EXPECT_EQ(v6(other), (Lines{"fe80::1 dev 3 metric 1024 table 100"}));
  other.table = 9201;
  EXPECT_EQ(v6(other), Lines{});
  other.table = RT_TABLE_LOCAL;
  EXPECT_EQ(v6(other), Lines{});
  EXPECT_EQ(v4(r), Lines{});  // each parser its own family
  EXPECT_EQ(v6({}), Lines{});
}

TEST(NlParseTranslateEvent, TheSameRouteInTwoTablesIsTwoRoutes) {
  KernelView view;
  view.tables = kTables;
  view.links[kWwan0] = {kWwan0, "wwan0", true, true};
  std::vector<NetEvent> events;
  auto feed = [&](const Route& r) { (void)rtnl::translateEvent(nlmsg_hdr(message(r).get()), view, events); };
  feed({.table = 100});
  feed({});
  feed({.table = 9200});  // tetherd's own copy: not seen
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, NetEvent::Type::RouteAdded);
  EXPECT_EQ(events[0].route.table, 100u);
  EXPECT_EQ(events[0].route.ifname, "wwan0");
  EXPECT_EQ(events[1].route.table, 254u);
  ASSERT_EQ(view.routes.size(), 2u);
  feed({.type = RTM_DELROUTE});  // main's goes, table 100's stays
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].type, NetEvent::Type::RouteRemoved);
  ASSERT_EQ(view.routes.size(), 1u);
  EXPECT_EQ(view.routes[0].table, 100u);
  EXPECT_TRUE(view.hasDefaultRoute("wwan0"));
  // IPv6 too.
  feed({.family = AF_INET6, .table = 100, .gateway = "fe80::1", .metric = 1024});
  feed({.family = AF_INET6, .table = 9201, .gateway = "fe80::1", .metric = 1024});
  ASSERT_EQ(view.routes6.size(), 1u);
  EXPECT_EQ(view.routes6[0].table, 100u);
  EXPECT_TRUE(view.hasDefaultRoute6("wwan0"));
}

TEST(NlParseTranslateEvent, Ipv6DefaultRouteChangesAreTold) {
  KernelView view;
  view.tables = kTables;
  view.links[kWwan0] = {kWwan0, "wwan0", true, true};
  std::vector<NetEvent> events;
  auto feed = [&](const Route& r) {
    events.clear();
    (void)rtnl::translateEvent(nlmsg_hdr(message(r).get()), view, events);
    return events.size() == 1 && events[0].type == NetEvent::Type::Routes6Changed;
  };
  const Route ra{.family = AF_INET6, .gateway = "fe80::1", .metric = 1024};
  EXPECT_TRUE(feed(ra));
  EXPECT_TRUE(events.size() == 1);
  EXPECT_FALSE(feed(ra));  // the next RA refreshing it: nothing changed, nobody woken
  EXPECT_TRUE(events.empty());
  Route gone = ra;
  gone.type = RTM_DELROUTE;
  EXPECT_TRUE(feed(gone));
  EXPECT_TRUE(view.routes6.empty());
  EXPECT_FALSE(feed(gone));
  Route own = ra;
  own.table = 9200;  // tetherd's own copy
  EXPECT_FALSE(feed(own));
  // Set down, the kernel drops the link's IPv6 routes without a message: so does the view.
  EXPECT_TRUE(feed(ra));
  ASSERT_EQ(view.routes6.size(), 1u);
  ASSERT_EQ(view.routes6[0].ifname, "wwan0");
  MsgPtr down(nlmsg_alloc_simple(RTM_NEWLINK, 0));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = kWwan0;
  ASSERT_GE(nlmsg_append(down.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
  ASSERT_GE(nla_put_string(down.get(), IFLA_IFNAME, "wwan0"), 0);
  events.clear();
  (void)rtnl::translateEvent(nlmsg_hdr(down.get()), view, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, NetEvent::Type::LinkChanged);
  EXPECT_TRUE(view.routes6.empty());
}

// `ip -6 route add default nexthop via fe80::1 dev d0 nexthop via fe80::2 dev d0` (d0 is
// index 3) as the kernel 6.18 dumps it, byte for byte: one RTM_NEWROUTE with RTA_TABLE,
// RTA_PRIORITY, RTA_MULTIPATH (two rtnexthop, each with its RTA_GATEWAY), RTA_CACHEINFO and
// RTA_PREF, and no RTA_OIF or RTA_GATEWAY of its own.
const char kMultipath6[] =
    "940000001800020001000000541b00000a000000fe0300010000000008000f00fe00000008000600000400003c000900"
    "1c0000000300000014000500fe8000000000000000000000000000011c0000000300000014000500fe80000000000000"
    "000000000000000224000c0000000000000000000000000000000000000000000000000000000000000000000500"
    "140000000000";

// The message in a 4-byte aligned buffer, with its type and the table byte as asked.
std::vector<uint32_t> kernelMessage(const char* hex, uint16_t type = RTM_NEWROUTE) {
  std::string text(hex);
  std::vector<uint32_t> buf((text.size() / 2 + 3) / 4);
  auto* bytes = reinterpret_cast<unsigned char*>(buf.data());
  for (size_t i = 0; i + 1 < text.size(); i += 2) bytes[i / 2] = static_cast<unsigned char>(std::stoi(text.substr(i, 2), nullptr, 16));
  reinterpret_cast<nlmsghdr*>(buf.data())->nlmsg_type = type;
  return buf;
}

std::vector<std::string> v6Lines(nlmsghdr* h, const LearntTables& tables = kTables) {
  std::vector<std::string> out;
  for (const auto& d : rtnl::parseDefaultRoutes6(h, tables))
    out.push_back(d.gateway.str() + " dev " + std::to_string(d.index) + " metric " + std::to_string(d.metric) +
                  " table " + std::to_string(d.table) + (d.multipath ? " multipath" : ""));
  return out;
}

TEST(NlParseDefaultRoutes, Ipv6MultipathIsOneRoutePerNexthop) {
  auto buf = kernelMessage(kMultipath6);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  ASSERT_EQ(h->nlmsg_len, 0x94u);
  EXPECT_EQ(v6Lines(h), (Lines{"fe80::1 dev 3 metric 1024 table 254 multipath", "fe80::2 dev 3 metric 1024 table 254 multipath"}));
  EXPECT_EQ(v6Lines(h, LearntTables{250, 254}), Lines{});  // still only learnt tables
  // A nexthop cut short (its rtnh_len past the attribute's end) ends the list, not the parse.
  auto cut = kernelMessage(kMultipath6);
  reinterpret_cast<unsigned char*>(cut.data())[16 + 12 + 8 + 8 + 4 + 28] = 0x40;  // the second rtnh_len
  EXPECT_EQ(v6Lines(reinterpret_cast<nlmsghdr*>(cut.data())), (Lines{"fe80::1 dev 3 metric 1024 table 254 multipath"}));
  // A plain route is not multipath.
  auto plain = message({.family = AF_INET6, .gateway = "fe80::1", .metric = 1024});
  EXPECT_EQ(v6Lines(nlmsg_hdr(plain.get())), (Lines{"fe80::1 dev 3 metric 1024 table 254"}));
}

TEST(NlParseTranslateEvent, Ipv6MultipathGivesTheCandidateItsDefaults) {
  KernelView view;
  view.tables = kTables;
  view.links[kWwan0] = {kWwan0, "wwan0", true, true};
  std::vector<NetEvent> events;
  auto added = kernelMessage(kMultipath6);
  (void)rtnl::translateEvent(reinterpret_cast<nlmsghdr*>(added.data()), view, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, NetEvent::Type::Routes6Changed);
  ASSERT_EQ(view.routes6.size(), 2u);
  EXPECT_TRUE(view.hasDefaultRoute6("wwan0"));
  EXPECT_EQ(view.routes6[1].ifname, "wwan0");
  auto removed = kernelMessage(kMultipath6, RTM_DELROUTE);  // `ip -6 route del default`: all of it
  (void)rtnl::translateEvent(reinterpret_cast<nlmsghdr*>(removed.data()), view, events);
  EXPECT_EQ(events.size(), 2u);
  EXPECT_TRUE(view.routes6.empty());
}

}  // namespace
