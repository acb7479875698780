// Every route of the admin page through WebApp::handle, over the real TetherManager (with the
// fakes of fakes.h) and the real SoftApService (which never gets to start hostapd here): status
// codes, JSON, the session and CSRF refusals of every protected route (from the route table),
// bad bodies, static assets and their ETags, path traversal, rate limiting and session expiry
// with an injected clock. The pure ...Impl functions are tested on their own at the end.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/runtime_settings.h"
#include "fakes.h"
#include "tether/base/files.h"
#include "softap/service/softap_service.h"
#include "web/api.h"
#include "web/assets.h"
#include "web/qr_svg.h"
#include "web/web_app.h"

using namespace tetherd;
using namespace tetherd::web;
using namespace tetherd::testing;
using namespace std::chrono_literals;

namespace {

class NoProcesses : public ProcessRunner {
 public:
  Result<pid_t> spawn(const ProcessSpec&) override { return makeError(Errc::Unsupported, "no processes in unit tests"); }
  Status signal(pid_t, int) override { return makeError(Errc::NotFound, "no such child"); }
  void onExit(pid_t, ExitHandler) override {}
  void onOutput(pid_t, OutputHandler) override {}
};

const char* kHost = "192.168.42.1:8080";

class WebAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = freshTestDir("web");
    config = testConfig(dir, {"eth0"});
    config.upstreamDns["eth0"] = {*Ipv4Address::parse("10.0.1.1")};
    config.webEnabled = true;
    nl.addLink("lo");
    nl.addLink("eth0");
    nl.addLink("usb0");
    nl.routeList.push_back(DefaultRoute{nl.indexOf("eth0"), "eth0", *Ipv4Address::parse("10.0.1.254"), 100});
    nl.addrList.push_back(AddrInfo{nl.indexOf("eth0"), "eth0", *Ipv4Prefix::parse("10.0.1.2/24")});
    manager = std::make_unique<TetherManager>(ManagerDeps{io, nl, fw, sysctl, nl.syncView()}, dhcp, config,
                                              [this](const Event& e) { events.push_back(e); });
    ASSERT_TRUE(manager->start());
    ASSERT_TRUE(manager->startTethering());
    softap = std::make_unique<softap::SoftApService>(
        io, runner, dhcp, config, nullptr, [](const std::string&) {}, [](const std::string&, const Error&) {});
    ASSERT_TRUE(softap->load());
    dhcp.stateDir = config.stateDir;
    clients = std::make_unique<ClientActions>(*manager, dhcp, softap->clientHooks());
    app = makeApp();
  }

  void TearDown() override {
    app.reset();
    clients.reset();
    softap.reset();
    manager.reset();
    std::filesystem::remove_all(dir);
  }

  std::unique_ptr<WebApp> makeApp() {
    WebDeps deps{io,
                 *manager,
                 softap.get(),
                 [this]() -> const Config& { return config; },
                 [this](const Config& c) {
                   config = c;
                   reconfigures++;
                   manager->reconfigure(config);
                 },
                 [this] { return now; },
                 [this] { return epochMs; },
                 fastHashParams(),
                 {"tetherd.local"},
                 clients.get()};
    auto a = std::make_unique<WebApp>(deps);
    EXPECT_TRUE(a->load());
    return a;
  }

  struct Reply {
    Response r;
    nlohmann::json j;
    int status() const { return r.status; }
    std::string header(const char* name) const {
      auto* v = r.get(name);
      return v ? *v : "";
    }
  };

  // One request through WebApp::handle; runs the loop until it is answered.
  Reply call(const std::string& method, const std::string& path, const std::string& body = "",
             std::vector<Header> extra = {}, bool withSession = true, const std::string& peer = "192.168.42.10") {
    Request req;
    req.method = method;
    req.target = path;
    req.path = path.substr(0, path.find('?'));
    req.peer = peer;
    req.body = body;
    bool hasHost = false;
    for (const auto& h : extra) hasHost = hasHost || iequals(h.name, "Host");
    if (!hasHost) req.headers.push_back({"Host", kHost});
    if (withSession && !token.empty()) {
      req.headers.push_back({"Cookie", "other=1; tetherd_session=" + token});
      if (req.changesState()) req.headers.push_back({"X-CSRF-Token", csrf});
    }
    if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
    for (auto& h : extra) req.headers.push_back(h);
    std::optional<Response> got;
    app->handle(req, [&](Response r) { got = std::move(r); });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!got && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    EXPECT_TRUE(got) << method << " " << path << " was never answered";
    Reply out;
    if (got) out.r = std::move(*got);
    if (const auto* t = out.r.get("Content-Type"); t && *t == "application/json") out.j = nlohmann::json::parse(out.r.body);
    return out;
  }

  // First use: sets the password and keeps the session.
  void setup(const std::string& password = "correct horse") {
    auto r = call("POST", "/api/setup", nlohmann::json{{"password", password}, {"code", app->setupCode()}}.dump());
    ASSERT_EQ(r.status(), 201) << r.r.body;
    adoptSession(r);
  }

  void adoptSession(const Reply& r) {
    const std::string cookie = r.header("Set-Cookie");
    ASSERT_EQ(cookie.rfind("tetherd_session=", 0), 0u) << cookie;
    token = cookie.substr(16, cookie.find(';') - 16);
    csrf = r.j.at("csrfToken").get<std::string>();
  }

  Reply login(const std::string& password, const std::string& peer = "192.168.42.10") {
    auto saved = token;
    token.clear();
    auto r = call("POST", "/api/login", nlohmann::json{{"password", password}}.dump(), {}, false, peer);
    token = saved;
    return r;
  }

  void writeLeases(const std::string& ifname, const std::string& text) {
    std::filesystem::create_directories(config.stateDir);
    std::ofstream(dnsmasqLeasePath(config.stateDir, ifname)) << text;
  }

  static std::string concretePath(const std::string& pattern) {
    std::string p = pattern;
    for (auto [from, to] : {std::pair<std::string, std::string>{"{mac}", "02:00:00:00:00:01"}, {"{name}", "usb0"}}) {
      auto at = p.find(from);
      if (at != std::string::npos) p.replace(at, from.size(), to);
    }
    return p;
  }

  std::filesystem::path dir;
  boost::asio::io_context io;
  Config config;
  FakeNetlink nl;
  FakeFirewall fw;
  FakeSysctl sysctl;
  FakeDhcp dhcp;
  NoProcesses runner;
  std::vector<Event> events;
  std::unique_ptr<TetherManager> manager;
  std::unique_ptr<softap::SoftApService> softap;
  std::unique_ptr<ClientActions> clients;
  std::unique_ptr<WebApp> app;
  TimePoint now = TimePoint{} + 1000h;
  long long epochMs = 1'700'000'000'000LL;
  int reconfigures = 0;
  std::string token, csrf;
};

// ---- the route table: every protected route refuses without a session and without CSRF ----

TEST_F(WebAppTest, OnlySessionSetupAndLoginArePublic) {
  std::vector<std::string> publicRoutes;
  for (const auto& r : app->routes())
    if (r.access == Access::Public) publicRoutes.push_back(r.method + " " + r.pattern);
  EXPECT_EQ(publicRoutes, (std::vector<std::string>{"GET /api/session", "POST /api/setup", "POST /api/login", "GET /api/me"}));
  EXPECT_GE(app->routes().size(), 19u);
}

TEST_F(WebAppTest, EveryProtectedRouteRefusesWithoutASession) {
  setup();
  for (const auto& r : app->routes()) {
    if (r.access != Access::Session) continue;
    const std::string body = r.method == "GET" ? "" : "{}";
    auto res = call(r.method, concretePath(r.pattern), body, {}, /*withSession=*/false);
    EXPECT_EQ(res.status(), 401) << r.method << " " << r.pattern;
    EXPECT_EQ(res.j["error"]["code"], "unauthenticated") << r.pattern;
    // A made-up or expired cookie is no better.
    res = call(r.method, concretePath(r.pattern), body, {{"Cookie", "tetherd_session=" + std::string(64, 'a')}}, false);
    EXPECT_EQ(res.status(), 401) << r.method << " " << r.pattern;
  }
}

TEST_F(WebAppTest, EveryStateChangingRouteRefusesACookieWithoutItsCsrfToken) {
  setup();
  int checked = 0;
  for (const auto& r : app->routes()) {
    if (r.access != Access::Session || r.method == "GET") continue;
    ++checked;
    const std::string path = concretePath(r.pattern);
    for (const auto& [name, extra] :
         std::vector<std::pair<std::string, std::vector<Header>>>{{"no token", {}}, {"wrong token", {{"X-CSRF-Token", std::string(64, '0')}}}}) {
      Request q;
      q.method = r.method;
      q.target = q.path = path;
      q.peer = "192.168.42.10";
      q.body = "{}";
      q.headers = {{"Host", kHost}, {"Cookie", "tetherd_session=" + token}, {"Content-Type", "application/json"}};
      for (auto& h : extra) q.headers.push_back(h);
      std::optional<Response> got;
      app->handle(q, [&](Response resp) { got = std::move(resp); });
      ASSERT_TRUE(got) << "refusals are immediate";
      EXPECT_EQ(got->status, 403) << r.method << " " << r.pattern << " (" << name << ")";
      EXPECT_NE(got->body.find("\"csrf\""), std::string::npos) << got->body;
    }
  }
  EXPECT_EQ(checked, 13);  // issue 14 added /api/clients/{mac}/pin, /unpin, /limit and /quota
  EXPECT_EQ(softap->blocked().size(), 0u) << "nothing was done";
}

TEST_F(WebAppTest, ProtectedGetsWorkWithASession) {
  setup();
  for (const auto& r : app->routes()) {
    if (r.access != Access::Session || r.method != "GET" || r.pattern == "/api/events") continue;
    auto res = call("GET", concretePath(r.pattern));
    EXPECT_EQ(res.status(), 200) << r.pattern << ": " << res.r.body;
  }
}

// ---- first use, login, logout, password ---------------------------------------------------

