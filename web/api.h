// The web API's pure part: typed views in, JSON out (and JSON in, typed values out). The
// handlers in web/routes/ only gather the views from TetherManager / SoftApService, call these,
// and carry out the same operations the control-socket commands call; tests assert the JSON.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config/runtime_settings.h"
#include "softap/service/softap_service.h"
#include "tether/core/events.h"
#include "tether/system/dnsmasq.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/core/tether_manager.h"
#include "tether/core/clients/usage_history.h"

namespace tetherd::web {

using json = nlohmann::json;

// The HTTP status for an operation's error: InvalidArgument 400, NotFound/UnknownIface 404,
// AlreadyExists and state conflicts 409, Busy/ServiceUnavail 503, Timeout 504, else 500.
int httpStatusFor(Errc code);
// {"error": {"code": "<errc name>", "message": "..."}}
json errorBody(const Error& e);
json errorBody(std::string_view code, std::string_view message);
// A daemon message "field: reason" as {"errors": {"field": "reason"}} when field is one of
// `fields`; otherwise under `fallback`.
json fieldErrors(const std::string& message, const std::vector<std::string>& fields, const std::string& fallback);

// ---- events -------------------------------------------------------------------------------

// A typed event of the core or the soft AP (tether/core/events.h) as the page's live views get
// it ("change" on /api/events): {"type": "interfaceAdded"|"interfaceRemoved", "ifname"},
// {"type": "linkState", "ifname", "up"}, {"type": "address", "ifname", "prefix", "added"},
// {"type": "tetherState", "ifname" (null: the master), "state", "error" (null or {code, message})},
// {"type": "upstream", "ifname" (null: none)}, {"type": "client", "change":
// "connected"|"disconnected"|"blocked"|"unblocked", "mac", "ifname" (null: every downstream)},
// {"type": "configReloaded"}.
json eventJson(const Event& e);

// A client's or a downstream's quota (issue 14) as the page shows it: its size, what it used so far in its period
// ("day", "month" or "total": the core's QuotaRow), and when it is whole again.
struct QuotaView {
  uint64_t bytes = 0;
  uint64_t used = 0;
  std::string period = "day";
  int resetsDay = 0;  // the local day (localDay) it is whole again; 0: never (total)
};
// {"bytes", "size" ("5MB": as `client quota` takes it), "used", "period", "level" (quotaLevel:
//  0, 1 from 80 %, 2 reached: cut off), "resetsOn" ("YYYY-MM-DD", tetherd's calendar; null:
//  never), "resetsAt" (Unix time of the local midnight starting it), "resetsInSec"}
json quotaJson(const QuotaView& q, long long nowEpochSec);
// The Unix time of local midnight at the start of `day` (days since 1970-01-01, localDay's).
long long localMidnight(int day);

// ---- status -------------------------------------------------------------------------------

struct StatusView {
  bool tetheringStarted = false;
  std::string masterState;
  Error masterError{Errc::Ok, ""};
  std::optional<std::string> upstream;
  std::vector<UpstreamView> upstreams;                   // in priority order
  std::map<std::string, std::string> upstreamAddresses;  // ifname -> "a.b.c.d/len"
  std::vector<TetherManager::DownstreamStatus> downstreams;
  std::map<std::string, int> clientCounts;  // per downstream
  std::vector<TrafficCounter> counters;     // per pair; empty when unknown
  std::vector<Ipv4Address> dns;             // what the clients' DNS forwards to
  TetherManager::Ipv6Upstream ipv6{};       // the IPv6 mode and delegation ("ipv6")
  std::map<std::string, QuotaView> quotas{};  // per downstream with a quota ("quota", issue 14)
  long long nowEpochSec = 0;                  // for the quotas' resetsInSec
};
json statusImpl(const StatusView& v);

// ---- clients ------------------------------------------------------------------------------

struct ClientsView {
  struct DownstreamLeases {
    std::string ifname;
    IfaceKind kind = IfaceKind::Ethernet;
    std::vector<Lease> leases;
  };
  std::vector<DownstreamLeases> downstreams;  // tethered downstreams and their lease files
  std::string wifiInterface;                  // the soft AP's interface ("" when none)
  bool stationsKnown = false;                 // hostapd answered: stations are the truth there
  std::vector<softap::StationView> stations;
  std::vector<std::string> blocked;
  std::map<std::string, std::string> pinned{};  // static leases: MAC -> pinned address
  ClientLimits limits{};  // rate limits by MAC (issue 14)
  long long nowEpochSec = 0;  // leases that expired before are left out
  bool usageKnown = false;                         // per-client counting is on (issue 14)
  std::map<std::string, UsageBytes> usageToday{};  // per MAC, today's bytes
  std::map<std::string, std::vector<std::string>> ipv6{};  // per MAC, its IPv6 addresses (sorted)
  std::map<std::string, QuotaView> quotas{};  // per MAC with a quota (issue 14)
};
json clientsImpl(const ClientsView& v);
// What /api/me tells a client about itself, and nothing about anyone else: its lease (MAC,
// address), whether its forwarding is cut off and why (its quota reached, or blocked), its
// quota. A peer without a lease here (this machine, another network) is {"known": false}.
struct SelfView {
  bool known = false;
  std::string mac, ip, hostname;
  bool blocked = false;
  std::optional<QuotaView> quota;
};
json meImpl(const SelfView& v, long long nowEpochSec);
// Clients per downstream as the status shows them (the same rules as clientsImpl).
std::map<std::string, int> clientCounts(const ClientsView& v);

// ---- Wi-Fi --------------------------------------------------------------------------------

// The soft AP's settings under their field names (softap::fieldNames()); the passphrase only
// when withPassphrase (an authenticated session), else "".
json wifiImpl(const softap::Settings& s, bool withPassphrase);
// The body of PUT /api/wifi: {"<field>": value, ...} with strings, numbers and booleans, as
// (field, text) pairs for softap::setFields. Errors name the field (InvalidArgument "field: ...").
Result<std::vector<std::pair<std::string, std::string>>> wifiFieldsFrom(const json& body);

// ---- settings -----------------------------------------------------------------------------

// {"upstreamPriority": [...], "autoTether": {"usb": true, ...}, "dhcp": {"rangeFirstHost",
//  "rangeLastHost", "leaseTimeSec"}, "session": {"idleSec", "lifetimeSec"}, "idle":
//  {"softapTimeoutSec", "tetheringTimeoutSec" (0: off), "untether": {"usb", "bluetooth", "ethernet"}}}
json settingsImpl(const Config& c, const std::vector<std::string>& priority);
// The body of PUT /api/settings (any subset of the GET shape's upstreamPriority, autoTether,
// dhcp and idle) merged into `current`; kinds autoTether does not mention keep their value in `effective`
// (the running configuration). Errors: InvalidArgument "<json field>: reason".
Result<RuntimeSettings> settingsFrom(const json& body, const RuntimeSettings& current, const Config& effective);
// The JSON field names settingsFrom's errors use.
std::vector<std::string> settingsFieldNames();

}  // namespace tetherd::web
