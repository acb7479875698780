// Whether a radio can run tetherd's travel-router pair, a station and an access point at once
// on one channel, from what it advertises (nl80211's interface combinations), so that a
// configuration it cannot do is refused up front with the reason instead of after joining.
#pragma once

#include <optional>
#include <string>

#include "tether/system/nl80211.h"

namespace tetherd {

// nullopt when some combination allows a station and an AP together on one channel; else why
// not, naming what the radio can do ("none of its interface combinations allows a station and
// an access point at once: #{ managed } <= 1, total <= 1, #channels <= 1").
std::optional<std::string> stationPlusApProblem(const WiphyModes& modes);

// One combination as `iw phy` prints it: "#{ managed } <= 2048, #{ AP, mesh point } <= 8,
// total <= 2048, #channels <= 1".
std::string describeCombination(const IfaceCombination& c);

}  // namespace tetherd