TEST_F(WebAppTest, FirstUseAsksForAPasswordAndSetsItOnce) {
  auto s = call("GET", "/api/session");
  EXPECT_EQ(s.status(), 200);
  EXPECT_EQ(s.j, (nlohmann::json{{"passwordSet", false}, {"authenticated", false}, {"setupCodeNeeded", true}}));
  EXPECT_EQ(login("anything at all").status(), 409) << "no default password";
  auto shortPw = call("POST", "/api/setup", R"({"password":"1234567"})");
  EXPECT_EQ(shortPw.status(), 400);
  EXPECT_EQ(shortPw.j["errors"]["password"], "shorter than 8 characters");
  auto r = call("POST", "/api/setup", nlohmann::json{{"password", "correct horse"}, {"code", app->setupCode()}}.dump());
  ASSERT_EQ(r.status(), 201);
  EXPECT_EQ(r.header("Set-Cookie").find("; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"), 80u) << r.header("Set-Cookie");
  adoptSession(r);
  auto again = call("POST", "/api/setup", R"({"password":"evil takeover"})", {}, false);
  EXPECT_EQ(again.status(), 409);
  struct stat st {};
  ASSERT_EQ(::stat((config.stateDir + "/web-password").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = readFile(config.stateDir + "/web-password", 4096);
  EXPECT_EQ(text->rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(text->find("correct horse"), std::string::npos);
  s = call("GET", "/api/session");
  EXPECT_EQ(s.j["authenticated"], true);
  EXPECT_EQ(s.j["csrfToken"], csrf);
}

TEST_F(WebAppTest, LoginWithTheRightPasswordOnly) {
  setup();
  auto bad = login("wrong horse");
  EXPECT_EQ(bad.status(), 401);
  EXPECT_EQ(bad.header("Set-Cookie"), "");
  auto good = login("correct horse");
  ASSERT_EQ(good.status(), 200);
  adoptSession(good);
  EXPECT_EQ(call("GET", "/api/status").status(), 200);
  EXPECT_EQ(call("POST", "/api/login", R"({"pw":"x"})", {}, false).status(), 400);
  EXPECT_EQ(call("POST", "/api/login", R"({"password":5})", {}, false).status(), 400);
}

TEST_F(WebAppTest, WrongPasswordsAreRateLimitedPerAddress) {
  setup();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(login("wrong horse " + std::to_string(i)).status(), 401) << i;
  auto limited = login("correct horse");
  EXPECT_EQ(limited.status(), 429) << "even the right password waits";
  EXPECT_EQ(limited.header("Retry-After"), "2");
  EXPECT_EQ(limited.j["error"]["code"], "rate-limited");
  EXPECT_EQ(login("correct horse", "192.168.42.11").status(), 200) << "another address is not affected";
  now += 2s;
  EXPECT_EQ(login("wrong again").status(), 401);
  EXPECT_EQ(login("correct horse").header("Retry-After"), "4") << "exponential backoff";
  now += 4s;
  EXPECT_EQ(login("correct horse").status(), 200);
}

// ---- issue 15: the page against a hostile client ----------------------------------------------

// Whoever reaches the page first must not own it: from a downstream, the one-time code.
TEST_F(WebAppTest, FirstUseFromAnotherDeviceNeedsTheSetupCode) {
  const std::string code = app->setupCode();
  ASSERT_EQ(code.size(), 14u);
  EXPECT_EQ(code[4], '-');
  auto none = call("POST", "/api/setup", R"({"password":"evil takeover"})", {}, false, "192.168.42.35");
  EXPECT_EQ(none.status(), 403);
  EXPECT_EQ(none.j["error"]["code"], "setup-code");
  EXPECT_NE(none.j["error"]["message"].get<std::string>().find("tetherctl web setup-code"), std::string::npos);
  EXPECT_EQ(none.j["errors"]["code"], "required");
  auto wrong = call("POST", "/api/setup", R"({"password":"evil takeover","code":"0000-0000-0000"})", {}, false, "192.168.42.35");
  EXPECT_EQ(wrong.status(), 403);
  EXPECT_EQ(wrong.j["errors"]["code"], "wrong setup code");
  EXPECT_FALSE(app->passwordSet());
  for (int i = 0; i < 5; ++i) call("POST", "/api/setup", R"({"password":"evil takeover","code":"1"})", {}, false, "192.168.42.35");
  EXPECT_EQ(call("POST", "/api/setup", R"({"password":"evil takeover","code":"1"})", {}, false, "192.168.42.35").status(), 429)
      << "wrong codes are throttled like wrong passwords";
  // The owner types it with other case and spaces: fine.
  std::string typed = code;
  for (char& ch : typed) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  typed[4] = ' ';
  auto r = call("POST", "/api/setup", nlohmann::json{{"password", "correct horse"}, {"code", typed}}.dump(), {}, false,
                "192.168.42.10");
  EXPECT_EQ(r.status(), 201) << r.r.body;
  EXPECT_EQ(app->setupCode(), "") << "used up";
}

TEST_F(WebAppTest, FirstUseFromThisMachineNeedsNoCode) {
  auto s = call("GET", "/api/session", "", {}, false, "127.0.0.1");
  EXPECT_EQ(s.j["setupCodeNeeded"], false);
  auto r = call("POST", "/api/setup", R"({"password":"correct horse"})", {}, false, "127.0.0.1");
  EXPECT_EQ(r.status(), 201) << r.r.body;
  EXPECT_EQ(app->setupCode(), "");
  EXPECT_EQ(call("GET", "/api/session").j.count("setupCodeNeeded"), 0u) << "only while no password is set";
}

// A client changing its address inside the downstream, then every address together, is slowed:
// waits that grow and stop at a bound, never a lock.
TEST_F(WebAppTest, LoginThrottlingCoversTheDownstreamAndEveryoneButNeverLocks) {
  setup();
  int answered = 0;
  for (int a = 20; a < 30; ++a)
    for (int i = 0; i < 2; ++i) answered += login("guess", "192.168.42." + std::to_string(a)).status() == 401;
  EXPECT_EQ(answered, 10) << "ten wrong passwords per /24 are free, however many addresses they come from";
  auto slowed = login("correct horse", "192.168.42.99");
  EXPECT_EQ(slowed.status(), 429) << "a fresh address of the same /24 waits";
  EXPECT_LE(std::stoi(slowed.header("Retry-After")), 30);
  EXPECT_EQ(login("correct horse", "192.168.44.7").status(), 200) << "another downstream is not slowed by it";
  // Hours of guessing: the waits stay bounded.
  for (int i = 0; i < 200; ++i) {
    now += 61s;
    (void)login("guess", "192.168.42." + std::to_string(20 + i % 10));
  }
  now += 1s;
  auto w = login("correct horse", "192.168.42.99");
  ASSERT_EQ(w.status(), 429);
  EXPECT_LE(std::stoi(w.header("Retry-After")), 30);
  now += 30s;
  EXPECT_EQ(login("correct horse", "192.168.42.99").status(), 200) << "slowed, never locked out";
  // Loopback: its own address and short waits.
  for (int i = 0; i < 30; ++i) {
    now += 6s;
    (void)login("guess", "127.0.0.1");
  }
  auto local = login("correct horse", "127.0.0.1");
  ASSERT_EQ(local.status(), 429);
  EXPECT_LE(std::stoi(local.header("Retry-After")), 5) << "another local admin waits seconds at most";
  now += 5s;
  EXPECT_EQ(login("correct horse", "127.0.0.1").status(), 200);
}

// A browser that logged in before is throttled on its own: a flood from its address and its
// network does not slow it.
TEST_F(WebAppTest, ABrowserWithASessionLogsInThroughAFlood) {
  setup();
  for (int i = 0; i < 30; ++i) (void)login("guess", "192.168.42.10");
  EXPECT_EQ(login("correct horse", "192.168.42.10").status(), 429);
  auto r = call("POST", "/api/login", R"({"password":"correct horse"})", {}, true, "192.168.42.10");
  EXPECT_EQ(r.status(), 200) << r.r.body;
}

// A login gets a fresh token, and a token presented at the login is dropped (a token planted
// before the login is worth nothing after it).
TEST_F(WebAppTest, LoginRotatesTheSession) {
  setup();
  const std::string before = token;
  auto ev = call("GET", "/api/events");
  ASSERT_TRUE(ev.r.stream);
  auto r = call("POST", "/api/login", R"({"password":"correct horse"})", {}, true);
  ASSERT_EQ(r.status(), 200);
  adoptSession(r);
  EXPECT_NE(token, before);
  EXPECT_TRUE(ev.r.stream->ended());
  EXPECT_EQ(call("GET", "/api/status", "", {{"Cookie", "tetherd_session=" + before}}, false).status(), 401);
  EXPECT_EQ(call("GET", "/api/status").status(), 200);
  EXPECT_EQ(app->sessionCount(), 1u);
}

TEST_F(WebAppTest, SessionsExpireWhenIdleAndAfterTheirLifetime) {
  setup();
  now += 29min;
  EXPECT_EQ(call("GET", "/api/status").status(), 200);
  now += 29min;
  EXPECT_EQ(call("GET", "/api/status").status(), 200);
  now += 30min;
  EXPECT_EQ(call("GET", "/api/status").status(), 401);
  EXPECT_EQ(call("GET", "/api/session").j["authenticated"], false);
  adoptSession(login("correct horse"));
  for (int i = 0; i < 24; ++i) {
    now += 29min;
    ASSERT_EQ(call("GET", "/api/status").status(), 200) << i;
  }
  now += 29min;
  EXPECT_EQ(call("GET", "/api/status").status(), 401) << "12 h at most";
}

TEST_F(WebAppTest, LogoutEndsTheSessionAndItsEventStream) {
  setup();
  auto ev = call("GET", "/api/events");
  ASSERT_TRUE(ev.r.stream);
  auto r = call("POST", "/api/logout");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.header("Set-Cookie"), "tetherd_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  EXPECT_TRUE(ev.r.stream->ended());
  EXPECT_EQ(call("GET", "/api/status").status(), 401);
}

TEST_F(WebAppTest, PasswordChangeNeedsTheCurrentOneAndLogsOutEveryoneElse) {
  setup();
  auto other = login("correct horse", "192.168.42.11");
  ASSERT_EQ(other.status(), 200);
  const std::string otherToken = other.header("Set-Cookie").substr(16, 64);
  auto wrong = call("POST", "/api/password", R"({"current":"nope nope","new":"battery staple"})");
  EXPECT_EQ(wrong.status(), 400);
  EXPECT_EQ(wrong.j["errors"]["current"], "wrong password");
  auto weak = call("POST", "/api/password", R"({"current":"correct horse","new":"short"})");
  EXPECT_EQ(weak.status(), 400);
  EXPECT_EQ(weak.j["errors"]["new"], "shorter than 8 characters");
  const std::string before = token;
  auto ok = call("POST", "/api/password", R"({"current":"correct horse","new":"battery staple"})");
  EXPECT_EQ(ok.status(), 200) << ok.r.body;
  EXPECT_EQ(call("GET", "/api/status", "", {{"Cookie", "tetherd_session=" + before}}, false).status(), 401)
      << "the changer's old token is worth nothing";
  adoptSession(ok);
  EXPECT_NE(token, before);
  EXPECT_EQ(call("GET", "/api/status").status(), 200) << "the changer goes on with a fresh session";
  EXPECT_EQ(app->sessionCount(), 1u);
  EXPECT_EQ(call("GET", "/api/status", "", {{"Cookie", "tetherd_session=" + otherToken}}, false).status(), 401);
  EXPECT_EQ(login("correct horse", "192.168.42.12").status(), 401);
  EXPECT_EQ(login("battery staple", "192.168.42.12").status(), 200);
}

// `tetherctl web set-password` (tether/app/web_commands.cpp) through WebApp::setPassword.
TEST_F(WebAppTest, PasswordFromOutsideThePageEndsEverySession) {
  std::optional<Status> got;
  app->setPassword("short", [&](Status st) { got = st; });
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, Errc::InvalidArgument);
  EXPECT_EQ(got->error().message, "password: shorter than 8 characters");
  EXPECT_FALSE(app->passwordSet());
  setup();
  auto ev = call("GET", "/api/events");
  ASSERT_TRUE(ev.r.stream);
  got.reset();
  app->setPassword("a new admin password", [&](Status st) { got = st; });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(5ms);
  }
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got) << got->error().message;
  EXPECT_TRUE(ev.r.stream->ended());
  EXPECT_EQ(app->sessionCount(), 0u);
  EXPECT_EQ(call("GET", "/api/status").status(), 401);
  EXPECT_EQ(login("correct horse").status(), 401);
  EXPECT_EQ(login("a new admin password").status(), 200);
}

