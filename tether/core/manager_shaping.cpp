// TetherManager's rate limits (issue 14 point 4): the per-client limits file and the leaf
// queue the kernel offers. The leases are facts (TetherManager::Impl::facts); LeaseWatch
// reconciles when a lease file changes.
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"

namespace tetherd {

void TetherManager::Impl::loadLimits() {
  auto text = readFile(limitsFile(), 64 * 1024);
  if (!text) {
    if (text.error().code != Errc::NotFound) log::error(text.error().message, ": the clients it limits are NOT limited");
    return;
  }
  auto file = parseClientLimits(*text, kMaxClientLimits);
  for (size_t i = 0; i < file.bad.size() && i < 5; ++i)
    log::warning(limitsFile(), ":", file.bad[i].line, ": ", file.bad[i].cause, ", ignored");
  intent.clientLimits = std::move(file.limits);
  if (!intent.clientLimits.empty()) log::info(intent.clientLimits.size(), " rate-limited client(s) from ", limitsFile());
}

Status TetherManager::setClientLimits(ClientLimits next) {
  Impl& m = *impl_;
  if (next.size() > kMaxClientLimits)
    return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxClientLimits) + " limited clients");
  if (auto st = writeFileAtomic(m.limitsFile(), formatClientLimits(next), 0600); !st) return st;
  m.intent.clientLimits = std::move(next);
  m.reconcile();
  if (!m.last.shaping)
    return makeError(m.last.shaping.error().code, "saved, but not applied yet: " + m.last.shaping.error().message);
  return {};
}

const ClientLimits& TetherManager::clientLimits() const { return impl_->intent.clientLimits; }

std::string TetherManager::shapingQueue() const {
  const auto& s = impl_->applier.shaping();
  if (s.empty()) return "none";
  return s.begin()->second.fqCodel ? "fq_codel" : "pfifo";
}

const ShapingState& TetherManager::shaping() const { return impl_->applier.shaping(); }

}  // namespace tetherd
