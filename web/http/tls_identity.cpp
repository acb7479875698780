#include "web/http/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd::web {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

constexpr size_t kMaxPemBytes = 64 * 1024;

// OpenSSL's last error, as text ("" when none), and the queue cleared.
std::string sslError() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out;
}

Bio memBio(const std::string& text) { return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))); }

std::string bioText(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

X509Ptr readCertificate(const std::string& pem) {
  auto b = memBio(pem);
  X509Ptr x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return x;
}

PKey readKey(const std::string& pem) {
  auto b = memBio(pem);
  PKey k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return k;
}

std::string fingerprintOf(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(x, EVP_sha256(), md, &n)) return "";
  return fingerprintText(md, n);
}

// The pair's problem as "<which> <path>: <cause>", "" when it is usable. which: "[web]
// certificate" / "[web] private_key" for the user's files, "" for tetherd's own.
std::string checkPair(const std::string& certPem, const std::string& keyPem, const std::string& which,
                      const std::string& certPath, const std::string& keyPath, TlsIdentity& out, bool checkExpiry) {
  const std::string certName = which.empty() ? certPath : which + "certificate " + certPath;
  const std::string keyName = which.empty() ? keyPath : which + "private_key " + keyPath;
  if (certPem.find("-----BEGIN") == std::string::npos) return certName + ": not PEM (no \"-----BEGIN\" line)";
  auto cert = readCertificate(certPem);
  if (!cert) return certName + ": no PEM certificate in it";
  if (keyPem.find("-----BEGIN") == std::string::npos) return keyName + ": not PEM (no \"-----BEGIN\" line)";
  auto key = readKey(keyPem);
  if (!key) return keyName + ": no PEM private key in it (an encrypted key is not supported)";
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return keyName + ": does not match the certificate " + certPath;
  }
  if (checkExpiry && X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) return certName + ": expired";
  out.certificatePem = certPem;
  out.privateKeyPem = keyPem;
  out.fingerprint = fingerprintOf(cert.get());
  return "";
}

bool addExtension(X509* x, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

}  // namespace

std::string fingerprintText(const unsigned char* bytes, size_t n) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ':';
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 15];
  }
  return out;
}

Result<TlsIdentity> loadTlsIdentity(const std::string& certificatePath, const std::string& privateKeyPath) {
  auto cert = readFile(certificatePath, kMaxPemBytes);
  if (!cert) return makeError(Errc::InvalidArgument, "[web] certificate: cannot " + cert.error().message);
  auto key = readFile(privateKeyPath, kMaxPemBytes);
  if (!key) return makeError(Errc::InvalidArgument, "[web] private_key: cannot " + key.error().message);
  TlsIdentity id;
  if (auto why = checkPair(*cert, *key, "[web] ", certificatePath, privateKeyPath, id, false); !why.empty())
    return makeError(Errc::InvalidArgument, why);
  id.certificatePath = certificatePath;
  id.privateKeyPath = privateKeyPath;
  return id;
}

Result<TlsIdentity> makeSelfSigned(const SelfSignedNames& names, int validityDays) {
  auto fail = [](const std::string& what) {
    return makeError(Errc::SystemError, "self-signed certificate: " + what + ": " + sslError());
  };
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return fail("EC P-256 key");
  X509Ptr x(X509_new());
  if (!x || !X509_set_version(x.get(), 2)) return fail("X509_new");
  Bn serial(BN_new());
  // 127 random bits: positive, unique enough that a browser never sees two certificates with
  // the same issuer and serial (a new one after a state_dir loss must not be confused).
  if (!serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())))
    return fail("serial number");
  // Valid from an hour ago (a clock set a little behind on the client).
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(validityDays) * 86400L))
    return fail("validity");
  if (!X509_set_pubkey(x.get(), key.get())) return fail("public key");
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn = names.dnsNames.empty() ? "tetherd" : names.dnsNames.front();
  if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tetherd"), -1, -1, 0) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) ||
      !X509_set_issuer_name(x.get(), name))
    return fail("name");
  std::string san;
  for (const auto& a : names.addresses) san += (san.empty() ? "" : ",") + ("IP:" + a);
  for (const auto& d : names.dnsNames) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  if (!addExtension(x.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(x.get(), NID_ext_key_usage, "serverAuth") ||
      !addExtension(x.get(), NID_subject_key_identifier, "hash") ||
      (!san.empty() && !addExtension(x.get(), NID_subject_alt_name, san)))
    return fail("extensions (subjectAltName " + san + ")");
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) return fail("signature");
  Bio certOut(BIO_new(BIO_s_mem())), keyOut(BIO_new(BIO_s_mem()));
  if (!certOut || !keyOut || !PEM_write_bio_X509(certOut.get(), x.get()) ||
      !PEM_write_bio_PrivateKey(keyOut.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return fail("PEM");
  TlsIdentity id;
  id.certificatePem = bioText(certOut.get());
  id.privateKeyPem = bioText(keyOut.get());
  id.fingerprint = fingerprintOf(x.get());
  id.selfSigned = true;
  id.generated = true;
  return id;
}

Result<TlsIdentity> selfSignedTlsIdentity(const std::string& dir, const SelfSignedNames& names) {
  const std::string certPath = dir + "/https-cert.pem", keyPath = dir + "/https-key.pem";
  auto cert = readFile(certPath, kMaxPemBytes);
  auto key = readFile(keyPath, kMaxPemBytes);
  std::string why;
  if (!cert) why = cert.error().message;
  else if (!key) why = key.error().message;
  if (cert && key) {
    TlsIdentity id;
    why = checkPair(*cert, *key, "", certPath, keyPath, id, true);
    if (why.empty()) {
      // Private whatever mode an older copy had (writeFileAtomic makes them 0600).
      if (auto st = ensurePrivateFile(keyPath, 0600); !st) log::warning("web: ", st.error().message);
      id.certificatePath = certPath;
      id.privateKeyPath = keyPath;
      id.selfSigned = true;
      return id;
    }
  }
  const bool firstStart = !cert && cert.error().code == Errc::NotFound && !key && key.error().code == Errc::NotFound;
  if (!firstStart)
    log::warning("web: the self-signed certificate in ", dir, " is unusable (", why, "); making a new one");
  auto id = makeSelfSigned(names);
  if (!id) return id;
  // The key first: a certificate never points at a key that is not there.
  if (auto st = writeFileAtomic(keyPath, id->privateKeyPem, 0600); !st) return st.error();
  if (auto st = writeFileAtomic(certPath, id->certificatePem, 0600); !st) return st.error();
  id->certificatePath = certPath;
  id->privateKeyPath = keyPath;
  return id;
}

}  // namespace tetherd::web
