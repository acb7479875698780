// The admin page's resources, one file each, as bmcweb registers its routes per resource: each
// add...Routes() appends its routes (method, pattern, who may call it, handler) to WebApp's
// table; the handlers gather views from the WebContext, call the pure JSON functions of api.h
// and the same TetherManager / SoftApService / ClientActions operations as the control socket.
// WebApp checks Host, Origin, the session and CSRF before a handler runs.
//   session.cpp     /api/session, /api/setup, /api/login, /api/logout, /api/password
//   status.cpp      /api/status
//   clients.cpp     /api/clients, /api/clients/{mac}/kick|block|unblock
//   interfaces.cpp  /api/interfaces/{name}/start|stop
//   wifi.cpp        /api/wifi, /api/wifi/qr.svg
//   events.cpp      /api/events (Server-Sent Events), /api/traffic
//   settings.cpp    /api/settings
//   metrics.cpp     /metrics (Prometheus; loopback, or a bearer token: no session)
//   static.cpp      everything outside /api: the embedded assets (web/ui)
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "web/auth.h"
#include "web/http/http.h"
#include "web/web_context.h"

namespace tetherd::web {

// Metrics: no session; this machine, or the bearer token of [web] metrics_token (metricsRefusal).
enum class Access { Public, Session, Metrics };

using Params = std::map<std::string, std::string>;
// The session is set for Access::Session routes (nullptr for public ones).
using Handler = std::function<void(const Request&, const Params&, Session*, Reply)>;

struct Route {
  std::string method;   // GET, POST, PUT
  std::string pattern;  // "/api/clients/{mac}/kick": {name} matches one path segment
  Access access;
  std::string summary;
  Handler handler;
};
using RouteTable = std::vector<Route>;

void addSessionRoutes(RouteTable& routes, WebContext& c);
void addStatusRoutes(RouteTable& routes, WebContext& c);
void addClientRoutes(RouteTable& routes, WebContext& c);
void addInterfaceRoutes(RouteTable& routes, WebContext& c);
void addWifiRoutes(RouteTable& routes, WebContext& c);
void addEventRoutes(RouteTable& routes, WebContext& c);
void addSettingsRoutes(RouteTable& routes, WebContext& c);
void addMetricsRoutes(RouteTable& routes, WebContext& c);

// Why an Access::Metrics request is refused (403 without a configured token, 401 with a wrong
// or missing one), nullopt when it may scrape (metrics.cpp).
std::optional<Response> metricsRefusal(WebContext& c, const Request& req);
// Counts the failures /metrics reports (a machine entering a state with an error).
void countMetricsEvent(WebContext& c, const Event& e);

// GET/HEAD of an embedded asset with its strong ETag (304 on If-None-Match); 404, 405 otherwise.
void serveStatic(const Request& req, const Reply& reply);

// The admin password set from outside the page (session.cpp; WebApp::setPassword).
void setAdminPassword(WebContext& c, const std::string& password, std::function<void(Status)> done);

}  // namespace tetherd::web
