// The manager's part of IPv6 relay (relay_plan.h): which upstream's solicitations are
// watched, and looking for a solicited client address on the relaying downstreams.
//
// Why a trigger at all: the plan relays the addresses the neighbour table knows on a
// downstream, but a client's own traffic does not always put its global address there. Its
// router entry comes from the RA (so it rarely solicits the router), and when it does, the
// source is often its link-local address; DAD uses ::. The first inbound packet for a new
// address makes the upstream router solicit it on the upstream link (and the appliance's own
// replies, e.g. DNS, make the appliance solicit it there): the NsWatch sees that (the target
// is in the relayed /64), and the kernel is asked to resolve the target on each relaying
// downstream (NTF_USE: one solicitation, no route needed). The client's answer creates the
// neighbour entry, the neighbour watch reports it, and the next plan adds the /128 route and
// the proxy entry, in time for the router's next solicitation (it tries three times, 1 s
// apart). This is odhcpd's way (ndp.c pings instead). Bounded: a target at most once per
// kSolicitEvery, kSolicitBurst targets a second, kSolicitKept remembered; nothing blocks (one
// netlink request each, answered at once).
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"

namespace tetherd {

namespace {
constexpr auto kSolicitEvery = std::chrono::seconds(3);
constexpr int kSolicitBurst = 16;
constexpr size_t kSolicitKept = 256;
}  // namespace

void TetherManager::Impl::syncRelay() {
  const RelayState& r = applier.relay();
  std::optional<std::pair<std::string, Ipv6Prefix>> want;
  if (!r.upstream.empty() && r.prefix && !r.downstreams.empty()) want = std::pair(r.upstream, *r.prefix);
  if (want == relayWatched) return;
  relayWatched = want;
  solicitedAt.clear();
  if (deps.watchSolicits) deps.watchSolicits(want);
}

void TetherManager::solicited(const Ipv6Address& target) {
  Impl& m = *impl_;
  const RelayState& r = m.applier.relay();
  if (!m.deps.relay || !r.prefix || !r.prefix->contains(target)) return;
  for (const auto& h : r.hosts)
    if (h.address == target) return;  // relayed: the kernel answers for it
  for (const auto& a : m.deps.kernel.addresses6Of(r.upstream))
    if (a.prefix.address == target) return;  // the upstream's own (its DAD, the router asking)
  const auto now = std::chrono::steady_clock::now();
  if (auto it = m.solicitedAt.find(target); it != m.solicitedAt.end() && now - it->second < kSolicitEvery) return;
  if (now - m.solicitSecond >= std::chrono::seconds(1)) {
    m.solicitSecond = now;
    m.solicitsThisSecond = 0;
  }
  if (++m.solicitsThisSecond > kSolicitBurst) return;
  if (m.solicitedAt.size() >= kSolicitKept) std::erase_if(m.solicitedAt, [&](const auto& e) { return now - e.second >= kSolicitEvery; });
  if (m.solicitedAt.size() >= kSolicitKept) return;
  m.solicitedAt[target] = now;
  for (const auto& d : r.downstreams)
    if (auto st = m.deps.relay->resolve(d, target); !st) log::debug("IPv6 relay: ", st.error().message);
  log::debug("IPv6 relay: looking for ", target.str(), " on the downstreams");
}

}  // namespace tetherd
