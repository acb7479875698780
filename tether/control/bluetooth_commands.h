// `bluetooth ...` control-socket commands: thin text adapters over BluetoothPan.
#pragma once

#include <string>

#include "tether/radios/bluetooth/bluetooth_pan.h"
#include "tether/control/command_table.h"

namespace tetherd {

void registerBluetoothCommands(CommandTable& table, BluetoothPan& pan);
// "enabled=yes adapter=hci0 bridge=bt-pan bridge_present=yes bus=connected bluez=:1.4
// nap=registered registrations=1" (+ error="..." when there is one).
std::string describeBluetooth(const BluetoothPan::View& v);

}  // namespace tetherd
