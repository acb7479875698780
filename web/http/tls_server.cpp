// The one TU with Beast's SSL stream: HttpConnection<TlsStream> is instantiated here only.
#include "web/http/tls_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "web/http/tls_stream.h"

namespace tetherd::web {

namespace ssl = boost::asio::ssl;

namespace {

class OpenSslContext final : public TlsContext {
 public:
  std::shared_ptr<OpenConnection> connection(boost::asio::ip::tcp::socket socket, std::string peer, std::string local,
                                             std::function<void(Request, Reply)> handler) override {
    auto conn = std::make_shared<HttpConnection<TlsStream>>(TlsStream(std::move(socket), ctx), std::move(peer),
                                                             std::move(handler));
    conn->setLocal(std::move(local));
    return conn;
  }
  ssl::context ctx{ssl::context::tls_server};
};

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::make(const TlsIdentity& identity) {
  auto t = std::make_shared<OpenSslContext>();
  ssl::context& ctx = t->ctx;
  SSL_CTX* native = ctx.native_handle();
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                  ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305 only (1.3's suites are all of that kind).
  if (SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL") != 1) {
    ERR_clear_error();
    return makeError(Errc::SystemError, "TLS: no usable TLS 1.2 cipher suite");
  }
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(identity.certificatePem), ec);
  if (ec) return makeError(Errc::InvalidArgument, "TLS: certificate " + identity.certificatePath + ": " + ec.message());
  ctx.use_private_key(boost::asio::buffer(identity.privateKeyPem), ssl::context::pem, ec);
  if (ec) return makeError(Errc::InvalidArgument, "TLS: private key " + identity.privateKeyPath + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return makeError(Errc::InvalidArgument, "TLS: private key " + identity.privateKeyPath + " does not match the certificate");
  }
  return std::shared_ptr<TlsContext>(std::move(t));
}

}  // namespace tetherd::web
