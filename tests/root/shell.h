// The root tests' shell helpers: set up and observe namespaces with ip/iptables/nft (tests only;
// tetherd itself never runs them).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tetherd::roottest {

inline int sh(const std::string& command) { return std::system(command.c_str()); }

// The command's standard output.
inline std::string capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (size_t n = 0; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace tetherd::roottest
