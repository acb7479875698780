// HTTPS for the admin page: the certificate (self-signed: made, kept 0600, reused, remade when
// corrupt; the user's: each problem named), the TLS context, the plain-HTTP redirect (exact
// text, hostile Host values), Secure cookies, the self-signed certificate's names.
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "config/config.h"
#include "tether/base/files.h"
#include "web/http/https_redirect.h"
#include "web/http/tls_identity.h"
#include "web/http/tls_server.h"
#include "web/web_server.h"

using namespace tetherd;
using namespace tetherd::web;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tetherd-https-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

void writeText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

struct Cert {
  explicit Cert(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
  }
  ~Cert() { X509_free(x); }
  X509* x = nullptr;
};

const std::regex kFingerprint("^([0-9A-F]{2}:){31}[0-9A-F]{2}$");

SelfSignedNames names() { return SelfSignedNames{{"127.0.0.1", "192.168.42.1"}, {"appliance", "localhost"}}; }

}  // namespace

TEST(TlsIdentity, FingerprintText) {
  const unsigned char b[] = {0x00, 0xab, 0x0f, 0xf0};
  EXPECT_EQ(fingerprintText(b, 4), "00:AB:0F:F0");
  EXPECT_EQ(fingerprintText(b, 0), "");
}

TEST(TlsIdentity, SelfSignedIsP256Sha256WithTheNamesForTenYears) {
  auto id = makeSelfSigned(names());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(std::regex_match(id->fingerprint, kFingerprint)) << id->fingerprint;
  Cert c(id->certificatePem);
  ASSERT_NE(c.x, nullptr);
  EXPECT_EQ(X509_check_ip_asc(c.x, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(c.x, "192.168.42.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(c.x, "192.168.42.2", 0), 0);
  EXPECT_EQ(X509_check_host(c.x, "appliance", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_get_signature_nid(c.x), NID_ecdsa_with_SHA256);
  EVP_PKEY* pub = X509_get0_pubkey(c.x);
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(c.x)), 1);
  EXPECT_GE(days, 3649);
  EXPECT_LE(days, 3651);
  EXPECT_NE(id->privateKeyPem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
}

TEST(TlsIdentity, SelfSignedIsWrittenPrivateAndReused) {
  TempDir dir;
  auto first = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->generated);
  EXPECT_TRUE(first->selfSigned);
  EXPECT_EQ(first->certificatePath, dir.path + "/https-cert.pem");
  EXPECT_EQ(first->privateKeyPath, dir.path + "/https-key.pem");
  EXPECT_EQ(modeOf(dir.path + "/https-cert.pem"), 0600u);
  EXPECT_EQ(modeOf(dir.path + "/https-key.pem"), 0600u);
  auto second = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->fingerprint, first->fingerprint);
  EXPECT_EQ(second->privateKeyPem, first->privateKeyPem);
  // No temporary files left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(TlsIdentity, ACorruptOrMismatchedPairIsRemade) {
  TempDir dir;
  auto first = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(first) << first.error().message;
  writeText(dir.path + "/https-cert.pem", "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
  auto second = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->generated);
  EXPECT_NE(second->fingerprint, first->fingerprint);
  EXPECT_EQ(modeOf(dir.path + "/https-cert.pem"), 0600u);
  // A key of another pair: remade too.
  auto other = makeSelfSigned(names());
  ASSERT_TRUE(other);
  writeText(dir.path + "/https-key.pem", other->privateKeyPem);
  auto third = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_TRUE(third->generated);
  EXPECT_NE(third->fingerprint, second->fingerprint);
  auto fourth = selfSignedTlsIdentity(dir.path, names());
  ASSERT_TRUE(fourth);
  EXPECT_FALSE(fourth->generated);
  EXPECT_EQ(fourth->fingerprint, third->fingerprint);
  // A loose mode left by someone else is tightened when reused.
  ASSERT_EQ(::chmod((dir.path + "/https-key.pem").c_str(), 0644), 0);
  ASSERT_TRUE(selfSignedTlsIdentity(dir.path, names()));
  EXPECT_EQ(modeOf(dir.path + "/https-key.pem"), 0600u);
}

TEST(TlsIdentity, TheUsersPairIsLoaded) {
  TempDir dir;
  auto id = makeSelfSigned(names());
  ASSERT_TRUE(id);
  writeText(dir.path + "/c.pem", id->certificatePem);
  writeText(dir.path + "/k.pem", id->privateKeyPem);
  auto loaded = loadTlsIdentity(dir.path + "/c.pem", dir.path + "/k.pem");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->fingerprint, id->fingerprint);
  EXPECT_FALSE(loaded->selfSigned);
  EXPECT_EQ(loaded->certificatePath, dir.path + "/c.pem");
  auto ctx = TlsContext::make(*loaded);
  EXPECT_TRUE(ctx) << ctx.error().message;
}

