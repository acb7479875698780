// TetherManager's rate limits (issue 14 point 4): the per-client limits file, the leases the
// plan needs, and the slow poll that notices a new or gone lease while a limit is set.
#include <chrono>
#include <ctime>

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

// The leases of the configured downstreams, only while some limit is set (else nothing is
// read and nothing is shaped).
void TetherManager::Impl::shapingFacts(Facts& f) const {
  if (!anyLimits(intent.config, intent.clientLimits)) {
    leaseKey.clear();
    return;
  }
  const long long now = static_cast<long long>(std::time(nullptr));
  std::string key;
  for (const auto& [name, prefix] : f.assigned) {
    auto& out = f.clientLeases[name];
    for (auto& l : dhcp.leases(name)) {
      if (l.expiry != 0 && l.expiry < now) continue;
      key += name + " " + l.mac + " " + l.ip.str() + "\n";
      out.push_back(std::move(l));
    }
  }
  leaseKey = key;
  f.fqCodel = deps.shaper && deps.shaper->fqCodel();
}

void TetherManager::Impl::watchLeases() {
  if (!anyLimits(intent.config, intent.clientLimits) || intent.stopping || !deps.shaper) return;
  if (!leaseWatch) leaseWatch = std::make_unique<boost::asio::steady_timer>(deps.io);
  leaseWatch->expires_after(std::chrono::seconds(2));
  leaseWatch->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const std::string before = leaseKey;
    Facts f;
    f.assigned = applier.addresses();
    shapingFacts(f);
    if (leaseKey != before) reconcile();
    watchLeases();
  });
}

Status TetherManager::setClientLimits(ClientLimits next) {
  Impl& m = *impl_;
  if (next.size() > kMaxClientLimits)
    return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxClientLimits) + " limited clients");
  if (auto st = writeFileAtomic(m.limitsFile(), formatClientLimits(next), 0600); !st) return st;
  m.intent.clientLimits = std::move(next);
  m.reconcile();
  m.watchLeases();
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
