#include "web/web_app.h"

#include <unistd.h>

#include <algorithm>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "web/api.h"
#include "web/responses.h"

namespace tetherd::web {

namespace {

int fromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = fromHex(in[i + 1]), lo = fromHex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '\0') return false;
    out += c;
    i += 2;
  }
  return true;
}

// "/api/clients/{mac}/kick" against a path; {name} takes one decoded segment.
bool matchRoute(std::string_view pattern, std::string_view path, Params& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const size_t pe = std::min(pattern.find('/'), pattern.size());
    const size_t se = std::min(path.find('/'), path.size());
    std::string_view p = pattern.substr(0, pe), s = path.substr(0, se);
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      std::string value;
      if (s.empty() || !percentDecode(s, value)) return false;
      params[std::string(p.substr(1, p.size() - 2))] = value;
    } else if (p != s) {
      return false;
    }
    pattern.remove_prefix(pe);
    path.remove_prefix(se);
  }
  return true;
}

std::string hostOf(std::string_view host) {
  // "name:port" or "a.b.c.d:port"; IPv6 literals are not served.
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  std::string out(host);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The defaults of what the caller left out: the wall clock, this machine's names.
WebDeps withDefaults(WebDeps deps) {
  if (!deps.epochMs) {
    deps.epochMs = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  }
  if (deps.hostNames.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      std::string h = hostOf(host);
      deps.hostNames.push_back(h);
      deps.hostNames.push_back(h + ".local");
    }
  }
  return deps;
}

}  // namespace

WebApp::WebApp(WebDeps deps) : ctx_(std::make_unique<WebContext>(withDefaults(std::move(deps)))) {
  // One file per resource (web/routes/routes.h); a path is matched in this order.
  addSessionRoutes(routes_, *ctx_);
  addStatusRoutes(routes_, *ctx_);
  addClientRoutes(routes_, *ctx_);
  addInterfaceRoutes(routes_, *ctx_);
  addWifiRoutes(routes_, *ctx_);
  addEventRoutes(routes_, *ctx_);
  addSettingsRoutes(routes_, *ctx_);
  addMetricsRoutes(routes_, *ctx_);
}

WebApp::~WebApp() {
  routes_.clear();  // before the context their handlers refer to
  ctx_.reset();
}

Status WebApp::load() {
  if (auto st = ensureDir(ctx_->deps.config().stateDir, 0750); !st) return st;
  if (auto st = ctx_->password.load(); !st) return st;
  ctx_->makeSetupCode();
  return {};
}

void WebApp::reconfigure(const Config& config) {
  ctx_->sessions.setLimits(std::chrono::seconds(config.webSessionIdleSec), std::chrono::seconds(config.webSessionLifetimeSec));
}

bool WebApp::hostAllowed(const Request& req) const {
  const std::string* host = req.header("Host");
  if (!host || host->empty()) return false;
  const std::string h = hostOf(*host);
  if (h == "localhost" || Ipv4Address::parse(h)) return true;
  return std::find(ctx_->deps.hostNames.begin(), ctx_->deps.hostNames.end(), h) != ctx_->deps.hostNames.end();
}

std::string WebApp::checkOrigin(const Request& req) const {
  if (const std::string* site = req.header("Sec-Fetch-Site"); site && *site == "cross-site") return "cross-site request";
  const std::string* origin = req.header("Origin");
  if (!origin) return "";
  const std::string* host = req.header("Host");
  // Either scheme: the page itself over HTTP, or over HTTPS ([web] https = on).
  if (!host || (!iequals(*origin, "http://" + *host) && !iequals(*origin, "https://" + *host)))
    return "origin " + origin->substr(0, 80) + " is not this page";
  return "";
}

void WebApp::handle(const Request& req, Reply reply) {
  auto finish = [reply = std::move(reply)](Response r) {
    addSecurityHeaders(r);
    if (!r.get("Cache-Control")) r.set("Cache-Control", "no-store");
    reply(std::move(r));
  };
  if (!hostAllowed(req)) {
    // Not a name of this machine: a DNS-rebinding page or a misdirected request.
    return finish(errorResponse(421, "host", "the Host header must be this machine's address or name"));
  }
  if (req.path == "/api" || req.path.rfind("/api/", 0) == 0 || req.path == "/metrics")
    return dispatchApi(req, std::move(finish));
  serveStatic(req, std::move(finish));
}

void WebApp::dispatchApi(const Request& req, Reply reply) {
  const Route* matched = nullptr;
  Params params;
  std::string allow;
  for (const auto& r : routes_) {
    Params p;
    if (!matchRoute(r.pattern, req.path, p)) continue;
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
    if (r.method == req.method) {
      matched = &r;
      params = std::move(p);
      break;
    }
  }
  if (!matched) {
    if (allow.empty()) return reply(errorResponse(404, "not-found", "no such API route"));
    Response r = errorResponse(405, "method-not-allowed", "allowed: " + allow);
    r.set("Allow", allow);
    return reply(std::move(r));
  }
  if (req.changesState()) {
    if (auto why = checkOrigin(req); !why.empty()) return reply(errorResponse(403, "origin", why));
    if (!req.body.empty()) {
      const std::string* type = req.header("Content-Type");
      if (!type || type->rfind("application/json", 0) != 0)
        return reply(errorResponse(415, "content-type", "send the body as application/json"));
    }
  }
  if (matched->access == Access::Metrics)
    if (auto refused = metricsRefusal(*ctx_, req)) return reply(std::move(*refused));
  Session* session = nullptr;
  if (matched->access == Access::Session) {
    session = ctx_->sessions.find(req.cookie(kSessionCookie));
    if (!session) return reply(errorResponse(401, "unauthenticated", "log in first"));
    if (req.changesState()) {
      const std::string* token = req.header("X-CSRF-Token");
      if (!token || !constantTimeEquals(*token, session->csrf))
        return reply(errorResponse(403, "csrf", "missing or wrong X-CSRF-Token header"));
    }
  }
  // Every error is an HTTP answer, also one nobody foresaw (the reply is sent at most once).
  auto once = std::make_shared<bool>(false);
  Reply guarded = [reply, once](Response r) {
    if (*once) return;
    *once = true;
    reply(std::move(r));
  };
  try {
    matched->handler(req, params, session, guarded);
  } catch (const std::exception& e) {
    log::error("web: ", req.method, " ", req.path, " threw: ", e.what());
    guarded(errorResponse(500, "internal", "internal error"));
  }
}

void WebApp::onEvent(const Event& e) {
  countMetricsEvent(*ctx_, e);
  if (ctx_->subscriberCount() == 0) return;
  ctx_->broadcast("change", eventJson(e).dump(-1, ' ', false, json::error_handler_t::replace));
  ctx_->pushStatusSoon();
}

void WebApp::setPassword(const std::string& password, std::function<void(Status)> done) {
  setAdminPassword(*ctx_, password, std::move(done));
}

}  // namespace tetherd::web