TEST(TlsIdentity, TheUsersPairsProblemsNameTheKeyAndTheCause) {
  TempDir dir;
  const std::string c = dir.path + "/c.pem", k = dir.path + "/k.pem";
  auto id = makeSelfSigned(names());
  auto other = makeSelfSigned(names());
  ASSERT_TRUE(id && other);
  writeText(c, id->certificatePem);
  writeText(k, id->privateKeyPem);
  auto err = [](const Result<TlsIdentity>& r) { return r ? std::string("accepted") : r.error().message; };
  EXPECT_EQ(err(loadTlsIdentity(dir.path + "/missing.pem", k)),
            "[web] certificate: cannot read " + dir.path + "/missing.pem: No such file or directory");
  EXPECT_EQ(err(loadTlsIdentity(c, dir.path + "/missing.pem")),
            "[web] private_key: cannot read " + dir.path + "/missing.pem: No such file or directory");
  EXPECT_EQ(err(loadTlsIdentity(dir.path, k)).rfind("[web] certificate: cannot read " + dir.path + ": ", 0), 0u)
      << err(loadTlsIdentity(dir.path, k));
  writeText(dir.path + "/der", std::string("\x30\x82\x01\x00", 4));
  EXPECT_EQ(err(loadTlsIdentity(dir.path + "/der", k)),
            "[web] certificate " + dir.path + "/der: not PEM (no \"-----BEGIN\" line)");
  EXPECT_EQ(err(loadTlsIdentity(c, dir.path + "/der")),
            "[web] private_key " + dir.path + "/der: not PEM (no \"-----BEGIN\" line)");
  EXPECT_EQ(err(loadTlsIdentity(k, k)), "[web] certificate " + k + ": no PEM certificate in it");
  EXPECT_EQ(err(loadTlsIdentity(c, c)),
            "[web] private_key " + c + ": no PEM private key in it (an encrypted key is not supported)");
  writeText(dir.path + "/k2.pem", other->privateKeyPem);
  EXPECT_EQ(err(loadTlsIdentity(c, dir.path + "/k2.pem")),
            "[web] private_key " + dir.path + "/k2.pem: does not match the certificate " + c);
}

