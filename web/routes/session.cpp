// The session resource: first use (set the password: from loopback, or with the setup code),
// login (throttled: web/auth.h), session rotated at login and at a password change,
// logout, password change — and the password set from outside the page (`tetherctl web
// set-password`). Hashing and verification run on the HashWorker; a reply comes back on the loop.
#include <cctype>

#include "tether/base/log.h"
#include "web/http/connection_slots.h"
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

std::string sessionCookie(const std::string& token, int maxAgeSec) {
  return std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSec);
}

void loginResponse(WebContext& c, const std::string& peer, Reply reply, int status = 200) {
  auto [token, session] = c.sessions.create(peer);
  Response r = jsonResponse(status, json{{"authenticated", true}, {"csrfToken", session->csrf}});
  r.set("Set-Cookie", sessionCookie(token, c.deps.config().webSessionLifetimeSec));
  reply(std::move(r));
}

void getSession(WebContext& c, const Request& req, Reply reply) {
  Session* s = c.sessions.find(req.cookie(kSessionCookie));
  json j = {{"passwordSet", c.password.isSet()}, {"authenticated", s != nullptr}};
  if (!c.password.isSet()) j["setupCodeNeeded"] = !isLoopbackPeer(req.peer);
  if (s) {
    j["csrfToken"] = s->csrf;
    j["idleTimeoutSec"] = c.sessions.idle().count();
  }
  reply(jsonResponse(200, j));
}

