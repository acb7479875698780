// The netd-style control-socket commands of the tethering core, as thin text adapters over
// TetherManager's operations (the web API adapts the same operations to JSON).
#pragma once

#include "tether/core/client_actions.h"
#include "tether/control/command_table.h"
#include "tether/core/tether_manager.h"

namespace tetherd {

void registerTetherCommands(CommandTable& table, TetherManager& manager);
// `client kick|block|unblock <mac>`, `client blocked`: any downstream's clients.
void registerClientCommands(CommandTable& table, ClientActions& clients);

// One-line descriptions shared by the control socket and the web API.
std::string describeDownstream(const TetherManager::DownstreamStatus& d);
std::string describeUpstream(const UpstreamView& v, int rank, bool selected);

}  // namespace tetherd
