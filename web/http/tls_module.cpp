#include "web/http/tls_module.h"

#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <map>
#include <mutex>

#include "tether/base/lazy_library.h"
#include "tether/base/log.h"

#ifndef TETHERD_TLS_MODULE_INSTALLED
#error "TETHERD_TLS_MODULE_INSTALLED: the installed module's path (web/http/CMakeLists.txt)"
#endif

namespace tetherd::web {

std::string tlsModuleAbi() {
  return std::string("tetherd ") + TETHERD_VERSION + " tls module 1/" + std::to_string(sizeof(TlsModuleApi)) + "/" +
         std::to_string(sizeof(TlsIdentity)) + "/" + std::to_string(sizeof(Request)) + "/" +
         std::to_string(sizeof(boost::asio::ip::tcp::socket)) + "/" + std::to_string(sizeof(std::string));
}

std::string tlsModulePath() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = exe.parent_path() / "tetherd-tls.so";
    if (std::filesystem::exists(beside, ec)) return beside.string();
  }
  return TETHERD_TLS_MODULE_INSTALLED;
}

Result<const TlsModuleApi*> loadTlsModule(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<LazyLibrary>> libraries;  // LazyLibrary keeps the name's pointer
  static std::map<std::string, std::string> names;
  LazyLibrary* lib = nullptr;
  {
    std::lock_guard lock(mutex);
    auto& l = libraries[path];
    if (!l) l = std::make_unique<LazyLibrary>(names.emplace(path, path).first->second.c_str());
    lib = l.get();
  }
  const std::string what = "[web] https = on needs the TLS module " + path;
  const auto entry = lib->function<TlsModuleEntry>(kTlsModuleEntry);
  if (entry == nullptr) return makeError(Errc::NotFound, what + ": " + lib->error());
  const TlsModuleApi* api = entry();
  if (api == nullptr || api->abi == nullptr || api->abi != tlsModuleAbi())
    return makeError(Errc::InvalidArgument, what + ": it was built for another tetherd (" +
                                                (api && api->abi ? api->abi : "?") + ", this is " + tlsModuleAbi() + ")");
  api->setLogLevel(static_cast<int>(log::level()));
  return api;
}

Result<const TlsModuleApi*> tlsModule() { return loadTlsModule(tlsModulePath()); }

}  // namespace tetherd::web
