// The page's connection slots (web/http/connection_slots.h) under the floods of issue 15: one
// address opening connection after connection, many addresses of one downstream filling every
// slot with half a header, and the admin (localhost, or another client with a session) still
// getting in.
#include <gtest/gtest.h>

#include "web/http/connection_slots.h"

using namespace tetherd::web;

namespace {

struct Slots {
  SlotPolicy policy;
  std::vector<SlotHolder> open;
  uint64_t order = 0;
  // Admits like the server: closes the evicted one, records the new one (half a header sent).
  Admission connect(const std::string& peer) {
    SlotDecision d = admitConnection(policy, peer, open);
    if (d.admission == Admission::Refuse) return d.admission;
    if (d.evict) open.erase(open.begin() + static_cast<std::ptrdiff_t>(*d.evict));
    open.push_back(SlotHolder{peer, d.admission == Admission::SessionOnly, true, ++order});
    return d.admission;
  }
  size_t from(const std::string& peer) const {
    size_t n = 0;
    for (const auto& c : open) n += c.peer == peer;
    return n;
  }
};

}  // namespace

TEST(ConnectionSlots, OneAddressGetsAtMostEight) {
  Slots s;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(s.connect("192.168.42.35"), Admission::Open);
  for (int i = 0; i < 56; ++i) EXPECT_EQ(s.connect("192.168.42.35"), Admission::Refuse);
  EXPECT_EQ(s.from("192.168.42.35"), 8u);
  EXPECT_EQ(s.connect("192.168.42.36"), Admission::Open) << "another client of the same downstream";
  EXPECT_EQ(s.connect("127.0.0.1"), Admission::Open);
}

TEST(ConnectionSlots, LoopbackHasItsOwnSlotsAndNewestHalfHeadersPushOutOldOnes) {
  Slots s;
  for (int a = 0; a < 64; ++a) s.connect("192.168.42." + std::to_string(100 + a / 8));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(s.connect("127.0.0.1"), Admission::Open);
  // 16 local connections that never send a header (a local flood) do not keep a 17th local
  // admin out: the oldest silent one goes.
  EXPECT_EQ(s.connect("127.0.0.1"), Admission::Open);
  EXPECT_EQ(s.from("127.0.0.1"), 16u);
  // One that is being served is not pushed out.
  for (auto& c : s.open)
    if (c.peer == "127.0.0.1") c.awaitingRequest = false;
  EXPECT_EQ(s.connect("127.0.0.1"), Admission::Refuse);
}

// Many addresses of one downstream (a client may take as many as it likes) fill every slot
// with half a header: a client with a session still gets a session-only slot, and a newcomer
// from a quiet address pushes out a silent connection of the busiest address.
TEST(ConnectionSlots, AFloodFromManyAddressesLeavesRoomForSessionsAndQuietClients) {
  Slots s;
  for (int a = 0; a < 40; ++a)
    for (int i = 0; i < 8; ++i) s.connect("192.168.42." + std::to_string(100 + a));
  size_t general = 0, sessionOnly = 0;
  for (const auto& c : s.open) (c.sessionOnly ? sessionOnly : general) += 1;
  EXPECT_EQ(general, 48u);
  EXPECT_EQ(sessionOnly, 16u) << "the flood is in the session-only slots: its first request will be refused";
  // Every slot holds a half header of the flood: an admin from a quiet address pushes one of
  // the busiest address out and gets in.
  EXPECT_EQ(s.connect("192.168.42.20"), Admission::Open);
  s.open.back().awaitingRequest = false;  // its request came
  // Even with every general slot busy serving, the session-only slots take a session holder.
  for (auto& c : s.open) c.awaitingRequest = c.peer == "192.168.42.20" ? false : c.sessionOnly;
  EXPECT_EQ(s.connect("192.168.42.21"), Admission::SessionOnly);
}

TEST(ConnectionSlots, Loopback) {
  EXPECT_TRUE(isLoopbackPeer("127.0.0.1"));
  EXPECT_TRUE(isLoopbackPeer("127.1.2.3"));
  EXPECT_FALSE(isLoopbackPeer("192.168.42.1"));
  EXPECT_FALSE(isLoopbackPeer("?"));
}