// "3F9A 07c2-d1e4" -> "3f9a07c2d1e4": dashes, spaces and case do not matter.
std::string normalizedCode(std::string_view code) {
  std::string out;
  for (char ch : code.substr(0, 64))
    if (ch != '-' && ch != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

constexpr std::string_view kWhereIsTheCode =
    "setting the password from another device needs the one-time setup code: tetherd logged it at start "
    "(journalctl -u tetherd), and `tetherctl web setup-code` on the tethering device prints it";

void postSetup(WebContext& c, const Request& req, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  if (c.password.isSet()) return reply(errorResponse(409, "already-exists", "a password is set: log in"));
  auto pw = stringField(*body, "password");
  if (!pw) return reply(jsonResponse(400, json{{"errors", {{"password", "required"}}}}));
  if (auto why = passwordProblem(*pw); !why.empty()) return reply(jsonResponse(400, json{{"errors", {{"password", why}}}}));
  // Whoever reaches the page first must not own it: from anywhere but this machine, the code.
  if (!isLoopbackPeer(req.peer)) {
    if (auto wait = c.limiter.retryAfter(req.peer); wait.count() > 0)
      return reply(retryLater(429, "rate-limited", "too many wrong setup codes; try again in " + std::to_string(wait.count()) + " s",
                              wait.count()));
    auto code = stringField(*body, "code");
    if (c.setupCode.empty() || !code || !constantTimeEquals(normalizedCode(*code), normalizedCode(c.setupCode))) {
      if (code && !code->empty()) {
        c.limiter.begin(req.peer);
        c.limiter.failed(req.peer);
        log::warning("web: wrong setup code from ", req.peer);
      }
      Response r = jsonResponse(403, json{{"error", {{"code", "setup-code"}, {"message", kWhereIsTheCode}}},
                                          {"errors", {{"code", code && !code->empty() ? "wrong setup code" : "required"}}}});
      return reply(std::move(r));
    }
  }
  std::weak_ptr<char> alive = c.alive;
  const std::string peer = req.peer;
  bool queued = c.worker->hash(*pw, [&c, alive, peer, reply](Result<std::string> h) {
    if (alive.expired()) return;
    if (!h) return reply(errorResponse(h.error()));
    if (c.password.isSet()) return reply(errorResponse(409, "already-exists", "a password is set: log in"));
    if (auto st = c.password.store(*h); !st) {
      log::error("web: ", st.error().message);
      return reply(errorResponse(st.error()));
    }
    c.setupCode.clear();
    log::notice("web: admin password set (first use) from ", peer);
    loginResponse(c, peer, reply, 201);
  });
  if (!queued) {
    reply(retryLater(503, "busy", "too many password operations at once; try again", 1));
  }
}

void postLogin(WebContext& c, const Request& req, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  if (!c.password.isSet()) return reply(errorResponse(409, "no-password", "no password is set yet: set one first"));
  auto pw = stringField(*body, "password");
  if (!pw) return reply(jsonResponse(400, json{{"errors", {{"password", "required"}}}}));
  if (pw->size() > kMaxPasswordBytes) return reply(jsonResponse(400, json{{"errors", {{"password", "longer than 256 bytes"}}}}));
  const std::string peer = req.peer;
  // A browser holding a live session is throttled on its own: others' failures never slow it.
  const std::string presented = req.cookie(kSessionCookie);
  const Session* held = c.sessions.find(presented, false);
  const std::string heldKey = held ? held->key : "";
  if (auto wait = c.limiter.retryAfter(peer, heldKey); wait.count() > 0) {
    return reply(retryLater(429, "rate-limited", "too many wrong passwords; try again in " + std::to_string(wait.count()) + " s",
                            wait.count()));
  }
  c.limiter.begin(peer, heldKey);
  std::weak_ptr<char> alive = c.alive;
  bool queued = c.worker->verify(*pw, c.password.hash(), [&c, alive, peer, reply, presented, heldKey](bool good) {
    if (alive.expired()) return;
    if (!good) {
      c.limiter.failed(peer, heldKey);
      log::warning("web: wrong password from ", peer, " (", c.limiter.failures(peer), " in a row)");
      return reply(errorResponse(401, "wrong-password", "wrong password"));
    }
    c.limiter.succeeded(peer, heldKey);
    log::info("web: login from ", peer);
    // A session token the browser already held is dropped: a login always gets a fresh one
    // (a token planted before the login is worth nothing after it).
    if (Session* before = c.sessions.find(presented, false)) {
      const std::string oldKey = before->key;
      c.sessions.remove(oldKey);
      c.endStreams([&](const std::string& k) { return k == oldKey; });
    }
    loginResponse(c, peer, reply);
  });
  if (!queued) {
    c.limiter.abandoned(peer, heldKey);
    reply(retryLater(503, "busy", "too many logins at once; try again", 1));
  }
}

void postLogout(WebContext& c, Session* s, Reply reply) {
  const std::string key = s->key;
  c.sessions.remove(key);
  c.endStreams([&](const std::string& k) { return k == key; });
  Response r = jsonResponse(200, json{{"authenticated", false}});
  r.set("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  reply(std::move(r));
}

void postPassword(WebContext& c, const Request& req, Session* s, Reply reply) {
  auto body = jsonBody(req, reply);
  if (!body) return;
  auto current = stringField(*body, "current");
  auto next = stringField(*body, "new");
  if (!current) return reply(jsonResponse(400, json{{"errors", {{"current", "required"}}}}));
  if (!next) return reply(jsonResponse(400, json{{"errors", {{"new", "required"}}}}));
  if (auto why = passwordProblem(*next); !why.empty()) return reply(jsonResponse(400, json{{"errors", {{"new", why}}}}));
  if (current->size() > kMaxPasswordBytes) return reply(jsonResponse(400, json{{"errors", {{"current", "wrong password"}}}}));
  const std::string peer = req.peer;
  const std::string key = s->key;  // throttled per session (web/auth.h, LoginLimiter)
  if (auto wait = c.limiter.retryAfter(peer, key); wait.count() > 0) {
    return reply(retryLater(429, "rate-limited", "too many wrong passwords; try again in " + std::to_string(wait.count()) + " s",
                            wait.count()));
  }
  c.limiter.begin(peer, key);
  std::weak_ptr<char> alive = c.alive;
  const std::string newPassword = *next;
  auto busy = [reply] {
    reply(retryLater(503, "busy", "too many password operations at once; try again", 1));
  };
  bool queued = c.worker->verify(*current, c.password.hash(), [&c, alive, peer, key, reply, newPassword, busy](bool good) {
    if (alive.expired()) return;
    if (!good) {
      c.limiter.failed(peer, key);
      log::warning("web: wrong current password from ", peer);
      return reply(jsonResponse(400, json{{"errors", {{"current", "wrong password"}}}}));
    }
    c.limiter.succeeded(peer, key);
    bool q = c.worker->hash(newPassword, [&c, alive, peer, reply](Result<std::string> h) {
      if (alive.expired()) return;
      if (!h) return reply(errorResponse(h.error()));
      if (auto st = c.password.store(*h); !st) return reply(errorResponse(st.error()));
      // Everyone who knew the old password is logged out; the changer goes on with a fresh
      // session (a token seen before the change is worth nothing after it).
      c.sessions.removeAllExcept("");
      c.endStreams([](const std::string&) { return true; });
      log::notice("web: admin password changed from ", peer);
      loginResponse(c, peer, reply);
    });
    if (!q) busy();
  });
  if (!queued) {
    c.limiter.abandoned(peer, key);
    busy();
  }
}

}  // namespace

void addSessionRoutes(RouteTable& routes, WebContext& c) {
  using A = Access;
  routes.push_back({"GET", "/api/session", A::Public, "whether a password is set, whether logged in, the CSRF token",
                    [&c](const Request& q, const Params&, Session*, Reply r) { getSession(c, q, std::move(r)); }});
  routes.push_back({"POST", "/api/setup", A::Public, "first use: set the admin password (only while none is set)",
                    [&c](const Request& q, const Params&, Session*, Reply r) { postSetup(c, q, std::move(r)); }});
  routes.push_back({"POST", "/api/login", A::Public, "log in with the password (slowed after wrong ones: per address, network, overall)",
                    [&c](const Request& q, const Params&, Session*, Reply r) { postLogin(c, q, std::move(r)); }});
  routes.push_back({"POST", "/api/logout", A::Session, "end this session",
                    [&c](const Request&, const Params&, Session* s, Reply r) { postLogout(c, s, std::move(r)); }});
  routes.push_back({"POST", "/api/password", A::Session, "change the admin password (current + new)",
                    [&c](const Request& q, const Params&, Session* s, Reply r) { postPassword(c, q, s, std::move(r)); }});
}

void setAdminPassword(WebContext& c, const std::string& password, std::function<void(Status)> done) {
  if (auto why = passwordProblem(password); !why.empty()) return done(makeError(Errc::InvalidArgument, "password: " + why));
  std::weak_ptr<char> alive = c.alive;
  bool queued = c.worker->hash(password, [&c, alive, done](Result<std::string> h) {
    if (alive.expired()) return;
    if (!h) return done(h.error());
    if (auto st = c.password.store(*h); !st) return done(st.error());
    c.sessions.removeAllExcept("");
    c.endStreams([](const std::string&) { return true; });
    c.setupCode.clear();
    log::notice("web: admin password set with tetherctl; every web session ended");
    done({});
  });
  if (!queued) done(makeError(Errc::Busy, "password operations are queued up; try again"));
}

}  // namespace tetherd::web
