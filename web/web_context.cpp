#include "web/web_context.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/system/dnsmasq.h"

namespace tetherd::web {

namespace asio = boost::asio;
using std::chrono::seconds;

WebContext::WebContext(WebDeps d)
    : deps(std::move(d)),
      password(deps.config().stateDir + "/web-password"),
      sessions(deps.clock, seconds(deps.config().webSessionIdleSec), seconds(deps.config().webSessionLifetimeSec)),
      limiter(deps.clock),
      worker(std::make_unique<HashWorker>(deps.io, deps.hash)),
      tickTimer(deps.io),
      startEpochSec(deps.epochMs() / 1000),
      metricsLimiter(deps.clock) {}

WebContext::~WebContext() {
  for (auto& w : streams)
    if (auto s = w.lock()) s->end();
  worker.reset();  // joins the hashing thread
}

void WebContext::makeSetupCode() {
  if (password.isSet()) {
    setupCode.clear();
    return;
  }
  if (!setupCode.empty()) return;
  // 48 bits, read aloud or typed: "3f9a-07c2-d1e4". Wrong codes count as wrong passwords.
  const std::string hex = randomHex(6);
  setupCode = hex.substr(0, 4) + "-" + hex.substr(4, 4) + "-" + hex.substr(8, 4);
  log::notice("web: no admin password yet: set it on this machine (http://127.0.0.1:", deps.config().webPort,
              "/), from another device with the one-time setup code ", setupCode,
              " (tetherctl web setup-code prints it), or with tetherctl web set-password -");
}

// ---- views ------------------------------------------------------------------------------------

ClientsView WebContext::leasesView() {
  ClientsView v;
  v.nowEpochSec = deps.epochMs() / 1000;
  if (deps.softap) v.wifiInterface = deps.softap->interface();
  v.blocked = clients().blocked();
  for (const auto& p : clients().pinned()) v.pinned[p.mac] = p.ip.str();
  v.limits = clients().limits();
  for (auto& d : clients().clients(v.nowEpochSec)) {
    for (const auto& [mac, addrs] : d.ipv6) {  // the neighbour table's, by MAC
      auto sorted = addrs;  // in the order `client list` shows them
      std::sort(sorted.begin(), sorted.end());
      for (const auto& a : sorted) v.ipv6[mac].push_back(a.str());
    }
    v.downstreams.push_back({d.ifname, d.kind, std::move(d.leases)});
  }
  if (deps.usage != nullptr) {
    deps.usage->sample();
    v.usageKnown = true;
    v.usageToday = deps.usage->todayTotals();
  }
  v.quotas = quotasView();
  return v;
}

std::map<std::string, QuotaView> WebContext::quotasView(bool downstream) const {
  // The core's pure functions over the usage history as it is (the caller read the counters,
  // or chose not to): no counter read here.
  std::map<std::string, QuotaView> out;
  const Quotas& quotas = clients().quotas();
  if ((downstream ? quotas.downstreams : quotas.clients).empty()) return out;
  const int monthStart = deps.config().quotaMonthStart;
  const int today = deps.usage != nullptr ? deps.usage->today() : localDay(deps.epochMs() / 1000);
  const QuotaUse use = deps.usage != nullptr ? quotaUse(quotas, deps.usage->history(), today, monthStart) : QuotaUse{};
  for (const auto& row : quotaRows(quotas, use, today, monthStart)) {
    if (row.downstream != downstream) continue;
    out[row.key] = QuotaView{row.quota.bytes, row.used, std::string(periodName(row.quota.period)), row.resets};
  }
  return out;
}

SelfView WebContext::selfView(const std::string& peer) {
  SelfView v;
  auto ip = Ipv4Address::parse(peer);
  if (!ip) return v;
  const long long now = deps.epochMs() / 1000;
  // The leases of the downstream whose subnet holds the peer: nothing of any other client's
  // state leaves this function.
  std::string downstream;
  for (const auto& d : deps.manager.downstreams())
    if (d.address && Ipv4Prefix{d.address->network(), d.address->length}.contains(*ip)) downstream = d.ifname;
  if (downstream.empty()) return v;
  for (const auto& dc : clients().clients(now)) {
    if (dc.ifname != downstream) continue;
    for (const auto& l : dc.leases) {
      if (l.ip != *ip || l.mac.empty()) continue;
      v.known = true;
      v.mac = l.mac;
      v.ip = l.ip.str();
      v.hostname = l.hostname;
    }
  }
  if (!v.known) return v;
  const auto blocked = clients().blocked();
  v.blocked = std::find(blocked.begin(), blocked.end(), v.mac) != blocked.end();
  // Bounded work for an unauthenticated route: the counters are read at most every few seconds.
  if (deps.usage != nullptr && (now - lastSelfSampleSec >= kSelfSampleSec || now < lastSelfSampleSec)) {
    deps.usage->sample();
    lastSelfSampleSec = now;
  }
  auto quotas = quotasView();
  if (auto q = quotas.find(v.mac); q != quotas.end()) v.quota = q->second;
  return v;
}

void WebContext::gatherClients(std::function<void(ClientsView)> done) {
  ClientsView v = leasesView();
  const bool apTethered = deps.softap && std::any_of(v.downstreams.begin(), v.downstreams.end(), [&](const auto& d) {
                            return d.ifname == v.wifiInterface;
                          }) && deps.softap->isApInterface(v.wifiInterface);
  if (!apTethered) return done(std::move(v));
  std::weak_ptr<char> weak = alive;
  deps.softap->stations([weak, v = std::move(v), done = std::move(done)](Result<std::vector<softap::StationView>> list) mutable {
    if (weak.expired()) return;
    if (list) {
      v.stationsKnown = true;
      v.stations = std::move(*list);
    }
    done(std::move(v));
  });
}

std::string WebContext::statusJson() {
  TetherManager& m = deps.manager;
  StatusView v;
  v.tetheringStarted = m.tetheringStarted();
  v.masterState = TetherMasterMachine::stateName(m.masterState());
  v.masterError = m.masterError();
  v.upstream = m.upstream();
  v.upstreams = m.upstreams();
  for (const auto& u : v.upstreams) {
    auto a = m.addressesOf(u.ifname);
    if (!a.empty()) v.upstreamAddresses[u.ifname] = a.front().prefix.str();
  }
  v.downstreams = m.downstreams();
  v.dns = m.dnsForwarders();
  v.ipv6 = m.ipv6Upstream();
  if (auto st = m.stats()) v.counters = *st;
  v.clientCounts = clientCounts(leasesView());  // the counters were read there
  v.quotas = quotasView(true);
  v.nowEpochSec = deps.epochMs() / 1000;
  return statusImpl(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- live views -------------------------------------------------------------------------------

size_t WebContext::subscriberCount() const {
  size_t n = 0;
  for (const auto& w : streams)
    if (auto s = w.lock(); s && !s->ended()) ++n;
  return n;
}

void WebContext::broadcast(const std::string& event, const std::string& data) {
  for (auto& w : streams) {
    auto s = w.lock();
    if (!s || s->ended()) continue;
    if (!sessions.byKey(s->sessionKey())) {  // logged out or expired: the stream ends too
      s->end();
      continue;
    }
    s->send(event, data);
  }
  std::erase_if(streams, [](const std::weak_ptr<EventStream>& w) {
    auto s = w.lock();
    return !s || s->ended();
  });
}

void WebContext::endStreams(const std::function<bool(const std::string& sessionKey)>& which) {
  for (auto& w : streams)
    if (auto s = w.lock(); s && which(s->sessionKey())) s->end();
}

void WebContext::armTick() {
  if (subscriberCount() == 0) {  // no timer while nobody watches
    if (tickArmed) tickTimer.cancel();
    tickArmed = false;
    return;
  }
  if (tickArmed) return;
  tickArmed = true;
  tickTimer.expires_after(kTickInterval);
  std::weak_ptr<char> weak = alive;
  tickTimer.async_wait([this, weak](boost::system::error_code ec) {
    if (ec || weak.expired()) return;
    tickArmed = false;
    tick();
  });
}

void WebContext::tick() {
  std::weak_ptr<char> weak = alive;
  gatherClients([this, weak](ClientsView v) {
    if (weak.expired()) return;
    std::map<std::string, ByteCounts> downs, clients;
    if (auto st = deps.manager.stats())
      for (const auto& c : *st) {
        downs[c.downstream].rx += c.rxBytes;
        downs[c.downstream].tx += c.txBytes;
      }
    for (const auto& s : v.stations)
      if (s.rxBytes && s.txBytes) clients[s.mac] = ByteCounts{*s.txBytes, *s.rxBytes};  // AP tx = client download
    if (auto sample = meter.feed(deps.clock(), deps.epochMs(), downs, clients))
      broadcast("traffic", sampleJson(*sample).dump());
    broadcast("status", statusJson());
    armTick();
  });
}

void WebContext::pushStatusSoon() {
  if (statusPushPending || subscriberCount() == 0) return;
  statusPushPending = true;
  std::weak_ptr<char> weak = alive;
  // A burst of events (a downstream coming up) becomes one push, after the burst.
  asio::post(deps.io, [this, weak] {
    if (weak.expired()) return;
    statusPushPending = false;
    broadcast("status", statusJson());
  });
}

}  // namespace tetherd::web
