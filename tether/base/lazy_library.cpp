#include "tether/base/lazy_library.h"

#include <dlfcn.h>

namespace tetherd {

void LazyLibrary::load() {
  std::call_once(once_, [this] {
    // RTLD_LOCAL: lookups through the handle find the library's own functions, never a stub of
    // the same name in tetherd.
    handle_ = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      const char* e = ::dlerror();
      error_ = e != nullptr ? e : std::string(soname_) + ": cannot be loaded";
    }
  });
}

std::string LazyLibrary::error() {
  load();
  std::lock_guard lock(mutex_);
  return error_;
}

void* LazyLibrary::symbol(const char* name) {
  load();
  if (handle_ == nullptr) return nullptr;
  void* p = ::dlsym(handle_, name);
  if (p == nullptr) {
    std::lock_guard lock(mutex_);
    if (error_.empty()) error_ = std::string(soname_) + " has no " + name;
  }
  return p;
}

}  // namespace tetherd
