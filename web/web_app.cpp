#include "web/web_app.h"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <set>

#include "tether/control/control_protocol.h"
#include "tether/base/files.h"
#include "tether/base/log.h"
#include "web/api.h"
#include "web/assets.h"
#include "web/qr_svg.h"

namespace tetherd::web {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {

constexpr size_t kMaxStreams = 16;
constexpr auto kTickInterval = std::chrono::seconds(2);
constexpr size_t kMaxJsonDepth = 32;

Response jsonResponse(int status, const json& j) {
  Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Response errorResponse(int status, std::string_view code, std::string_view message) {
  return jsonResponse(status, errorBody(code, message));
}

Response errorResponse(const Error& e) { return jsonResponse(httpStatusFor(e.code), errorBody(e)); }

// An error the client may retry after `seconds` (429 rate limit, 503 busy).
Response retryLater(int status, std::string_view code, std::string_view message, long long seconds) {
  Response r = errorResponse(status, code, message);
  r.set("Retry-After", std::to_string(seconds));
  return r;
}

Response ok() { return jsonResponse(200, json{{"ok", true}}); }

// Bracket nesting of a JSON text outside strings (nlohmann would accept any depth).
bool tooDeep(std::string_view text) {
  size_t depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// The request body as a JSON object; on failure the error response is sent and nullopt returned.
std::optional<json> jsonBody(const Request& req, const Reply& reply) {
  if (tooDeep(req.body)) {
    reply(errorResponse(400, "bad-json", "the body nests deeper than 32 levels"));
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    reply(errorResponse(400, "bad-json", "the body is not valid JSON"));
    return std::nullopt;
  }
  if (!j.is_object()) {
    reply(errorResponse(400, "bad-json", "the body must be a JSON object"));
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> stringField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

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

// If-None-Match: a list of entity tags (or *), compared weakly as RFC 9110 asks for it.
bool etagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

std::string sessionCookie(const std::string& token, int maxAgeSec) {
  return std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSec);
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

// Config error messages name the file's keys; the page knows its JSON fields.
json settingsErrors(const std::string& message) {
  static const std::pair<const char*, const char*> kKeys[] = {
      {"range_first_host", "dhcp.rangeFirstHost"}, {"range_last_host", "dhcp.rangeLastHost"}, {"lease_time", "dhcp.leaseTimeSec"},
      {"auto_tether", "autoTether"},                {"priority", "upstreamPriority"}};
  std::string text = message;
  // "web-settings:3: key 'x' in [s]: reason" -> "reason"
  if (auto p = text.find("]: "); p != std::string::npos) text = text.substr(p + 3);
  else if (auto q = text.find("web-settings:"); q == 0) text = text.substr(text.find(": ") + 2);
  for (const auto& [key, field] : kKeys)
    if (message.find(key) != std::string::npos) return json{{"errors", {{field, text}}}};
  return json{{"errors", {{"body", text}}}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

WebApp::WebApp(WebDeps deps)
    : deps_(std::move(deps)),
      password_(deps_.config().stateDir + "/web-password"),
      sessions_(deps_.clock, seconds(deps_.config().webSessionIdleSec), seconds(deps_.config().webSessionLifetimeSec)),
      limiter_(deps_.clock),
      worker_(std::make_unique<HashWorker>(deps_.io, deps_.hash)),
      tickTimer_(deps_.io) {
  if (!deps_.epochMs) {
    deps_.epochMs = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  }
  if (deps_.hostNames.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      std::string h = hostOf(host);
      deps_.hostNames.push_back(h);
      deps_.hostNames.push_back(h + ".local");
    }
  }
  addRoutes();
}

WebApp::~WebApp() {
  for (auto& w : streams_)
    if (auto s = w.lock()) s->end();
  worker_.reset();  // joins the hashing thread
}

Status WebApp::load() {
  if (auto st = ensureDir(deps_.config().stateDir, 0750); !st) return st;
  return password_.load();
}

void WebApp::reconfigure(const Config& config) {
  sessions_.setLimits(seconds(config.webSessionIdleSec), seconds(config.webSessionLifetimeSec));
}

#define ROUTE(method, pattern, access, summary, fn) \
  routes_.push_back(Route{method, pattern, access, summary, [this](const Request& q, const Params& p, Session* s, Reply r) { fn(q, p, s, std::move(r)); }})

void WebApp::addRoutes() {
  using A = Access;
  ROUTE("GET", "/api/session", A::Public, "whether a password is set, whether logged in, the CSRF token", getSession);
  ROUTE("POST", "/api/setup", A::Public, "first use: set the admin password (only while none is set)", postSetup);
  ROUTE("POST", "/api/login", A::Public, "log in with the password (rate-limited per address)", postLogin);
  ROUTE("POST", "/api/logout", A::Session, "end this session", postLogout);
  ROUTE("POST", "/api/password", A::Session, "change the admin password (current + new)", postPassword);
  ROUTE("GET", "/api/status", A::Session, "upstream, downstreams, totals", getStatus);
  ROUTE("GET", "/api/clients", A::Session, "clients from DHCP leases and soft AP stations", getClients);
  routes_.push_back(Route{"POST", "/api/clients/{mac}/kick", A::Session, "disconnect a client (Wi-Fi deauth, USB replug, Bluetooth disconnect)",
                          [this](const Request& q, const Params& p, Session* s, Reply r) { postClientAction(q, p, s, std::move(r), "kick"); }});
  routes_.push_back(Route{"POST", "/api/clients/{mac}/block", A::Session, "block a MAC on every downstream (firewall; soft AP deny list)",
                          [this](const Request& q, const Params& p, Session* s, Reply r) { postClientAction(q, p, s, std::move(r), "block"); }});
  routes_.push_back(Route{"POST", "/api/clients/{mac}/unblock", A::Session, "unblock a MAC",
                          [this](const Request& q, const Params& p, Session* s, Reply r) { postClientAction(q, p, s, std::move(r), "unblock"); }});
  routes_.push_back(Route{"POST", "/api/interfaces/{name}/start", A::Session, "tether an interface",
                          [this](const Request& q, const Params& p, Session* s, Reply r) { postInterface(q, p, s, std::move(r), true); }});
  routes_.push_back(Route{"POST", "/api/interfaces/{name}/stop", A::Session, "untether an interface",
                          [this](const Request& q, const Params& p, Session* s, Reply r) { postInterface(q, p, s, std::move(r), false); }});
  ROUTE("GET", "/api/wifi", A::Session, "soft AP settings (with the passphrase)", getWifi);
  ROUTE("PUT", "/api/wifi", A::Session, "change soft AP settings; field errors as {errors:{field:reason}}", putWifi);
  ROUTE("GET", "/api/wifi/qr.svg", A::Session, "QR code to join the Wi-Fi (SVG)", getWifiQr);
  ROUTE("GET", "/api/traffic", A::Session, "throughput samples per downstream and Wi-Fi client", getTraffic);
  ROUTE("GET", "/api/settings", A::Session, "upstream priority, auto-tether, DHCP", getSettings);
  ROUTE("PUT", "/api/settings", A::Session, "change them (kept in state_dir/web-settings)", putSettings);
  ROUTE("GET", "/api/events", A::Session, "Server-Sent Events: status and traffic every 2 s", getEvents);
}

#undef ROUTE

bool WebApp::hostAllowed(const Request& req) const {
  const std::string* host = req.header("Host");
  if (!host || host->empty()) return false;
  const std::string h = hostOf(*host);
  if (h == "localhost" || Ipv4Address::parse(h)) return true;
  return std::find(deps_.hostNames.begin(), deps_.hostNames.end(), h) != deps_.hostNames.end();
}

std::string WebApp::checkOrigin(const Request& req) const {
  if (const std::string* site = req.header("Sec-Fetch-Site"); site && *site == "cross-site") return "cross-site request";
  const std::string* origin = req.header("Origin");
  if (!origin) return "";
  const std::string* host = req.header("Host");
  if (!host || !iequals(*origin, "http://" + *host)) return "origin " + origin->substr(0, 80) + " is not this page";
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
  if (req.path == "/api" || req.path.rfind("/api/", 0) == 0) return dispatchApi(req, std::move(finish));
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
  Session* session = nullptr;
  if (matched->access == Access::Session) {
    session = sessions_.find(req.cookie(kSessionCookie));
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

void WebApp::serveStatic(const Request& req, Reply reply) {
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = plainError(405, "Method Not Allowed");
    r.set("Allow", "GET, HEAD");
    return reply(std::move(r));
  }
  const Asset* a = findAsset(req.path);
  if (!a) return reply(plainError(404, "Not Found"));
  Response r;
  r.set("ETag", a->etag);
  r.set("Cache-Control", "no-cache");  // revalidate: a new tetherd brings new assets
  if (const std::string* inm = req.header("If-None-Match"); inm && etagMatches(*inm, a->etag)) {
    r.status = 304;
    return reply(std::move(r));
  }
  r.set("Content-Type", std::string(a->mime));
  r.body = std::string(a->body);
  reply(std::move(r));
}

// ---- authentication ----------------------------------------------------------------------------

void WebApp::loginResponse(const std::string& peer, Reply reply, int status) {
  auto [token, session] = sessions_.create(peer);
  Response r = jsonResponse(status, json{{"authenticated", true}, {"csrfToken", session->csrf}});
  r.set("Set-Cookie", sessionCookie(token, deps_.config().webSessionLifetimeSec));
  reply(std::move(r));
}

void WebApp::getSession(const Request& req, const Params&, Session*, Reply reply) {
  Session* s = sessions_.find(req.cookie(kSessionCookie));
  json j = {{"passwordSet", password_.isSet()}, {"authenticated", s != nullptr}};
  if (s) {
    j["csrfToken"] = s->csrf;
    j["idleTimeoutSec"] = sessions_.idle().count();
  }
  reply(jsonResponse(200, j));
}

void WebApp::postSetup(const Request& req, const Params&, Session*, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  if (password_.isSet()) return reply(errorResponse(409, "already-exists", "a password is set: log in"));
  auto pw = stringField(*body, "password");
  if (!pw) return reply(jsonResponse(400, json{{"errors", {{"password", "required"}}}}));
  if (auto why = passwordProblem(*pw); !why.empty()) return reply(jsonResponse(400, json{{"errors", {{"password", why}}}}));
  std::weak_ptr<char> alive = alive_;
  const std::string peer = req.peer;
  bool queued = worker_->hash(*pw, [this, alive, peer, reply](Result<std::string> h) {
    if (alive.expired()) return;
    if (!h) return reply(errorResponse(h.error()));
    if (password_.isSet()) return reply(errorResponse(409, "already-exists", "a password is set: log in"));
    if (auto st = password_.store(*h); !st) {
      log::error("web: ", st.error().message);
      return reply(errorResponse(st.error()));
    }
    log::notice("web: admin password set (first use) from ", peer);
    loginResponse(peer, reply, 201);
  });
  if (!queued) {
    reply(retryLater(503, "busy", "too many password operations at once; try again", 1));
  }
}

void WebApp::postLogin(const Request& req, const Params&, Session*, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  if (!password_.isSet()) return reply(errorResponse(409, "no-password", "no password is set yet: set one first"));
  auto pw = stringField(*body, "password");
  if (!pw) return reply(jsonResponse(400, json{{"errors", {{"password", "required"}}}}));
  if (pw->size() > kMaxPasswordBytes) return reply(jsonResponse(400, json{{"errors", {{"password", "longer than 256 bytes"}}}}));
  const std::string peer = req.peer;
  if (auto wait = limiter_.retryAfter(peer); wait.count() > 0) {
    return reply(retryLater(429, "rate-limited", "too many wrong passwords; try again in " + std::to_string(wait.count()) + " s",
                            wait.count()));
  }
  limiter_.begin(peer);
  std::weak_ptr<char> alive = alive_;
  bool queued = worker_->verify(*pw, password_.hash(), [this, alive, peer, reply](bool good) {
    if (alive.expired()) return;
    if (!good) {
      limiter_.failed(peer);
      log::warning("web: wrong password from ", peer, " (", limiter_.failures(peer), " in a row)");
      return reply(errorResponse(401, "wrong-password", "wrong password"));
    }
    limiter_.succeeded(peer);
    log::info("web: login from ", peer);
    loginResponse(peer, reply);
  });
  if (!queued) {
    limiter_.abandoned(peer);
    reply(retryLater(503, "busy", "too many logins at once; try again", 1));
  }
}

void WebApp::postLogout(const Request&, const Params&, Session* s, Reply reply) {
  const std::string key = s->key;
  sessions_.remove(key);
  for (auto& w : streams_)
    if (auto st = w.lock(); st && st->sessionKey() == key) st->end();
  Response r = jsonResponse(200, json{{"authenticated", false}});
  r.set("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  reply(std::move(r));
}

void WebApp::postPassword(const Request& req, const Params&, Session* s, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  auto current = stringField(*body, "current");
  auto next = stringField(*body, "new");
  if (!current) return reply(jsonResponse(400, json{{"errors", {{"current", "required"}}}}));
  if (!next) return reply(jsonResponse(400, json{{"errors", {{"new", "required"}}}}));
  if (auto why = passwordProblem(*next); !why.empty()) return reply(jsonResponse(400, json{{"errors", {{"new", why}}}}));
  if (current->size() > kMaxPasswordBytes) return reply(jsonResponse(400, json{{"errors", {{"current", "wrong password"}}}}));
  const std::string peer = req.peer;
  if (auto wait = limiter_.retryAfter(peer); wait.count() > 0) {
    return reply(retryLater(429, "rate-limited", "too many wrong passwords; try again in " + std::to_string(wait.count()) + " s",
                            wait.count()));
  }
  limiter_.begin(peer);
  std::weak_ptr<char> alive = alive_;
  const std::string key = s->key;
  const std::string newPassword = *next;
  auto busy = [reply] {
    reply(retryLater(503, "busy", "too many password operations at once; try again", 1));
  };
  bool queued = worker_->verify(*current, password_.hash(), [this, alive, peer, reply, key, newPassword, busy](bool good) {
    if (alive.expired()) return;
    if (!good) {
      limiter_.failed(peer);
      log::warning("web: wrong current password from ", peer);
      return reply(jsonResponse(400, json{{"errors", {{"current", "wrong password"}}}}));
    }
    limiter_.succeeded(peer);
    bool q = worker_->hash(newPassword, [this, alive, peer, reply, key](Result<std::string> h) {
      if (alive.expired()) return;
      if (!h) return reply(errorResponse(h.error()));
      if (auto st = password_.store(*h); !st) return reply(errorResponse(st.error()));
      // Everyone else who knew the old password is logged out.
      sessions_.removeAllExcept(key);
      for (auto& w : streams_)
        if (auto st = w.lock(); st && st->sessionKey() != key) st->end();
      log::notice("web: admin password changed from ", peer);
      reply(ok());
    });
    if (!q) busy();
  });
  if (!queued) {
    limiter_.abandoned(peer);
    busy();
  }
}

// ---- views ------------------------------------------------------------------------------------

ClientsView WebApp::leasesView() {
  ClientsView v;
  v.nowEpochSec = deps_.epochMs() / 1000;
  if (deps_.softap) v.wifiInterface = deps_.softap->interface();
  v.blocked = clients().blocked();
  for (auto& d : clients().clients(v.nowEpochSec)) v.downstreams.push_back({d.ifname, d.kind, std::move(d.leases)});
  return v;
}

void WebApp::gatherClients(std::function<void(ClientsView)> done) {
  ClientsView v = leasesView();
  const bool apTethered = deps_.softap && std::any_of(v.downstreams.begin(), v.downstreams.end(), [&](const auto& d) {
                            return d.ifname == v.wifiInterface;
                          }) && deps_.softap->isApInterface(v.wifiInterface);
  if (!apTethered) return done(std::move(v));
  std::weak_ptr<char> alive = alive_;
  deps_.softap->stations([alive, v = std::move(v), done = std::move(done)](Result<std::vector<softap::StationView>> list) mutable {
    if (alive.expired()) return;
    if (list) {
      v.stationsKnown = true;
      v.stations = std::move(*list);
    }
    done(std::move(v));
  });
}

std::string WebApp::statusJson() {
  TetherManager& m = deps_.manager;
  StatusView v;
  v.tetheringStarted = m.tetheringStarted();
  v.masterState = TetherMasterMachine::stateName(m.masterState());
  v.masterError = m.masterError();
  v.upstream = m.upstream();
  v.upstreams = m.upstreams();
  for (const auto& u : v.upstreams) {
    auto a = m.addressesOf(u.ifname);
    if (!a.empty()) v.upstreamAddresses[u.ifname] = a.front().prefix.str();
  }
  v.downstreams = m.downstreams();
  v.dns = m.dnsForwarders();
  if (auto st = m.stats()) v.counters = *st;
  v.clientCounts = clientCounts(leasesView());
  return statusImpl(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

void WebApp::getStatus(const Request&, const Params&, Session*, Reply reply) {
  Response r;
  r.set("Content-Type", "application/json");
  r.body = statusJson();
  reply(std::move(r));
}

void WebApp::getClients(const Request&, const Params&, Session*, Reply reply) {
  gatherClients([reply](ClientsView v) { reply(jsonResponse(200, clientsImpl(v))); });
}

void WebApp::postClientAction(const Request& req, const Params& params, Session*, Reply reply, const std::string& action) {
  const std::string& mac = params.at("mac");
  // Blocking or kicking the device this page is used from would lock the admin out mid-way.
  if (action != "unblock") {
    auto n = normalizeMac(mac);
    for (const auto& d : leasesView().downstreams)
      for (const auto& l : d.leases)
        if (n && l.mac == *n && l.ip.str() == req.peer)
          return reply(errorResponse(409, "own-device", "mac: " + *n + " is the device you are using this page from"));
  }
  if (action == "kick") {
    std::weak_ptr<char> alive = alive_;
    return clients().kick(mac, [alive, reply](Status st) {
      if (!alive.expired()) reply(st ? ok() : errorResponse(st.error()));
    });
  }
  Status st = action == "block" ? clients().block(mac) : clients().unblock(mac);
  if (st) onEvent(control::code::TetherStateChange, "web");
  reply(st ? ok() : errorResponse(st.error()));
}

void WebApp::postInterface(const Request&, const Params& params, Session*, Reply reply, bool start) {
  const std::string& name = params.at("name");
  Status st = start ? deps_.manager.addInterface(name) : deps_.manager.removeInterface(name);
  if (!st) return reply(errorResponse(st.error()));
  onEvent(control::code::TetherStateChange, "web");
  reply(ok());
}

void WebApp::getWifi(const Request&, const Params&, Session*, Reply reply) {
  if (!deps_.softap) return reply(errorResponse(503, "no-softap", "there is no soft AP"));
  json j = wifiImpl(deps_.softap->settings(), true);
  j["interface"] = deps_.softap->interface();
  reply(jsonResponse(200, j));
}

void WebApp::putWifi(const Request& req, const Params&, Session*, Reply reply) {
  if (!deps_.softap) return reply(errorResponse(503, "no-softap", "there is no soft AP"));
  auto body = jsonBody(req, reply);
  if (!body) return;
  auto names = softap::fieldNames();
  names.push_back("body");
  auto pairs = wifiFieldsFrom(*body);
  if (!pairs) return reply(jsonResponse(400, fieldErrors(pairs.error().message, names, "body")));
  softap::Settings next = deps_.softap->settings();
  if (auto st = softap::setFields(next, *pairs); !st) return reply(jsonResponse(400, fieldErrors(st.error().message, names, "body")));
  if (auto st = deps_.softap->setAll(next); !st) {
    if (st.error().code == Errc::InvalidArgument) return reply(jsonResponse(400, fieldErrors(st.error().message, names, "body")));
    return reply(errorResponse(st.error()));
  }
  log::notice("web: soft AP settings changed (", pairs->size(), " fields)");
  json j = wifiImpl(deps_.softap->settings(), true);
  j["interface"] = deps_.softap->interface();
  reply(jsonResponse(200, j));
}

void WebApp::getWifiQr(const Request&, const Params&, Session*, Reply reply) {
  if (!deps_.softap) return reply(errorResponse(503, "no-softap", "there is no soft AP"));
  auto svg = qrSvg(softap::wifiQrPayload(deps_.softap->settings()));
  if (!svg) return reply(errorResponse(svg.error()));
  Response r;
  r.set("Content-Type", "image/svg+xml");
  r.body = std::move(*svg);
  reply(std::move(r));
}

void WebApp::getTraffic(const Request&, const Params&, Session*, Reply reply) {
  json samples = json::array();
  for (const auto& s : meter_.history()) samples.push_back(sampleJson(s));
  json downs = json::array();
  for (const auto& d : deps_.manager.downstreams()) downs.push_back(d.ifname);
  reply(jsonResponse(200, json{{"intervalSec", std::chrono::duration_cast<seconds>(kTickInterval).count()},
                               {"samples", samples},
                               {"downstreams", downs}}));
}

void WebApp::getSettings(const Request&, const Params&, Session*, Reply reply) {
  json j = settingsImpl(deps_.config(), deps_.manager.upstreamPriority());
  // Candidates for the priority list: links that are not downstreams (an upstream cannot be both).
  std::set<std::string> downstreams;
  for (const auto& d : deps_.manager.downstreams()) downstreams.insert(d.ifname);
  json ifaces = json::array();
  for (const auto& l : deps_.manager.links())
    if (l.name != "lo" && !downstreams.count(l.name)) ifaces.push_back(l.name);
  j["interfaces"] = ifaces;
  reply(jsonResponse(200, j));
}

void WebApp::putSettings(const Request& req, const Params&, Session*, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  const Config& base = deps_.config();
  auto current = loadRuntimeSettings(base.stateDir);
  if (!current) {
    log::warning("web: ", current.error().message, " (starting from nothing)");
    current = RuntimeSettings{};
  }
  auto next = settingsFrom(*body, *current, base);
  if (!next) return reply(jsonResponse(400, fieldErrors(next.error().message, settingsFieldNames(), "body")));
  // Each changed key alone first, so that an error names its field; then all together.
  for (const auto& [key, value] : *next) {
    auto it = current->find(key);
    if (it != current->end() && it->second == value) continue;
    if (auto c = applyRuntimeSettings(base, RuntimeSettings{{key, value}}); !c)
      return reply(jsonResponse(400, settingsErrors(c.error().message)));
  }
  auto config = applyRuntimeSettings(base, *next);
  if (!config) return reply(jsonResponse(400, settingsErrors(config.error().message)));
  // The upstream priority through the manager's own operation (what `upstream set-priority`
  // does), which also refuses a tethered downstream.
  if (config->upstreamPriority != deps_.manager.upstreamPriority()) {
    if (auto st = deps_.manager.setUpstreamPriority(config->upstreamPriority); !st)
      return reply(jsonResponse(httpStatusFor(st.error().code), json{{"errors", {{"upstreamPriority", st.error().message}}}}));
  }
  if (auto st = saveRuntimeSettings(base.stateDir, *next); !st) {
    log::error("web: ", st.error().message);
    return reply(errorResponse(st.error()));
  }
  Config applied = std::move(config.value());
  deps_.reconfigure(applied);  // the SIGHUP path: DHCP, soft AP and manager see it
  log::notice("web: settings changed and saved to ", runtimeSettingsPath(base.stateDir));
  json j = settingsImpl(deps_.config(), deps_.manager.upstreamPriority());
  reply(jsonResponse(200, j));
}

// ---- live updates -------------------------------------------------------------------------------

size_t WebApp::subscriberCount() const {
  size_t n = 0;
  for (const auto& w : streams_)
    if (auto s = w.lock(); s && !s->ended()) ++n;
  return n;
}

void WebApp::getEvents(const Request&, const Params&, Session* s, Reply reply) {
  std::erase_if(streams_, [](const std::weak_ptr<EventStream>& w) {
    auto s = w.lock();
    return !s || s->ended();
  });
  if (streams_.size() >= kMaxStreams) {
    return reply(retryLater(503, "busy", "too many live views open", 5));
  }
  auto stream = std::make_shared<EventStream>(s->key);
  if (streams_.empty()) {
    // The first watcher: a baseline reading, so the first tick already has a rate.
    std::map<std::string, ByteCounts> downs;
    if (auto st = deps_.manager.stats())
      for (const auto& c : *st) {
        downs[c.downstream].rx += c.rxBytes;
        downs[c.downstream].tx += c.txBytes;
      }
    (void)meter_.feed(deps_.clock(), deps_.epochMs(), downs, {});
  }
  streams_.push_back(stream);
  stream->send("status", statusJson());
  Response r;
  r.set("Content-Type", "text/event-stream");
  r.set("Cache-Control", "no-store");
  r.set("X-Accel-Buffering", "no");
  r.stream = stream;
  reply(std::move(r));
  armTick();
}

void WebApp::armTick() {
  if (subscriberCount() == 0) {  // no timer while nobody watches
    if (tickArmed_) tickTimer_.cancel();
    tickArmed_ = false;
    return;
  }
  if (tickArmed_) return;
  tickArmed_ = true;
  tickTimer_.expires_after(kTickInterval);
  std::weak_ptr<char> alive = alive_;
  tickTimer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    tickArmed_ = false;
    tick();
  });
}

void WebApp::broadcast(const std::string& event, const std::string& data) {
  for (auto& w : streams_) {
    auto s = w.lock();
    if (!s || s->ended()) continue;
    if (!sessions_.byKey(s->sessionKey())) {  // logged out or expired: the stream ends too
      s->end();
      continue;
    }
    s->send(event, data);
  }
  std::erase_if(streams_, [](const std::weak_ptr<EventStream>& w) {
    auto s = w.lock();
    return !s || s->ended();
  });
}

void WebApp::tick() {
  std::weak_ptr<char> alive = alive_;
  gatherClients([this, alive](ClientsView v) {
    if (alive.expired()) return;
    std::map<std::string, ByteCounts> downs, clients;
    if (auto st = deps_.manager.stats())
      for (const auto& c : *st) {
        downs[c.downstream].rx += c.rxBytes;
        downs[c.downstream].tx += c.txBytes;
      }
    for (const auto& s : v.stations)
      if (s.rxBytes && s.txBytes) clients[s.mac] = ByteCounts{*s.txBytes, *s.rxBytes};  // AP tx = client download
    if (auto sample = meter_.feed(deps_.clock(), deps_.epochMs(), downs, clients))
      broadcast("traffic", sampleJson(*sample).dump());
    broadcast("status", statusJson());
    armTick();
  });
}

void WebApp::onEvent(int, const std::string&) {
  if (statusPushPending_ || subscriberCount() == 0) return;
  statusPushPending_ = true;
  std::weak_ptr<char> alive = alive_;
  // A burst of events (a downstream coming up) becomes one push, after the burst.
  asio::post(deps_.io, [this, alive] {
    if (alive.expired()) return;
    statusPushPending_ = false;
    broadcast("status", statusJson());
  });
}

// ---- control socket -----------------------------------------------------------------------------

void WebApp::registerCommands(CommandTable& table, std::function<std::string()> extraStatus) {
  table.add("web", "web status | web set-password <password>|- (tetherctl reads '-' from stdin)",
            [this, extraStatus](const control::Request& req, const control::Responder& r) {
              namespace code = control::code;
              const auto& a = req.args;
              if (a.size() == 1 && a[0] == "status") {
                return r.finish(code::StatusReport, std::string("web password=") + (password_.isSet() ? "set" : "unset") +
                                                        " sessions=" + std::to_string(sessions_.size()) +
                                                        " live=" + std::to_string(subscriberCount()) +
                                                        (extraStatus ? " " + extraStatus() : ""));
              }
              if (a.size() == 2 && a[0] == "set-password") {
                if (auto why = passwordProblem(a[1]); !why.empty())
                  return r.fail(makeError(Errc::InvalidArgument, "password: " + why));
                std::weak_ptr<char> alive = alive_;
                bool queued = worker_->hash(a[1], [this, alive, r](Result<std::string> h) {
                  if (alive.expired()) return;
                  if (!h) return r.fail(h.error());
                  if (auto st = password_.store(*h); !st) return r.fail(st.error());
                  sessions_.removeAllExcept("");
                  for (auto& w : streams_)
                    if (auto s = w.lock()) s->end();
                  log::notice("web: admin password set with tetherctl; every web session ended");
                  r.finish(code::CommandOkay, "web password set");
                });
                if (!queued) r.fail(makeError(Errc::Busy, "password operations are queued up; try again"));
                return;
              }
              r.finish(code::CommandSyntaxError, "Usage: web status | web set-password <password>|-");
            });
}

}  // namespace tetherd::web
