// The TLS module: with [web] https = on, tetherd loads tetherd-tls.so (dlopen, through
// LazyLibrary like libsodium and libqrencode) for the certificate (tls_identity.h) and the
// TLS context (tls_server.h), so that libssl and libcrypto are mapped only then; the daemon
// itself links no OpenSSL (a test checks its ELF dependencies). The module is built by this
// project from the same sources (tls_module_entry.cpp is its one exported symbol) and must come
// from the same build: the interface is C++ (std::string, shared_ptr, Asio's socket).
//
// Where: next to the running executable (the build tree: build/tetherd, build/tetherd-tls.so),
// else where `cmake --install` puts it (TETHERD_TLS_MODULE_INSTALLED, <libdir>/tetherd/).
// Missing or foreign: an error naming [web] https and the file, never a crash.
#pragma once

#include <memory>
#include <string>

#include "tether/base/result.h"
#include "web/http/tls_identity.h"
#include "web/http/tls_server.h"

namespace tetherd::web {

struct TlsModuleApi {
  const char* abi;  // kTlsModuleAbi of the build that made the module
  Result<TlsIdentity> (*loadIdentity)(const std::string& certificatePath, const std::string& privateKeyPath);
  Result<TlsIdentity> (*selfSignedIdentity)(const std::string& dir, const SelfSignedNames& names);
  Result<std::shared_ptr<TlsContext>> (*makeContext)(const TlsIdentity& identity);
  void (*setLogLevel)(int level);  // the module's log lines at the daemon's level
};

// The exported symbol (extern "C"): a function returning the module's table.
inline constexpr const char* kTlsModuleEntry = "tetherd_tls_module";
using TlsModuleEntry = const TlsModuleApi* (*)();

// Changes whenever TlsModuleApi or what crosses it changes (with the version and the sizes).
std::string tlsModuleAbi();

// The module's file: next to /proc/self/exe when there, else the installed one.
std::string tlsModulePath();

// The module at `path`, loaded once per path (the process keeps it); the error names
// "[web] https = on" and the file.
Result<const TlsModuleApi*> loadTlsModule(const std::string& path);

// loadTlsModule(tlsModulePath()).
Result<const TlsModuleApi*> tlsModule();

}  // namespace tetherd::web
