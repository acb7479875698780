#include "tether/control/usage_commands.h"

#include "tether/base/ip.h"
#include "tether/control/control_protocol.h"

namespace tetherd {

void clientUsageCommand(const std::vector<std::string>& args, ClientUsage& usage, const control::Responder& r) {
  std::string mac;
  if (args.size() > 1) {
    return r.finish(control::code::CommandSyntaxError, "Usage: client usage [<mac>]");
  }
  if (args.size() == 1) {
    auto n = normalizeMac(args[0]);
    if (!n) return r.finish(control::code::CommandParameterError, "mac: '" + args[0] + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    mac = *n;
  }
  usage.sample();
  for (const auto& [k, v] : usage.history().records()) {
    if (!mac.empty() && k.mac != mac) continue;
    r.line(control::code::ClientList, "day=" + dayText(k.day) + " mac=" + k.mac + " downstream=" + k.downstream +
                                 " rx_bytes=" + std::to_string(v.rx) + " tx_bytes=" + std::to_string(v.tx));
  }
  r.finish(control::code::CommandOkay, "Client usage listed");
}

std::string usageFields(const std::map<std::string, UsageBytes>& today, const std::string& mac) {
  auto it = today.find(mac);
  const UsageBytes b = it == today.end() ? UsageBytes{} : it->second;
  return " rx_bytes=" + std::to_string(b.rx) + " tx_bytes=" + std::to_string(b.tx);
}

}  // namespace tetherd
