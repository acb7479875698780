// The few nl80211 (generic netlink, libnl-genl) operations the Wi-Fi upstream needs: a second
// interface on a station's radio for the soft AP, and removing it. Synchronous: each is one
// request the kernel answers at once.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

// The wiphy index of a Wi-Fi interface (/sys/class/net/<if>/phy80211/index). NotFound when the
// interface does not exist or is not Wi-Fi.
Result<int> wiphyOf(const std::string& ifname);

// NL80211_CMD_NEW_INTERFACE: `apIf` of type AP on the radio of `stationIf`, with MAC `mac`
// ("02:00:00:00:00:10"; hwsim gives a new interface the radio's first MAC otherwise, and
// hostapd then fails "Name not unique on network"). The kernel's refusal is returned with its
// reason; EBUSY/EOPNOTSUPP name the radio's interface combinations.
Status createApInterface(const std::string& stationIf, const std::string& apIf, const std::string& mac);

// What a radio says it can run at once (`iw phy` "valid interface combinations"). Interface
// types are nl80211's numbers (NL80211_IFTYPE_STATION = 2, NL80211_IFTYPE_AP = 3, ...).
struct IfaceLimit {
  uint32_t max = 0;
  std::set<int> types;
};
struct IfaceCombination {
  std::vector<IfaceLimit> limits;
  uint32_t maxTotal = 0;
  uint32_t channels = 0;
};
struct WiphyModes {
  std::set<int> supported;  // NL80211_ATTR_SUPPORTED_IFTYPES
  std::set<int> software;   // NL80211_ATTR_SOFTWARE_IFTYPES: not counted in combinations
  std::vector<IfaceCombination> combinations;
};

// NL80211_CMD_GET_WIPHY (split dump, filtered to `wiphy`): its interface modes and combinations.
Result<WiphyModes> wiphyModes(int wiphy);

// NL80211_CMD_DEL_INTERFACE. An interface that does not exist is not an error.
Status deleteWifiInterface(const std::string& ifname);

}  // namespace tetherd
