// Accounting of offloaded flows (issue 18): conntrack's per-flow counters of the marked flows
// become per-client running totals, added to the firewall's counters.
#include "tether/core/offload_counts.h"

#include <gtest/gtest.h>

#include "tether/core/offload.h"

namespace tetherd {
namespace {

Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

// A flow the client 192.168.42.10 opened to 93.184.216.34:443, NATed to 10.0.0.2.
CtCounted flow(uint32_t id, uint64_t up, uint64_t down, uint16_t port = 40000) {
  CtCounted c;
  c.id = id;
  c.entry.original = {ip("192.168.42.10"), ip("93.184.216.34"), 6, port, 443};
  c.entry.reply = {ip("93.184.216.34"), ip("10.0.0.2"), 6, 443, port};
  c.mark = kOffloadMark;
  c.origBytes = up, c.origPackets = up / 100;
  c.replyBytes = down, c.replyPackets = down / 1000;
  return c;
}

TEST(OffloadLedger, AddsWhatEachFlowMovedSinceItWasLastSeen) {
  OffloadLedger l;
  l.setClients({ip("192.168.42.10")});
  l.sample({flow(1, 1000, 50'000)});
  l.sample({flow(1, 1500, 80'000), flow(2, 200, 3000, 40001)});
  const auto& t = l.totals().at(ip("192.168.42.10"));
  EXPECT_EQ(t.tx, 1700u);
  EXPECT_EQ(t.rx, 83'000u);
  EXPECT_EQ(l.tracked(), 2u);
}

TEST(OffloadLedger, AFlowThatEndsGivesItsLastBytesOnce) {
  OffloadLedger l;
  l.setClients({ip("192.168.42.10")});
  l.sample({flow(1, 1000, 50'000)});
  l.ended(flow(1, 1200, 90'000));  // its destroy event
  l.ended(flow(3, 100, 7000, 40003));  // started and ended between two reads: whole
  l.sample({});
  const auto& t = l.totals().at(ip("192.168.42.10"));
  EXPECT_EQ(t.tx, 1300u);
  EXPECT_EQ(t.rx, 97'000u);
  EXPECT_EQ(l.tracked(), 0u);
}

TEST(OffloadLedger, AFlowOpenedTowardsTheClientCountsTheOtherWay) {
  OffloadLedger l;
  l.setClients({ip("192.168.42.10")});
  CtCounted in;
  in.id = 9;
  in.entry.original = {ip("198.51.100.7"), ip("10.0.0.2"), 6, 5555, 8080};
  in.entry.reply = {ip("192.168.42.10"), ip("198.51.100.7"), 6, 8080, 5555};
  in.origBytes = 400, in.replyBytes = 9000;
  l.sample({in});
  EXPECT_EQ(l.totals().at(ip("192.168.42.10")), (OffloadLedger::Bytes{9000, 0, 400, 0}));
}

TEST(OffloadLedger, OnlyClientsAreCountedAndAGoneClientStartsAgain) {
  OffloadLedger l;
  l.setClients({ip("192.168.42.11")});
  l.sample({flow(1, 1000, 50'000)});
  EXPECT_TRUE(l.totals().empty());  // not a client: nothing kept for a remote address
  l.setClients({ip("192.168.42.10")});
  l.sample({flow(1, 2000, 60'000)});
  EXPECT_EQ(l.totals().at(ip("192.168.42.10")).tx, 1000u);
  l.setClients({});  // its lease and counting rules went: so do its totals
  EXPECT_TRUE(l.totals().empty());
}

struct FakeFirewall : Firewall {
  Status reset() override { return {}; }
  Status apply(const FirewallState&) override { return {}; }
  Result<std::vector<TrafficCounter>> counters() override {
    return std::vector<TrafficCounter>{{"usb0", "eth0", 100, 1, 200, 2}};
  }
  Result<std::vector<ClientCounter>> clientCounters() override {
    return std::vector<ClientCounter>{{"usb0", "192.168.42.10", 100, 1, 200, 2}, {"usb0", "192.168.42.11", 5, 1, 6, 1}};
  }
};

struct FakeConntrack : Conntrack {
  std::vector<CtCounted> marked;
  int dumps = 0;
  Result<int> removeNatedTo(Ipv4Address) override { return 0; }
  Result<std::vector<CtCounted>> markedFlows(uint32_t mark) override {
    EXPECT_EQ(mark, kOffloadMark);
    ++dumps;
    return marked;
  }
};

TEST(OffloadCountedFirewall, AddsTheOffloadedBytesToTheClientsAndTheirPair) {
  FakeFirewall inner;
  FakeConntrack ct;
  bool active = true;
  int drained = 0;
  OffloadCountedFirewall fw(inner, ct, [&] { return active; }, [&] { ++drained; });
  FirewallState s;
  s.clients["usb0"] = {"192.168.42.10", "192.168.42.11"};
  ASSERT_TRUE(fw.apply(s));
  ct.marked = {flow(1, 1000, 50'000)};
  auto c = fw.clientCounters();
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)[0], (ClientCounter{"usb0", "192.168.42.10", 1100, 11, 50'200, 52}));
  EXPECT_EQ((*c)[1], (ClientCounter{"usb0", "192.168.42.11", 5, 1, 6, 1}));
  EXPECT_EQ(drained, 1);
  auto p = fw.counters();
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0].txBytes, 1100u);
  EXPECT_EQ((*p)[0].rxBytes, 50'200u);
  active = false;  // offload off: no dump
  ct.marked = {flow(1, 5000, 90'000)};
  c = fw.clientCounters();
  EXPECT_EQ(ct.dumps, 2);
  EXPECT_EQ((*c)[0].txBytes, 1100u);
}

}  // namespace
}  // namespace tetherd
