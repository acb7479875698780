// What happened, as typed values: the one event type the core (TetherManager) and the soft AP
// service hand to their sink. The layers above give it a shape of their own — the control
// layer a 6xx line (tether/control/event_text.h), the web layer JSON (web/api.h) — so no
// wire format is made here and nothing here knows the control protocol.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "tether/base/ip.h"
#include "tether/base/result.h"

namespace tetherd {

namespace events {

// A network interface appeared (also the new name of a renamed one).
struct IfaceAdded {
  std::string ifname;
};
// An interface went away (also the old name of a renamed one).
struct IfaceRemoved {
  std::string ifname;
};
// Whether the interface is up now: administratively up and with carrier. Also sent with
// IfaceAdded, whatever the state.
struct IfaceLinkState {
  std::string ifname;
  bool up = false;
};
// An IPv4 address was added to (or updated on) an interface, or removed from it.
struct AddressChanged {
  std::string ifname;
  Ipv4Prefix prefix;
  bool added = false;
};
// A machine entered a state: the master machine (no ifname) or a downstream's. `error` is the
// failure that led there, with its code and cause.
struct TetherStateChanged {
  std::optional<std::string> ifname;
  std::string state;  // the machine's state name ("tethered", "failed", ...)
  std::optional<Error> error;
};
// The chosen upstream changed (none: no usable upstream).
struct UpstreamChanged {
  std::optional<std::string> ifname;
};
// An upstream candidate's validation changed (health probes): state is validationName()'s,
// portalUrl the captive portal's address (captive-portal only), detail the last probe's cause.
struct UpstreamValidation {
  std::string ifname;
  std::string state;
  std::string portalUrl;
  std::string detail;
};
// A problem with an upstream candidate that tetherd does not fix itself but says (once each time
// the candidate appears), e.g. strict reverse-path filtering, which drops its probe replies.
struct UpstreamProblem {
  std::string ifname;
  std::string problem;  // a sentence: what and what to do
};
// A client of a downstream: a Wi-Fi station (dis)connected on the soft AP's interface, or a
// MAC was blocked / unblocked on every downstream (no ifname).
struct ClientChanged {
  enum class Kind { StationConnected, StationDisconnected, Blocked, Unblocked };
  Kind kind = Kind::StationConnected;
  std::string mac;  // normalised: aa:bb:cc:dd:ee:ff
  std::optional<std::string> ifname;
};
// A Wi-Fi station failed to authenticate on the soft AP (reported once per station and cause
// within a minute): cause says why, e.g. "wrong password (WPA3-SAE confirm mismatch)".
struct StationAuthFailed {
  std::string mac;  // normalised: aa:bb:cc:dd:ee:ff
  std::string ifname;
  std::string cause;
};
// A downstream's clients went idle (netd's 613 "IfaceClass idle"): no client for its idle
// timeout, so it was turned off (`action` "off"; "failed" when turning it off failed).
struct IfaceClassActivity {
  std::string ifname;
  bool active = false;
  std::string action;
};
// A client's daily quota (issue 14, netd's 601 "limit alert"): 80 % of it used (level 1) or
// all of it (level 2: its forwarding is cut off until local midnight or `client quota off`).
// Seen by the once-a-minute counter reads: up to a minute late; the cut-off itself is not.
struct QuotaAlert {
  std::string mac;  // a client's quota; empty for a downstream's
  int level = 1;
  uint64_t used = 0, quota = 0;
  std::string downstream;     // a downstream's quota
  std::string period = "day";  // day, month, total
};
// A new configuration took effect (SIGHUP).
struct ConfigReloaded {};

}  // namespace events

struct Event {
  std::variant<events::IfaceAdded, events::IfaceRemoved, events::IfaceLinkState, events::AddressChanged,
               events::TetherStateChanged, events::UpstreamChanged, events::ClientChanged, events::StationAuthFailed,
               events::ConfigReloaded, events::UpstreamValidation, events::IfaceClassActivity, events::QuotaAlert,
               events::UpstreamProblem>
      what;
};

}  // namespace tetherd
