#include "tether/core/upstream.h"

namespace tetherd {

bool usable4(const UpstreamView& v) { return v.exists && v.up && v.defaultRoute && !v.dns.empty(); }

bool usable6Only(const UpstreamView& v) {
  return v.exists && v.up && !v.defaultRoute && v.defaultRoute6 && v.address6 && !v.dns6.empty();
}

std::optional<std::string> chooseUpstream(const std::vector<std::string>& priority,
                                          const std::map<std::string, UpstreamView>& views, bool ipv6) {
  for (bool anyState : {false, true}) {
    for (bool only6 : {false, true}) {
      if (only6 && !ipv6) continue;
      for (const auto& name : priority) {
        auto it = views.find(name);
        if (it == views.end() || !(only6 ? usable6Only(it->second) : usable4(it->second))) continue;
        const auto state = it->second.validation;
        if (anyState || state == Validation::Validated || state == Validation::Probing) return name;
      }
    }
  }
  return std::nullopt;
}

std::string selectionReason(const std::vector<std::string>& priority, const std::map<std::string, UpstreamView>& views,
                            const std::optional<std::string>& chosen, bool validating) {
  if (!chosen) return "no candidate is up with a default route and DNS servers";
  auto it = views.find(*chosen);
  if (it == views.end()) return "";
  bool any4 = false;
  for (const auto& [n, v] : views) any4 = any4 || usable4(v);
  const std::string only6 = !usable6Only(it->second) ? ""
                            : any4                   ? "IPv6 only, no candidate with IPv4 validates: "
                                                     : "IPv6 only, no candidate usable with IPv4: ";
  const auto state = it->second.validation;
  std::string before;
  for (const auto& n : priority) {
    if (n == *chosen) break;
    before += (before.empty() ? "" : ", ") + n;
  }
  std::string skipped = before.empty() ? "" : " (" + before + " before it not usable" + (validating ? " or not validated)" : ")");
  if (!validating) return only6 + "first usable by priority" + skipped + "; validation off";
  if (state == Validation::Validated) return only6 + "first validated by priority" + skipped;
  if (state == Validation::Probing) return only6 + "first usable by priority, being probed" + skipped;
  return only6 + "no candidate validates: first usable by priority, " + validationName(state);
}

std::vector<Ipv4Address> parseResolvConf(std::string_view text) {
  std::vector<Ipv4Address> out;
  for (std::string_view line : resolvConfNameservers(text)) {
    auto a = Ipv4Address::parse(line);
    // 127/8 is the host itself; 0/8 too as a resolver sees it (0.0.0.0 is how some set-ups name
    // a local resolver, and libc sends such queries to the host).
    if (!a || (a->value >> 24) == 127 || (a->value >> 24) == 0) continue;
    if (out.size() < 8) out.push_back(*a);
  }
  return out;
}

}  // namespace tetherd
