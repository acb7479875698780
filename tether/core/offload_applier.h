// OffloadApplier (issue 18): puts tetherd's flowtable table (offload.h) in place through the
// NftRuleset port, only when the wanted text changes, and takes it away. A failure is never a
// failure of tethering: offload is then reported inactive with the reason (a kernel without
// nf_flow_table: "kernel without flowtable support (nf_flow_table)"), and the same text is not
// tried again until the plan changes. The table is named in a record file (run_dir) before it
// is made, so the start after a crash deletes it (reset) without loading libnftables when
// there is nothing to delete. Clients that stop being offloadable (blocked, limited, given a
// quota) have their flows removed from conntrack at once (the Conntrack port): a flow already
// in the flowtable would otherwise keep skipping the iptables chains that now stop it.
#pragma once

#include <set>
#include <string>

#include "tether/core/offload.h"
#include "tether/system/netfilter/nft_ruleset.h"
#include "tether/system/nl_conntrack.h"

namespace tetherd {

class OffloadApplier {
 public:
  // nft: none, offload is never applied ("libnftables not available"). conntrack: none, no
  // flows are flushed.
  OffloadApplier(NftRuleset* nft, Conntrack* conntrack, std::string record)
      : nft_(nft), conntrack_(conntrack), record_(std::move(record)) {}

  void apply(const OffloadWant& want);
  // At start (a crash's table, when the record names it) and at stop: the table goes.
  void reset();
  const OffloadStatus& status() const { return status_; }

 private:
  void remove();
  NftRuleset* nft_;
  Conntrack* conntrack_;
  std::string record_;
  bool installed_ = false;       // the table is there (as far as tetherd knows)
  std::string applied_;          // its text, when installed
  std::string failed_;           // the text whose transaction failed last
  std::set<std::string> excluded_;  // the addresses not offloaded, as applied
  OffloadStatus status_;
};

}  // namespace tetherd
