#include "tether/core/ula_store.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

Result<Ipv6Prefix> parseUlaPrefix(const std::string& text, const std::string& path) {
  std::string line = text;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  auto p = Ipv6Prefix::parse(line);
  if (!p || p->length != 48 || p->address.bytes[0] != 0xfd || p->address != p->network())
    return makeError(Errc::InvalidArgument, path + ": '" + line + "' is not a unique local /48 (fdXX:XXXX:XXXX::/48)");
  return *p;
}

Result<Ipv6Prefix> loadUlaPrefix(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    auto text = readFile(path, 256);
    if (!text) return text.error();
    return parseUlaPrefix(*text, path);
  }
  uint64_t id = 0;
  if (::getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) return systemError("getrandom", errno);
  const Ipv6Prefix p = ulaPrefix48(id & 0xffffffffffULL);
  if (auto w = writeFileAtomic(path, p.str() + "\n", 0644); !w) return w.error();
  log::notice("IPv6: made the unique local prefix ", p.str(), " (", path, ")");
  return p;
}

}  // namespace tetherd
