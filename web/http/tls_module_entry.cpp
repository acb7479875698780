// The TLS module's one exported symbol (tls_module.h): tetherd-tls.so is this file with
// tls_identity.cpp, tls_server.cpp and what they use, linked with OpenSSL; everything else in it
// is local (tls_module.map). Nothing throws across: an exception becomes an error.
#include <exception>

#include "tether/base/log.h"
#include "web/http/tls_module.h"

namespace tetherd::web {
namespace {

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return makeError(Errc::SystemError, std::string(what) + ": " + e.what());
  } catch (...) {
    return makeError(Errc::SystemError, std::string(what) + ": unknown error");
  }
}

Result<TlsIdentity> loadIdentity(const std::string& certificatePath, const std::string& privateKeyPath) {
  return guarded("TLS: certificate", [&] { return loadTlsIdentity(certificatePath, privateKeyPath); });
}

Result<TlsIdentity> selfSignedIdentity(const std::string& dir, const SelfSignedNames& names) {
  return guarded("TLS: self-signed certificate", [&] { return selfSignedTlsIdentity(dir, names); });
}

Result<std::shared_ptr<TlsContext>> makeContext(const TlsIdentity& identity) {
  return guarded("TLS: context", [&] { return TlsContext::make(identity); });
}

void setLogLevel(int level) { log::setLevel(static_cast<log::Level>(level)); }

}  // namespace
}  // namespace tetherd::web

extern "C" __attribute__((visibility("default"))) const tetherd::web::TlsModuleApi* tetherd_tls_module();

const tetherd::web::TlsModuleApi* tetherd_tls_module() {
  using namespace tetherd::web;
  static const std::string abi = tlsModuleAbi();
  static const TlsModuleApi api{abi.c_str(), &loadIdentity, &selfSignedIdentity, &makeContext, &setLogLevel};
  return &api;
}
