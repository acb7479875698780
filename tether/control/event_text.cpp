#include "tether/control/event_text.h"

#include "tether/control/control_protocol.h"

namespace tetherd::control {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string withError(std::string text, const std::optional<Error>& error) {
  if (error) text += std::string(" ") + errcName(error->code) + ": " + error->message;
  return text;
}

}  // namespace

EventLine formatEvent(const Event& event) {
  using Kind = events::ClientChanged::Kind;
  return std::visit(
      Overloaded{
          [](const events::IfaceAdded& e) { return EventLine{code::InterfaceChange, "Iface added " + e.ifname}; },
          [](const events::IfaceRemoved& e) { return EventLine{code::InterfaceChange, "Iface removed " + e.ifname}; },
          [](const events::IfaceLinkState& e) {
            return EventLine{code::InterfaceChange, "Iface linkstate " + e.ifname + (e.up ? " up" : " down")};
          },
          [](const events::AddressChanged& e) {
            return EventLine{code::InterfaceAddressChange,
                             "Address " + e.prefix.str() + " " + e.ifname + (e.added ? " updated" : " removed")};
          },
          [](const events::TetherStateChanged& e) {
            return EventLine{code::TetherStateChange, withError("Tether " + e.ifname.value_or("master") + " " + e.state, e.error)};
          },
          [](const events::UpstreamChanged& e) { return EventLine{code::UpstreamChange, "Upstream " + e.ifname.value_or("none")}; },
          [](const events::ClientChanged& e) {
            switch (e.kind) {
              case Kind::StationConnected:
                return EventLine{code::StationChange, "Station connected " + e.mac + " " + e.ifname.value_or("")};
              case Kind::StationDisconnected:
                return EventLine{code::StationChange, "Station disconnected " + e.mac + " " + e.ifname.value_or("")};
              case Kind::Blocked:
                return EventLine{code::TetherStateChange, "Client blocked " + e.mac};
              case Kind::Unblocked:
                break;
            }
            return EventLine{code::TetherStateChange, "Client unblocked " + e.mac};
          },
          [](const events::StationAuthFailed& e) {
            return EventLine{code::StationChange, "Station auth-failed " + e.mac + " " + e.ifname + " " + e.cause};
          },
          [](const events::ConfigReloaded&) { return EventLine{code::TetherStateChange, "Config reloaded"}; },
          [](const events::UpstreamValidation& e) {
            std::string text = "Upstream validation " + e.ifname + " " + e.state;
            if (!e.portalUrl.empty()) text += " portal=" + quoteValue(e.portalUrl);
            if (!e.detail.empty()) text += " detail=" + quoteValue(e.detail);
            return EventLine{code::UpstreamChange, text};
          },
          [](const events::UpstreamProblem& e) {
            return EventLine{code::UpstreamChange, "Upstream problem " + e.ifname + " " + e.problem};
          },
          [](const events::QuotaAlert& e) {
            return EventLine{code::BandwidthControl, "limit alert " + (e.mac.empty() ? "downstream " + e.downstream : e.mac) +
                                                         (e.level >= 2 ? " reached" : " warning") + " used=" + std::to_string(e.used) +
                                                         " quota=" + std::to_string(e.quota) + " period=" + e.period};
          },
          [](const events::IfaceClassActivity& e) {
            return EventLine{code::InterfaceClassActivity,
                             std::string("IfaceClass ") + (e.active ? "active " : "idle ") + e.ifname +
                                 (e.action.empty() ? "" : " " + e.action)};
          },
      },
      event.what);
}

}  // namespace tetherd::control
