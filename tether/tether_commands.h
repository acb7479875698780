// The netd-style control-socket commands of the tethering core, as thin text adapters over
// TetherManager's operations (the web API adapts the same operations to JSON).
#pragma once

#include "tether/command_table.h"
#include "tether/tether_manager.h"

namespace tetherd {

void registerTetherCommands(CommandTable& table, TetherManager& manager);

// One-line descriptions shared by the control socket and the web API.
std::string describeDownstream(const TetherManager::DownstreamStatus& d);
std::string describeUpstream(const UpstreamView& v, int rank, bool selected);

}  // namespace tetherd
