#include "web/api.h"

#include <algorithm>
#include <set>

#include "config/rate_values.h"
#include "softap/hostapd/softap_settings.h"

namespace tetherd::web {

int httpStatusFor(Errc code) {
  switch (code) {
    case Errc::Ok: return 200;
    case Errc::InvalidArgument: return 400;
    case Errc::UnknownIface:
    case Errc::NotFound: return 404;
    case Errc::AlreadyExists:
    case Errc::Unsupported:
    case Errc::UnavailIface:
    case Errc::MasterError:
    case Errc::TetherIfaceError:
    case Errc::UntetherIfaceError:
    case Errc::EnableForwardingError:
    case Errc::DisableForwardingError:
    case Errc::IfaceCfgError:
    case Errc::DhcpServerError: return 409;
    case Errc::Busy:
    case Errc::ServiceUnavail: return 503;
    case Errc::Timeout: return 504;
    case Errc::SystemError: return 500;
  }
  return 500;
}

json errorBody(std::string_view code, std::string_view message) {
  return json{{"error", {{"code", code}, {"message", message}}}};
}

json errorBody(const Error& e) { return errorBody(errcName(e.code), e.message); }

json fieldErrors(const std::string& message, const std::vector<std::string>& fields, const std::string& fallback) {
  auto colon = message.find(": ");
  if (colon != std::string::npos) {
    std::string field = message.substr(0, colon);
    if (std::find(fields.begin(), fields.end(), field) != fields.end())
      return json{{"errors", {{field, message.substr(colon + 2)}}}};
  }
  return json{{"errors", {{fallback, message}}}};
}

namespace {

json errorOrNull(const Error& e) {
  if (e.code == Errc::Ok) return nullptr;
  return json{{"code", errcName(e.code)}, {"message", e.message}};
}

json addresses(const std::vector<Ipv4Address>& v) {
  json out = json::array();
  for (const auto& a : v) out.push_back(a.str());
  return out;
}

const char* stateName(TetherInterfaceMachine::State s) { return TetherInterfaceMachine::stateName(s); }

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

json orNull(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

const char* clientChange(events::ClientChanged::Kind k) {
  using K = events::ClientChanged::Kind;
  switch (k) {
    case K::StationConnected: return "connected";
    case K::StationDisconnected: return "disconnected";
    case K::Blocked: return "blocked";
    case K::Unblocked: return "unblocked";
  }
  return "?";
}

}  // namespace

json eventJson(const Event& event) {
  return std::visit(
      Overloaded{
          [](const events::IfaceAdded& e) { return json{{"type", "interfaceAdded"}, {"ifname", e.ifname}}; },
          [](const events::IfaceRemoved& e) { return json{{"type", "interfaceRemoved"}, {"ifname", e.ifname}}; },
          [](const events::IfaceLinkState& e) { return json{{"type", "linkState"}, {"ifname", e.ifname}, {"up", e.up}}; },
          [](const events::AddressChanged& e) {
            return json{{"type", "address"}, {"ifname", e.ifname}, {"prefix", e.prefix.str()}, {"added", e.added}};
          },
          [](const events::TetherStateChanged& e) {
            return json{{"type", "tetherState"},
                        {"ifname", orNull(e.ifname)},
                        {"state", e.state},
                        {"error", e.error ? errorOrNull(*e.error) : json(nullptr)}};
          },
          [](const events::UpstreamChanged& e) { return json{{"type", "upstream"}, {"ifname", orNull(e.ifname)}}; },
          [](const events::ClientChanged& e) {
            return json{{"type", "client"}, {"change", clientChange(e.kind)}, {"mac", e.mac}, {"ifname", orNull(e.ifname)}};
          },
          [](const events::StationAuthFailed& e) {
            return json{{"type", "client"}, {"change", "authFailed"}, {"mac", e.mac}, {"ifname", e.ifname}, {"cause", e.cause}};
          },
          [](const events::ConfigReloaded&) { return json{{"type", "configReloaded"}}; },
          [](const events::UpstreamValidation& e) {
            return json{{"type", "upstreamValidation"}, {"ifname", e.ifname}, {"state", e.state}, {"portalUrl", e.portalUrl},
                        {"detail", e.detail}};
          },
          [](const events::UpstreamProblem& e) {
            return json{{"type", "upstreamProblem"}, {"ifname", e.ifname}, {"problem", e.problem}};
          },
          [](const events::QuotaAlert& e) {
            json j{{"type", "quotaAlert"}, {"reached", e.level >= 2}, {"used", e.used}, {"quota", e.quota}, {"period", e.period}};
            if (e.mac.empty()) j["downstream"] = e.downstream;
            else j["mac"] = e.mac;
            return j;
          },
          [](const events::IfaceClassActivity& e) {
            return json{{"type", "ifaceClass"}, {"ifname", e.ifname}, {"active", e.active}, {"action", e.action}};
          },
      },
      event.what);
}

json statusImpl(const StatusView& v) {
  json out;
  out["tethering"] = {{"started", v.tetheringStarted}, {"state", v.masterState}, {"error", errorOrNull(v.masterError)}};

  json up = {{"name", nullptr}, {"address", nullptr}, {"state", "none"}, {"dns", addresses(v.dns)}, {"validation", nullptr}};
  json ups = json::array();
  int rank = 1;
  for (const auto& u : v.upstreams) {
    const bool selected = v.upstream && *v.upstream == u.ifname;
    auto addr = v.upstreamAddresses.find(u.ifname);
    json a = addr == v.upstreamAddresses.end() ? json(nullptr) : json(addr->second);
    const bool only6 = usable6Only(u);  // an IPv6-only candidate is usable (upstream.h)
    const char* state = !u.exists                      ? "absent"
                        : !u.up                        ? "down"
                        : !u.defaultRoute && !only6    ? "no-route"
                        : u.dns.empty() && !only6      ? "no-dns"
                                                       : "ready";
    // The health probes' verdict (null while validation is off) and a captive portal's URL.
    json validation = u.lastProbeAgoMs ? json(validationName(u.validation)) : json(nullptr);
    json portal = u.portalUrl.empty() ? json(nullptr) : json(u.portalUrl);
    ups.push_back({{"name", u.ifname}, {"priority", rank++}, {"state", state}, {"address", a}, {"selected", selected},
                   {"dns", addresses(u.dns)}, {"validation", validation}, {"portalUrl", portal}});
    if (selected) {
      up["name"] = u.ifname;
      up["address"] = a;
      up["state"] = state;
      up["validation"] = validation;
    }
  }
  if (v.upstream && up["name"].is_null()) {  // chosen but not in the list (cannot happen today)
    up["name"] = *v.upstream;
    up["state"] = "ready";
  }
  out["upstream"] = up;
  out["upstreams"] = ups;

  uint64_t rxTotal = 0, txTotal = 0;
  int clients = 0, tethered = 0;
  json downs = json::array();
  for (const auto& d : v.downstreams) {
    uint64_t rx = 0, tx = 0;
    for (const auto& c : v.counters) {
      if (c.downstream != d.ifname) continue;
      rx += c.rxBytes;
      tx += c.txBytes;
    }
    rxTotal += rx;
    txTotal += tx;
    auto cc = v.clientCounts.find(d.ifname);
    const int n = cc == v.clientCounts.end() ? 0 : cc->second;
    clients += n;
    if (d.state == TetherInterfaceMachine::State::Tethered) ++tethered;
    json item = {{"name", d.ifname},
                 {"kind", ifaceKindName(d.kind)},
                 {"state", stateName(d.state)},
                 {"address", d.address ? json(d.address->address.str()) : json(nullptr)},
                 {"subnet", d.address ? json(Ipv4Prefix{d.address->network(), d.address->length}.str()) : json(nullptr)},
                 {"clients", n},
                 {"dhcp", d.dhcpRunning},
                 {"wanted", d.requested},
                 {"ipv6", ipv6ModeName(d.ipv6)},
                 {"ipv6Prefix", d.ipv6Prefix ? json(d.ipv6Prefix->str()) : json(nullptr)},
                 {"rxBytes", rx},
                 {"txBytes", tx},
                 {"error", errorOrNull(d.error)}};
    if (auto q = v.quotas.find(d.ifname); q != v.quotas.end()) item["quota"] = quotaJson(q->second, v.nowEpochSec);
    downs.push_back(std::move(item));
  }
  out["downstreams"] = downs;
  out["totals"] = {{"downstreams", v.downstreams.size()}, {"tethered", tethered}, {"clients", clients},
                   {"rxBytes", rxTotal}, {"txBytes", txTotal}};
  // IPv6: the mode configured and the one in force, the delegated prefix with its lifetimes
  // left (seconds; null: infinite), the downstreams it had no /64 for.
  const auto& v6 = v.ipv6;
  auto secs = [](uint32_t n) { return n == 4294967295u ? json(nullptr) : json(n); };
  out["ipv6"] = {{"configured", ipv6ModeName(v6.configured)},
                 {"mode", ipv6ModeName(v6.mode)},
                 {"delegated", v6.delegated ? json{{"prefix", v6.delegated->str()},
                                                   {"preferredSec", secs(v6.preferredSec)},
                                                   {"validSec", secs(v6.validSec)}}
                                            : json(nullptr)},
                 {"left", v6.pdLeft}};
  return out;
}

namespace {

struct ClientRow {
  std::string mac, ip, hostname, ifname;
  IfaceKind kind = IfaceKind::Ethernet;
  bool wifi = false;
  std::optional<long> connectedSec;
  std::optional<int> signal;
  std::optional<uint64_t> down, up;  // bytes to / from the client
  std::optional<long long> leaseExpires;
};

std::vector<ClientRow> clientRows(const ClientsView& v) {
  std::vector<ClientRow> rows;
  for (const auto& d : v.downstreams) {
    if (!v.wifiInterface.empty() && d.ifname == v.wifiInterface && v.stationsKnown) continue;  // stations below
    for (const auto& l : d.leases) {
      if (l.expiry != 0 && l.expiry <= v.nowEpochSec) continue;
      ClientRow r;
      r.mac = l.mac;
      r.ip = l.ip.str();
      r.hostname = l.hostname;
      r.ifname = d.ifname;
      r.kind = d.kind;
      if (l.expiry != 0) r.leaseExpires = l.expiry;
      rows.push_back(std::move(r));
    }
  }
  if (v.stationsKnown) {
    // Stations of the soft AP, joined with the AP interface's leases (expiry) by MAC.
    const ClientsView::DownstreamLeases* apLeases = nullptr;
    for (const auto& d : v.downstreams)
      if (d.ifname == v.wifiInterface) apLeases = &d;
    for (const auto& s : v.stations) {
      ClientRow r;
      r.mac = s.mac;
      r.ip = s.ip;
      r.hostname = s.hostname;
      r.ifname = v.wifiInterface;
      r.kind = IfaceKind::Wifi;
      r.wifi = true;
      if (s.connectedSec >= 0) r.connectedSec = s.connectedSec;
      r.signal = s.signalDbm;
      r.down = s.txBytes;  // hostapd counts from the AP's side
      r.up = s.rxBytes;
      if (apLeases) {
        for (const auto& l : apLeases->leases) {
          if (l.mac != s.mac) continue;
          if (r.ip.empty()) r.ip = l.ip.str();
          if (r.hostname.empty()) r.hostname = l.hostname;
          if (l.expiry != 0) r.leaseExpires = l.expiry;
        }
      }
      rows.push_back(std::move(r));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const ClientRow& a, const ClientRow& b) {
    auto ia = Ipv4Address::parse(a.ip), ib = Ipv4Address::parse(b.ip);
    return std::tie(a.ifname, ia, a.mac) < std::tie(b.ifname, ib, b.mac);
  });
  return rows;
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// A client's rate limit (issue 14): {"download": "5Mbit", "upload": "off"}, or null.
json limitJson(const ClientLimits& limits, const std::string& mac) {
  auto it = limits.find(mac);
  if (it == limits.end()) return nullptr;
  auto rate = [](uint64_t b) { return b ? formatRate(b) : std::string("off"); };
  return json{{"download", rate(it->second.down)}, {"upload", rate(it->second.up)}};
}

}  // namespace

json clientsImpl(const ClientsView& v) {
  std::set<std::string> blocked(v.blocked.begin(), v.blocked.end());
  json list = json::array();
  for (const auto& r : clientRows(v)) {
    // Bytes: the soft AP's station counters for Wi-Fi, else today's per-client counters.
    auto today = v.usageToday.find(r.mac);
    const bool counted = v.usageKnown && !r.mac.empty();
    const UsageBytes t = today != v.usageToday.end() ? today->second : UsageBytes{};
    auto down = r.down, up = r.up;
    if (!down && counted) down = t.rx;
    if (!up && counted) up = t.tx;
    list.push_back({{"mac", r.mac},
                    {"ip", r.ip.empty() ? json(nullptr) : json(r.ip)},
                    {"hostname", r.hostname.empty() ? json(nullptr) : json(r.hostname)},
                    {"interface", r.ifname},
                    {"kind", ifaceKindName(r.kind)},
                    {"wifi", r.wifi},
                    {"connectedSec", opt(r.connectedSec)},
                    {"signalDbm", opt(r.signal)},
                    {"downloadBytes", opt(down)},
                    {"uploadBytes", opt(up)},

                    {"leaseExpires", opt(r.leaseExpires)},
                    {"ipv6", v.ipv6.count(r.mac) ? json(v.ipv6.at(r.mac)) : json::array()},
                    {"blocked", blocked.count(r.mac) > 0},
                    {"pinned", v.pinned.count(r.mac) ? json(v.pinned.at(r.mac)) : json(nullptr)},
                    {"limit", limitJson(v.limits, r.mac)},
                    {"quota", v.quotas.count(r.mac) ? quotaJson(v.quotas.at(r.mac), v.nowEpochSec) : json(nullptr)},
                    // A kick disconnects Wi-Fi (deauth), USB (replug) and Bluetooth clients; a
                    // wired client can only be blocked (ClientActions). Both need the client's
                    // MAC, which a lease without a 6-byte hardware address does not give.
                    {"canKick", !r.mac.empty() && (r.wifi || r.kind == IfaceKind::Usb || r.kind == IfaceKind::Bluetooth)},
                    {"canBlock", !r.mac.empty()}});
    if (counted) {
      list.back()["todayDownloadBytes"] = t.rx;
      list.back()["todayUploadBytes"] = t.tx;
    }
  }
  return json{{"clients", list}, {"blocked", v.blocked}, {"pinned", v.pinned}, {"wifiInterface", v.wifiInterface}};
}

std::map<std::string, int> clientCounts(const ClientsView& v) {
  std::map<std::string, int> out;
  for (const auto& r : clientRows(v)) ++out[r.ifname];
  return out;
}

json wifiImpl(const softap::Settings& s, bool withPassphrase) {
  json out = json::object();
  for (const auto& k : softap::fieldNames()) {
    auto v = softap::getField(s, k);
    if (!v) continue;
    if (k == "passphrase") out[k] = withPassphrase ? *v : "";
    else if (k == "hidden" || k == "isolation" || k == "80211n" || k == "80211ac") out[k] = *v == "yes";
    else if (k == "max-stations") out[k] = s.maxStations;
    else out[k] = *v;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> wifiFieldsFrom(const json& body) {
  if (!body.is_object()) return makeError(Errc::InvalidArgument, "body: must be a JSON object");
  const auto names = softap::fieldNames();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : body.items()) {
    if (std::find(names.begin(), names.end(), key) == names.end())
      return makeError(Errc::InvalidArgument, "body: unknown field '" + key.substr(0, 32) + "'");
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_boolean()) text = value.get<bool>() ? "yes" : "no";
    else if (value.is_number_integer()) text = std::to_string(value.get<long long>());
    else return makeError(Errc::InvalidArgument, key + ": must be a string, a whole number or true/false");
    out.emplace_back(key, std::move(text));
  }
  return out;
}

namespace {

// Idle auto-off (issue 14): [softap] idle_timeout, [tethering] idle_timeout and idle_untether.
json idleJson(const Config& c) {
  json untether = json::object();
  for (auto k : {IfaceKind::Usb, IfaceKind::Bluetooth, IfaceKind::Ethernet})
    untether[ifaceKindName(k)] = c.idleUntether[static_cast<size_t>(k)];
  return json{{"softapTimeoutSec", c.softapIdleTimeoutSec}, {"tetheringTimeoutSec", c.idleTimeoutSec}, {"untether", untether}};
}

Status idleFrom(const json& value, RuntimeSettings& out, const Config& effective) {
  if (!value.is_object()) return makeError(Errc::InvalidArgument, "idle: must be an object");
  for (const auto& [field, v] : value.items()) {
    if (field == "softapTimeoutSec" || field == "tetheringTimeoutSec") {
      if (!v.is_number_integer()) return makeError(Errc::InvalidArgument, "idle." + field + ": must be a whole number of seconds (0: off)");
      const long long n = v.get<long long>();
      if (n < 0) return makeError(Errc::InvalidArgument, "idle." + field + ": must not be negative (0: off)");
      // The configuration file's own check (1s to 24h) follows in applyRuntimeSettings.
      out[field == "softapTimeoutSec" ? "softap.idle_timeout" : "tethering.idle_timeout"] = n == 0 ? "off" : std::to_string(n) + "s";
    } else if (field == "untether") {
      if (!v.is_object()) return makeError(Errc::InvalidArgument, "idle.untether: must be an object of kind: true/false");
      auto on = effective.idleUntether;
      for (const auto& [kind, flag] : v.items()) {
        IfaceKind k;
        if (!parseIfaceKind(kind, k) || k == IfaceKind::Wifi)
          return makeError(Errc::InvalidArgument, "idle.untether: '" + kind.substr(0, 32) + "' is not one of usb, bluetooth, ethernet");
        if (!flag.is_boolean()) return makeError(Errc::InvalidArgument, "idle.untether: " + kind + " must be true or false");
        on[static_cast<size_t>(k)] = flag.get<bool>();
      }
      std::string words;
      for (auto k : {IfaceKind::Usb, IfaceKind::Bluetooth, IfaceKind::Ethernet})
        if (on[static_cast<size_t>(k)]) words += (words.empty() ? "" : " ") + std::string(ifaceKindName(k));
      out["tethering.idle_untether"] = words.empty() ? "none" : words;
    } else {
      return makeError(Errc::InvalidArgument, "idle: unknown field '" + field.substr(0, 32) + "'");
    }
  }
  return {};
}

}  // namespace

json settingsImpl(const Config& c, const std::vector<std::string>& priority) {
  json auto_ = json::object();
  for (int i = 0; i < kIfaceKindCount; ++i) {
    auto k = static_cast<IfaceKind>(i);
    auto_[ifaceKindName(k)] = c.kind(k).autoTether;
  }
  return json{{"upstreamPriority", priority},
              {"autoTether", auto_},
              {"dhcp", {{"rangeFirstHost", c.rangeFirstHost}, {"rangeLastHost", c.rangeLastHost}, {"leaseTimeSec", c.leaseTimeSec}}},
              {"session", {{"idleSec", c.webSessionIdleSec}, {"lifetimeSec", c.webSessionLifetimeSec}}},
              {"idle", idleJson(c)}};
}

std::vector<std::string> settingsFieldNames() {
  return {"upstreamPriority",      "autoTether",           "dhcp.rangeFirstHost",     "dhcp.rangeLastHost", "dhcp.leaseTimeSec",
          "idle.softapTimeoutSec", "idle.tetheringTimeoutSec", "idle.untether", "idle", "body"};
}

Result<RuntimeSettings> settingsFrom(const json& body, const RuntimeSettings& current, const Config& effective) {
  if (!body.is_object()) return makeError(Errc::InvalidArgument, "body: must be a JSON object");
  RuntimeSettings out = current;
  for (const auto& [key, value] : body.items()) {
    if (key == "upstreamPriority") {
      if (!value.is_array()) return makeError(Errc::InvalidArgument, "upstreamPriority: must be a list of interface names");
      std::string words;
      for (const auto& n : value) {
        if (!n.is_string() || !validIfname(n.get<std::string>()))
          return makeError(Errc::InvalidArgument, "upstreamPriority: " + (n.is_string() ? "'" + n.get<std::string>().substr(0, 32) + "'" : std::string("an entry")) +
                                                      " is not a valid interface name");
        words += (words.empty() ? "" : " ") + n.get<std::string>();
      }
      out["upstream.priority"] = words;
    } else if (key == "autoTether") {
      if (!value.is_object()) return makeError(Errc::InvalidArgument, "autoTether: must be an object of kind: true/false");
      std::array<bool, kIfaceKindCount> on{};
      for (int i = 0; i < kIfaceKindCount; ++i) on[static_cast<size_t>(i)] = effective.kind(static_cast<IfaceKind>(i)).autoTether;
      for (const auto& [kind, flag] : value.items()) {
        IfaceKind k;
        if (!parseIfaceKind(kind, k)) return makeError(Errc::InvalidArgument, "autoTether: '" + kind.substr(0, 32) + "' is not a kind");
        if (!flag.is_boolean()) return makeError(Errc::InvalidArgument, "autoTether: " + kind + " must be true or false");
        on[static_cast<size_t>(k)] = flag.get<bool>();
      }
      std::string words;
      for (int i = 0; i < kIfaceKindCount; ++i)
        if (on[static_cast<size_t>(i)]) words += (words.empty() ? "" : " ") + std::string(ifaceKindName(static_cast<IfaceKind>(i)));
      out["tethering.auto_tether"] = words.empty() ? "none" : words;
    } else if (key == "dhcp") {
      if (!value.is_object()) return makeError(Errc::InvalidArgument, "dhcp: must be an object");
      for (const auto& [field, n] : value.items()) {
        std::string target;
        if (field == "rangeFirstHost") target = "dhcp.range_first_host";
        else if (field == "rangeLastHost") target = "dhcp.range_last_host";
        else if (field == "leaseTimeSec") target = "dhcp.lease_time";
        else return makeError(Errc::InvalidArgument, "dhcp: unknown field '" + field.substr(0, 32) + "'");
        if (!n.is_number_integer()) return makeError(Errc::InvalidArgument, "dhcp." + field + ": must be a whole number");
        out[target] = std::to_string(n.get<long long>());
      }
    } else if (key == "idle") {
      if (auto st = idleFrom(value, out, effective); !st) return st.error();
    } else if (key == "session") {
      // Read-only here (tetherd.conf [web]); accepted so that a GET can be sent back as is.
    } else {
      return makeError(Errc::InvalidArgument, "body: unknown field '" + key.substr(0, 32) + "'");
    }
  }
  return out;
}

}  // namespace tetherd::web
