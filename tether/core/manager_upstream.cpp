// The manager's upstream housekeeping beside the plan: the flows NATed to a previous upstream
// removed after a switch, and strict rp_filter on a candidate said.
#include <algorithm>

#include "tether/base/log.h"
#include "tether/core/manager_impl.h"
#include "tether/core/rp_filter.h"

namespace tetherd {

// After a switch is applied (the new upstream's rules and NAT in place), the flows still NATed
// to the previous upstream's address are removed (nl_conntrack.h), so their next packet is
// NATed afresh: else they leave by the new upstream with the old source address and hang until
// their entry times out (a UDP stream refreshes it forever). The kernel does it only when the
// old interface goes down or loses the address (nf_nat_masquerade's notifiers), not after a
// failed validation, a better candidate's return or a new priority list. The addresses are the
// last ones the previous upstream was seen with: IPv4, and IPv6 for nat66's flows (a
// candidate's global addresses; with pd or relay nothing is NATed to them, nothing matches).
void TetherManager::Impl::flushOldNat(const std::optional<std::string>& chosen) {
  std::vector<Ipv4Address> now;
  std::vector<Ipv6Address> now6;
  if (chosen) {
    for (const auto& a : deps.kernel.addressesOf(*chosen)) now.push_back(a.prefix.address);
    for (const auto& a : deps.kernel.addresses6Of(*chosen)) now6.push_back(a.prefix.address);
  }
  if (chosen == natUpstream) {
    if (!now.empty()) natAddresses = now;
    if (!now6.empty()) natAddresses6 = now6;
    return;
  }
  auto flush = [&](const auto& old, const auto& current, auto remove) {
    for (const auto& a : old) {
      if (!deps.conntrack || std::find(current.begin(), current.end(), a) != current.end()) continue;
      auto n = remove(a);
      if (!n) log::warning("upstream switch: cannot remove the flows NATed to ", a.str(), ": ", n.error().message);
      else log::info("upstream switch: removed ", *n, " flow(s) NATed to ", a.str(), " (", natUpstream.value_or("?"), ")");
    }
  };
  flush(natAddresses, now, [this](const Ipv4Address& a) { return deps.conntrack->removeNatedTo(a); });
  flush(natAddresses6, now6, [this](const Ipv6Address& a) { return deps.conntrack->removeNatedTo6(a); });
  natUpstream = chosen;
  natAddresses = std::move(now);
  natAddresses6 = std::move(now6);
}

// Strict rp_filter on a candidate drops its probe replies (rp_filter.h): said once each time
// it appears.
void TetherManager::Impl::checkRpFilter() {
  std::erase_if(rpChecked, [this](const std::string& n) { return !deps.kernel.exists(n); });
  for (const auto& n : intent.priority) {
    if (!deps.kernel.exists(n) || !rpChecked.insert(n).second) continue;
    if (effectiveRpFilter(deps.sysctl, n) != 1) continue;
    std::string line = strictRpFilterProblem(n);  // "problem upstream <n> has strict ..."
    log::warning(line);
    emit(Event{events::UpstreamProblem{n, line.substr(std::string("problem upstream ").size() + n.size() + 1)}});
  }
}

}  // namespace tetherd
