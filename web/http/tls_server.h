// The TLS side of the HTTP server ([web] https = on): an OpenSSL context made from a
// TlsIdentity (TLS 1.2 and 1.3 only, forward-secret AEAD suites for 1.2, no compression, no
// renegotiation, no session tickets kept across restarts) and connections on it. Everything
// with Beast's SSL stream is in tls_server.cpp; no Beast in this header.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "tether/base/result.h"
#include "web/http/open_connection.h"
#include "web/http/tls_identity.h"

namespace tetherd::web {

// What tetherd sees of a TLS context: an interface, so that the daemon, which loads the TLS
// module (tls_module.h) only with [web] https = on, links no OpenSSL. The implementation (and
// make()) is in tls_server.cpp, inside the module and the unit tests.
class TlsContext {
 public:
  // The identity's certificate and key in a server context; an error names what OpenSSL refused.
  static Result<std::shared_ptr<TlsContext>> make(const TlsIdentity& identity);
  virtual ~TlsContext() = default;

  // A connection on an accepted socket: the handshake, then HTTP (HttpConnection).
  virtual std::shared_ptr<OpenConnection> connection(boost::asio::ip::tcp::socket socket, std::string peer,
                                                     std::string local, std::function<void(Request, Reply)> handler) = 0;
};

}  // namespace tetherd::web
