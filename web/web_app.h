// WebApp: the admin page without its sockets. A request goes in (web::Request), a response
// comes out through the reply callback, on the daemon's event loop. It owns the route table —
// filled by the resources of web/routes/ (one file each), every route declaring whether it
// needs a session — and the WebContext they share (authentication, live views, the daemon's
// operations). Before a handler runs it checks the Host header (DNS rebinding), the Origin of
// state changes, the JSON content type, the session and its CSRF token; every error is an HTTP
// answer. Paths outside /api are the embedded assets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tether/core/events.h"
#include "web/http/http.h"
#include "web/routes/routes.h"
#include "web/web_context.h"

namespace tetherd::web {

class WebApp {
 public:
  explicit WebApp(WebDeps deps);
  ~WebApp();
  WebApp(const WebApp&) = delete;
  WebApp& operator=(const WebApp&) = delete;

  Status load();  // the password file
  void handle(const Request& req, Reply reply);
  const std::vector<Route>& routes() const { return routes_; }

  // A manager / soft AP event: sent to the event streams as "change" (eventJson), and a fresh
  // status follows once the burst it belongs to is over.
  void onEvent(const Event& event);
  void reconfigure(const Config& config);  // session limits
  // The admin password set from outside the page (`tetherctl web set-password`): checked, hashed
  // on the worker, stored; every session and live view ends. done() gets InvalidArgument
  // "password: <why>" for a bad one, Busy when the worker's queue is full.
  void setPassword(const std::string& password, std::function<void(Status)> done);

  bool passwordSet() const { return ctx_->password.isSet(); }
  // The one-time setup code while no password is set ("" after).
  const std::string& setupCode() const { return ctx_->setupCode; }
  // The request carries the cookie of a live session (not counted as activity).
  bool hasSession(const Request& req) { return ctx_->sessions.find(req.cookie(kSessionCookie), false) != nullptr; }
  size_t sessionCount() { return ctx_->sessions.size(); }
  size_t subscriberCount() const { return ctx_->subscriberCount(); }
  bool tickArmed() const { return ctx_->tickArmed; }
  const TrafficMeter& traffic() const { return ctx_->meter; }
  SessionStore& sessions() { return ctx_->sessions; }
  LoginLimiter& limiter() { return ctx_->limiter; }
  // Take a traffic sample and push status + traffic to the streams now (the 2 s tick).
  void tick() { ctx_->tick(); }

 private:
  void dispatchApi(const Request& req, Reply reply);
  bool hostAllowed(const Request& req) const;
  std::string checkOrigin(const Request& req) const;  // "" or why refused

  std::unique_ptr<WebContext> ctx_;  // first: the routes refer to it
  RouteTable routes_;
};

}  // namespace tetherd::web
