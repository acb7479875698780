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

#include "web/http/tls_identity.h"
#include "web/web_app.h"

namespace tetherd::web {

// The interface that holds this IPv4 address now ("" when none does).
std::string interfaceHolding(const std::string& address);

// The self-signed certificate's subjectAltName: 127.0.0.1, each kind's downstream address
// (host .1 of its subnet), the explicit [web] listen addresses, the host name when it is a
// plain DNS name, and "localhost".
SelfSignedNames selfSignedNamesFor(const Config& config, const std::string& hostname);

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
  // "a.b.c.d:port" of every open listener (plain HTTP; HTTPS's).
  std::vector<std::string> listening() const;
  std::vector<std::string> listeningHttps() const;
  // [web] https = on: its port and the certificate's SHA-256 fingerprint ("AA:BB:..."); 0 / "" when off.
  uint16_t httpsPort() const;
  const std::string& tlsFingerprint() const;
  size_t connectionCount() const;
  WebApp& app();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd::web
