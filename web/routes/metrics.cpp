// The metrics resource: GET /metrics for Prometheus (web/metrics.h makes the text). Not behind
// the page's login: WebApp lets loopback scrape freely and anyone else only with the bearer
// token of [web] metrics_token (metricsRefusal). The snapshot is gathered per scrape from the
// same views as the status and clients resources; only the failure counts live between scrapes
// (WebContext, bounded).
#include "web/metrics.h"

#include "tether/base/log.h"
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

// Every state of a machine, in enum order (the last enumerator closes the range).
template <typename State, typename Name>
std::vector<std::string> allStates(State last, Name name) {
  std::vector<std::string> out;
  for (int i = 0; i <= static_cast<int>(last); ++i) out.emplace_back(name(static_cast<State>(i)));
  return out;
}

// An upstream candidate's state, as the status resource names it (api.cpp statusImpl), then,
// for one that is ready, its validation when the health probes have not validated it.
const char* upstreamState(const UpstreamView& u) {
  if (!u.exists) return "absent";
  if (!u.up) return "down";
  if (!u.defaultRoute && !usable6Only(u)) return "no-route";  // an IPv6-only one is usable (upstream.h)
  if (u.dns.empty() && !usable6Only(u)) return "no-dns";
  return u.validation == Validation::Validated ? "ready" : validationName(u.validation);
}

MetricsSnapshot snapshotOf(WebContext& c, const ClientsView& v) {
  TetherManager& m = c.deps.manager;
  MetricsSnapshot s;
  s.version = TETHERD_VERSION;
  s.startTimeSec = c.startEpochSec;
  using Master = TetherMasterMachine;
  s.masterState = Master::stateName(m.masterState());
  s.masterStates = allStates(Master::State::SetDnsForwardersError, &Master::stateName);
  if (m.masterError().code != Errc::Ok) s.masterErrorCode = errcName(m.masterError().code);
  s.tetheringErrors = c.tetheringErrors;

  if (auto st = m.stats())
    for (const auto& t : *st) s.forwarded.push_back({t.downstream, t.upstream, t.txBytes, t.txPackets, t.rxBytes, t.rxPackets});

  using Iface = TetherInterfaceMachine;
  s.downstreamStates = allStates(Iface::State::Unavailable, &Iface::stateName);
  const auto counts = clientCounts(v);
  for (const auto& d : m.downstreams()) {
    MetricsSnapshot::Downstream out;
    out.ifname = d.ifname;
    out.kind = ifaceKindName(d.kind);
    out.state = Iface::stateName(d.state);
    if (d.error.code != Errc::Ok) out.errorCode = errcName(d.error.code);
    if (auto it = counts.find(d.ifname); it != counts.end()) out.clients = it->second;
    out.dhcpRunning = d.dhcpRunning;
    if (c.deps.dhcp) out.dnsmasqRestarts = c.deps.dhcp->restarts(d.ifname);
    s.downstreams.push_back(std::move(out));
  }
  for (const auto& [ifname, n] : c.downstreamErrors) s.downstreamErrors.emplace_back(ifname, n);

  s.upstreamStates = {"absent", "down", "no-route", "no-dns", "ready", "probing", "partial", "no-internet", "captive-portal"};
  const auto selected = m.upstream();
  for (const auto& u : m.upstreams()) s.upstreams.push_back({u.ifname, upstreamState(u), selected && *selected == u.ifname});

  for (const auto& st : v.stations) {
    if (s.clients.size() >= kMaxMetricsClients) break;
    s.clients.push_back({v.wifiInterface, st.mac, st.rxBytes, st.txBytes, st.rxPackets, st.txPackets});
  }
  return s;
}

void getMetrics(WebContext& c, const Request& req, Reply reply) {
  const MetricsFormat format = metricsFormatFor(req.header("Accept"));
  std::weak_ptr<char> alive = c.alive;
  c.gatherClients([&c, alive, format, reply](ClientsView v) {
    if (alive.expired()) return;
    auto answer = [format, reply](MetricsSnapshot s) {
      Response r;
      r.set("Content-Type", contentTypeOf(format));
      r.body = metricsText(s, format);
      reply(std::move(r));
    };
    MetricsSnapshot s = snapshotOf(c, v);
    if (!c.deps.softap) return answer(std::move(s));
    c.deps.softap->status([alive, answer, s = std::move(s), ifname = c.deps.softap->interface()](softap::ApStatus ap) mutable {
      if (alive.expired()) return;
      s.hostapd = MetricsSnapshot::Hostapd{ifname, ap.running, ap.restarts};
      answer(std::move(s));
    });
  });
}

}  // namespace

std::optional<Response> metricsRefusal(WebContext& c, const Request& req) {
  // This machine: the peer and the address it connected to are both loopback (a downstream
  // cannot forge that: the kernel drops 127/8 arriving on another interface).
  if (isLoopbackAddress(req.peer) && (req.local.empty() || isLoopbackAddress(req.local))) return std::nullopt;
  const std::string& token = c.deps.config().webMetricsToken;
  if (token.empty())
    return errorResponse(403, "forbidden", "/metrics is served to this machine only: set [web] metrics_token to scrape it from elsewhere");
  if (auto wait = c.metricsLimiter.retryAfter(req.peer); wait.count() > 0)
    return retryLater(429, "rate-limited", "too many wrong metrics tokens; try again in " + std::to_string(wait.count()) + " s",
                      wait.count());
  const std::string* authorization = req.header("Authorization");
  if (bearerTokenMatches(authorization, token)) return std::nullopt;
  if (authorization) {  // a guess (no header guesses nothing: not counted)
    c.metricsLimiter.begin(req.peer);
    c.metricsLimiter.failed(req.peer);
    log::warning("web: wrong metrics token from ", req.peer);
  }
  Response r = errorResponse(401, "unauthenticated", "send Authorization: Bearer <[web] metrics_token>");
  r.set("WWW-Authenticate", "Bearer realm=\"tetherd metrics\"");
  return r;
}

void countMetricsEvent(WebContext& c, const Event& e) {
  const auto* st = std::get_if<events::TetherStateChanged>(&e.what);
  if (!st || !st->error || st->error->code == Errc::Ok) return;
  if (!st->ifname) {
    ++c.tetheringErrors;
    return;
  }
  // Bounded: interfaces come and go (USB, Bluetooth); past the bound, new names are not counted.
  if (auto it = c.downstreamErrors.find(*st->ifname); it != c.downstreamErrors.end()) ++it->second;
  else if (c.downstreamErrors.size() < WebContext::kMaxCountedDownstreams) c.downstreamErrors.emplace(*st->ifname, 1);
}

void addMetricsRoutes(RouteTable& routes, WebContext& c) {
  routes.push_back({"GET", "/metrics", Access::Metrics, "Prometheus metrics (OpenMetrics or text 0.0.4)",
                    [&c](const Request& req, const Params&, Session*, Reply reply) { getMetrics(c, req, std::move(reply)); }});
}

}  // namespace tetherd::web
