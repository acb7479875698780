// WebServer: the admin page on the daemon's io_context. It listens only where the [web] listen
// setting says — each tethered downstream's own address (bound to that interface with
// SO_BINDTODEVICE, opened when the kernel has the address and closed when it goes, following
// the manager's events), 127.0.0.1 on lo, and explicit addresses — never 0.0.0.0. The
// firewall also drops the port on the upstreams (TetherManager::setAdminPorts). Requests go
// to a WebApp; the sockets are the HTTP layer's (web/http/http_server.h, where Beast is).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "web/web_app.h"

namespace tetherd::web {

// The interface that holds this IPv4 address now ("" when none does).
std::string interfaceHolding(const std::string& address);

class WebServer {
 public:
  explicit WebServer(WebDeps deps);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Loads the password file and opens the listeners that can open now.
  Status start();
  // Closes every listener and connection (daemon stop).
  void stop();
  // A manager / soft AP event: listeners follow the downstreams' addresses, streams get status.
  void onEvent(const Event& event);
  void reconfigure(const Config& config);
  // "a.b.c.d:port" of every open listener.
  std::vector<std::string> listening() const;
  size_t connectionCount() const;
  WebApp& app();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd::web
