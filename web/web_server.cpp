#include "web/web_server.h"

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <set>

#include "tether/base/log.h"
#include "web/http_connection.h"

namespace tetherd::web {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Connection = HttpConnection<tcp::socket>;

namespace {
constexpr size_t kMaxConnections = 64;
}

struct WebServer::Impl {
  explicit Impl(WebDeps d)
      : deps(d), app(std::move(d)), port(static_cast<uint16_t>(deps.config().webPort)), enabled(deps.config().webEnabled) {}

  struct Listener {
    std::string address;
    std::string device;  // SO_BINDTODEVICE; "" = none
    std::unique_ptr<tcp::acceptor> acceptor;
  };

  WebDeps deps;
  WebApp app;
  uint16_t port;
  bool enabled;  // as at start: [web] enabled and port change on restart only
  bool stopped = false;
  bool reconcilePending = false;
  std::map<std::string, Listener> listeners;  // "address%device"
  std::vector<std::weak_ptr<Connection>> connections;
  std::shared_ptr<char> alive = std::make_shared<char>();

  // Where to listen now: (address, device).
  std::set<std::pair<std::string, std::string>> desired() {
    std::set<std::pair<std::string, std::string>> out;
    if (!enabled) return out;
    const Config& c = deps.config();
    if (c.webListenLocalhost) out.insert({"127.0.0.1", "lo"});
    for (const auto& a : c.webListenAddresses) out.insert({a.str(), ""});
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
    if (stopped) return;
    auto want = desired();
    for (auto it = listeners.begin(); it != listeners.end();) {
      if (want.count({it->second.address, it->second.device})) {
        ++it;
        continue;
      }
      boost::system::error_code ec;
      it->second.acceptor->close(ec);
      log::info("web: stopped listening on ", it->second.address, ":", port);
      it = listeners.erase(it);
    }
    for (const auto& [address, device] : want) {
      const std::string key = address + "%" + device;
      if (listeners.count(key)) continue;
      if (auto st = open(key, address, device); !st) {
        log::warning("web: cannot listen on ", address, ":", port, device.empty() ? "" : " (" + device + ")", ": ",
                     st.error().message);
      }
    }
  }

  Status open(const std::string& key, const std::string& address, const std::string& device) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address_v4(address, ec);
    if (ec) return makeError(Errc::InvalidArgument, "bad address " + address);
    auto acc = std::make_unique<tcp::acceptor>(deps.io);
    acc->open(tcp::v4(), ec);
    if (ec) return makeError(Errc::SystemError, "socket: " + ec.message());
    acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!device.empty()) {
      // Only packets that arrive on this interface reach the socket (the weak host model would
      // otherwise accept the downstream's address on any interface).
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_BINDTODEVICE, device.c_str(),
                       static_cast<socklen_t>(device.size() + 1)) != 0)
        return systemError("SO_BINDTODEVICE " + device, errno);
    }
    acc->bind(tcp::endpoint(addr, port), ec);
    if (ec) return makeError(Errc::SystemError, "bind: " + ec.message());
    acc->listen(64, ec);
    if (ec) return makeError(Errc::SystemError, "listen: " + ec.message());
    tcp::acceptor* raw = acc.get();
    listeners[key] = Listener{address, device, std::move(acc)};
    log::notice("web: listening on http://", address, ":", port, "/", device.empty() ? "" : " (" + device + ")");
    accept(raw);
    return {};
  }

  void accept(tcp::acceptor* acc) {
    std::weak_ptr<char> weak = alive;
    acc->async_accept([this, weak, acc](boost::system::error_code ec, tcp::socket socket) {
      if (weak.expired() || ec == asio::error::operation_aborted) return;
      if (!acc->is_open()) return;
      if (!ec) onAccepted(std::move(socket));
      else log::debug("web: accept: ", ec.message());
      accept(acc);
    });
  }

  void onAccepted(tcp::socket socket) {
    std::erase_if(connections, [](const std::weak_ptr<Connection>& w) {
      auto c = w.lock();
      return !c || c->closed();
    });
    if (connections.size() >= kMaxConnections) {
      // Still an HTTP answer: a few bytes into a fresh socket's empty send buffer never block.
      log::warning("web: ", connections.size(), " connections open; refusing one");
      boost::system::error_code ec;
      Response busy = plainError(503, "too many connections; try again");
      busy.set("Retry-After", "5");
      socket.non_blocking(true, ec);
      asio::write(socket, asio::buffer(serialize(busy, false)), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
      socket.close(ec);
      return;
    }
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    auto remote = socket.remote_endpoint(ec);
    std::string peer = ec ? "?" : remote.address().to_string();
    auto conn = std::make_shared<Connection>(std::move(socket), peer,
                                             [this](Request req, Reply reply) { app.handle(req, std::move(reply)); });
    connections.push_back(conn);
    conn->start();
  }
};

WebServer::WebServer(WebDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}

WebServer::~WebServer() { stop(); }

Status WebServer::start() {
  if (auto st = impl_->app.load(); !st) return st;
  if (!impl_->enabled) return {};
  if (!impl_->app.passwordSet())
    log::notice("web: no admin password yet: the first visit sets it (or: tetherctl web set-password -)");
  impl_->reconcile();
  return {};
}

void WebServer::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  for (auto& [key, l] : m.listeners) {
    boost::system::error_code ec;
    l.acceptor->close(ec);
  }
  m.listeners.clear();
  for (auto& w : m.connections)
    if (auto c = w.lock()) c->close();
  m.connections.clear();
}

void WebServer::onEvent(const Event& event) {
  Impl& m = *impl_;
  m.app.onEvent(event);
  if (m.reconcilePending || m.stopped) return;
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
  if (config.webPort != m.port || config.webEnabled != m.enabled)
    log::warning("web: enabling, disabling or moving the admin page takes effect on restart");
  m.app.reconfigure(config);
  m.reconcile();
}

std::vector<std::string> WebServer::listening() const {
  std::vector<std::string> out;
  for (const auto& [key, l] : impl_->listeners) out.push_back(l.address + ":" + std::to_string(impl_->port));
  return out;
}

size_t WebServer::connectionCount() const {
  size_t n = 0;
  for (const auto& w : impl_->connections)
    if (auto c = w.lock(); c && !c->closed()) ++n;
  return n;
}

WebApp& WebServer::app() { return impl_->app; }

}  // namespace tetherd::web
