// The TLS module (web/http/tls_module.h) as tetherd uses it: loaded from the build tree, the
// self-signed certificate made through it, and a real HTTPS request answered by a HttpServer on
// this io_context through the module's context (the module's Asio and C++ runtime are its own
// copies: this proves they work on the daemon's loop); a missing or foreign file is a clear
// error naming [web] https and the file.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "web/http/http_server.h"
#include "web/http/tls_module.h"

using namespace tetherd;
using namespace tetherd::web;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/tetherd-tlsmod-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

#ifdef TETHERD_TLS_MODULE_BUILT  // what the tests of a built module use (a unit-only build has none)
SelfSignedNames names() { return SelfSignedNames{{"127.0.0.1"}, {"localhost"}}; }

// One HTTPS GET to 127.0.0.1:port with OpenSSL's client (no verification): the response text.
std::string httpsGet(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    out = std::string("tls ") + SSL_get_version(ssl) + "\n";
    const std::string req = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, req.data(), static_cast<int>(req.size()));
    char buf[4096];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  } else {
    out = "handshake failed";
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

#endif

}  // namespace

#ifdef TETHERD_TLS_MODULE_BUILT

TEST(TlsModule, LoadsAndServesHttpsOnTheDaemonsLoop) {
  auto module = loadTlsModule(TETHERD_TLS_MODULE_BUILT);
  ASSERT_TRUE(module) << module.error().message;
  const TlsModuleApi& api = **module;
  EXPECT_EQ(std::string(api.abi), tlsModuleAbi());
  TempDir dir;
  auto id = api.selfSignedIdentity(dir.path, names());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(id->generated);
  EXPECT_EQ(id->fingerprint.size(), 95u);
  EXPECT_TRUE(std::filesystem::exists(dir.path + "/https-cert.pem"));
  // The same pair again: reused (the module's file handling).
  auto again = api.selfSignedIdentity(dir.path, names());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->generated);
  EXPECT_EQ(again->fingerprint, id->fingerprint);
  // Errors come back as values, named as without the module.
  auto missing = api.loadIdentity(dir.path + "/none.pem", dir.path + "/https-key.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("[web] certificate"), std::string::npos) << missing.error().message;

  auto ctx = api.makeContext(*id);
  ASSERT_TRUE(ctx) << ctx.error().message;
  boost::asio::io_context io;
  const uint16_t port = freePort();
  HttpServer server(io, port, [](Request req, Reply reply) {
    Response r;
    r.body = "hello over " + req.path;
    reply(std::move(r));
  }, *ctx);
  server.listenAt({{"127.0.0.1", ""}});
  ASSERT_EQ(server.listening().size(), 1u);
  std::string got;
  std::thread client([&] {
    got = httpsGet(port);
    boost::asio::post(io, [&] { server.stop(); });
  });
  io.run_for(std::chrono::seconds(10));
  client.join();
  EXPECT_EQ(got.rfind("tls TLSv1.3\nHTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.find("hello over /hello"), std::string::npos) << got;
}

TEST(TlsModule, IsLoadedOncePerPath) {
  auto a = loadTlsModule(TETHERD_TLS_MODULE_BUILT);
  auto b = loadTlsModule(TETHERD_TLS_MODULE_BUILT);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

#endif

TEST(TlsModule, AMissingModuleNamesTheSettingAndTheFile) {
  auto m = loadTlsModule("/nonexistent/tetherd-tls.so");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message.rfind("[web] https = on needs the TLS module /nonexistent/tetherd-tls.so: ", 0), 0u)
      << m.error().message;
  EXPECT_NE(m.error().message.find("No such file"), std::string::npos) << m.error().message;
}

TEST(TlsModule, AFileThatIsNotTheModuleIsRefused) {
  TempDir dir;
  const std::string text = dir.path + "/tetherd-tls.so";
  std::ofstream(text) << "not an ELF file\n";
  auto m = loadTlsModule(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message.rfind("[web] https = on needs the TLS module " + text + ": ", 0), 0u) << m.error().message;
  // A shared object without the entry (libc): named too.
  auto libc = loadTlsModule("libc.so.6");
  ASSERT_FALSE(libc);
  EXPECT_NE(libc.error().message.find("has no tetherd_tls_module"), std::string::npos) << libc.error().message;
}

TEST(TlsModule, PathIsTheInstalledOneWithoutAModuleBesideTheExecutable) {
  // unit_tests lives in build/tests, the module in build/: the installed path is the answer.
  const std::string p = tlsModulePath();
  EXPECT_EQ(p.rfind("/", 0), 0u);
  EXPECT_NE(p.find("/tetherd/tetherd-tls.so"), std::string::npos) << p;
}
