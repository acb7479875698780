// The clients resource: every downstream's clients from the DHCP leases joined with the soft
// AP's stations (api.h: clientsImpl), and kick / block / unblock / pin / unpin through the daemon's
// ClientActions (the same as `client kick|block|unblock`); limit sets a client's rate limits and
// quota its quota (`client limit`, `client quota`). The device the page is used from is never
// kicked or blocked from it. /api/me (public) tells a client about itself only: the page's
// "why you are cut off" notice.
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

void postClientAction(WebContext& c, const Request& req, const Params& params, Reply reply, const std::string& action) {
  const std::string& mac = params.at("mac");
  // Blocking or kicking the device this page is used from would lock the admin out mid-way.
  if (action == "kick" || action == "block") {
    auto n = normalizeMac(mac);
    for (const auto& d : c.leasesView().downstreams)
      for (const auto& l : d.leases)
        if (n && l.mac == *n && l.ip.str() == req.peer)
          return reply(errorResponse(409, "own-device", "mac: " + *n + " is the device you are using this page from"));
  }
  if (action == "kick") {
    std::weak_ptr<char> alive = c.alive;
    return c.clients().kick(mac, [alive, reply](Status st) {
      if (!alive.expired()) reply(st ? ok() : errorResponse(st.error()));
    });
  }
  Status st = action == "block"   ? c.clients().block(mac)
              : action == "pin"   ? c.clients().pin(mac, std::nullopt, "", c.deps.epochMs() / 1000)
              : action == "unpin" ? c.clients().unpin(mac)
                                  : c.clients().unblock(mac);
  if (st) c.pushStatusSoon();
  reply(st ? ok() : errorResponse(st.error()));
}

// A refused value: the error, and {"errors": {field: reason}} when the message names one of
// `fields` (the page shows it beside that field).
Response refused(const Error& e, const std::vector<std::string>& fields) {
  json body = errorBody(e);
  if (e.code == Errc::InvalidArgument) body["errors"] = fieldErrors(e.message, fields, "body")["errors"];
  return jsonResponse(httpStatusFor(e.code), body);
}

// {"download": "5Mbit", "upload": "off"}: a field left out is "off"; both off removes the limit.
void postClientLimit(WebContext& c, const Request& req, const Params& params, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  auto field = [&](const char* name) -> std::optional<std::string> {
    if (!body->is_object() || !body->contains(name)) return "off";
    if (!(*body)[name].is_string()) return std::nullopt;
    return (*body)[name].get<std::string>();
  };
  auto down = field("download"), up = field("upload");
  if (!down || !up) return reply(errorResponse(400, "bad-request", "download and upload are strings like \"5Mbit\" or \"off\""));
  Status st = c.clients().limit(params.at("mac"), *down, *up);
  if (!st && st.error().code == Errc::NotFound && *down == "off" && *up == "off") st = {};  // already without
  if (st) c.pushStatusSoon();
  reply(st ? ok() : refused(st.error(), {"download", "upload", "mac"}));
}

// {"quota": "5GB", "period": "month"} (period: day, the default, month or total), {"quota":
// "off"} (also: left out; off without a quota is fine) or {"quota": "reset"} (the period starts
// again now): ClientActions::quota, as `client quota <mac> <size> [<period>]|off|reset`.
void postClientQuota(WebContext& c, const Request& req, const Params& params, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  std::string size = "off", period;
  for (auto [name, target] : {std::pair<const char*, std::string*>{"quota", &size}, {"period", &period}}) {
    if (!body->contains(name)) continue;
    const std::string why = std::string(name) == "quota" ? "must be a string like \"5GB\", \"off\" or \"reset\""
                                                          : "must be \"day\", \"month\" or \"total\"";
    if (!(*body)[name].is_string())
      return reply(jsonResponse(400, json{{"error", {{"code", "invalid-argument"}, {"message", std::string(name) + ": " + why}}},
                                          {"errors", {{name, why}}}}));
    *target = (*body)[name].get<std::string>();
  }
  if (size == "off" || size == "reset") period.clear();
  Status st = c.clients().quota(params.at("mac"), size, period);
  if (!st && st.error().code == Errc::NotFound && size == "off") st = {};  // already without
  reply(st ? ok() : refused(st.error(), {"quota", "period", "mac"}));
}

