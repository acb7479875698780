// A shared library loaded on first use (dlopen), for the optional parts of tetherd: a board
// that never uses Bluetooth, `tether doctor` or the web page does not map those libraries and
// what they pull in (see docs/PERFORMANCE.md). Thread-safe (the web page's hashing thread
// uses one). The library stays loaded once loaded.
#pragma once

#include <mutex>
#include <string>

namespace tetherd {

class LazyLibrary {
 public:
  explicit LazyLibrary(const char* soname) : soname_(soname) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // "" once loaded, else why not (dlerror's text, which names the file).
  std::string error();
  // The function `name` as type F (a function pointer type); nullptr when the library or the
  // symbol is missing (error() then says which).
  template <class F>
  F function(const char* name) {
    return reinterpret_cast<F>(symbol(name));
  }
  const char* soname() const { return soname_; }

 private:
  void* symbol(const char* name);
  void load();
  const char* soname_;
  std::once_flag once_;
  void* handle_ = nullptr;
  std::string error_;
  std::mutex mutex_;  // error_ after a missing symbol
};

}  // namespace tetherd