// ---- request hygiene ------------------------------------------------------------------------

TEST_F(WebAppTest, ForeignHostNamesAreRefused) {
  EXPECT_EQ(call("GET", "/", "", {{"Host", "evil.example:8080"}}).status(), 421) << "DNS rebinding";
  EXPECT_EQ(call("GET", "/api/session", "", {{"Host", "evil.example"}}).status(), 421);
  EXPECT_EQ(call("GET", "/", "", {{"Host", "localhost:8080"}}).status(), 200);
  EXPECT_EQ(call("GET", "/", "", {{"Host", "tetherd.local:8080"}}).status(), 200);
  EXPECT_EQ(call("GET", "/", "", {{"Host", "127.0.0.1"}}).status(), 200);
}

TEST_F(WebAppTest, CrossOriginStateChangesAreRefused) {
  auto r = call("POST", "/api/setup", R"({"password":"correct horse"})", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status(), 403);
  EXPECT_EQ(r.j["error"]["code"], "origin");
  r = call("POST", "/api/setup", R"({"password":"correct horse"})", {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(r.status(), 403);
  EXPECT_FALSE(app->passwordSet());
  r = call("POST", "/api/setup", R"({"password":"correct horse"})", {{"Origin", std::string("http://") + kHost}}, true,
           "127.0.0.1");
  EXPECT_EQ(r.status(), 201);
}

// Over HTTPS a browser's POST carries "Origin: https://<host>" (the page itself, not a cross
// origin): it is accepted, while another host over https is not.
TEST_F(WebAppTest, TheSameHostOverHttpsIsNotACrossOrigin) {
  auto r = call("POST", "/api/setup", R"({"password":"correct horse"})", {{"Origin", "https://evil.example"}}, true,
                "127.0.0.1");
  EXPECT_EQ(r.status(), 403);
  EXPECT_FALSE(app->passwordSet());
  r = call("POST", "/api/setup", R"({"password":"correct horse"})", {{"Origin", std::string("https://") + kHost}}, true,
           "127.0.0.1");
  EXPECT_EQ(r.status(), 201);
}

TEST_F(WebAppTest, BodiesMustBeJson) {
  Request q;
  q.method = "POST";
  q.target = q.path = "/api/setup";
  q.headers = {{"Host", kHost}, {"Content-Type", "application/x-www-form-urlencoded"}};
  q.body = "password=correct+horse";
  std::optional<Response> got;
  app->handle(q, [&](Response r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 415) << "a cross-site form cannot post here";
  EXPECT_EQ(call("POST", "/api/setup", "{\"password\":").status(), 400);
  auto bad = call("POST", "/api/setup", "not json");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.j["error"]["code"], "bad-json");
  EXPECT_EQ(call("POST", "/api/setup", "[1,2]").j["error"]["code"], "bad-json");
  EXPECT_EQ(call("POST", "/api/setup", std::string(40, '[') + std::string(40, ']')).j["error"]["code"], "bad-json");
  EXPECT_FALSE(app->passwordSet());
}

TEST_F(WebAppTest, UnknownRoutesAndMethods) {
  setup();
  auto r = call("GET", "/api/nothing");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.j["error"]["code"], "not-found");
  r = call("DELETE", "/api/wifi");
  EXPECT_EQ(r.status(), 405);
  EXPECT_EQ(r.header("Allow"), "GET, PUT");
  r = call("GET", "/api/clients/02:00:00:00:00:01/kick");
  EXPECT_EQ(r.status(), 405);
  EXPECT_EQ(r.header("Allow"), "POST");
}

TEST_F(WebAppTest, EveryResponseCarriesTheSecurityHeaders) {
  for (auto path : {"/", "/app.js", "/nothing", "/api/session", "/api/status"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.header("Content-Security-Policy").rfind("default-src 'self'; script-src 'self';", 0), 0u) << path;
    EXPECT_NE(r.header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY") << path;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_FALSE(r.header("Cache-Control").empty()) << path;
  }
  EXPECT_EQ(call("GET", "/api/session").header("Cache-Control"), "no-store");
}

// ---- static assets --------------------------------------------------------------------------

TEST_F(WebAppTest, StaticAssetsWithTypesAndStrongETags) {
  auto index = call("GET", "/");
  ASSERT_EQ(index.status(), 200);
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index.r.body.find("<script src=\"app.js\""), std::string::npos);
  const std::string etag = index.header("ETag");
  EXPECT_EQ(etag.size(), 34u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(call("GET", "/index.html").header("ETag"), etag);
  EXPECT_EQ(call("GET", "/app.js").header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(call("GET", "/app.css").header("Content-Type"), "text/css; charset=utf-8");
  auto cached = call("GET", "/", "", {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status(), 304);
  EXPECT_EQ(cached.r.body, "");
  EXPECT_EQ(cached.header("ETag"), etag);
  EXPECT_EQ(call("GET", "/", "", {{"If-None-Match", "\"other\", W/" + etag}}).status(), 304);
  EXPECT_EQ(call("GET", "/", "", {{"If-None-Match", "\"other\""}}).status(), 200);
  EXPECT_EQ(call("HEAD", "/app.js").status(), 200);
  auto post = call("POST", "/index.html", "{}");
  EXPECT_EQ(post.status(), 405);
  EXPECT_EQ(post.header("Allow"), "GET, HEAD");
}

TEST_F(WebAppTest, PathTraversalFindsNothing) {
  for (const char* path : {"/../etc/passwd", "/%2e%2e/etc/passwd", "/..%2fetc%2fpasswd", "/app.js/../index.html",
                           "//etc/passwd", "/index.html%00", "/index.html/", "/web/ui/app.js", "/ui/app.js", "/APP.JS",
                           "/.%2e/app.js", "/%2fetc/passwd", "/etc/passwd", "/./app.js", "/app.js;.html", "/\\..\\app.js"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status(), 404) << path;
    EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8") << path;
    EXPECT_EQ(r.r.body, "Not Found\n") << path;
  }
}

// ---- status, clients, interfaces --------------------------------------------------------------

TEST_F(WebAppTest, StatusShowsUpstreamDownstreamsAndTotals) {
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.10 phone *\n"
                      "1600000000 02:00:00:00:00:bb 192.168.42.11 gone *\n");
  auto r = call("GET", "/api/status");
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(r.j["upstream"], (nlohmann::json{{"name", "eth0"}, {"address", "10.0.1.2/24"}, {"state", "ready"}, {"dns", {"10.0.1.1"}}, {"validation", nullptr}}));
  EXPECT_EQ(r.j["tethering"]["started"], true);
  EXPECT_EQ(r.j["tethering"]["state"], "TetherModeAlive");
  ASSERT_EQ(r.j["downstreams"].size(), 1u);
  const auto& d = r.j["downstreams"][0];
  EXPECT_EQ(d["name"], "usb0");
  EXPECT_EQ(d["kind"], "usb");
  EXPECT_EQ(d["state"], "tethered");
  EXPECT_EQ(d["address"], "192.168.42.1");
  EXPECT_EQ(d["subnet"], "192.168.42.0/24");
  EXPECT_EQ(d["clients"], 1) << "the expired lease is not a client";
  EXPECT_EQ(d["rxBytes"], 20);  // FakeFirewall's counters
  EXPECT_EQ(d["txBytes"], 10);
  EXPECT_TRUE(d["error"].is_null());
  EXPECT_EQ(r.j["totals"], (nlohmann::json{{"downstreams", 1}, {"tethered", 1}, {"clients", 1}, {"rxBytes", 20}, {"txBytes", 10}}));
}

TEST_F(WebAppTest, StatusShowsADownstreamErrorWithItsCause) {
  setup();
  nl.addLink("usb1");
  dhcp.failStart = true;
  NetEvent e;
  e.type = NetEvent::Type::LinkAdded;
  e.link = LinkInfo{nl.indexOf("usb1"), "usb1", true, true};
  nl.view.apply(e);
  manager->onNetEvent(e);
  auto r = call("GET", "/api/status");
  nlohmann::json usb1;
  for (const auto& d : r.j["downstreams"])
    if (d["name"] == "usb1") usb1 = d;
  ASSERT_FALSE(usb1.is_null()) << r.j.dump();
  EXPECT_EQ(usb1["state"], "failed");
  EXPECT_EQ(usb1["error"]["code"], "dhcp-server-error");
  EXPECT_NE(usb1["error"]["message"].get<std::string>().find("failed to create listening socket"), std::string::npos);
}

TEST_F(WebAppTest, ClientsComeFromTheLeasesOfTetheredDownstreams) {
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.10 phone 01:02:00:00:00:00:aa\n"
                      "0 02:00:00:00:00:cc 192.168.42.12 * *\n"
                      "1600000000 02:00:00:00:00:bb 192.168.42.11 gone *\n");
  writeLeases("usb9", "1700000600 02:00:00:00:00:dd 192.168.49.10 stale *\n");  // no such downstream
  auto r = call("GET", "/api/clients");
  ASSERT_EQ(r.status(), 200);
  ASSERT_EQ(r.j["clients"].size(), 2u) << r.j.dump();
  const auto& c = r.j["clients"][0];
  EXPECT_EQ(c["mac"], "02:00:00:00:00:aa");
  EXPECT_EQ(c["ip"], "192.168.42.10");
  EXPECT_EQ(c["hostname"], "phone");
  EXPECT_EQ(c["interface"], "usb0");
  EXPECT_EQ(c["kind"], "usb");
  EXPECT_EQ(c["wifi"], false);
  EXPECT_TRUE(c["signalDbm"].is_null());
  EXPECT_EQ(c["leaseExpires"], 1700000600);
  EXPECT_EQ(c["canKick"], true) << "a USB client is kicked by a replug";
  EXPECT_EQ(c["canBlock"], true);
  EXPECT_TRUE(r.j["clients"][1]["hostname"].is_null());
  EXPECT_TRUE(r.j["clients"][1]["leaseExpires"].is_null());
}

// Issue 11: a client whose DHCP request carried hardware type 6 (dnsmasq writes "06-<mac>") is
// listed with its MAC and can be blocked; a lease without a hardware address is listed, with
// nothing to kick or block it by.
TEST_F(WebAppTest, ClientsWithAnyHardwareTypeAreListed) {
  setup();
  writeLeases("usb0", "1700000600 06-02:de:ad:be:ef:01 192.168.42.13 tr *\n"
                      "0 00- 192.168.42.14 * 01:aa:bb\n");
  auto r = call("GET", "/api/clients");
  ASSERT_EQ(r.status(), 200);
  ASSERT_EQ(r.j["clients"].size(), 2u) << r.j.dump();
  EXPECT_EQ(r.j["clients"][0]["mac"], "02:de:ad:be:ef:01");
  EXPECT_EQ(r.j["clients"][0]["ip"], "192.168.42.13");
  EXPECT_EQ(r.j["clients"][0]["canKick"], true);
  EXPECT_EQ(r.j["clients"][1]["mac"], "");
  EXPECT_EQ(r.j["clients"][1]["ip"], "192.168.42.14");
  EXPECT_EQ(r.j["clients"][1]["canKick"], false);
  EXPECT_EQ(r.j["clients"][1]["canBlock"], false);
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/block").status(), 200);
  EXPECT_EQ(call("GET", "/api/clients").j["clients"][0]["blocked"], true);
  // Issue 14: the Pin button pins the client to the address it holds.
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["pinned"].is_null());
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/pin").status(), 200);
  EXPECT_EQ(call("GET", "/api/clients").j["clients"][0]["pinned"], "192.168.42.13");
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/unpin").status(), 200);
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["pinned"].is_null());
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/unpin").status(), 404);
  // Issue 14: rate limits, the field named when refused; both off removes the limit.
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["limit"].is_null());
  auto bad = call("POST", "/api/clients/02:de:ad:be:ef:01/limit", R"({"download":"5"})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_NE(bad.r.body.find("download: '5' has no unit"), std::string::npos) << bad.r.body;
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/limit", R"({"download":"5Mbit","upload":"2MB/s"})").status(), 200);
  EXPECT_EQ(call("GET", "/api/clients").j["clients"][0]["limit"], (nlohmann::json{{"download", "5Mbit"}, {"upload", "16Mbit"}}));
  EXPECT_EQ(call("POST", "/api/clients/02:de:ad:be:ef:01/limit", R"({"download":"off","upload":"off"})").status(), 200);
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["limit"].is_null());
}