Handler action(WebContext& c, const char* name) {
  return [&c, name](const Request& q, const Params& p, Session*, Reply r) { postClientAction(c, q, p, std::move(r), name); };
}

// Per-client usage (issue 14): per MAC, today's and the last 30 days' bytes and the days.
nlohmann::json usageJson(ClientUsage& usage) {
  usage.sample();
  const int today = usage.today();
  std::map<std::string, nlohmann::json> byMac;
  for (const auto& [k, v] : usage.history().records()) {
    if (k.day <= today - 30 || k.day > today) continue;
    auto& c = byMac[k.mac];
    if (c.is_null()) c = {{"mac", k.mac}, {"today", {{"rx", 0}, {"tx", 0}}}, {"last30", {{"rx", 0}, {"tx", 0}}}, {"days", nlohmann::json::array()}};
    c["last30"]["rx"] = c["last30"]["rx"].get<uint64_t>() + v.rx;
    c["last30"]["tx"] = c["last30"]["tx"].get<uint64_t>() + v.tx;
    if (k.day == today) {
      c["today"]["rx"] = c["today"]["rx"].get<uint64_t>() + v.rx;
      c["today"]["tx"] = c["today"]["tx"].get<uint64_t>() + v.tx;
    }
    c["days"].push_back({{"day", dayText(k.day)}, {"downstream", k.downstream}, {"rx", v.rx}, {"tx", v.tx}});
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [mac, c] : byMac) list.push_back(std::move(c));
  return {{"today", dayText(today)}, {"clients", std::move(list)}};
}

}  // namespace

void addClientRoutes(RouteTable& routes, WebContext& c) {
  using A = Access;
  routes.push_back({"GET", "/api/clients", A::Session, "clients from DHCP leases and soft AP stations",
                    [&c](const Request&, const Params&, Session*, Reply reply) {
                      c.gatherClients([reply](ClientsView v) { reply(jsonResponse(200, clientsImpl(v))); });
                    }});
  routes.push_back({"GET", "/api/clients/usage", A::Session, "per-client bytes: today and the last 30 days, per day",
                    [&c](const Request&, const Params&, Session*, Reply reply) {
                      if (c.deps.usage == nullptr)  // not counted (no daemon behind): nothing to show
                        return reply(jsonResponse(200, nlohmann::json{{"today", nullptr}, {"clients", nlohmann::json::array()}}));
                      reply(jsonResponse(200, usageJson(*c.deps.usage)));
                    }});
  routes.push_back({"POST", "/api/clients/{mac}/kick", A::Session,
                    "disconnect a client (Wi-Fi deauth, USB replug, Bluetooth disconnect)", action(c, "kick")});
  routes.push_back({"POST", "/api/clients/{mac}/block", A::Session,
                    "block a MAC on every downstream (firewall; soft AP deny list)", action(c, "block")});
  routes.push_back({"POST", "/api/clients/{mac}/unblock", A::Session, "unblock a MAC", action(c, "unblock")});
  routes.push_back({"POST", "/api/clients/{mac}/pin", A::Session,
                    "static lease: pin a client to its current address (dnsmasq hosts file, no restart)", action(c, "pin")});
  routes.push_back({"POST", "/api/clients/{mac}/unpin", A::Session, "remove a client's static lease", action(c, "unpin")});
  routes.push_back({"POST", "/api/clients/{mac}/quota", A::Session, "a client's quota: {quota, period} (\"5GB\", \"month\"; \"off\", \"reset\")",
                    [&c](const Request& q, const Params& p, Session*, Reply r) { postClientQuota(c, q, p, std::move(r)); }});
  // Public: a client cut off from the internet can still open the page, and must learn why
  // before (or without) logging in. Only its own state, found by its address's lease.
  routes.push_back({"GET", "/api/me", A::Public, "the requesting client's own state: cut off, why, its quota",
                    [&c](const Request& q, const Params&, Session*, Reply r) {
                      r(jsonResponse(200, meImpl(c.selfView(q.peer), c.deps.epochMs() / 1000)));
                    }});
  routes.push_back({"POST", "/api/clients/{mac}/limit", A::Session, "rate-limit a client: {download, upload} (\"5Mbit\", \"off\")",
                    [&c](const Request& q, const Params& p, Session*, Reply r) { postClientLimit(c, q, p, std::move(r)); }});
}

}  // namespace tetherd::web
