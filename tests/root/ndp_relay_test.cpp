// NlNdpRelay (IPv6 relay) against the real kernel, in root_tests' private network namespace:
// what it adds is what `ip` shows (no prefix route for the address, a /128 route, a proxy
// entry, a neighbour being resolved), additions and removals are idempotent, and removals on a
// link that is gone succeed. Set up and observed with `ip`; the adapter never runs it.
#include "tether/system/nl_ndp_relay.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tests/root/shell.h"

using namespace tetherd;

namespace {

using roottest::capture;
using roottest::sh;

struct Veth {
  Veth() { EXPECT_EQ(sh("ip link add nrA type veth peer name nrB && ip link set nrA up && ip link set nrB up"), 0); }
  ~Veth() { sh("ip link del nrA 2>/dev/null"); }
};

}  // namespace

TEST(NdpRelayTest, AddressRouteProxyAndResolveAsIpShowsThem) {
  Veth veth;
  NlNdpRelay relay;
  const auto router = *Ipv6Prefix::parse("2001:db8:77::ffff:1/64");
  const auto client = *Ipv6Address::parse("2001:db8:77::5");

  ASSERT_TRUE(relay.addAddress("nrA", router));
  ASSERT_TRUE(relay.addAddress("nrA", router));  // idempotent
  const std::string addr = capture("ip -6 addr show dev nrA scope global");
  EXPECT_NE(addr.find("inet6 2001:db8:77::ffff:1/64 scope global nodad noprefixroute"), std::string::npos) << addr;
  EXPECT_EQ(capture("ip -6 route show 2001:db8:77::/64"), "");

  ASSERT_TRUE(relay.addRoute("nrA", client));
  ASSERT_TRUE(relay.addRoute("nrA", client));
  EXPECT_EQ(capture("ip -6 route show 2001:db8:77::5"), "2001:db8:77::5 dev nrA proto static metric 1024 pref medium\n");

  ASSERT_TRUE(relay.addProxy("nrB", client));
  ASSERT_TRUE(relay.addProxy("nrB", client));
  EXPECT_EQ(capture("ip -6 neigh show proxy"), "2001:db8:77::5 dev nrB proxy \n");

  ASSERT_TRUE(relay.resolve("nrA", *Ipv6Address::parse("2001:db8:77::9")));  // nobody answers: INCOMPLETE, then FAILED
  const std::string neigh = capture("ip -6 neigh show dev nrA");
  EXPECT_NE(neigh.find("2001:db8:77::9"), std::string::npos) << neigh;

  ASSERT_TRUE(relay.removeProxy("nrB", client));
  ASSERT_TRUE(relay.removeProxy("nrB", client));  // gone already: success
  EXPECT_EQ(capture("ip -6 neigh show proxy"), "");
  ASSERT_TRUE(relay.removeRoute("nrA", client));
  ASSERT_TRUE(relay.removeRoute("nrA", client));
  EXPECT_EQ(capture("ip -6 route show 2001:db8:77::5"), "");

  auto st = relay.addRoute("nrX", client);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::UnknownIface);
  EXPECT_TRUE(relay.removeRoute("nrX", client));  // a link that is gone has nothing left
  EXPECT_TRUE(relay.removeProxy("nrX", client));
}
