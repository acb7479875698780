// HttpServer: HTTP/1.1 on the daemon's io_context, listening exactly where it is told — each
// place an IPv4 address and optionally an interface (SO_BINDTODEVICE), never a wildcard of its
// own choosing — with connection slots shared fairly (connection_slots.h: per address, loopback's
// own, some kept for clients with a session; a refused one gets a 503 and is closed), and
// the connections of a listener closed with it. Every request
// goes to one handler; connections are HttpConnection<tcp::socket>, or with a TlsContext
// HttpConnection<ssl_stream> (tls_server.cpp: the handshake under the header deadline, the slot
// held meanwhile as "not completed a request"). No Beast in this header: only http_server.cpp,
// tls_server.cpp and http_connection.h see it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "web/http/http.h"

namespace tetherd::web {

// Where to listen: an address and the interface to bind to ("" = none).
struct ListenPlace {
  std::string address;
  std::string device;
  auto operator<=>(const ListenPlace&) const = default;
};

class TlsContext;

class HttpServer {
 public:
  using Handler = std::function<void(Request, Reply)>;
  HttpServer(boost::asio::io_context& io, uint16_t port, Handler handler, std::shared_ptr<TlsContext> tls = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listen at these places only: listeners elsewhere close, new ones open (one that cannot is
  // logged and tried again at the next call). Nothing after stop().
  void listenAt(const std::set<ListenPlace>& places);
  // Whether a request carries a live session (for the session-only slots). Default: none does.
  void setSessionCheck(std::function<bool(const Request&)> check);
  // Closes every listener and connection.
  void stop();
  bool stopped() const;
  uint16_t port() const;
  // "a.b.c.d:port" of every open listener.
  std::vector<std::string> listening() const;
  size_t connectionCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd::web
