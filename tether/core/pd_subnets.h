// Which /64 of a delegated prefix each tethered downstream gets. The assignment (downstream ->
// subnet number within the delegation) is kept in state_dir so that a downstream keeps its /64
// across restarts and renewals as long as the delegation's length allows it; a prefix change
// keeps the numbers too (the clients move from <old>:N::/64 to <new>:N::/64).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tether/base/ip6.h"
#include "tether/base/result.h"
#include "tether/system/dhcpcd.h"

namespace tetherd {

using PdSubnets = std::map<std::string, uint32_t>;  // downstream -> subnet number

// A delegation as a fact: the prefix and when its lifetimes end, as absolute times (the
// planner has no clock; the applier turns them back into the seconds left, which the routers'
// addresses take and dnsmasq's router advertisements announce). time_point::max(): infinite.
struct PdLease {
  using Clock = std::chrono::steady_clock;
  Ipv6Prefix prefix;
  Clock::time_point preferredUntil{}, validUntil{};
  bool operator==(const PdLease&) const = default;
};
// dhcpcd's relative lifetimes (seconds from `now`; 4294967295 = infinite) made absolute.
PdLease pdLease(const DelegatedPrefix& d, PdLease::Clock::time_point now);
// The seconds left until `until` (0 when past; 4294967295 for time_point::max()), rounded up.
uint32_t pdSecondsLeft(PdLease::Clock::time_point until, PdLease::Clock::time_point now);

struct PdCarve {
  std::map<std::string, Ipv6Prefix> routers;  // downstream -> its own address <pfx>:<n>::1/64
  std::vector<std::string> left;              // no /64 left for these (sorted): they use nat66
  PdSubnets subnets;                          // the assignment to keep (the old one plus new numbers)
};

// Carves /64s out of `delegated` (length 1..64) for `downstreams`. A downstream with a number in
// `stored` that fits the delegation and is not already taken keeps it; the others get the lowest
// free numbers, in name order. Numbers of downstreams not tethered now stay reserved in the
// returned assignment (they come back to the same /64) unless a tethered one needs the room.
PdCarve carvePdSubnets(const Ipv6Prefix& delegated, const std::set<std::string>& downstreams, const PdSubnets& stored);

// The router's address in subnet `n` of `delegated`: <delegated with n in bits len..63>::1/64.
Ipv6Prefix pdRouter(const Ipv6Prefix& delegated, uint32_t n);

// The state file: "<ifname> <n>\n" a line, sorted. parse refuses (naming the file and line) any
// line that is not a valid interface name and a decimal number below 2^32.
std::string formatPdSubnets(const PdSubnets& subnets);
Result<PdSubnets> parsePdSubnets(const std::string& text, const std::string& path);

// Reads the file (a missing file is an empty assignment) and writes it atomically (0644).
Result<PdSubnets> loadPdSubnets(const std::string& path);
Status savePdSubnets(const std::string& path, const PdSubnets& subnets);

}  // namespace tetherd
