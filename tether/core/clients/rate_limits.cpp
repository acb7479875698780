#include "tether/core/clients/rate_limits.h"

#include <algorithm>
#include <sstream>

#include "config/rate_values.h"
#include "tether/base/ip.h"

namespace tetherd {

namespace {

std::string rateOrOff(uint64_t v) { return v ? formatRate(v) : "off"; }

std::string parseOne(const std::string& text, uint64_t& out) {
  if (text == "off") {
    out = 0;
    return "";
  }
  return parseRate(text, out);
}

}  // namespace

Result<std::pair<std::string, ClientLimit>> checkClientLimit(const std::string& mac, const std::string& down,
                                                             const std::string& up) {
  auto m = normalizeMac(mac);
  if (!m) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 40) + "' is not a MAC address");
  if ((std::stoul(m->substr(0, 2), nullptr, 16) & 1) != 0)
    return makeError(Errc::InvalidArgument, "mac: " + *m + " is a multicast address");
  ClientLimit l;
  if (auto cause = parseOne(down, l.down); !cause.empty()) return makeError(Errc::InvalidArgument, "download: " + cause);
  if (auto cause = parseOne(up, l.up); !cause.empty()) return makeError(Errc::InvalidArgument, "upload: " + cause);
  return std::make_pair(*m, l);
}

std::string describeClientLimit(const std::string& mac, const ClientLimit& l) {
  return mac + " " + rateOrOff(l.down) + " " + rateOrOff(l.up);
}

ClientLimitsFile parseClientLimits(std::string_view text, size_t maxLimits) {
  ClientLimitsFile out;
  int number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.empty() || w[0][0] == '#') continue;
    if (w.size() != 3) {
      out.bad.push_back({number, "not \"<mac> <download> <upload>\""});
      continue;
    }
    auto l = checkClientLimit(w[0], w[1], w[2]);
    if (!l) {
      out.bad.push_back({number, l.error().message});
      continue;
    }
    if (out.limits.count(l->first)) {
      out.bad.push_back({number, "a second line for " + l->first});
      continue;
    }
    if (out.limits.size() >= maxLimits) {
      out.bad.push_back({number, "more than " + std::to_string(maxLimits) + " clients"});
      continue;
    }
    if (l->second.down || l->second.up) out.limits.insert(*l);
  }
  return out;
}

std::string formatClientLimits(const ClientLimits& limits) {
  std::string out;
  for (const auto& [mac, l] : limits) out += describeClientLimit(mac, l) + "\n";
  return out;
}

bool anyLimits(const Config& config, const ClientLimits& limits) {
  if (!limits.empty()) return true;
  return std::any_of(config.kinds.begin(), config.kinds.end(), [](const auto& k) { return k.downloadLimit || k.uploadLimit; });
}

ShapingState planShaping(const Config& config, const ClientLimits& limits, const std::map<std::string, ShapingSite>& sites,
                         bool fqCodel) {
  ShapingState out;
  for (const auto& [ifname, site] : sites) {
    LinkShaping s;
    s.down = config.kind(site.kind).downloadLimit;
    s.up = config.kind(site.kind).uploadLimit;
    s.fqCodel = fqCodel;
    std::map<std::string, const Lease*> newest;  // by MAC
    for (const auto& l : site.leases) {
      if (l.mac.empty() || !limits.count(l.mac)) continue;
      auto& n = newest[l.mac];
      if (!n || l.expiry == 0 || (n->expiry != 0 && l.expiry > n->expiry)) n = &l;
    }
    std::set<Ipv4Address> taken;
    for (const auto& [mac, lease] : newest) {
      if (!taken.insert(lease->ip).second) continue;  // two MACs on one address: the first
      const auto& lim = limits.at(mac);
      auto a6 = site.addrs6.find(mac);
      s.clients.push_back({mac, lease->ip, lim.down, lim.up, a6 != site.addrs6.end() ? a6->second : std::vector<Ipv6Address>{}});
    }
    std::sort(s.clients.begin(), s.clients.end(), [](const auto& a, const auto& b) { return a.ip < b.ip; });
    if (s.download() || s.upload()) out[ifname] = std::move(s);
  }
  return out;
}

}  // namespace tetherd
