#include "web/web_server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <boost/asio/post.hpp>
#include <set>

#include "tether/base/log.h"
#include "web/http/http_server.h"

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

struct WebServer::Impl {
  explicit Impl(WebDeps d)
      : deps(d), app(std::move(d)), enabled(deps.config().webEnabled),
        http(deps.io, static_cast<uint16_t>(deps.config().webPort), [this](Request req, Reply reply) {
          app.handle(req, std::move(reply));
        }) {
    http.setSessionCheck([this](const Request& req) { return app.hasSession(req); });
  }

  WebDeps deps;
  WebApp app;
  bool enabled;  // as at start: [web] enabled and port change on restart only
  HttpServer http;
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

  void reconcile() { http.listenAt(desired()); }
};

WebServer::WebServer(WebDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}

WebServer::~WebServer() { stop(); }

Status WebServer::start() {
  if (auto st = impl_->app.load(); !st) return st;
  if (!impl_->enabled) return {};
  impl_->reconcile();
  return {};
}

void WebServer::stop() { impl_->http.stop(); }

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
  if (config.webPort != m.http.port() || config.webEnabled != m.enabled)
    log::warning("web: enabling, disabling or moving the admin page takes effect on restart");
  m.app.reconfigure(config);
  m.reconcile();
}

std::vector<std::string> WebServer::listening() const { return impl_->http.listening(); }

size_t WebServer::connectionCount() const { return impl_->http.connectionCount(); }

WebApp& WebServer::app() { return impl_->app; }

}  // namespace tetherd::web