// Issue 14: a quota set from the page, refused values naming the field; each client's quota in
// /api/clients with what it used, its period and its level.
TEST_F(WebAppTest, QuotasAreSetAndShownPerClient) {
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.10 phone *\n");
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["quota"].is_null());
  auto bad = call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"5"})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.j["errors"]["quota"], "'5' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB") << bad.r.body;
  EXPECT_EQ(bad.j["error"]["message"], "quota: '5' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB");
  bad = call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":5})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_TRUE(bad.j["errors"].contains("quota")) << bad.r.body;
  bad = call("POST", "/api/clients/not-a-mac/quota", R"({"quota":"5MB"})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_TRUE(bad.j["errors"].contains("mac")) << bad.r.body;
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"5MB"})").status(), 200);
  ASSERT_EQ(manager->quotas().clients.count("02:00:00:00:00:aa"), 1u) << "the daemon's own quota";
  EXPECT_EQ(manager->quotas().clients.at("02:00:00:00:00:aa").bytes, 5'000'000u);
  auto q = call("GET", "/api/clients").j["clients"][0]["quota"];
  EXPECT_EQ(q["bytes"], 5'000'000);
  EXPECT_EQ(q["size"], "5MB");
  EXPECT_EQ(q["used"], 0);
  EXPECT_EQ(q["period"], "day");
  EXPECT_EQ(q["level"], 0);
  EXPECT_GT(q["resetsAt"].get<long long>(), epochMs / 1000);
  EXPECT_LE(q["resetsInSec"].get<long long>(), 25 * 3600);
  // A monthly one; a period the daemon does not know is refused naming the field.
  bad = call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"2GB","period":"weekly"})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_TRUE(bad.j["errors"].contains("period")) << bad.r.body;
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"2GB","period":"month"})").status(), 200);
  q = call("GET", "/api/clients").j["clients"][0]["quota"];
  EXPECT_EQ(q["period"], "month");
  EXPECT_EQ(q["size"], "2GB");
  EXPECT_LE(q["resetsInSec"].get<long long>(), 32LL * 24 * 3600);
  EXPECT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"reset"})").status(), 200);
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"1TB","period":"total"})").status(), 200);
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["quota"]["resetsAt"].is_null()) << "a total is never whole again";
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"off"})").status(), 200);
  EXPECT_TRUE(call("GET", "/api/clients").j["clients"][0]["quota"].is_null());
  EXPECT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/quota", R"({"quota":"off"})").status(), 200) << "already without";
  // The rate limit's refusals name their field too.
  bad = call("POST", "/api/clients/02:00:00:00:00:aa/limit", R"({"download":"5Mbit","upload":"fast"})");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_TRUE(bad.j["errors"].contains("upload")) << bad.r.body;
}

