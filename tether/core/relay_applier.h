// Applies RelayState (IPv6 relay, relay_plan.h) through the NdpRelay port, doing only the
// difference from what it applied: per client address, the /128 route on its downstream and
// the proxy entry on the upstream; gone ones first (proxy, then route), new ones route first
// (the return path is there before the upstream router is answered). What it holds is named
// in a record file (run_dir) before it is added, so that the run after a crash removes it
// (reset). Without a port it does nothing.
#pragma once

#include <set>
#include <string>

#include "tether/core/relay_plan.h"
#include "tether/system/ndp_relay.h"

namespace tetherd {

class RelayApplier {
 public:
  RelayApplier(NdpRelay* port, std::string record) : port_(port), record_(std::move(record)) {}
  // The first failure (the rest is still tried; a failed one is tried again at the next apply).
  Status apply(const RelayState& want);
  // At start: what a previous run's record names is removed.
  void reset();
  const RelayState& applied() const { return have_; }

  // The record's text: "<downstream> <upstream> <address>\n" per host, in order.
  static std::string formatRecord(const std::string& upstream, const std::set<RelayHost>& hosts);

 private:
  void saveRecord(const std::set<RelayHost>& extra);
  NdpRelay* port_;
  std::string record_;
  RelayState have_;
};

}  // namespace tetherd
