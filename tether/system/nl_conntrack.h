// Conntrack entries of flows NATed to an address, removed over ctnetlink (NETLINK_NETFILTER,
// through libnl-3's plain messages: no conntrack(8), no new library). Used when the upstream
// switches: a flow whose entry still masquerades it to the old upstream's address would leave
// by the new upstream with the old source address and hang until the entry times out (UDP
// streams refresh theirs forever); without its entry, the next packet is NATed afresh.
//
// The kernel already removes masqueraded entries when the old interface goes down or loses
// its address (nf_nat_masquerade's notifiers); this covers the switches where it stays up: a
// failed validation, a better candidate coming back, the priority list changed.
#pragma once

#include <cstdint>
#include <memory>

#include "tether/base/ip.h"
#include "tether/base/result.h"

namespace tetherd {

// An IPv4 conntrack tuple (address pair, protocol, ports or ICMP id).
struct CtTuple {
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

// The real one: a ctnetlink dump (IPCTNL_MSG_CT_GET), then a delete (IPCTNL_MSG_CT_DELETE by
// original tuple) per matching entry. Synchronous: a dump of the whole table, a few ms for
// thousands of entries, once per upstream switch.
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
