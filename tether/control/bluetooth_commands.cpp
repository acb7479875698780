#include "tether/control/bluetooth_commands.h"

namespace tetherd {

using control::Request;
using control::Responder;
namespace code = control::code;

std::string describeBluetooth(const BluetoothPan::View& v) {
  std::string out = std::string("enabled=") + (v.enabled ? "yes" : "no") + " adapter=" + v.adapter + " bridge=" + v.bridge +
                    " bridge_present=" + (v.bridgePresent ? "yes" : "no") +
                    " bus=" + (v.busConnected ? "connected" : "disconnected") +
                    " bluez=" + (v.bluez.empty() ? "absent" : v.bluez) +
                    " nap=" + (v.registered ? "registered" : "unregistered") +
                    " registrations=" + std::to_string(v.registrations);
  if (!v.error.empty()) out += " error=" + control::quoteValue(v.error);
  return out;
}

void registerBluetoothCommands(CommandTable& table, BluetoothPan& pan) {
  table.add("bluetooth", "bluetooth status", [&pan](const Request& req, const Responder& r) {
    if (req.args.size() == 1 && req.args[0] == "status") return r.finish(code::StatusReport, describeBluetooth(pan.status()));
    r.finish(code::CommandSyntaxError, "Usage: bluetooth status");
  });
}

}  // namespace tetherd
