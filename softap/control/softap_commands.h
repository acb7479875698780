// `softap ...` control-socket commands: thin text adapters over SoftApService and
// TetherManager (start/stop are tether requests for the AP interface).
#pragma once

#include "softap/service/softap_service.h"
#include "tether/control/command_table.h"

namespace tetherd::softap {

void registerSoftapCommands(CommandTable& table, SoftApService& ap, TetherManager& manager);
std::string describeStation(const StationView& s);

}  // namespace tetherd::softap
