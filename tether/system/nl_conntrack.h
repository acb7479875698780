// Conntrack entries of flows NATed to an address, removed over ctnetlink (NETLINK_NETFILTER,
// libnl-3's plain messages: no conntrack(8), no new library). Why: TetherManager's flushOldNat.
#pragma once

#include <cstdint>
#include <memory>

#include "tether/base/ip.h"
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

// A flow source-NATed to `address`: its answers go to `address` while it did not come from
// there (the appliance's own flows from `address` are left alone).
bool natedTo(const CtEntry& entry, Ipv4Address address);

class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Removes every IPv4 entry natedTo(address); the number removed.
  virtual Result<int> removeNatedTo(Ipv4Address address) = 0;
};

// A ctnetlink dump, then a delete by original tuple per match; synchronous (once per switch).
class NlConntrack : public Conntrack {
 public:
  NlConntrack();
  ~NlConntrack() override;
  Result<int> removeNatedTo(Ipv4Address address) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