TEST(HttpsRedirect, LocationIsExact) {
  const std::string host = "192.168.42.1:8080", name = "tether.lan", bare = "192.168.42.1";
  EXPECT_EQ(httpsRedirectLocation(&host, "10.0.0.1", 8443, "/api/status?x=1"), "https://192.168.42.1:8443/api/status?x=1");
  EXPECT_EQ(httpsRedirectLocation(&name, "10.0.0.1", 443, "/"), "https://tether.lan:443/");
  EXPECT_EQ(httpsRedirectLocation(&bare, "10.0.0.1", 8443, "/a%20b"), "https://192.168.42.1:8443/a%20b");
  EXPECT_EQ(httpsRedirectLocation(nullptr, "192.168.43.1", 8443, "/x"), "https://192.168.43.1:8443/x");
  EXPECT_EQ(httpsRedirectLocation(nullptr, "", 8443, "/x"), "https://127.0.0.1:8443/x");
  // Not URI text in the target: encoded (never a header break, never a quote).
  EXPECT_EQ(httpsRedirectLocation(&bare, "", 8443, "/a\r\nSet-Cookie: x\"<>\\"),
            "https://192.168.42.1:8443/a%0D%0ASet-Cookie:%20x%22%3C%3E%5C");
  EXPECT_EQ(httpsRedirectLocation(&bare, "", 8443, "//evil.example/"), "https://192.168.42.1:8443//evil.example/");
}

TEST(HttpsRedirect, HostileHostsGiveTheListenAddress) {
  const std::vector<std::string> hostile = {"", ":8080", "evil.example\r\nSet-Cookie: a=b", "evil.example/x", "user@evil.example",
                              "a b", "[::1]:8080", "[::1]", "evil.example:80:80", "evil.example:", "evil.example:123456",
                              "evil.example:8o", "-x", ".x", "evil.example\"", "a,b", std::string(254, 'a'),
                              std::string("a\0b", 3), "\xc3\xa9.example"};
  for (const std::string& h : hostile) {
    EXPECT_EQ(httpsRedirectLocation(&h, "192.168.42.1", 8443, "/"), "https://192.168.42.1:8443/") << h;
    EXPECT_EQ(validHostOf(h), "") << h;
  }
  EXPECT_EQ(validHostOf("Tether-1.lan:80"), "Tether-1.lan");
}

TEST(HttpsRedirect, ResponseIs308NotCacheableForAnyMethod) {
  Request req;
  req.method = "POST";
  req.target = "/api/login";
  req.headers.push_back({"Host", "192.168.42.1:8080"});
  req.local = "192.168.42.1";
  Response r = httpsRedirect(req, 8443);
  EXPECT_EQ(r.status, 308);
  ASSERT_NE(r.get("Location"), nullptr);
  EXPECT_EQ(*r.get("Location"), "https://192.168.42.1:8443/api/login");
  EXPECT_EQ(*r.get("Cache-Control"), "no-store");
  EXPECT_EQ(r.body, "This page is served over HTTPS: https://192.168.42.1:8443/api/login\n");
  EXPECT_EQ(serialize(r, true).rfind("HTTP/1.1 308 Permanent Redirect\r\n", 0), 0u);
}

TEST(HttpsRedirect, CookiesOverHttpsAreSecure) {
  Response r;
  r.headers.push_back({"Set-Cookie", "tetherd_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"});
  r.headers.push_back({"Content-Type", "text/plain"});
  markCookiesSecure(r);
  markCookiesSecure(r);  // once only
  EXPECT_EQ(r.headers[0].value, "tetherd_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
  EXPECT_EQ(r.headers[1].value, "text/plain");
}

TEST(HttpsRedirect, SelfSignedNamesFollowTheConfig) {
  auto c = parseConfig("[web]\nlisten = downstreams localhost 10.9.8.7\n", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  auto n = selfSignedNamesFor(*c, "appliance");
  EXPECT_EQ(n.addresses, (std::vector<std::string>{"127.0.0.1", "192.168.42.1", "192.168.43.1", "192.168.44.1",
                                                   "192.168.45.1", "10.9.8.7"}));
  EXPECT_EQ(n.dnsNames, (std::vector<std::string>{"appliance", "localhost"}));
  // A host name OpenSSL's syntax would misread is left out.
  EXPECT_EQ(selfSignedNamesFor(*c, "a,IP:1.2.3.4").dnsNames, (std::vector<std::string>{"localhost"}));
  EXPECT_EQ(selfSignedNamesFor(*c, "").dnsNames, (std::vector<std::string>{"localhost"}));
}
