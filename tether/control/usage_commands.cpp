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

void quotaCommand(const std::vector<std::string>& args, const QuotaSetter& set, bool downstream, const control::Responder& r) {
  const std::string what = downstream ? "tether quota <if>" : "client quota <mac>";
  if (args.size() < 2 || args.size() > 3 || (args.size() == 3 && (args[1] == "off" || args[1] == "reset")))
    return r.finish(control::code::CommandSyntaxError, "Usage: " + what + " <size> [day|month|total] | " + what + " off|reset");
  const std::string period = args.size() == 3 ? args[2] : "";
  auto q = downstream ? checkDownstreamQuota(args[0], args[1], period) : checkClientQuota(args[0], args[1], period);
  if (!q) return r.fail(q.error());
  if (auto st = set(*q); !st) return r.fail(st.error());
  r.finish(control::code::CommandOkay, q->key + (q->reset ? " quota reset" : q->bytes == 0 ? " quota off" : " quota set"));
}

void quotasCommand(const std::vector<QuotaRow>& rows, bool downstream, const control::Responder& r) {
  for (const auto& row : rows)
    if (row.downstream == downstream) r.line(control::code::StationList, row.key + " " + describeQuotaRow(row));
  r.finish(control::code::CommandOkay, downstream ? "downstream quotas listed" : "client quotas listed");
}

std::string usageFields(const std::map<std::string, UsageBytes>& today, const std::string& mac) {
  auto it = today.find(mac);
  const UsageBytes b = it == today.end() ? UsageBytes{} : it->second;
  return " rx_bytes=" + std::to_string(b.rx) + " tx_bytes=" + std::to_string(b.tx);
}

}  // namespace tetherd
