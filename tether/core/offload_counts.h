// Accounting of offloaded flows (issue 18). Offloaded packets skip the iptables chains, so the
// per-client counting rules (FirewallState::clients) stop seeing them. The flows the offload
// chain adds to the flowtable carry kOffloadMark in their conntrack mark, and conntrack keeps
// counting their packets (the flowtable's `counter`, nf_conntrack_acct=1). So:
//
//   client's bytes = its iptables counters + what its marked flows moved, from conntrack
//
// OffloadLedger (pure) turns conntrack's per-flow totals into per-client running totals: at
// each read the marked flows are dumped and what each moved since it was last seen is added;
// a flow that ends gives its final counters through a destroy event (CtDestroyWatch), so a
// flow that starts and ends between two reads is counted whole. OffloadCountedFirewall is the
// Firewall the manager and ClientUsage see: the real one, with those totals added to the
// per-client and per-pair counters. Nothing else in the accounting changes (history, quotas,
// the page's graph).
//
// Error bound: a marked flow's conntrack counters include the packets forwarded before it
// entered the flowtable (TCP: the handshake and what was in flight until the state became
// established; UDP: the first packet each way), which the iptables rules counted too, and the
// packets after a teardown (FIN/RST, or 30 s idle, until it is offloaded again): those are
// counted twice. In the VM a 25 MB download was counted 0.12 % high (30 kB). Bytes are lost only when destroy events are lost (an overrun is logged)
// or while offload goes inactive (the marked flows' bytes since the last read).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "tether/system/ct_accounting.h"
#include "tether/system/netfilter/firewall.h"

namespace tetherd {

class OffloadLedger {
 public:
  struct Bytes {
    uint64_t tx = 0, txPackets = 0, rx = 0, rxPackets = 0;  // tx: from the client
    bool operator==(const Bytes&) const = default;
  };
  // The addresses counted (a flow's client is the end among them); others' totals go.
  void setClients(std::set<Ipv4Address> clients);
  // A dump of the marked flows: each one's bytes since it was last seen are added; flows not
  // in the dump are forgotten (ended, their event already taken).
  void sample(const std::vector<CtCounted>& flows);
  // A marked flow ended with these counters.
  void ended(const CtCounted& flow);
  // Running totals per client address since tetherd started (never going down).
  const std::map<Ipv4Address, Bytes>& totals() const { return totals_; }
  size_t tracked() const { return last_.size(); }

 private:
  using Key = std::tuple<uint32_t, uint32_t, uint32_t, uint8_t, uint16_t, uint16_t>;
  static Key keyOf(const CtCounted& f);
  void add(const CtCounted& now, const CtCounted* before);
  std::set<Ipv4Address> clients_;
  std::map<Key, CtCounted> last_;
  std::map<Ipv4Address, Bytes> totals_;
};

class OffloadCountedFirewall : public Firewall {
 public:
  // active: whether flows are being offloaded now (the marked flows are read only then).
  // drain: takes in the destroy events queued so far (before each dump).
  OffloadCountedFirewall(Firewall& inner, Conntrack& conntrack, std::function<bool()> active, std::function<void()> drain)
      : inner_(inner), conntrack_(conntrack), active_(std::move(active)), drain_(std::move(drain)) {}

  Status reset() override { return inner_.reset(); }
  Status apply(const FirewallState& s) override;
  Result<std::vector<TrafficCounter>> counters() override;
  Result<std::vector<ClientCounter>> clientCounters() override;
  // A destroy event of a marked flow (CtDestroyWatch).
  void ended(const CtCounted& flow) { ledger_.ended(flow); }
  const OffloadLedger& ledger() const { return ledger_; }

 private:
  void read();
  Firewall& inner_;
  Conntrack& conntrack_;
  std::function<bool()> active_;
  std::function<void()> drain_;
  OffloadLedger ledger_;
  std::map<std::string, std::set<Ipv4Address>> clientsOf_;  // by downstream, as applied
};

}  // namespace tetherd
