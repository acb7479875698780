// WebContext: what the admin page's resources share — its dependencies (the manager, the soft AP,
// the configuration), authentication (password file, sessions, login rate limit, the hashing
// worker), the live views (open event streams, the 2 s tick, the traffic history) and the views
// gathered for the pure JSON functions of api.h. WebApp owns one and hands it to every route
// (web/routes/*.cpp); nothing here parses requests or picks routes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "softap/service/softap_service.h"
#include "tether/core/client_actions.h"
#include "tether/core/client_usage.h"
#include "tether/core/tether_manager.h"
#include "web/api.h"
#include "web/auth.h"
#include "web/hash_worker.h"
#include "web/http/http.h"
#include "web/traffic.h"

namespace tetherd::web {

struct WebDeps {
  boost::asio::io_context& io;
  TetherManager& manager;
  softap::SoftApService* softap = nullptr;  // none: the Wi-Fi routes answer 503
  // The daemon's running configuration, and how to change it: the one path SIGHUP takes too
  // (tether/app/running_config.h: every subsystem reconfigured, logged, "Config reloaded").
  std::function<const Config&()> config;
  std::function<void(const Config&)> applyConfig;
  Clock clock = [] { return std::chrono::steady_clock::now(); };
  std::function<long long()> epochMs{};  // wall clock; default: system_clock
  HashParams hash = defaultHashParams();
  // Names the Host header may carry besides IP literals and "localhost" (default: this
  // machine's host name and <name>.local). A DNS-rebinding page has its own name: refused.
  std::vector<std::string> hostNames{};
  // The clients (from the DHCP service's leases) and their kick/block/unblock: the daemon's,
  // shared with the `client` commands. Required.
  ClientActions* clients = nullptr;
  // The DHCP service, for its restart counts (/metrics); none: not reported.
  const DhcpService* dhcp = nullptr;
  // Per-client usage (issue 14): today's bytes in /api/clients, /api/clients/usage; none: not shown.
  ClientUsage* usage = nullptr;
};

// How often the live views get status and traffic while someone watches.
inline constexpr std::chrono::seconds kTickInterval{2};

struct WebContext {
  explicit WebContext(WebDeps deps);  // deps with their defaults filled in
  ~WebContext();
  WebContext(const WebContext&) = delete;
  WebContext& operator=(const WebContext&) = delete;

  WebDeps deps;
  PasswordFile password;
  SessionStore sessions;
  LoginLimiter limiter;
  std::unique_ptr<HashWorker> worker;
  // While no password is set: the one-time code that lets a device other than this machine set
  // it (logged by tetherd, printed by `tetherctl web setup-code`). "" once a password is set.
  std::string setupCode;
  void makeSetupCode();  // a fresh one when no password is set and none exists, else nothing
  TrafficMeter meter;
  std::vector<std::weak_ptr<EventStream>> streams;
  boost::asio::steady_timer tickTimer;
  bool tickArmed = false;
  bool statusPushPending = false;
  std::shared_ptr<char> alive = std::make_shared<char>();  // expires with the context

  // ---- /metrics: when the page started (Unix time), failures since (routes/metrics.cpp)
  long long startEpochSec = 0;
  uint64_t tetheringErrors = 0;
  std::map<std::string, uint64_t> downstreamErrors;  // at most kMaxCountedDownstreams names
  static constexpr size_t kMaxCountedDownstreams = 64;
  // Wrong metrics tokens, throttled like wrong passwords but apart from them (a scraper with
  // a stale token must not slow the admins' logins).
  LoginLimiter metricsLimiter;

  ClientActions& clients() { return *deps.clients; }
  const ClientActions& clients() const { return *deps.clients; }

  // ---- views for api.h
  ClientsView leasesView();  // the leases of the configured downstreams
  // Each client's quota (by MAC) with what it used in its period, from the usage history as
  // it is (no counter read: the caller decides when to read them).
  // downstream: the downstreams' quotas (by interface) instead.
  std::map<std::string, QuotaView> quotasView(bool downstream = false) const;
  // /api/me: the client whose lease holds `peer` (an IPv4 address), about itself only.
  SelfView selfView(const std::string& peer);
  long long lastSelfSampleSec = 0;  // /api/me reads the counters at most every kSelfSampleSec
  static constexpr long long kSelfSampleSec = 5;
  void gatherClients(std::function<void(ClientsView)> done);  // and the soft AP's stations
  std::string statusJson();

  // ---- live views (/api/events)
  size_t subscriberCount() const;
  // One event to every stream whose session is still live (the others end).
  void broadcast(const std::string& event, const std::string& data);
  // Ends the streams of the sessions `which` names by key.
  void endStreams(const std::function<bool(const std::string& sessionKey)>& which);
  void armTick();  // the 2 s tick, while someone watches
  void tick();     // a traffic sample, then status + traffic to the streams
  void pushStatusSoon();  // one status push after the current burst of changes
};

}  // namespace tetherd::web
