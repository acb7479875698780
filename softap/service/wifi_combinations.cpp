#include "softap/service/wifi_combinations.h"

#include <linux/nl80211.h>

namespace tetherd {

namespace {

std::string iftypeName(int t) {
  switch (t) {
    case NL80211_IFTYPE_ADHOC: return "IBSS";
    case NL80211_IFTYPE_STATION: return "managed";
    case NL80211_IFTYPE_AP: return "AP";
    case NL80211_IFTYPE_AP_VLAN: return "AP/VLAN";
    case NL80211_IFTYPE_WDS: return "WDS";
    case NL80211_IFTYPE_MONITOR: return "monitor";
    case NL80211_IFTYPE_MESH_POINT: return "mesh point";
    case NL80211_IFTYPE_P2P_CLIENT: return "P2P-client";
    case NL80211_IFTYPE_P2P_GO: return "P2P-GO";
    case NL80211_IFTYPE_P2P_DEVICE: return "P2P-device";
    case NL80211_IFTYPE_OCB: return "outside context of a BSS";
    case NL80211_IFTYPE_NAN: return "NAN";
    default: return "type " + std::to_string(t);
  }
}

// A station and an AP fit one combination: each in a limit that names its type, two slots when
// it is the same limit, two in total, and (both on the station's channel) one channel is enough.
bool fits(const IfaceCombination& c) {
  if (c.maxTotal < 2 || c.channels < 1) return false;
  for (size_t s = 0; s < c.limits.size(); ++s) {
    if (!c.limits[s].types.count(NL80211_IFTYPE_STATION) || c.limits[s].max < 1) continue;
    for (size_t a = 0; a < c.limits.size(); ++a) {
      if (!c.limits[a].types.count(NL80211_IFTYPE_AP)) continue;
      if (c.limits[a].max >= (a == s ? 2u : 1u)) return true;
    }
  }
  return false;
}

}  // namespace

std::string describeCombination(const IfaceCombination& c) {
  std::string out;
  for (const auto& l : c.limits) {
    out += "#{ ";
    bool first = true;
    for (int t : l.types) {
      out += (first ? "" : ", ") + iftypeName(t);
      first = false;
    }
    out += " } <= " + std::to_string(l.max) + ", ";
  }
  return out + "total <= " + std::to_string(c.maxTotal) + ", #channels <= " + std::to_string(c.channels);
}

std::optional<std::string> stationPlusApProblem(const WiphyModes& modes) {
  auto list = [](const std::set<int>& types) {
    std::string out;
    for (int t : types) out += (out.empty() ? "" : ", ") + iftypeName(t);
    return out.empty() ? std::string("none") : out;
  };
  if (!modes.supported.count(NL80211_IFTYPE_STATION) || !modes.supported.count(NL80211_IFTYPE_AP))
    return "it cannot run both a station and an access point (its interface modes: " + list(modes.supported) + ")";
  if (modes.combinations.empty())
    return "it advertises no interface combinations: one interface at a time, so no station beside an access point";
  for (const auto& c : modes.combinations)
    if (fits(c)) return std::nullopt;
  std::string all;
  for (const auto& c : modes.combinations) all += (all.empty() ? "" : "; ") + describeCombination(c);
  return "none of its interface combinations allows a station and an access point at once on one channel: " + all;
}

}  // namespace tetherd
