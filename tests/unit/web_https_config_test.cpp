// [web] https, https_port, certificate, private_key: parsed and checked (exact errors).
#include <gtest/gtest.h>

#include "config/config.h"

using namespace tetherd;

namespace {
std::string errorOf(const std::string& text) {
  auto r = parseConfig(text, "t.conf");
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}
}  // namespace

TEST(WebHttpsConfig, OffByDefault) {
  auto c = parseConfig("", "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->webHttps);
  EXPECT_EQ(c->webHttpsPort, 8443);
  EXPECT_EQ(c->webCertificate, "");
  EXPECT_EQ(c->webPrivateKey, "");
}

TEST(WebHttpsConfig, TheExampleKeepsItOff) {
  auto c = loadConfigFile(TETHERD_SOURCE_DIR "/config/tetherd.conf.example");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->webHttps);
  EXPECT_EQ(c->webHttpsPort, 8443);
  EXPECT_EQ(c->webCertificate, "");
}

TEST(WebHttpsConfig, OnWithTheUsersFiles) {
  auto c = parseConfig("[web]\nhttps = on\nhttps_port = 9443\ncertificate = /etc/tetherd/cert.pem\n"
                       "private_key = /etc/tetherd/key.pem\n",
                       "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->webHttps);
  EXPECT_EQ(c->webHttpsPort, 9443);
  EXPECT_EQ(c->webCertificate, "/etc/tetherd/cert.pem");
  EXPECT_EQ(c->webPrivateKey, "/etc/tetherd/key.pem");
}

TEST(WebHttpsConfig, BadValuesNameTheKeyAndTheCause) {
  EXPECT_EQ(errorOf("[web]\nhttps = maybe\n"), "t.conf:2: key 'https' in [web]: 'maybe' is not yes or no");
  EXPECT_EQ(errorOf("[web]\nhttps_port = 0\n"), "t.conf:2: key 'https_port' in [web]: must be between 1 and 65535");
  EXPECT_EQ(errorOf("[web]\ncertificate = cert.pem\n"), "t.conf:2: key 'certificate' in [web]: must be an absolute path");
  EXPECT_EQ(errorOf("[web]\nprivate_key = key.pem\n"), "t.conf:2: key 'private_key' in [web]: must be an absolute path");
  EXPECT_EQ(errorOf("[web]\ncertificate = /c.pem\n"),
            "t.conf: [web] certificate and private_key are given together (or neither: a self-signed certificate)");
  EXPECT_EQ(errorOf("[web]\nhttps = on\nport = 8443\n"),
            "t.conf: [web] https_port 8443 is the same as port (plain HTTP's, which then redirects)");
}
