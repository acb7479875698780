// WebApp: the admin page without its sockets. A request goes in (web::Request), a response
// comes out through the reply callback, on the daemon's event loop. It owns the route table
// (each route declares whether it needs a session), authentication (password file, sessions,
// CSRF, login rate limit, the hashing worker), the live event streams and the traffic history,
// and calls the same TetherManager / SoftApService operations as the control-socket commands.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "softap/service/softap_service.h"
#include "tether/core/client_actions.h"
#include "tether/control/command_table.h"
#include "tether/core/tether_manager.h"
#include "web/auth.h"
#include "web/hash_worker.h"
#include "web/http.h"
#include "web/runtime_settings.h"
#include "web/traffic.h"

namespace tetherd::web {

struct ClientsView;

enum class Access { Public, Session };

struct WebDeps {
  boost::asio::io_context& io;
  TetherManager& manager;
  softap::SoftApService* softap = nullptr;  // none: the Wi-Fi routes answer 503
  // The daemon's running configuration, and how to replace it (the SIGHUP path: DHCP, soft AP
  // and manager are reconfigured).
  std::function<const Config&()> config;
  std::function<void(const Config&)> reconfigure;
  Clock clock = [] { return std::chrono::steady_clock::now(); };
  std::function<long long()> epochMs{};  // wall clock; default: system_clock
  HashParams hash = defaultHashParams();
  // Names the Host header may carry besides IP literals and "localhost" (default: this
  // machine's host name and <name>.local). A DNS-rebinding page has its own name: refused.
  std::vector<std::string> hostNames{};
  // The clients (from the DHCP service's leases) and their kick/block/unblock: the daemon's,
  // shared with the `client` commands. Required.
  ClientActions* clients = nullptr;
};

using Params = std::map<std::string, std::string>;
using Handler = std::function<void(const Request&, const Params&, Session*, Reply)>;

struct Route {
  std::string method;   // GET, POST, PUT
  std::string pattern;  // "/api/clients/{mac}/kick": {name} matches one path segment
  Access access;
  std::string summary;
  Handler handler;
};

class WebApp {
 public:
  explicit WebApp(WebDeps deps);
  ~WebApp();
  WebApp(const WebApp&) = delete;
  WebApp& operator=(const WebApp&) = delete;

  Status load();  // the password file
  void handle(const Request& req, Reply reply);
  const std::vector<Route>& routes() const { return routes_; }

  // A manager / soft AP event (6xx): pushes a fresh status to the event streams.
  void onEvent(int code, const std::string& message);
  void reconfigure(const Config& config);  // session limits
  // `web set-password <password>` (tetherctl web set-password - reads it from stdin) and
  // `web status`; `extraStatus` adds the listening addresses.
  void registerCommands(CommandTable& table, std::function<std::string()> extraStatus);

  bool passwordSet() const { return password_.isSet(); }
  size_t sessionCount() { return sessions_.size(); }
  size_t subscriberCount() const;
  bool tickArmed() const { return tickArmed_; }
  const TrafficMeter& traffic() const { return meter_; }
  SessionStore& sessions() { return sessions_; }
  LoginLimiter& limiter() { return limiter_; }
  // Take a traffic sample and push status + traffic to the streams now (the 2 s tick).
  void tick();

 private:
  void addRoutes();
  void dispatchApi(const Request& req, Reply reply);
  void serveStatic(const Request& req, Reply reply);
  bool hostAllowed(const Request& req) const;
  std::string checkOrigin(const Request& req) const;  // "" or why refused

  // Handlers.
  void getSession(const Request&, const Params&, Session*, Reply);
  void postSetup(const Request&, const Params&, Session*, Reply);
  void postLogin(const Request&, const Params&, Session*, Reply);
  void postLogout(const Request&, const Params&, Session*, Reply);
  void postPassword(const Request&, const Params&, Session*, Reply);
  void getStatus(const Request&, const Params&, Session*, Reply);
  void getClients(const Request&, const Params&, Session*, Reply);
  void postClientAction(const Request&, const Params&, Session*, Reply, const std::string& action);
  void postInterface(const Request&, const Params&, Session*, Reply, bool start);
  void getWifi(const Request&, const Params&, Session*, Reply);
  void putWifi(const Request&, const Params&, Session*, Reply);
  void getWifiQr(const Request&, const Params&, Session*, Reply);
  void getTraffic(const Request&, const Params&, Session*, Reply);
  void getSettings(const Request&, const Params&, Session*, Reply);
  void putSettings(const Request&, const Params&, Session*, Reply);
  void getEvents(const Request&, const Params&, Session*, Reply);

  // Views.
  ClientsView leasesView();
  void gatherClients(std::function<void(ClientsView)> done);
  std::string statusJson();
  void loginResponse(const std::string& peer, Reply reply, int status = 200);
  void armTick();
  void broadcast(const std::string& event, const std::string& data);

  WebDeps deps_;
  ClientActions& clients() { return *deps_.clients; }
  std::vector<Route> routes_;
  PasswordFile password_;
  SessionStore sessions_;
  LoginLimiter limiter_;
  std::unique_ptr<HashWorker> worker_;
  TrafficMeter meter_;
  std::vector<std::weak_ptr<EventStream>> streams_;
  boost::asio::steady_timer tickTimer_;
  bool tickArmed_ = false;
  bool statusPushPending_ = false;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace tetherd::web
