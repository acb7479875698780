// TetherManager's quotas (issue 14 point 3): the quotas file (per client and per downstream),
// what each used in its period as a fact (read from the counters before each plan, so the
// kernel's quota matches always get the bytes left), the alerts (told once per period, also
// across restarts: state_dir/quota-alerts), and new periods.
#include "config/rate_values.h"
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/core/manager_impl.h"

namespace tetherd {

void TetherManager::Impl::loadQuotas() {
  if (auto told = readFile(quotaAlertsFile(), 256 * 1024)) {
    int bad = 0;
    quotaAlerts = parseQuotaAlertState(*told, &bad);
    if (bad != 0) log::warning(quotaAlertsFile(), ": ", bad, " bad line(s) skipped (their alerts may be sent again)");
  }
  auto text = readFile(quotasFile(), 128 * 1024);
  if (!text) {
    if (text.error().code != Errc::NotFound) log::error(text.error().message, ": the clients it names have NO quota");
    return;
  }
  auto file = parseClientQuotas(*text, kMaxClientQuotas);
  for (size_t i = 0; i < file.bad.size() && i < 5; ++i)
    log::warning(quotasFile(), ":", file.bad[i].line, ": ", file.bad[i].cause, ", ignored");
  intent.quotas = std::move(file.quotas);
  if (!intent.quotas.empty())
    log::info(intent.quotas.clients.size(), " client and ", intent.quotas.downstreams.size(), " downstream quota(s) from ",
              quotasFile());
}

QuotaUse TetherManager::Impl::currentQuotaUse(int* today) const {
  if (intent.quotas.empty() || !usage) return {};
  const UsageView v = usage();
  if (today) *today = v.today;
  if (v.history == nullptr) return {};
  return quotaUse(intent.quotas, *v.history, v.today, intent.config.quotaMonthStart);
}

namespace {
std::string describeQuotaChange(const QuotaRequest& r) {
  if (r.reset) return "quota reset";
  if (r.bytes == 0) return "quota off";
  return "quota " + formatSize(r.bytes) + (r.period == QuotaPeriod::Total ? " in total" : " a " + std::string(periodName(r.period)));
}
}  // namespace

Status TetherManager::setQuota(const QuotaRequest& r, bool downstream) {
  Impl& m = *impl_;
  Quotas next = m.intent.quotas;
  auto& into = downstream ? next.downstreams : next.clients;
  const std::string field = downstream ? "interface: " : "mac: ";
  // A reset or a new total starts counting now: today, less what today already moved (the
  // counters are read only then).
  auto startNow = [&](Quota& q) {
    const UsageView v = m.usage ? m.usage() : UsageView{};
    q.since = v.today;
    q.sinceBase = v.history == nullptr ? 0 : usedOnDay(*v.history, v.today, downstream ? "" : r.key, downstream ? r.key : "");
  };
  auto it = into.find(r.key);
  if (r.reset || r.bytes == 0) {
    if (it == into.end()) return makeError(Errc::NotFound, field + r.key + " has no quota");
    if (!r.reset) {
      into.erase(it);
    } else {  // the period starts again now
      startNow(it->second);
    }
  } else if (it == into.end() || it->second.period != r.period) {
    if (next.clients.size() + next.downstreams.size() >= kMaxClientQuotas)
      return makeError(Errc::InvalidArgument, field + "already " + std::to_string(kMaxClientQuotas) + " quotas");
    Quota q{r.bytes, r.period};
    if (r.period == QuotaPeriod::Total) startNow(q);  // counted from now on
    into[r.key] = q;
  } else {
    it->second.bytes = r.bytes;  // same period: what it used still counts
  }
  if (auto st = writeFileAtomic(m.quotasFile(), formatClientQuotas(next), 0600); !st) return st;
  m.intent.quotas = std::move(next);
  log::notice(downstream ? "downstream " : "client ", r.key, " ", describeQuotaChange(r));
  m.reconcile();
  if (auto st = m.lastFirewallError(); !st)
    return makeError(st.error().code, "saved, but not applied yet: " + st.error().message);
  return {};
}

const Quotas& TetherManager::quotas() const { return impl_->intent.quotas; }

std::vector<QuotaRow> TetherManager::quotaRows() const {
  int today = 0;
  const QuotaUse use = impl_->currentQuotaUse(&today);
  return tetherd::quotaRows(impl_->intent.quotas, use, today, impl_->intent.config.quotaMonthStart);
}

void TetherManager::setUsageSource(std::function<UsageView()> source) { impl_->usage = std::move(source); }

void TetherManager::usageSampled(UsageView v) {
  Impl& m = *impl_;
  if (m.intent.quotas.empty() && m.quotaAlerts.told.empty()) return;
  const QuotaUse use =
      v.history == nullptr ? QuotaUse{} : quotaUse(m.intent.quotas, *v.history, v.today, m.intent.config.quotaMonthStart);
  const QuotaAlertState before = m.quotaAlerts;
  auto told = quotaAlerts(m.intent.quotas, use, v.today, m.intent.config.quotaMonthStart, m.quotaAlerts);
  for (const auto& a : told.alerts) {
    log::notice(a.downstream ? "downstream " : "client ", a.key, a.level == 2 ? " reached its quota: " : " used 80 % of its quota: ",
                a.used, " of ", a.quota, " bytes (", periodName(a.period), ")");
    m.emit(Event{events::QuotaAlert{a.downstream ? "" : a.key, a.level, a.used, a.quota, a.downstream ? a.key : "",
                                    std::string(periodName(a.period))}});
  }
  if (!(m.quotaAlerts == before)) {
    if (auto st = writeFileAtomic(m.quotaAlertsFile(), formatQuotaAlertState(m.quotaAlerts), 0600); !st)
      log::warning("quota alerts: ", st.error().message);
  }
  // A new period: its usage starts from zero, so the kernel's remaining bytes must too.
  // With IPv6, every minute: each family's quota match starts from what both left, so what
  // one family used is taken from the other's within a minute.
  const bool v6 = m.intent.config.ipv6 != Ipv6Mode::Off;
  if (told.rolled || (v6 && !m.intent.quotas.empty())) m.reconcile();
}

}  // namespace tetherd
