// The settings resource: upstream priority, auto-tether per kind, DHCP range and lease time,
// idle auto-off (the soft AP's and the other downstreams' idle timeouts).
// A change is validated key by key (an error names its JSON field), kept in
// state_dir/web-settings and applied the SIGHUP way (WebDeps::applyConfig); the upstream
// priority goes through the manager's own operation, as `upstream set-priority`.
#include <set>

#include "tether/base/log.h"
#include "web/responses.h"
#include "web/routes/routes.h"
#include "config/runtime_settings.h"

namespace tetherd::web {

namespace {

// Config error messages name the file's keys; the page knows its JSON fields.
json settingsErrors(const std::string& message) {
  static const std::pair<const char*, const char*> kKeys[] = {
      {"range_first_host", "dhcp.rangeFirstHost"}, {"range_last_host", "dhcp.rangeLastHost"}, {"lease_time", "dhcp.leaseTimeSec"},
      {"auto_tether", "autoTether"},                {"priority", "upstreamPriority"},
      {"'idle_timeout' in [softap]", "idle.softapTimeoutSec"}, {"'idle_timeout' in [tethering]", "idle.tetheringTimeoutSec"},
      {"idle_untether", "idle.untether"}};
  std::string text = message;
  // "web-settings:3: key 'x' in [s]: reason" -> "reason"
  if (auto p = text.find("]: "); p != std::string::npos) text = text.substr(p + 3);
  else if (auto q = text.find("web-settings:"); q == 0) text = text.substr(text.find(": ") + 2);
  for (const auto& [key, field] : kKeys)
    if (message.find(key) != std::string::npos) return json{{"errors", {{field, text}}}};
  return json{{"errors", {{"body", text}}}};
}

void getSettings(WebContext& c, Reply reply) {
  json j = settingsImpl(c.deps.config(), c.deps.manager.upstreamPriority());
  // Candidates for the priority list: links that are not downstreams (an upstream cannot be both).
  std::set<std::string> downstreams;
  for (const auto& d : c.deps.manager.downstreams()) downstreams.insert(d.ifname);
  json ifaces = json::array();
  for (const auto& l : c.deps.manager.links())
    if (l.name != "lo" && !downstreams.count(l.name)) ifaces.push_back(l.name);
  j["interfaces"] = ifaces;
  reply(jsonResponse(200, j));
}

void putSettings(WebContext& c, const Request& req, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  const Config& base = c.deps.config();
  auto current = loadRuntimeSettings(base.stateDir);
  if (!current) {
    log::warning("web: ", current.error().message, " (starting from nothing)");
    current = RuntimeSettings{};
  }
  auto next = settingsFrom(*body, *current, base);
  if (!next) return reply(jsonResponse(400, fieldErrors(next.error().message, settingsFieldNames(), "body")));
  // All together (a key alone may not fit what is running); the error names its key.
  auto config = applyRuntimeSettings(base, *next);
  if (!config) return reply(jsonResponse(400, settingsErrors(config.error().message)));
  // The upstream priority through the manager's own operation (what `upstream set-priority`
  // does), which also refuses a tethered downstream.
  const auto priorityBefore = c.deps.manager.upstreamPriority();
  if (config->upstreamPriority != priorityBefore) {
    if (auto st = c.deps.manager.setUpstreamPriority(config->upstreamPriority); !st)
      return reply(jsonResponse(httpStatusFor(st.error().code), json{{"errors", {{"upstreamPriority", st.error().message}}}}));
  }
  if (auto st = saveRuntimeSettings(base.stateDir, *next); !st) {
    log::error("web: ", st.error().message);
    if (config->upstreamPriority != priorityBefore) (void)c.deps.manager.setUpstreamPriority(priorityBefore);
    return reply(errorResponse(st.error()));
  }
  c.deps.applyConfig(*config);  // the one path, SIGHUP's (tether/app/running_config.h)
  log::notice("web: settings changed and saved to ", runtimeSettingsPath(base.stateDir));
  json j = settingsImpl(c.deps.config(), c.deps.manager.upstreamPriority());
  reply(jsonResponse(200, j));
}

}  // namespace

void addSettingsRoutes(RouteTable& routes, WebContext& c) {
  using A = Access;
  routes.push_back({"GET", "/api/settings", A::Session, "upstream priority, auto-tether, DHCP",
                    [&c](const Request&, const Params&, Session*, Reply r) { getSettings(c, std::move(r)); }});
  routes.push_back({"PUT", "/api/settings", A::Session, "change them (kept in state_dir/web-settings)",
                    [&c](const Request& q, const Params&, Session*, Reply r) { putSettings(c, q, std::move(r)); }});
}

}  // namespace tetherd::web
