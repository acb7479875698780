// HttpConnection over TLS: the stream specialisations for beast::ssl_stream<tcp::socket> (the
// server handshake before the first request; stop sending and close on the TCP socket below).
// Include only from the TUs that instantiate HttpConnection on it (tls_server.cpp): Beast's
// SSL headers are heavy to compile.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "web/http/http_connection.h"

namespace tetherd::web {

using TlsStream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;

template <>
struct StreamOps<TlsStream> {
  // No close_notify: the responses carry their lengths, and a lingering close must not wait for
  // a client that does not answer one.
  static void shutdownSend(TlsStream& s) { StreamOps<boost::asio::ip::tcp::socket>::shutdownSend(boost::beast::get_lowest_layer(s)); }
  static void close(TlsStream& s) { StreamOps<boost::asio::ip::tcp::socket>::close(boost::beast::get_lowest_layer(s)); }
};

template <>
struct StreamHandshake<TlsStream> {
  template <class Done>
  static void run(TlsStream& s, Done&& done) {
    s.async_handshake(boost::asio::ssl::stream_base::server, std::forward<Done>(done));
  }
};

}  // namespace tetherd::web
