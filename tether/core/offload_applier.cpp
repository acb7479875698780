#include "tether/core/offload_applier.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

void OffloadApplier::apply(const OffloadWant& want) {
  status_.configured = want.configured;
  if (!want.plan) {
    if (installed_) remove();
    status_.active = false;
    status_.reason = want.why;
    failed_.clear();
    return;
  }
  if (!nft_) {
    status_ = {true, false, "libnftables not available"};
    return;
  }
  const std::string text = offloadRuleset(*want.plan);
  if (installed_ && text == applied_) return;
  if (!installed_ && text == failed_) return;  // the same transaction failed: wait for a change
  // Addresses that were offloadable and no longer are: their flows leave the flowtable now.
  std::set<std::string> now = want.plan->excluded;
  std::vector<std::string> added;
  std::set_difference(now.begin(), now.end(), excluded_.begin(), excluded_.end(), std::back_inserter(added));
  if (!installed_) {
    if (auto st = writeFileAtomic(record_, std::string("table inet ") + kOffloadTable + "\n", 0644); !st)
      log::warning("offload: ", st.error().message);
  }
  if (auto st = nft_->run(text); !st) {
    const std::string why = offloadFailure(st.error().message, nft_->flowtableLoaded());
    log::warning("offload inactive: ", why);
    failed_ = text;
    if (installed_) remove();  // not left on an old plan
    else ::unlink(record_.c_str());
    status_ = {true, false, why};
    return;
  }
  installed_ = true;
  applied_ = text;
  failed_.clear();
  status_ = {true, true, {}};
  if (conntrack_) {
    for (const auto& a : added) {
      auto ip = Ipv4Address::parse(a);
      if (!ip) continue;
      if (auto n = conntrack_->removeFlowsOf(*ip); !n) log::warning("offload: flows of ", a, ": ", n.error().message);
      else if (*n > 0) log::info("offload: ", *n, " flows of ", a, " removed (no longer offloaded)");
    }
  }
  excluded_ = std::move(now);
}

void OffloadApplier::remove() {
  if (nft_) {
    if (auto st = nft_->run(offloadRemoval()); !st) {
      log::warning("offload: removing table inet ", kOffloadTable, ": ", offloadFailure(st.error().message, nft_->flowtableLoaded()));
      return;  // the record stays: the next start tries again
    }
  }
  installed_ = false;
  applied_.clear();
  excluded_.clear();
  ::unlink(record_.c_str());
}

void OffloadApplier::reset() {
  if (!installed_ && ::access(record_.c_str(), F_OK) != 0) return;  // nothing of ours: libnftables not even loaded
  remove();
}

}  // namespace tetherd
