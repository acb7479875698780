// The manager's part of IPv6 prefix delegation (pd_client.h): which upstream dhcpcd asks on,
// and the per-downstream /64 numbers kept in state_dir.
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"

namespace tetherd {

// dhcpcd follows the selected upstream while tethering wants pd; the /64 numbers the plan
// gave out are kept (atomically) for the next run; the downstreams left without one are named.
void TetherManager::Impl::syncPd(const Desired& d) {
  if (!deps.pd) return;
  const bool want = intent.tethering && !intent.stopping &&
                    (intent.config.ipv6 == Ipv6Mode::Pd || intent.config.ipv6 == Ipv6Mode::Auto);
  deps.pd->setUpstream(want ? d.upstream : std::nullopt);
  pdAsked = want && d.upstream.has_value();
  if (pdSubnets && !d.pdSubnets.empty() && d.pdSubnets != *pdSubnets) {
    if (auto st = savePdSubnets(pdSubnetsFile(), d.pdSubnets); !st) log::error(st.error().message);
    pdSubnets = d.pdSubnets;
    again = true;  // the facts hold the numbers now
  }
  if (d.pdLeft != pdLeft && !d.pdLeft.empty()) {
    std::string names;
    for (const auto& n : d.pdLeft) names += (names.empty() ? "" : " ") + n;
    log::warning("delegated prefix too small: ", names, " use nat66");
  }
  pdLeft = d.pdLeft;
}

TetherManager::Ipv6Upstream TetherManager::ipv6Upstream() const {
  Ipv6Upstream out;
  const auto facts = impl_->facts();
  out.configured = impl_->intent.config.ipv6;
  out.mode = ipv6Mode(facts, impl_->intent);
  if (impl_->upstream) {
    out.address = !impl_->deps.kernel.addresses6Of(*impl_->upstream).empty();
    out.route = impl_->deps.kernel.hasDefaultRoute6(*impl_->upstream);
    out.slaac64 = hasSlaac64(impl_->deps.kernel, *impl_->upstream);
  }
  const RelayState& relay = impl_->applier.relay();
  out.relayed = relay.prefix;
  out.relayDownstreams = relay.downstreams;
  out.relayHosts = relay.hosts.size();
  out.pdAsked = impl_->pdAsked;
  if (facts.delegated) {
    const auto now = PdLease::Clock::now();
    out.delegated = facts.delegated->prefix;
    out.preferredSec = pdSecondsLeft(facts.delegated->preferredUntil, now);
    out.validSec = pdSecondsLeft(facts.delegated->validUntil, now);
  }
  out.pdLeft = impl_->pdLeft;
  return out;
}

}  // namespace tetherd
