// The admin page's TLS certificate and key ([web] https = on): the user's pair ([web]
// certificate, private_key: PEM, checked here with errors naming the key and the cause), or a
// self-signed one that tetherd makes with the OpenSSL 3 C API (never by running `openssl`):
// EC P-256, SHA-256, the page's addresses and names as subjectAltName, ten years. It is kept
// in state_dir (mode 0600, written atomically) and reused on later starts; an unreadable,
// mismatched or expired pair is replaced (with a log line). No Beast here.
#pragma once

#include <string>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::web {

struct TlsIdentity {
  std::string certificatePem;  // the certificate, then any chain
  std::string privateKeyPem;
  std::string fingerprint;     // SHA-256 of the certificate (DER): "AA:BB:...:FF"
  std::string certificatePath;
  std::string privateKeyPath;
  bool selfSigned = false;
  bool generated = false;      // made by this call (not reused)
};

struct SelfSignedNames {
  std::vector<std::string> addresses;  // IPv4 addresses (subjectAltName IP)
  std::vector<std::string> dnsNames;   // host names (subjectAltName DNS); the first is the CN
};

// "AA:BB:..." of these bytes (upper-case hex, colon-separated).
std::string fingerprintText(const unsigned char* bytes, size_t n);

// The user's certificate and key files: readable, PEM, the key matching the certificate.
Result<TlsIdentity> loadTlsIdentity(const std::string& certificatePath, const std::string& privateKeyPath);

// A fresh self-signed pair (not written anywhere).
Result<TlsIdentity> makeSelfSigned(const SelfSignedNames& names, int validityDays = 3650);

// The self-signed pair in `dir` (https-cert.pem, https-key.pem): reused when it loads, matches
// and has not expired; else made and written (0600, atomically).
Result<TlsIdentity> selfSignedTlsIdentity(const std::string& dir, const SelfSignedNames& names);

}  // namespace tetherd::web
