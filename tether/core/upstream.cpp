#include "tether/core/upstream.h"

namespace tetherd {

std::optional<std::string> chooseUpstream(const std::vector<std::string>& priority,
                                          const std::map<std::string, UpstreamView>& views) {
  auto usable = [](const UpstreamView& v) { return v.exists && v.up && v.defaultRoute && !v.dns.empty(); };
  for (bool anyState : {false, true}) {
    for (const auto& name : priority) {
      auto it = views.find(name);
      if (it == views.end() || !usable(it->second)) continue;
      const auto state = it->second.validation;
      if (anyState || state == Validation::Validated || state == Validation::Probing) return name;
    }
  }
  return std::nullopt;
}

std::string selectionReason(const std::vector<std::string>& priority, const std::map<std::string, UpstreamView>& views,
                            const std::optional<std::string>& chosen, bool validating) {
  if (!chosen) return "no candidate is up with a default route and DNS servers";
  auto it = views.find(*chosen);
  if (it == views.end()) return "";
  const auto state = it->second.validation;
  std::string before;
  for (const auto& n : priority) {
    if (n == *chosen) break;
    before += (before.empty() ? "" : ", ") + n;
  }
  std::string skipped = before.empty() ? "" : " (" + before + " before it not usable" + (validating ? " or not validated)" : ")");
  if (!validating) return "first usable by priority" + skipped + "; validation off";
  if (state == Validation::Validated) return "first validated by priority" + skipped;
  if (state == Validation::Probing) return "first usable by priority, being probed" + skipped;
  return std::string("no candidate validates: first usable by priority, ") + validationName(state);
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