// Issue 14: a downstream's quota is on its dashboard card (/api/status).
TEST_F(WebAppTest, StatusShowsADownstreamsQuota) {
  setup();
  EXPECT_FALSE(call("GET", "/api/status").j["downstreams"][0].contains("quota"));
  auto req = checkDownstreamQuota("usb0", "5GB", "month");
  ASSERT_TRUE(req) << req.error().message;
  ASSERT_TRUE(manager->setQuota(*req, true));
  auto d = call("GET", "/api/status").j["downstreams"][0];
  EXPECT_EQ(d["name"], "usb0");
  EXPECT_EQ(d["quota"]["bytes"], 5'000'000'000u);
  EXPECT_EQ(d["quota"]["period"], "month");
  EXPECT_EQ(d["quota"]["level"], 0);
  EXPECT_FALSE(d["quota"]["resetsOn"].is_null());
}

// Issue 14: /api/me, public, tells the requesting client about itself and nobody else; an
// address without a lease here learns nothing.
TEST_F(WebAppTest, MeTellsAClientOnlyAboutItself) {
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.10 phone *\n"
                      "1700000600 02:00:00:00:00:bb 192.168.42.11 other *\n");
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:bb/quota", R"({"quota":"1GB"})").status(), 200);
  ASSERT_EQ(call("POST", "/api/clients/02:00:00:00:00:bb/block", "", {}, true, "192.168.42.10").status(), 200);
  auto me = call("GET", "/api/me", "", {}, false, "192.168.42.10");
  ASSERT_EQ(me.status(), 200);
  EXPECT_EQ(me.j, (nlohmann::json{{"known", true}, {"mac", "02:00:00:00:00:aa"}, {"ip", "192.168.42.10"}, {"hostname", "phone"},
                                  {"cutOff", false}, {"reason", nullptr}, {"quota", nullptr}}));
  EXPECT_EQ(me.r.body.find("02:00:00:00:00:bb"), std::string::npos) << "nothing about another client";
  auto other = call("GET", "/api/me", "", {}, false, "192.168.42.11");
  EXPECT_EQ(other.j["cutOff"], true);
  EXPECT_EQ(other.j["reason"], "blocked");
  EXPECT_EQ(other.j["quota"]["bytes"], 1'000'000'000);
  EXPECT_EQ(other.r.body.find("02:00:00:00:00:aa"), std::string::npos);
  for (const char* peer : {"192.168.42.20", "127.0.0.1", "10.0.1.7", "not an address"})
    EXPECT_EQ(call("GET", "/api/me", "", {}, false, peer).j, (nlohmann::json{{"known", false}})) << peer;
}

// Issue 14 point 6 on the page: the idle timeouts through the settings' own path, refused
// values naming their field.
TEST_F(WebAppTest, IdleTimeoutsAreSettings) {
  setup();
  auto r = call("GET", "/api/settings");
  EXPECT_EQ(r.j["idle"], (nlohmann::json{{"softapTimeoutSec", 0}, {"tetheringTimeoutSec", 0},
                                         {"untether", {{"usb", false}, {"bluetooth", false}, {"ethernet", false}}}}));
  r = call("PUT", "/api/settings", R"({"idle":{"softapTimeoutSec":600,"tetheringTimeoutSec":1800,"untether":{"usb":true}}})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(config.softapIdleTimeoutSec, 600);
  EXPECT_EQ(config.idleTimeoutSec, 1800);
  EXPECT_TRUE(config.idleUntether[static_cast<size_t>(IfaceKind::Usb)]);
  EXPECT_FALSE(config.idleUntether[static_cast<size_t>(IfaceKind::Ethernet)]);
  EXPECT_EQ(r.j["idle"]["untether"]["usb"], true);
  auto text = readFile(runtimeSettingsPath(config.stateDir), 65536);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("[softap]\nidle_timeout = 600s\n[tethering]\nidle_timeout = 1800s\nidle_untether = usb\n"), std::string::npos)
      << *text;
  r = call("PUT", "/api/settings", R"({"idle":{"softapTimeoutSec":0}})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(config.softapIdleTimeoutSec, 0) << "0 is off";
  r = call("PUT", "/api/settings", R"({"idle":{"tetheringTimeoutSec":90000}})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.j["errors"]["idle.tetheringTimeoutSec"], "must be between 1s and 24h (or off)") << r.r.body;
  r = call("PUT", "/api/settings", R"({"idle":{"softapTimeoutSec":90000}})");
  EXPECT_EQ(r.j["errors"]["idle.softapTimeoutSec"], "must be between 1s and 24h (or off)") << r.r.body;
  r = call("PUT", "/api/settings", R"({"idle":{"softapTimeoutSec":-1}})");
  EXPECT_TRUE(r.j["errors"].contains("idle.softapTimeoutSec")) << r.r.body;
  r = call("PUT", "/api/settings", R"({"idle":{"untether":{"wifi":true}}})");
  EXPECT_TRUE(r.j["errors"].contains("idle.untether")) << r.r.body;
  EXPECT_EQ(config.idleTimeoutSec, 1800) << "nothing applied from a refused change";
}

TEST_F(WebAppTest, BlockAndUnblockUseTheFirewallAndTheSoftApDenyList) {
  setup();
  EXPECT_EQ(call("POST", "/api/clients/02:00:00:00:00:AB/block").status(), 200);
  EXPECT_EQ(softap->blocked(), (std::vector<std::string>{"02:00:00:00:00:ab"}));
  EXPECT_EQ(manager->blockedClients(), (std::vector<std::string>{"02:00:00:00:00:ab"}));
  EXPECT_EQ(fw.state.blockedMacs, (std::set<std::string>{"02:00:00:00:00:ab"}));
  EXPECT_EQ(fw.state.blockOn, (std::set<std::string>{"usb0"})) << "dropped on the USB downstream too";
  writeLeases("usb0", "1700000600 02:00:00:00:00:ab 192.168.42.10 phone *\n");
  auto clients = call("GET", "/api/clients");
  EXPECT_EQ(clients.j["blocked"], (nlohmann::json{"02:00:00:00:00:ab"}));
  EXPECT_EQ(clients.j["clients"][0]["blocked"], true);
  EXPECT_EQ(call("POST", "/api/clients/02%3A00%3A00%3A00%3A00%3Aab/unblock").status(), 200) << "encoded colons";
  EXPECT_TRUE(softap->blocked().empty());
  EXPECT_TRUE(manager->blockedClients().empty());
  EXPECT_TRUE(fw.state.blockedMacs.empty());
  auto again = call("POST", "/api/clients/02:00:00:00:00:ab/unblock");
  EXPECT_EQ(again.status(), 404);
  EXPECT_EQ(again.j["error"]["code"], "not-found");
  auto bad = call("POST", "/api/clients/not-a-mac/block");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.j["error"]["code"], "invalid-argument");
}

TEST_F(WebAppTest, KickOfAnUnknownClientIsNotFound) {
  setup();
  auto r = call("POST", "/api/clients/02:00:00:00:00:01/kick");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.j["error"]["message"], "mac: 02:00:00:00:00:01 is not a connected client");
}

// The page and the `client` commands share one ClientActions: what the daemon hands over is used.
TEST_F(WebAppTest, KickGoesThroughTheDaemonsClientActions) {
  int replugs = 0;
  ClientHooks hooks;
  hooks.usbReplug = [&replugs]() -> Status {
    ++replugs;
    return {};
  };
  ClientActions shared(*manager, dhcp, hooks);
  WebDeps deps{io, *manager, softap.get(), [this]() -> const Config& { return config; }, [](const Config&) {},
               [this] { return now; }, [this] { return epochMs; }, fastHashParams(), {"tetherd.local"}, &shared};
  app = std::make_unique<WebApp>(deps);
  ASSERT_TRUE(app->load());
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.11 phone *\n");
  EXPECT_EQ(call("POST", "/api/clients/02:00:00:00:00:AA/kick").status(), 200);
  EXPECT_EQ(replugs, 1);
}

// The device the page is used from (its lease has the request's address) is neither kicked nor
// blocked: the admin would lock themselves out.
TEST_F(WebAppTest, OwnDeviceIsNotKickedOrBlocked) {
  setup();
  writeLeases("usb0", "1700000600 02:00:00:00:00:aa 192.168.42.10 phone *\n");
  for (const char* action : {"kick", "block"}) {
    auto r = call("POST", std::string("/api/clients/02:00:00:00:00:aa/") + action);
    EXPECT_EQ(r.status(), 409) << action;
    EXPECT_EQ(r.j["error"]["code"], "own-device");
    EXPECT_EQ(r.j["error"]["message"], "mac: 02:00:00:00:00:aa is the device you are using this page from");
  }
  EXPECT_TRUE(manager->blockedClients().empty());
  EXPECT_EQ(call("POST", "/api/clients/02:00:00:00:00:aa/block", "", {}, true, "192.168.42.20").status(), 200)
      << "from another device it is blocked";
}

TEST_F(WebAppTest, StartAndStopTetheringPerInterface) {
  setup();
  auto r = call("POST", "/api/interfaces/usb0/stop");
  EXPECT_EQ(r.status(), 200) << r.r.body;
  auto status = call("GET", "/api/status");
  EXPECT_EQ(status.j["downstreams"][0]["state"], "available");
  EXPECT_EQ(status.j["downstreams"][0]["wanted"], false);
  EXPECT_EQ(call("POST", "/api/interfaces/usb0/start").status(), 200);
  EXPECT_EQ(call("GET", "/api/status").j["downstreams"][0]["state"], "tethered");
  EXPECT_EQ(call("POST", "/api/interfaces/usb0/start").j["error"]["code"], "already-exists");
  EXPECT_EQ(call("POST", "/api/interfaces/nope0/start").status(), 404);
  EXPECT_EQ(call("POST", "/api/interfaces/eth0/start").status(), 409) << "an upstream";
  EXPECT_EQ(call("POST", "/api/interfaces/bad%20name/start").status(), 400);
}

// ---- Wi-Fi ------------------------------------------------------------------------------------

TEST_F(WebAppTest, WifiSettingsIncludeThePassphraseForTheSession) {
  setup();
  auto r = call("GET", "/api/wifi");
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(r.j["passphrase"], softap->settings().passphrase);
  EXPECT_EQ(r.j["passphrase"].get<std::string>().size(), 12u);
  EXPECT_EQ(r.j["security"], "wpa2-psk");
  EXPECT_EQ(r.j["channel"], "auto");
  EXPECT_EQ(r.j["hidden"], false);
  EXPECT_EQ(r.j["max-stations"], 32);
  EXPECT_EQ(r.j["interface"], "wlan0");
}

TEST_F(WebAppTest, WifiChangesAreValidatedByTheDaemonWithFieldErrors) {
  setup();
  auto r = call("PUT", "/api/wifi", R"({"ssid":"Cafe \"Lab\""})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(softap->settings().ssid, "Cafe \"Lab\"");
  EXPECT_EQ(r.j["ssid"], "Cafe \"Lab\"");
  auto saved = readFile(config.stateDir + "/softap.conf", 65536);
  ASSERT_TRUE(saved);
  EXPECT_NE(saved->find("ssid=hex:"), std::string::npos) << "persisted by the soft AP service";

  r = call("PUT", "/api/wifi", R"({"passphrase":"1234567"})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.j, (nlohmann::json{{"errors", {{"passphrase", "shorter than 8 characters (7)"}}}}));
  r = call("PUT", "/api/wifi", nlohmann::json{{"ssid", std::string(33, 'x')}}.dump());
  EXPECT_EQ(r.j["errors"]["ssid"], "longer than 32 bytes (33)");
  // Fields that only make sense together change together.
  r = call("PUT", "/api/wifi", R"({"band":"5","channel":36,"country":"de","80211ac":true})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(softap->settings().channel, 36);
  EXPECT_EQ(softap->settings().country, "DE");
  r = call("PUT", "/api/wifi", R"({"channel":6})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_TRUE(r.j["errors"].contains("channel")) << r.j.dump();
  r = call("PUT", "/api/wifi", R"({"hidden":"maybe"})");
  EXPECT_EQ(r.j["errors"]["hidden"], "'maybe' is not yes or no");
  r = call("PUT", "/api/wifi", R"({"ssid":["x"]})");
  EXPECT_EQ(r.j["errors"]["ssid"], "must be a string, a whole number or true/false");
  r = call("PUT", "/api/wifi", R"({"colour":"blue"})");
  EXPECT_EQ(r.j["errors"]["body"], "unknown field 'colour'");
  EXPECT_EQ(softap->settings().ssid, "Cafe \"Lab\"") << "refused changes change nothing";
}

TEST_F(WebAppTest, QrCodeIsAnSvgOfTheJoinPayload) {
  setup();
  auto r = call("GET", "/api/wifi/qr.svg");
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(r.header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(r.header("Cache-Control"), "no-store") << "it holds the passphrase";
  EXPECT_EQ(r.r.body.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(r.r.body.find("<script"), std::string::npos);
  EXPECT_EQ(r.r.body.find("style="), std::string::npos);
  EXPECT_EQ(r.r.body, *qrSvg(softap::wifiQrPayload(softap->settings())));
}

// ---- traffic and live updates ------------------------------------------------------------------

TEST_F(WebAppTest, EventsStreamStatusAndTrafficOnlyWhileSomeoneWatches) {
  setup();
  EXPECT_FALSE(app->tickArmed()) << "no timer while idle";
  auto ev = call("GET", "/api/events");
  ASSERT_EQ(ev.status(), 200);
  EXPECT_EQ(ev.header("Content-Type"), "text/event-stream");
  ASSERT_TRUE(ev.r.stream);
  std::vector<std::string> got;
  ev.r.stream->attach([&](std::string chunk) { got.push_back(chunk); }, [] {});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("event: status\ndata: {", 0), 0u);
  EXPECT_TRUE(app->tickArmed());
  EXPECT_EQ(app->subscriberCount(), 1u);
  now += 2s;
  epochMs += 2000;
  app->tick();
  io.restart();
  io.poll();
  bool traffic = false;
  for (const auto& g : got) traffic = traffic || g.rfind("event: traffic\ndata: {\"clients\":{},\"downstreams\":{\"usb0\":{\"rx\":0,\"tx\":0}},\"t\":1700000002000}", 0) == 0;
  EXPECT_TRUE(traffic) << got.back();
  auto t = call("GET", "/api/traffic");
  EXPECT_EQ(t.j["intervalSec"], 2);
  EXPECT_EQ(t.j["samples"].size(), 1u);
  EXPECT_EQ(t.j["downstreams"], (nlohmann::json{"usb0"}));
  EXPECT_EQ(t.r.body, R"({"downstreams":["usb0"],"intervalSec":2,"samples":[)"
                     R"({"clients":{},"downstreams":{"usb0":{"rx":0,"tx":0}},"t":1700000002000}]})");
  // The session expires: its stream ends at the next push, and the timer stops.
  now += 31min;
  app->tick();
  io.restart();
  io.poll();
  EXPECT_TRUE(ev.r.stream->ended());
  EXPECT_EQ(app->subscriberCount(), 0u);
  EXPECT_FALSE(app->tickArmed());
}

TEST_F(WebAppTest, EachChangeGoesToTheStreamsAndOneStatusFollowsTheBurst) {
  setup();
  app->onEvent({events::IfaceAdded{"usb1"}});  // nobody watches: nothing to do
  auto ev = call("GET", "/api/events");
  ASSERT_TRUE(ev.r.stream);
  std::vector<std::string> got;
  ev.r.stream->attach([&](std::string chunk) { got.push_back(chunk); }, [] {});
  ASSERT_EQ(got.size(), 1u);  // the status at once
  app->onEvent({events::IfaceAdded{"usb1"}});
  app->onEvent({events::TetherStateChanged{"usb1", "tethered", std::nullopt}});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], "event: change\ndata: {\"ifname\":\"usb1\",\"type\":\"interfaceAdded\"}\n\n");
  EXPECT_EQ(got[2], "event: change\ndata: {\"error\":null,\"ifname\":\"usb1\",\"state\":\"tethered\",\"type\":\"tetherState\"}\n\n");
  io.restart();
  io.poll();
  ASSERT_EQ(got.size(), 4u) << "one status for the burst";
  EXPECT_EQ(got[3].rfind("event: status\ndata: {", 0), 0u);
}

TEST_F(WebAppTest, EventStreamsAreBounded) {
  setup();
  std::vector<Reply> open;
  for (int i = 0; i < 16; ++i) {
    open.push_back(call("GET", "/api/events"));
    ASSERT_EQ(open.back().status(), 200) << i;
  }
  auto r = call("GET", "/api/events");
  EXPECT_EQ(r.status(), 503);
  EXPECT_EQ(r.header("Retry-After"), "5");
}

// ---- settings -----------------------------------------------------------------------------------

TEST_F(WebAppTest, SettingsAreAppliedAndKeptAcrossRestarts) {
  setup();
  auto r = call("GET", "/api/settings");
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(r.j["upstreamPriority"], (nlohmann::json{"eth0"}));
  EXPECT_EQ(r.j["autoTether"], (nlohmann::json{{"usb", true}, {"wifi", true}, {"bluetooth", true}, {"ethernet", false}}));
  EXPECT_EQ(r.j["dhcp"], (nlohmann::json{{"rangeFirstHost", 10}, {"rangeLastHost", 250}, {"leaseTimeSec", 3600}}));
  EXPECT_EQ(r.j["interfaces"], (nlohmann::json{"eth0"})) << "usb0 is a downstream";

  r = call("PUT", "/api/settings", R"({"dhcp":{"rangeFirstHost":20,"rangeLastHost":99,"leaseTimeSec":7200},"autoTether":{"bluetooth":false}})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(config.rangeFirstHost, 20);
  EXPECT_EQ(config.rangeLastHost, 99);
  EXPECT_EQ(config.leaseTimeSec, 7200);
  EXPECT_FALSE(config.kind(IfaceKind::Bluetooth).autoTether);
  EXPECT_TRUE(config.kind(IfaceKind::Usb).autoTether);
  EXPECT_EQ(reconfigures, 1);
  auto text = readFile(runtimeSettingsPath(config.stateDir), 65536);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "# Set on tetherd's web page; applied over tetherd.conf. Remove to go back to it.\n"
                   "[dhcp]\nlease_time = 7200\nrange_first_host = 20\nrange_last_host = 99\n"
                   "[tethering]\nauto_tether = usb wifi\n");
  struct stat st {};
  ASSERT_EQ(::stat(runtimeSettingsPath(config.stateDir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // What the daemon does at its next start: the file's config, then these on top.
  Config restarted = defaultConfig();
  restarted.stateDir = config.stateDir;
  restarted = withRuntimeSettings(restarted);
  EXPECT_EQ(restarted.rangeFirstHost, 20);
  EXPECT_EQ(restarted.leaseTimeSec, 7200);
  EXPECT_FALSE(restarted.kind(IfaceKind::Bluetooth).autoTether);
}

TEST_F(WebAppTest, SettingsErrorsNameTheirField) {
  setup();
  auto r = call("PUT", "/api/settings", R"({"dhcp":{"rangeLastHost":300}})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_TRUE(r.j["errors"].contains("dhcp.rangeLastHost")) << r.j.dump();
  r = call("PUT", "/api/settings", R"({"dhcp":{"rangeFirstHost":200,"rangeLastHost":100}})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_TRUE(r.j["errors"].contains("dhcp.rangeFirstHost")) << r.j.dump();
  r = call("PUT", "/api/settings", R"({"dhcp":{"leaseTimeSec":10}})");
  EXPECT_TRUE(r.j["errors"].contains("dhcp.leaseTimeSec")) << r.j.dump();
  r = call("PUT", "/api/settings", R"({"upstreamPriority":["eth0","usb0"]})");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.j["errors"]["upstreamPriority"], "usb0 is a tethered downstream") << "TetherManager's own check";
  r = call("PUT", "/api/settings", R"({"upstreamPriority":["bad name"]})");
  EXPECT_TRUE(r.j["errors"].contains("upstreamPriority")) << r.j.dump();
  r = call("PUT", "/api/settings", R"({"autoTether":{"toaster":true}})");
  EXPECT_TRUE(r.j["errors"].contains("autoTether")) << r.j.dump();
  EXPECT_EQ(reconfigures, 0);
  EXPECT_FALSE(std::filesystem::exists(runtimeSettingsPath(config.stateDir)));
}

// Checked all together: 20-99 -> 100-120 is fine though 100-99 alone is not.
TEST_F(WebAppTest, SettingsMoveTheRangePastItsOldEnd) {
  setup();
  ASSERT_EQ(call("PUT", "/api/settings", R"({"dhcp":{"rangeFirstHost":20,"rangeLastHost":99}})").status(), 200);
  auto r = call("PUT", "/api/settings", R"({"dhcp":{"rangeFirstHost":100,"rangeLastHost":120}})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(config.rangeFirstHost, 100);
  EXPECT_EQ(config.rangeLastHost, 120);
  EXPECT_EQ(reconfigures, 2);
}

TEST_F(WebAppTest, UpstreamPriorityGoesThroughTheManager) {
  setup();
  nl.addLink("wwan0");
  auto r = call("PUT", "/api/settings", R"({"upstreamPriority":["wwan0","eth0"]})");
  ASSERT_EQ(r.status(), 200) << r.r.body;
  EXPECT_EQ(manager->upstreamPriority(), (std::vector<std::string>{"wwan0", "eth0"}));
  EXPECT_EQ(config.upstreamPriority, (std::vector<std::string>{"wwan0", "eth0"}));
}

// ---- the firewall side: the admin port is dropped on upstreams ---------------------------------

TEST_F(WebAppTest, AdminPortIsDroppedOnEveryUpstreamWhileSet) {
  ASSERT_TRUE(manager->setAdminPorts({8080}));
  EXPECT_EQ(fw.state.adminPorts, (std::set<uint16_t>{8080}));
  EXPECT_EQ(fw.state.upstreams, (std::set<std::string>{"eth0"}));
  ASSERT_TRUE(manager->stopTethering());
  EXPECT_TRUE(fw.installed) << "the rule stays while tethering is stopped";
  EXPECT_EQ(fw.state.adminPorts, (std::set<uint16_t>{8080}));
  ASSERT_TRUE(manager->setAdminPorts({}));
  EXPECT_FALSE(fw.installed) << "nothing else of tetherd's: the chains go";
  EXPECT_FALSE(manager->setAdminPorts({0}));
}

// ---- the pure parts -----------------------------------------------------------------------------

TEST(WebApiImpl, ErrorStatusesByCode) {
  EXPECT_EQ(httpStatusFor(Errc::InvalidArgument), 400);
  EXPECT_EQ(httpStatusFor(Errc::UnknownIface), 404);
  EXPECT_EQ(httpStatusFor(Errc::AlreadyExists), 409);
  EXPECT_EQ(httpStatusFor(Errc::Busy), 503);
  EXPECT_EQ(httpStatusFor(Errc::SystemError), 500);
  EXPECT_EQ(fieldErrors("ssid: too long", {"ssid"}, "body"), (nlohmann::json{{"errors", {{"ssid", "too long"}}}}));
  EXPECT_EQ(fieldErrors("weird", {"ssid"}, "body"), (nlohmann::json{{"errors", {{"body", "weird"}}}}));
}

TEST(WebApiImpl, ClientsJoinStationsWithLeases) {
  ClientsView v;
  v.nowEpochSec = 1000;
  v.wifiInterface = "wlan0";
  v.stationsKnown = true;
  Lease l;
  l.expiry = 2000;
  l.mac = "02:00:00:00:00:01";
  l.ip = *Ipv4Address::parse("192.168.43.10");
  l.hostname = "laptop";
  Lease gone = l;
  gone.mac = "02:00:00:00:00:02";  // a lease without a station: not connected
  v.downstreams.push_back({"wlan0", IfaceKind::Wifi, {l, gone}});
  softap::StationView s;
  s.mac = "02:00:00:00:00:01";
  s.connectedSec = 42;
  s.signalDbm = -51;
  s.rxBytes = 100;
  s.txBytes = 5000;
  v.stations.push_back(s);
  v.blocked = {"02:00:00:00:00:09"};
  auto j = clientsImpl(v);
  ASSERT_EQ(j["clients"].size(), 1u);
  EXPECT_EQ(j["clients"][0], (nlohmann::json{{"mac", "02:00:00:00:00:01"},
                                              {"ip", "192.168.43.10"},
                                              {"hostname", "laptop"},
                                              {"interface", "wlan0"},
                                              {"kind", "wifi"},
                                              {"wifi", true},
                                              {"connectedSec", 42},
                                              {"signalDbm", -51},
                                              {"downloadBytes", 5000},
                                              {"uploadBytes", 100},
                                              {"leaseExpires", 2000},
                                              {"ipv6", nlohmann::json::array()},
                                              {"blocked", false},
                                              {"pinned", nullptr},
                                              {"limit", nullptr},
                                              {"quota", nullptr},
                                              {"canKick", true},
                                              {"canBlock", true}}));
  EXPECT_EQ(clientCounts(v), (std::map<std::string, int>{{"wlan0", 1}}));
}

TEST(WebApiImpl, WifiFieldsFromJsonValues) {
  auto f = wifiFieldsFrom(nlohmann::json{{"ssid", "x"}, {"hidden", true}, {"channel", 36}, {"max-stations", 5}});
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (std::vector<std::pair<std::string, std::string>>{
                    {"channel", "36"}, {"hidden", "yes"}, {"max-stations", "5"}, {"ssid", "x"}}));
  EXPECT_FALSE(wifiFieldsFrom(nlohmann::json::array()));
  EXPECT_FALSE(wifiFieldsFrom(nlohmann::json{{"ssid", 1.5}}));
}

TEST(WebApiImpl, SetFieldsValidatesTheCombinationOnce) {
  softap::Settings s = softap::defaultSettings("box", std::string(16, 'x'));
  s.channel = 6;
  // One at a time, neither band 5 (channel 6) nor channel 36 (band 2.4) is accepted.
  softap::Settings one = s;
  EXPECT_FALSE(softap::setField(one, "band", "5"));
  EXPECT_TRUE(softap::setFields(one, {{"band", "5"}, {"channel", "36"}}));
  EXPECT_EQ(one.channel, 36);
  softap::Settings two = s;
  auto st = softap::setFields(two, {{"ssid", "ok"}, {"passphrase", "short"}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.rfind("passphrase: ", 0), 0u);
  EXPECT_EQ(two.ssid, s.ssid) << "unchanged on error";
}

TEST(WebApiImpl, SettingsFromMergesIntoTheCurrentOnes) {
  RuntimeSettings cur{{"dhcp.lease_time", "600"}};
  const Config running = defaultConfig();  // usb wifi bluetooth
  auto n = settingsFrom(nlohmann::json{{"autoTether", {{"wifi", false}, {"ethernet", true}}}, {"upstreamPriority", {"eth0"}}}, cur, running);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, (RuntimeSettings{{"dhcp.lease_time", "600"}, {"tethering.auto_tether", "usb bluetooth ethernet"}, {"upstream.priority", "eth0"}}));
  EXPECT_EQ(*settingsFrom(nlohmann::json{{"autoTether", {{"usb", false}, {"wifi", false}, {"bluetooth", false}}}}, {}, running),
            (RuntimeSettings{{"tethering.auto_tether", "none"}}));
  EXPECT_FALSE(settingsFrom(nlohmann::json{{"dhcp", {{"rangeFirstHost", "ten"}}}}, cur, running));
  EXPECT_FALSE(settingsFrom(nlohmann::json{{"state_dir", "/x"}}, cur, running));
}

TEST(WebApiImpl, EventsAsJson) {
  using Kind = events::ClientChanged::Kind;
  auto j = [](const Event& e) { return eventJson(e).dump(); };
  EXPECT_EQ(j({events::IfaceAdded{"usb0"}}), R"({"ifname":"usb0","type":"interfaceAdded"})");
  EXPECT_EQ(j({events::IfaceRemoved{"usb0"}}), R"({"ifname":"usb0","type":"interfaceRemoved"})");
  EXPECT_EQ(j({events::IfaceLinkState{"eth0", false}}), R"({"ifname":"eth0","type":"linkState","up":false})");
  EXPECT_EQ(j({events::AddressChanged{"usb0", *Ipv4Prefix::parse("192.168.42.1/24"), true}}),
            R"({"added":true,"ifname":"usb0","prefix":"192.168.42.1/24","type":"address"})");
  EXPECT_EQ(j({events::TetherStateChanged{std::nullopt, "TetherModeAlive", std::nullopt}}),
            R"({"error":null,"ifname":null,"state":"TetherModeAlive","type":"tetherState"})");
  EXPECT_EQ(j({events::TetherStateChanged{"usb0", "failed", Error{Errc::DhcpServerError, "usb0: DHCP server: gone"}}}),
            R"({"error":{"code":"dhcp-server-error","message":"usb0: DHCP server: gone"},"ifname":"usb0","state":"failed","type":"tetherState"})");
  EXPECT_EQ(j({events::UpstreamChanged{"wwan0"}}), R"({"ifname":"wwan0","type":"upstream"})");
  EXPECT_EQ(j({events::UpstreamChanged{std::nullopt}}), R"({"ifname":null,"type":"upstream"})");
  EXPECT_EQ(j({events::ClientChanged{Kind::StationConnected, "02:00:00:00:01:00", "wlan0"}}),
            R"({"change":"connected","ifname":"wlan0","mac":"02:00:00:00:01:00","type":"client"})");
  EXPECT_EQ(j({events::ClientChanged{Kind::Blocked, "02:00:00:00:00:aa", std::nullopt}}),
            R"({"change":"blocked","ifname":null,"mac":"02:00:00:00:00:aa","type":"client"})");
  EXPECT_EQ(j({events::StationAuthFailed{"02:00:00:00:01:00", "wlan0", "wrong passphrase (WPA2-PSK 4-way handshake failed)"}}),
            R"J({"cause":"wrong passphrase (WPA2-PSK 4-way handshake failed)","change":"authFailed","ifname":"wlan0","mac":"02:00:00:00:01:00","type":"client"})J");
  EXPECT_EQ(j({events::ConfigReloaded{}}), R"({"type":"configReloaded"})");
}

TEST(WebApiImpl, StatusOfAnUnknownUpstream) {
  StatusView v;
  v.masterState = "Initial";
  v.upstreams.push_back(UpstreamView{"eth0", true, false, false, {}});
  auto j = statusImpl(v);
  EXPECT_TRUE(j["upstream"]["name"].is_null());
  EXPECT_EQ(j["upstream"]["state"], "none");
  EXPECT_EQ(j["upstreams"][0]["state"], "down");
  EXPECT_EQ(j["totals"]["downstreams"], 0);
}

TEST(WebApiImpl, StatusShowsEachUpstreamsValidation) {
  StatusView v;
  v.masterState = "TetherModeAlive";
  v.upstream = "wwan0";
  UpstreamView eth0{"eth0", true, true, true, {*Ipv4Address::parse("10.0.1.1")}, Validation::CaptivePortal};
  eth0.lastProbeAgoMs = 1200;
  eth0.portalUrl = "http://portal.example/login";
  UpstreamView wwan0{"wwan0", true, true, true, {*Ipv4Address::parse("10.0.2.1")}, Validation::Validated};
  wwan0.lastProbeAgoMs = 300;
  v.upstreams = {eth0, wwan0};
  auto j = statusImpl(v);
  EXPECT_EQ(j["upstream"]["validation"], "validated");
  EXPECT_EQ(j["upstreams"][0]["validation"], "captive-portal");
  EXPECT_EQ(j["upstreams"][0]["portalUrl"], "http://portal.example/login");
  EXPECT_TRUE(j["upstreams"][1]["portalUrl"].is_null());
  v.upstreams[0].lastProbeAgoMs.reset();  // probes off: no verdict shown
  EXPECT_TRUE(statusImpl(v)["upstreams"][0]["validation"].is_null());
}

TEST(WebApiImpl, StatusShowsIpv6ModeDelegationAndEachDownstreamsPrefix) {
  StatusView v;
  v.masterState = "TetherModeAlive";
  EXPECT_EQ(statusImpl(v)["ipv6"], (nlohmann::json{{"configured", "off"}, {"mode", "off"}, {"delegated", nullptr},
                                                   {"left", nlohmann::json::array()}}));
  v.ipv6.configured = Ipv6Mode::Auto;
  v.ipv6.mode = Ipv6Mode::Pd;
  v.ipv6.delegated = *Ipv6Prefix::parse("2001:db8:0:10::/64");
  v.ipv6.preferredSec = 1800;
  v.ipv6.validSec = 4294967295u;  // infinite: null
  v.ipv6.pdLeft = {"wlan0"};
  TetherManager::DownstreamStatus usb0, wlan0;
  usb0.ifname = "usb0";
  usb0.ipv6 = Ipv6Mode::Pd;
  usb0.ipv6Prefix = *Ipv6Prefix::parse("2001:db8:0:10::/64");
  wlan0.ifname = "wlan0";
  wlan0.ipv6 = Ipv6Mode::Nat66;
  wlan0.ipv6Prefix = *Ipv6Prefix::parse("fd12:3456:789a:1::/64");
  v.downstreams = {usb0, wlan0};
  auto j = statusImpl(v);
  EXPECT_EQ(j["ipv6"], (nlohmann::json{{"configured", "auto"},
                                       {"mode", "pd"},
                                       {"delegated", {{"prefix", "2001:db8:0:10::/64"}, {"preferredSec", 1800}, {"validSec", nullptr}}},
                                       {"left", {"wlan0"}}}));
  EXPECT_EQ(j["downstreams"][0]["ipv6"], "pd");
  EXPECT_EQ(j["downstreams"][0]["ipv6Prefix"], "2001:db8:0:10::/64");
  EXPECT_EQ(j["downstreams"][1]["ipv6"], "nat66");
  EXPECT_EQ(j["downstreams"][1]["ipv6Prefix"], "fd12:3456:789a:1::/64");
}

TEST(WebApiImpl, ClientsShowEachClientsIpv6Addresses) {
  ClientsView v;
  v.nowEpochSec = 1000;
  Lease l;
  l.mac = "02:00:00:00:00:01";
  l.ip = *Ipv4Address::parse("192.168.42.10");
  v.downstreams.push_back({"usb0", IfaceKind::Usb, {l}});
  v.ipv6["02:00:00:00:00:01"] = {"2001:db8:0:10::5", "fd12:3456:789a:1::5"};
  auto j = clientsImpl(v);
  ASSERT_EQ(j["clients"].size(), 1u);
  EXPECT_EQ(j["clients"][0]["ipv6"], (nlohmann::json{"2001:db8:0:10::5", "fd12:3456:789a:1::5"}));
}

TEST(WebApiImpl, QuotaLevelsAndResets) {
  const long long now = 1'700'000'000;
  auto q = quotaJson(QuotaView{5'000'000, 4'000'000, "day"}, now);
  EXPECT_EQ(q["level"], 1) << "80 %";
  EXPECT_EQ(quotaJson(QuotaView{5'000'000, 4'990'000, "day"}, now)["level"], 2) << "less than 64 KiB left: reached";
  EXPECT_EQ(quotaJson(QuotaView{5'000'000, 100, "day"}, now)["level"], 0);
  // Whole again at local midnight of its reset day; never (total) is null.
  const int tomorrow = localDay(now) + 1;
  q = quotaJson(QuotaView{5'000'000, 4'000'000, "day", tomorrow}, now);
  const time_t reset = static_cast<time_t>(q["resetsAt"].get<long long>());
  EXPECT_EQ(reset, localMidnight(tomorrow));
  std::tm tm{};
  localtime_r(&reset, &tm);
  EXPECT_EQ(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 0);
  EXPECT_EQ(localDay(reset), tomorrow);
  EXPECT_GT(reset, now);
  EXPECT_LE(reset - now, 25 * 3600);
  EXPECT_EQ(q["resetsInSec"], reset - now);
  EXPECT_EQ(q["resetsOn"], dayText(tomorrow));
  EXPECT_TRUE(quotaJson(QuotaView{1, 0, "total", 0}, now)["resetsAt"].is_null());
  // Reached: /api/me says cut off, and why.
  SelfView me;
  me.known = true;
  me.mac = "02:00:00:00:00:aa";
  me.ip = "192.168.42.10";
  me.quota = QuotaView{5'000'000, 5'000'000, "day"};
  auto j = meImpl(me, now);
  EXPECT_EQ(j["cutOff"], true);
  EXPECT_EQ(j["reason"], "quota");
  EXPECT_EQ(j["quota"]["used"], 5'000'000);
  EXPECT_TRUE(j["hostname"].is_null());
  me.quota->used = 10;
  EXPECT_EQ(meImpl(me, now)["cutOff"], false);
  EXPECT_TRUE(meImpl(me, now)["reason"].is_null());
}

TEST(WebQr, SvgOfAPayload) {
  auto svg = qrSvg("WIFI:T:WPA;S:tetherd;P:abcdefgh;;");
  ASSERT_TRUE(svg);
  EXPECT_EQ(svg->rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 37 37\"", 0), 0u) << *svg;  // version 3, level M
  EXPECT_NE(svg->find("<path fill=\"#000\" d=\"M4 4h7v1h-7z"), std::string::npos) << "the finder pattern's top row";
  EXPECT_FALSE(qrSvg(""));
  EXPECT_FALSE(qrSvg(std::string(3000, 'x')));
}

TEST(WebTraffic, RatesFromCounters) {
  TrafficMeter m(3);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100h;
  EXPECT_FALSE(m.feed(t0, 0, {{"usb0", {1000, 100}}}, {}));
  auto s = m.feed(t0 + 2s, 2000, {{"usb0", {5000, 300}}}, {{"02:00:00:00:00:01", {10, 20}}});
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->downstreams["usb0"].rx, 2000);
  EXPECT_DOUBLE_EQ(s->downstreams["usb0"].tx, 100);
  EXPECT_DOUBLE_EQ(s->clients["02:00:00:00:00:01"].rx, 0) << "first sight of a client: no rate yet";
  s = m.feed(t0 + 4s, 4000, {{"usb0", {10, 10}}}, {});  // counters reset (rules rebuilt)
  EXPECT_DOUBLE_EQ(s->downstreams["usb0"].rx, 0);
  EXPECT_FALSE(m.feed(t0 + 60s, 60000, {{"usb0", {20, 20}}}, {})) << "no rate across a gap";
  for (int i = 1; i <= 5; ++i) (void)m.feed(t0 + 60s + i * 2s, 0, {}, {});
  EXPECT_EQ(m.history().size(), 3u) << "bounded";
  EXPECT_EQ(sampleJson(*s).dump(), R"({"clients":{},"downstreams":{"usb0":{"rx":0,"tx":0}},"t":4000})");
}

TEST(WebTraffic, SampleTextIsTheDocumentsDump) {
  TrafficSample s;
  s.wallMs = 1700000002000;
  s.downstreams = {{"usb0", {1234.9, 5}}, {"bt-pan", {0, 7}}, {"we\"ird\\", {1, 2}}};
  s.clients = {{"02:00:00:00:00:01", {10, 20}}};
  std::string text = "x";
  appendSampleJson(text, s);
  EXPECT_EQ(text, "x" + sampleJson(s).dump());
  text.clear();
  appendSampleJson(text, TrafficSample{});
  EXPECT_EQ(text, R"({"clients":{},"downstreams":{},"t":0})");
}

TEST(WebTraffic, HistoryIsARingOverwrittenInPlace) {
  TrafficMeter m(3);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100h;
  (void)m.feed(t0, 0, {{"usb0", {0, 0}}}, {});
  for (int i = 1; i <= 7; ++i)  // usb0 goes away at the 6th sample, wlan0 comes
    (void)m.feed(t0 + i * 2s, i * 1000, i < 6 ? std::map<std::string, ByteCounts>{{"usb0", {uint64_t(i) * 200, 0}}}
                                             : std::map<std::string, ByteCounts>{{"wlan0", {uint64_t(i) * 400, 0}}},
                 {});
  auto h = m.history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].wallMs, 5000) << "oldest first after the ring wrapped";
  EXPECT_EQ(h[1].wallMs, 6000);
  EXPECT_EQ(h[2].wallMs, 7000);
  EXPECT_DOUBLE_EQ(h[0].downstreams.at("usb0").rx, 100);
  EXPECT_EQ(h[1].downstreams.size(), 1u) << "a recycled sample keeps nothing of the one it overwrote";
  EXPECT_EQ(h[1].downstreams.count("wlan0"), 1u);
  EXPECT_DOUBLE_EQ(h[2].downstreams.at("wlan0").rx, 200);
  // A thousand samples later: still three, still in order.
  for (int i = 8; i < 1000; ++i) (void)m.feed(t0 + i * 2s, i * 1000, {{"wlan0", {uint64_t(i) * 400, 0}}}, {});
  h = m.history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2].wallMs, 999000);
  EXPECT_EQ(h[0].wallMs, 997000);
}

