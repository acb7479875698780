#include "web/http/connection_slots.h"

#include <map>

namespace tetherd::web {

bool isLoopbackPeer(const std::string& peer) { return peer.rfind("127.", 0) == 0; }

namespace {

// The oldest connection waiting for its header among those `which` picks.
template <class Pred>
std::optional<size_t> oldestWaiting(const std::vector<SlotHolder>& open, Pred which) {
  std::optional<size_t> best;
  for (size_t i = 0; i < open.size(); ++i) {
    if (!open[i].awaitingRequest || !which(open[i])) continue;
    if (!best || open[i].order < open[*best].order) best = i;
  }
  return best;
}

}  // namespace

SlotDecision admitConnection(const SlotPolicy& policy, const std::string& peer, const std::vector<SlotHolder>& open) {
  if (isLoopbackPeer(peer)) {
    size_t n = 0;
    for (const auto& c : open) n += isLoopbackPeer(c.peer);
    if (n < policy.loopback) return {Admission::Open, std::nullopt, ""};
    if (auto e = oldestWaiting(open, [](const SlotHolder& c) { return isLoopbackPeer(c.peer); }))
      return {Admission::Open, e, ""};
    return {Admission::Refuse, std::nullopt, "too many local connections; try again"};
  }
  std::map<std::string, size_t> perPeer;
  size_t general = 0, sessionOnly = 0;
  for (const auto& c : open) {
    if (isLoopbackPeer(c.peer)) continue;
    ++perPeer[c.peer];
    if (c.sessionOnly) ++sessionOnly;
    else ++general;
  }
  if (perPeer[peer] >= policy.perAddress)
    return {Admission::Refuse, std::nullopt, "too many connections from your address; try again"};
  const size_t generalSlots = policy.total > policy.reserved ? policy.total - policy.reserved : 0;
  if (general < generalSlots) return {Admission::Open, std::nullopt, ""};
  // Full: an address holding more connections than the newcomer's would gives one up that has
  // not completed a request — the oldest such.
  const size_t mine = perPeer[peer];
  if (auto e = oldestWaiting(open, [&](const SlotHolder& c) {
        return !c.sessionOnly && !isLoopbackPeer(c.peer) && perPeer[c.peer] > mine + 1;
      }))
    return {Admission::Open, e, ""};
  if (sessionOnly < policy.reserved) return {Admission::SessionOnly, std::nullopt, ""};
  if (auto e = oldestWaiting(open, [](const SlotHolder& c) { return c.sessionOnly && !isLoopbackPeer(c.peer); }))
    return {Admission::SessionOnly, e, ""};
  return {Admission::Refuse, std::nullopt, "too many connections; try again"};
}

}  // namespace tetherd::web
