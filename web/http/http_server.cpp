#include "web/http/http_server.h"

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <map>

#include "tether/base/log.h"
#include "tether/base/result.h"
#include "web/http/connection_slots.h"
#include "web/http/http_connection.h"
#include "web/http/tls_server.h"

namespace tetherd::web {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Connection = HttpConnection<tcp::socket>;


struct HttpServer::Impl {
  Impl(asio::io_context& i, uint16_t p, Handler h, std::shared_ptr<TlsContext> t)
      : io(i), port(p), handler(std::move(h)), tls(std::move(t)) {}

  struct Listener {
    std::string address;
    std::string device;  // SO_BINDTODEVICE; "" = none
    std::unique_ptr<tcp::acceptor> acceptor;
  };

  asio::io_context& io;
  uint16_t port;
  Handler handler;
  std::shared_ptr<TlsContext> tls;  // set: every connection is TLS
  bool stopped = false;
  std::map<std::string, Listener> listeners;  // "address%device"
  struct Open {
    std::weak_ptr<OpenConnection> conn;
    std::string peer;
    std::string listener;  // its key in `listeners`
    bool sessionOnly = false;
    uint64_t order = 0;
  };
  std::vector<Open> connections;
  uint64_t accepted = 0;
  SlotPolicy policy;
  std::function<bool(const Request&)> sessionCheck = [](const Request&) { return false; };
  std::shared_ptr<char> alive = std::make_shared<char>();

  void listenAt(const std::set<ListenPlace>& want) {
    if (stopped) return;
    for (auto it = listeners.begin(); it != listeners.end();) {
      if (want.count({it->second.address, it->second.device})) {
        ++it;
        continue;
      }
      boost::system::error_code ec;
      it->second.acceptor->close(ec);
      log::info("web: stopped listening on ", it->second.address, ":", port);
      // Its connections go with it (the downstream they came through is gone).
      for (auto& o : connections)
        if (auto c = o.conn.lock(); c && o.listener == it->first) c->close();
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
    auto acc = std::make_unique<tcp::acceptor>(io);
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
    log::notice("web: listening on ", tls ? "https://" : "http://", address, ":", port, "/", device.empty() ? "" : " (" + device + ")");
    accept(raw, key);
    return {};
  }

  void accept(tcp::acceptor* acc, const std::string& key) {
    std::weak_ptr<char> weak = alive;
    acc->async_accept([this, weak, acc, key](boost::system::error_code ec, tcp::socket socket) {
      if (weak.expired() || ec == asio::error::operation_aborted) return;
      if (!acc->is_open()) return;
      if (!ec) onAccepted(std::move(socket), key);
      else log::debug("web: accept: ", ec.message());
      accept(acc, key);
    });
  }

  void onAccepted(tcp::socket socket, const std::string& listener) {
    std::erase_if(connections, [](const Open& o) {
      auto c = o.conn.lock();
      return !c || c->closed();
    });
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    std::string peer = ec ? "?" : remote.address().to_string();
    std::vector<SlotHolder> holders;
    for (const auto& o : connections) {
      auto c = o.conn.lock();
      holders.push_back(SlotHolder{o.peer, o.sessionOnly, c && c->awaitingRequest(), o.order});
    }
    const SlotDecision d = admitConnection(policy, peer, holders);
    if (d.admission == Admission::Refuse) return refuse(std::move(socket), peer, d.why);
    if (d.evict) {
      log::info("web: ", connections.size(), " connections open; closing one from ", connections[*d.evict].peer,
                " that had not completed a request, for one from ", peer);
      if (auto c = connections[*d.evict].conn.lock()) c->close();
      connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(*d.evict));
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto here = socket.local_endpoint(ec);
    std::string local = ec ? "" : here.address().to_string();
    std::shared_ptr<OpenConnection> conn;
    if (tls) {
      conn = tls->connection(std::move(socket), peer, std::move(local), handler);
    } else {
      auto plain = std::make_shared<Connection>(std::move(socket), peer, handler);
      plain->setLocal(std::move(local));
      conn = std::move(plain);
    }
    const bool sessionOnly = d.admission == Admission::SessionOnly;
    if (sessionOnly) {
      std::weak_ptr<char> weak = alive;
      conn->checkFirstRequest([this, weak](const Request& req) -> std::string {
        if (weak.expired() || sessionCheck(req)) return "";
        return "too many connections; only logged-in sessions are served now; try again";
      });
    }
    connections.push_back(Open{conn, peer, listener, sessionOnly, ++accepted});
    conn->start();
  }

  // Still an HTTP answer: a few bytes into a fresh socket's empty send buffer never block.
  void refuse(tcp::socket socket, const std::string& peer, const std::string& why) {
    log::warning("web: ", connections.size(), " connections open; refusing one from ", peer, ": ", why);
    boost::system::error_code ec;
    Response busy = plainError(503, why);
    busy.set("Retry-After", "5");
    socket.non_blocking(true, ec);
    asio::write(socket, asio::buffer(serialize(busy, false)), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }
};

HttpServer::HttpServer(asio::io_context& io, uint16_t port, Handler handler, std::shared_ptr<TlsContext> tls)
    : impl_(std::make_unique<Impl>(io, port, std::move(handler), std::move(tls))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::listenAt(const std::set<ListenPlace>& places) { impl_->listenAt(places); }

void HttpServer::setSessionCheck(std::function<bool(const Request&)> check) { impl_->sessionCheck = std::move(check); }

void HttpServer::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  for (auto& [key, l] : m.listeners) {
    boost::system::error_code ec;
    l.acceptor->close(ec);
  }
  m.listeners.clear();
  for (auto& o : m.connections)
    if (auto c = o.conn.lock()) c->close();
  m.connections.clear();
}

bool HttpServer::stopped() const { return impl_->stopped; }

uint16_t HttpServer::port() const { return impl_->port; }

std::vector<std::string> HttpServer::listening() const {
  std::vector<std::string> out;
  for (const auto& [key, l] : impl_->listeners) out.push_back(l.address + ":" + std::to_string(impl_->port));
  return out;
}

size_t HttpServer::connectionCount() const {
  size_t n = 0;
  for (const auto& o : impl_->connections)
    if (auto c = o.conn.lock(); c && !c->closed()) ++n;
  return n;
}

}  // namespace tetherd::web
