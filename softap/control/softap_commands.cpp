#include "softap/control/softap_commands.h"

#include "tether/control/control_protocol.h"

namespace tetherd::softap {

using control::Request;
using control::Responder;
namespace code = control::code;

std::string describeStation(const StationView& s) {
  using control::quoteValue;
  std::string out = "mac=" + quoteValue(s.mac) + " ip=" + (s.ip.empty() ? "none" : quoteValue(s.ip)) +
                    " hostname=" + (s.hostname.empty() ? "none" : quoteValue(s.hostname)) +
                    " connected=" + (s.connectedSec >= 0 ? std::to_string(s.connectedSec) + "s" : "unknown") +
                    " authorized=" + (s.authorized ? "yes" : "no");
  if (s.signalDbm) out += " signal=" + std::to_string(*s.signalDbm) + "dBm";
  if (s.rxBytes) out += " rx_bytes=" + std::to_string(*s.rxBytes);
  if (s.txBytes) out += " tx_bytes=" + std::to_string(*s.txBytes);
  if (s.rxRate) out += " rx_rate=" + quoteValue(*s.rxRate);
  if (s.txRate) out += " tx_rate=" + quoteValue(*s.txRate);
  return out;
}

void registerSoftapCommands(CommandTable& table, SoftApService& ap, TetherManager& manager) {
  table.add("softap",
            "softap set <key> <value> | softap get [key] | softap start|stop|status|stations|blocked | "
            "softap deauth|block|unblock <mac>",
            [&ap, &manager](const Request& req, const Responder& r) {
              const auto& a = req.args;
              const std::string sub = a.empty() ? "" : a[0];
              auto finish = [&r](const Status& st, const std::string& ok) {
                if (st) r.finish(code::CommandOkay, ok);
                else r.fail(st.error());
              };
              if (sub == "set" && a.size() == 3) return finish(ap.set(a[1], a[2]), "softap " + a[1] + " set");
              if (sub == "get" && a.size() == 2) {
                auto v = getField(ap.settings(), a[1]);
                if (!v) return r.fail(v.error());
                return r.finish(code::CommandOkay, a[1] + "=" + *v);
              }
              if (sub == "get" && a.size() == 1) {
                for (const auto& k : fieldNames()) {
                  auto v = getField(ap.settings(), k);
                  // The secret is shown only when asked for by name.
                  r.line(code::SettingList, k + "=" + (k == "passphrase" ? std::string(v->empty() ? "" : "********") : *v));
                }
                return r.finish(code::CommandOkay, "softap settings listed");
              }
              if (sub == "start" && a.size() == 1) return finish(manager.addInterface(ap.interface()), "softap start requested");
              if (sub == "stop" && a.size() == 1) return finish(manager.removeInterface(ap.interface()), "softap stopped");
              if (sub == "status" && a.size() == 1) {
                return ap.status([r, &ap](ApStatus s) {
                  r.finish(code::SoftapStatus,
                           "interface=" + ap.interface() + " hostapd=" + (s.running ? "running" : "stopped") +
                               " enabled=" + (s.enabled ? "yes" : "no") + " state=" + (s.state.empty() ? "none" : s.state) +
                               " ssid=" + ap.settings().ssid + " security=" + securityName(ap.settings().security) +
                               " channel=" + std::to_string(s.channel) + " stations=" + std::to_string(s.stations) +
                               " restarts=" + std::to_string(s.restarts) +
                               (s.lastError.empty() ? "" : " error=" + control::quoteValue(s.lastError)));
                });
              }
              if (sub == "stations" && a.size() == 1) {
                return ap.stations([r](Result<std::vector<StationView>> list) {
                  if (!list) return r.fail(list.error());
                  for (const auto& s : *list) r.line(code::StationList, describeStation(s));
                  r.finish(code::CommandOkay, "softap stations listed");
                });
              }
              if (sub == "blocked" && a.size() == 1) {
                for (const auto& m : ap.blocked()) r.line(code::StationList, m);
                return r.finish(code::CommandOkay, "softap blocked listed");
              }
              if (sub == "deauth" && a.size() == 2)
                return ap.deauth(a[1], [r, mac = a[1]](Status st) {
                  if (st) r.finish(code::CommandOkay, mac + " deauthenticated");
                  else r.fail(st.error());
                });
              if (sub == "block" && a.size() == 2) return finish(ap.block(a[1]), a[1] + " blocked");
              if (sub == "unblock" && a.size() == 2) return finish(ap.unblock(a[1]), a[1] + " unblocked");
              r.finish(code::CommandSyntaxError,
                       "Usage: softap set <key> <value> | softap get [key] | softap start|stop|status|stations|blocked | "
                       "softap deauth|block|unblock <mac>");
            });
}

}  // namespace tetherd::softap
