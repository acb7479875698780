// TetherManager's quotas (issue 14 point 3): the per-client quotas file, today's usage as a
// fact (read from the counters before each plan, so the kernel's quota match always gets
// today's remaining bytes), the alerts, and the new day.
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"

namespace tetherd {

void TetherManager::Impl::loadQuotas() {
  auto text = readFile(quotasFile(), 64 * 1024);
  if (!text) {
    if (text.error().code != Errc::NotFound) log::error(text.error().message, ": the clients it names have NO quota");
    return;
  }
  auto file = parseClientQuotas(*text, kMaxClientQuotas);
  for (size_t i = 0; i < file.bad.size() && i < 5; ++i)
    log::warning(quotasFile(), ":", file.bad[i].line, ": ", file.bad[i].cause, ", ignored");
  intent.clientQuotas = std::move(file.quotas);
  if (!intent.clientQuotas.empty()) log::info(intent.clientQuotas.size(), " client quota(s) from ", quotasFile());
}

Status TetherManager::setClientQuotas(ClientQuotas next) {
  Impl& m = *impl_;
  if (next.size() > kMaxClientQuotas)
    return makeError(Errc::InvalidArgument, "mac: already " + std::to_string(kMaxClientQuotas) + " clients with a quota");
  if (auto st = writeFileAtomic(m.quotasFile(), formatClientQuotas(next), 0600); !st) return st;
  m.intent.clientQuotas = std::move(next);
  m.reconcile();
  if (auto st = m.lastFirewallError(); !st)
    return makeError(st.error().code, "saved, but not applied yet: " + st.error().message);
  return {};
}

const ClientQuotas& TetherManager::clientQuotas() const { return impl_->intent.clientQuotas; }

void TetherManager::setUsageSource(std::function<std::map<std::string, uint64_t>()> usedToday) {
  impl_->usedToday = std::move(usedToday);
}

void TetherManager::usageSampled(int day, const std::map<std::string, uint64_t>& usedToday) {
  Impl& m = *impl_;
  const bool newDay = m.quotaAlerts.day != 0 && m.quotaAlerts.day != day;
  for (const auto& a : quotaAlerts(m.intent.clientQuotas, usedToday, day, m.quotaAlerts)) {
    log::notice("client ", a.mac, a.level == 2 ? " reached its quota: " : " used 80 % of its quota: ", a.used, " of ", a.quota,
                " bytes today");
    m.emit(Event{events::QuotaAlert{a.mac, a.level, a.used, a.quota}});
  }
  // Midnight: today's usage starts from zero, so the kernel's remaining bytes must too.
  // With IPv6, every minute: each family's quota match starts from what both left, so what
  // one family used is taken from the other's within a minute.
  const bool v6 = m.intent.config.ipv6 != Ipv6Mode::Off;
  if ((newDay || v6) && !m.intent.clientQuotas.empty()) m.reconcile();
}

}  // namespace tetherd
