// Conntrack entries of flows NATed to an address (IPv4, and IPv6 for nat66), removed over ctnetlink (NETLINK_NETFILTER,
// libnl-3's plain messages: no conntrack(8), no new library). Why: TetherManager's flushOldNat.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

struct CtTuple {  // IPv4: addresses, protocol, ports
  Ipv4Address src, dst;
  uint8_t proto = 0;
  uint16_t srcPort = 0, dstPort = 0;
  bool operator==(const CtTuple&) const = default;
};
struct CtEntry {
  CtTuple original, reply;
  bool operator==(const CtEntry&) const = default;
};
// An entry with its accounting (ct_accounting.h).
struct CtCounted {
  uint32_t id = 0;  // conntrack's id of the entry
  CtEntry entry;
  uint32_t mark = 0;
  uint64_t origBytes = 0, origPackets = 0;    // original direction (from who opened it)
  uint64_t replyBytes = 0, replyPackets = 0;  // reply direction
  bool operator==(const CtCounted&) const = default;
};

// A flow source-NATed to `address`: its answers go to `address` while it did not come from
// there (the appliance's own flows from `address` are left alone).
bool natedTo(const CtEntry& entry, Ipv4Address address);

class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Removes every IPv4 entry natedTo(address); the number removed.
  virtual Result<int> removeNatedTo(Ipv4Address address) = 0;
  // Removes every IPv6 entry natedTo6(address) (nat66, ct_requests.h); the number removed.
  virtual Result<int> removeNatedTo6(const Ipv6Address& /*address*/) { return 0; }
  // Removes every IPv4 entry of a client's flows (flowOf); the number removed.
  virtual Result<int> removeFlowsOf(Ipv4Address /*client*/) { return 0; }
  // The IPv4 entries whose mark has all bits of `mark`, with their counters (ct_accounting.h;
  // the dump is filtered by the kernel).
  virtual Result<std::vector<CtCounted>> markedFlows(uint32_t /*mark*/) { return std::vector<CtCounted>{}; }
};

// A flow of `client`: it sent the first packet, or answers one (the reply comes from it).
bool flowOf(const CtEntry& entry, Ipv4Address client);

// A ctnetlink dump, then a delete by original tuple per match; synchronous (once per switch).
class NlConntrack : public Conntrack {
 public:
  NlConntrack();
  ~NlConntrack() override;
  Result<int> removeNatedTo(Ipv4Address address) override;
  Result<int> removeNatedTo6(const Ipv6Address& address) override;
  Result<int> removeFlowsOf(Ipv4Address client) override;
  Result<std::vector<CtCounted>> markedFlows(uint32_t mark) override;

 private:
  // Dumps one family's entries and deletes those pred(message) holds for.
  template <class Pred>
  Result<int> removeIf(uint8_t family, Pred pred);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
