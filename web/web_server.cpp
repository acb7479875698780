#include "web/web_server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <set>

#include "tether/base/log.h"
#include "web/http/http_server.h"
#include "web/http/https_redirect.h"
#include "web/http/tls_module.h"
#include "web/metrics.h"

namespace tetherd::web {

namespace asio = boost::asio;

std::string interfaceHolding(const std::string& address) {
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string out;
  for (struct ifaddrs* i = list; i && out.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_name) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const struct sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) && address == text) out = i->ifa_name;
  }
  ::freeifaddrs(list);
  return out;
}

SelfSignedNames selfSignedNamesFor(const Config& c, const std::string& hostname) {
  SelfSignedNames n;
  std::set<std::string> seen;
  auto address = [&](const std::string& a) {
    if (seen.insert(a).second) n.addresses.push_back(a);
  };
  address("127.0.0.1");
  for (const auto& k : c.kinds) address(k.subnet.host(1).str());  // each kind's downstream address
  for (const auto& a : c.webListenAddresses) address(a.str());
  // The host name only when it is a plain DNS name (it goes into OpenSSL's extension syntax).
  if (const std::string h = validHostOf(hostname); !h.empty() && h == hostname && h != "localhost")
    n.dnsNames.push_back(h);
  n.dnsNames.push_back("localhost");
  return n;
}

std::string systemHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

struct WebServer::Impl {
  explicit Impl(WebDeps d)
      : deps(d), app(std::move(d)), enabled(deps.config().webEnabled),
        httpsPort(deps.config().webHttps ? static_cast<uint16_t>(deps.config().webHttpsPort) : 0),
        certificate(deps.config().webCertificate), privateKey(deps.config().webPrivateKey),
        http(deps.io, static_cast<uint16_t>(deps.config().webPort), [this](Request req, Reply reply) {
          // With HTTPS on, plain HTTP serves the redirect and nothing else — but /metrics to
          // this machine, which carries no secret (a local scraper needs no certificate).
          if (httpsPort && !(req.path == "/metrics" && isLoopbackAddress(req.peer) && isLoopbackAddress(req.local)))
            return reply(httpsRedirect(req, httpsPort));
          app.handle(req, std::move(reply));
        }) {
    http.setSessionCheck([this](const Request& req) { return app.hasSession(req); });
  }

  WebDeps deps;
  WebApp app;
  bool enabled;  // as at start: [web] enabled and port change on restart only
  uint16_t httpsPort;  // 0: HTTPS off (as at start, like the port)
  std::string certificate, privateKey;  // as at start
  HttpServer http;
  std::unique_ptr<HttpServer> https;
  std::string fingerprint;
  bool reconcilePending = false;
  std::shared_ptr<char> alive = std::make_shared<char>();

  // Where to listen now.
  std::set<ListenPlace> desired() {
    std::set<ListenPlace> out;
    if (!enabled) return out;
    const Config& c = deps.config();
    if (c.webListenLocalhost) out.insert({"127.0.0.1", "lo"});
    // An explicit address is bound to the interface holding it now (a management LAN, a VPN or a
    // container bridge must not reach it through another interface); not held: not yet.
    for (const auto& a : c.webListenAddresses)
      if (auto dev = interfaceHolding(a.str()); !dev.empty()) out.insert({a.str(), dev});
    if (c.webListenDownstreams) {
      using S = TetherInterfaceMachine::State;
      for (const auto& d : deps.manager.downstreams()) {
        if (!d.address || (d.state != S::Tethered && d.state != S::Starting)) continue;
        // Only once the kernel has the address (its netlink event brings us here again).
        bool present = false;
        for (const auto& a : deps.manager.addressesOf(d.ifname))
          if (a.prefix.address == d.address->address) present = true;
        if (present) out.insert({d.address->address.str(), d.ifname});
      }
    }
    return out;
  }

  void reconcile() {
    const auto places = desired();
    http.listenAt(places);
    if (https) https->listenAt(places);
  }

  // [web] https = on: the user's certificate or the self-signed one in state_dir, in a TLS
  // server on the same places as plain HTTP. An error names the key and the cause.
  Status startHttps() {
    const Config& c = deps.config();
    auto module = tlsModule();  // OpenSSL is mapped from here on only
    if (!module) return module.error();
    const TlsModuleApi& tlsApi = **module;
    Result<TlsIdentity> id = c.webCertificate.empty()
                                 ? tlsApi.selfSignedIdentity(c.stateDir, selfSignedNamesFor(c, systemHostname()))
                                 : tlsApi.loadIdentity(c.webCertificate, c.webPrivateKey);
    if (!id) return id.error();
    auto tls = tlsApi.makeContext(*id);
    if (!tls) return tls.error();
    fingerprint = id->fingerprint;
    log::notice("web: HTTPS on port ", httpsPort, " with ",
                id->selfSigned ? (id->generated ? "a new self-signed certificate " : "the self-signed certificate ")
                               : "the certificate ",
                id->certificatePath, ", SHA-256 fingerprint ", fingerprint, "; plain HTTP only redirects there");
    https = std::make_unique<HttpServer>(deps.io, httpsPort, [this](Request req, Reply reply) {
      app.handle(req, [reply = std::move(reply)](Response r) {
        markCookiesSecure(r);
        reply(std::move(r));
      });
    }, std::move(*tls));
    https->setSessionCheck([this](const Request& req) { return app.hasSession(req); });
    return {};
  }
};

WebServer::WebServer(WebDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}

WebServer::~WebServer() { stop(); }

Status WebServer::start() {
  if (auto st = impl_->app.load(); !st) return st;
  if (!impl_->enabled) return {};
  if (impl_->httpsPort)
    if (auto st = impl_->startHttps(); !st) return st;
  impl_->reconcile();
  return {};
}

void WebServer::stop() {
  impl_->http.stop();
  if (impl_->https) impl_->https->stop();
}

void WebServer::onEvent(const Event& event) {
  Impl& m = *impl_;
  m.app.onEvent(event);
  if (m.reconcilePending || m.http.stopped()) return;
  m.reconcilePending = true;
  std::weak_ptr<char> weak = m.alive;
  asio::post(m.deps.io, [this, weak] {
    if (weak.expired()) return;
    impl_->reconcilePending = false;
    impl_->reconcile();
  });
}

void WebServer::reconfigure(const Config& config) {
  Impl& m = *impl_;
  const uint16_t httpsPort = config.webHttps ? static_cast<uint16_t>(config.webHttpsPort) : 0;
  if (config.webPort != m.http.port() || config.webEnabled != m.enabled || httpsPort != m.httpsPort ||
      config.webCertificate != m.certificate || config.webPrivateKey != m.privateKey)
    log::warning("web: enabling, disabling or moving the admin page (HTTPS and its certificate too) takes effect on restart");
  m.app.reconfigure(config);
  m.reconcile();
}

std::vector<std::string> WebServer::listening() const { return impl_->http.listening(); }

std::vector<std::string> WebServer::listeningHttps() const {
  return impl_->https ? impl_->https->listening() : std::vector<std::string>{};
}

uint16_t WebServer::httpsPort() const { return impl_->httpsPort; }

const std::string& WebServer::tlsFingerprint() const { return impl_->fingerprint; }

size_t WebServer::connectionCount() const {
  return impl_->http.connectionCount() + (impl_->https ? impl_->https->connectionCount() : 0);
}

WebApp& WebServer::app() { return impl_->app; }

}  // namespace tetherd::web
