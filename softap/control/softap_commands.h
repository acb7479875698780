// `softap ...` control-socket commands: thin text adapters over SoftApService and
// TetherManager (start/stop are tether requests for the AP interface).
#pragma once

#include "softap/service/softap_service.h"
#include "tether/control/command_table.h"

namespace tetherd::softap {

void registerSoftapCommands(CommandTable& table, SoftApService& ap, TetherManager& manager);
// One `softap stations` line, every field key=value, values quoted as control::quoteValue does:
// mac=aa:bb:cc:dd:ee:ff ip=192.168.43.10 hostname=phone connected=12s authorized=yes signal=-40dBm
// rx_bytes=1200 tx_bytes=3400 rx_rate="650 vhtmcs 7 vhtnss 2" tx_rate="520 mcs 11"
std::string describeStation(const StationView& s);

}  // namespace tetherd::softap
