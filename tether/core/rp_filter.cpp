#include "tether/core/rp_filter.h"

#include <algorithm>
#include <charconv>

namespace tetherd {
namespace {

std::optional<int> readInt(Sysctl& sysctl, const std::string& key) {
  auto v = sysctl.read(key);
  if (!v) return std::nullopt;
  std::string s = *v;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

}  // namespace

std::optional<int> effectiveRpFilter(Sysctl& sysctl, const std::string& ifname) {
  auto all = readInt(sysctl, "net/ipv4/conf/all/rp_filter");
  auto own = readInt(sysctl, "net/ipv4/conf/" + ifname + "/rp_filter");
  if (!all || !own) return std::nullopt;
  return std::max(*all, *own);
}

std::string strictRpFilterProblem(const std::string& ifname) {
  return "problem upstream " + ifname +
         " has strict reverse-path filtering (rp_filter=1): replies to its health probes, and to tethered "
         "traffic while it is not the main table's default route, are dropped; use loose mode: sysctl "
         "net.ipv4.conf.all.rp_filter=2 net.ipv4.conf." + ifname + ".rp_filter=2";
}

}  // namespace tetherd