TEST(WebAssets, EveryAssetHasAMimeTypeAndTheWholeUiIsSmall) {
  size_t total = 0;
  ASSERT_GE(allAssets().size(), 3u);
  for (const auto& a : allAssets()) {
    EXPECT_FALSE(a.mime.empty()) << a.name;
    total += a.body.size();
  }
  EXPECT_LT(total, 200u * 1024) << "the whole UI stays well under 200 KB";
  const Asset* index = findAsset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->name, "index.html");
  // No inline script or style: the CSP forbids them.
  EXPECT_EQ(index->body.find("<script>"), std::string::npos);
  EXPECT_EQ(index->body.find("<style"), std::string::npos);
  EXPECT_EQ(index->body.find(" style="), std::string::npos);
  EXPECT_EQ(index->body.find("onclick"), std::string::npos);
  EXPECT_EQ(index->body.find("http://"), std::string::npos) << "no CDN";
  EXPECT_EQ(index->body.find("https://"), std::string::npos) << "no CDN";
  EXPECT_EQ(mimeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(mimeFor("x.exe"), "");
}

TEST(WebConfig, WebSectionParsesAndRefusesTheWildcard) {
  auto c = parseConfig("[web]\nenabled = yes\nport = 8081\nlisten = localhost 10.0.0.1\nsession_idle = 10m\nsession_lifetime = 1h\n", "t");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->webEnabled);
  EXPECT_EQ(c->webPort, 8081);
  EXPECT_FALSE(c->webListenDownstreams);
  EXPECT_TRUE(c->webListenLocalhost);
  ASSERT_EQ(c->webListenAddresses.size(), 1u);
  EXPECT_EQ(c->webListenAddresses[0].str(), "10.0.0.1");
  EXPECT_EQ(c->webSessionIdleSec, 600);
  EXPECT_EQ(c->webSessionLifetimeSec, 3600);
  Config d = defaultConfig();
  EXPECT_FALSE(d.webEnabled);
  EXPECT_EQ(d.webPort, 8080);
  EXPECT_TRUE(d.webListenDownstreams && d.webListenLocalhost);
  auto wild = parseConfig("[web]\nlisten = 0.0.0.0\n", "t");
  ASSERT_FALSE(wild);
  EXPECT_NE(wild.error().message.find("0.0.0.0 is refused"), std::string::npos);
  EXPECT_FALSE(parseConfig("[web]\nlisten =\n", "t"));
  EXPECT_FALSE(parseConfig("[web]\nport = 0\n", "t"));
  EXPECT_FALSE(parseConfig("[web]\nlisten = everywhere\n", "t"));
}

}  // namespace
