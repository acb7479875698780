// One path for configuration changes (issue 11, point 7): SIGHUP (RunningConfig::reload, the
// daemon's loader: tetherd.conf, then state_dir/web-settings on top) and the web page's Settings
// (PUT /api/settings through the real WebApp) both end in RunningConfig::applyConfig. Over the
// real DnsmasqService (on a fake process runner), the real TetherManager (fakes.h) and the real
// WebApp: the same change by either path restarts the running dnsmasq the same way, logs the
// same line and sends the same event; a bad value by either path changes nothing.
#include "tether/app/running_config.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/runtime_settings.h"
#include "fakes.h"
#include "tether/core/dhcp_service.h"
#include "web/web_app.h"

using namespace tetherd;
using namespace tetherd::testing;
using namespace std::chrono_literals;

namespace {

// Children that exist only on paper: a spawn is "spawn <name> <--dhcp-range=...>", a SIGTERM is
// "SIGTERM <name>" and ends the child on the next loop turn.
class PaperRunner : public ProcessRunner {
 public:
  PaperRunner(boost::asio::io_context& io, std::vector<std::string>& effects) : io_(io), effects_(effects) {}
  Result<pid_t> spawn(const ProcessSpec& spec) override {
    std::string range;
    for (const auto& a : spec.argv)
      if (a.rfind("--dhcp-range=", 0) == 0) range = a;
    effects_.push_back("spawn " + spec.name + " " + range);
    names_[next_] = spec.name;
    return next_++;
  }
  Status signal(pid_t pid, int sig) override {
    if (!names_.count(pid)) return makeError(Errc::NotFound, "no such child");
    if (sig != SIGTERM && sig != SIGKILL) return {};
    effects_.push_back(std::string(sig == SIGTERM ? "SIGTERM " : "SIGKILL ") + names_[pid]);
    names_.erase(pid);
    if (auto it = exits_.find(pid); it != exits_.end()) {
      boost::asio::post(io_, [h = std::move(it->second), sig] { h(sig); });  // killed by sig
      exits_.erase(it);
    }
    return {};
  }
  void onExit(pid_t pid, ExitHandler h) override { exits_[pid] = std::move(h); }
  void onOutput(pid_t, OutputHandler) override {}

 private:
  boost::asio::io_context& io_;
  std::vector<std::string>& effects_;
  std::map<pid_t, std::string> names_;
  std::map<pid_t, ExitHandler> exits_;
  pid_t next_ = 4000;
};

const std::string kDefaultRange = "--dhcp-range=set:usb0,192.168.42.10,192.168.42.250,255.255.255.0,3600s";
const std::string kNewRange = "--dhcp-range=set:usb0,192.168.42.200,192.168.42.210,255.255.255.0,600s";

class ConfigPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = freshTestDir("running-config");
    confPath = (dir / "tetherd.conf").string();
    std::filesystem::create_directories(dir / "run");
    std::filesystem::permissions(dir / "run", std::filesystem::perms(0755));
    writeConf("");
    nl.addLink("lo");
    nl.addLink("eth0");
    nl.addLink("usb0");
    nl.routeList.push_back(DefaultRoute{nl.indexOf("eth0"), "eth0", *Ipv4Address::parse("10.0.1.254"), 100});
    nl.addrList.push_back(AddrInfo{nl.indexOf("eth0"), "eth0", *Ipv4Prefix::parse("10.0.1.2/24")});
    ASSERT_TRUE(running.load());
    dhcp = std::make_unique<DnsmasqService>(io, runner, running.current());
    manager = std::make_unique<TetherManager>(ManagerDeps{io, nl, fw, sysctl, nl.syncView()}, *dhcp, running.current(),
                                              [](const Event&) {});
    ASSERT_TRUE(manager->start());
    ASSERT_TRUE(manager->startTethering());
    // What the daemon hands the page: its running configuration and the one way to change it.
    app = std::make_unique<web::WebApp>(web::WebDeps{io, *manager, nullptr, [this]() -> const Config& { return running.current(); },
                                                     [this](const Config& c) { running.applyConfig(c); },
                                                     [] { return web::TimePoint{} + 1000h; }, [] { return 1'700'000'000'000LL; },
                                                     web::fastHashParams(), {"tetherd.local"}});
    ASSERT_TRUE(app->load());
    running.follow([this](const Config& c) { dhcp->reconfigure(c); });
    running.follow([this](const Config& c) { manager->reconfigure(c); });
    running.follow([this](const Config& c) { app->reconfigure(c); });
    settle();
    ASSERT_EQ(effects, (std::vector<std::string>{"spawn dnsmasq-usb0 " + kDefaultRange}));
    auto r = call("POST", "/api/setup", R"({"password":"correct horse"})");
    ASSERT_EQ(r.first, 201) << r.second.dump();
    csrf = r.second.at("csrfToken").get<std::string>();
    effects.clear();
  }

  void TearDown() override {
    app.reset();
    manager.reset();
    dhcp.reset();
    std::filesystem::remove_all(dir);
  }

  // tetherd.conf: the paths inside dir, eth0 the upstream, and `extra`.
  void writeConf(const std::string& extra) {
    std::ofstream(confPath) << "[daemon]\nrun_dir = " << (dir / "run").string() << "\nstate_dir = " << (dir / "state").string()
                            << "\n[upstream]\npriority = eth0\nresolv_file = " << (dir / "resolv.conf").string() << "\n"
                            << extra;
  }

  void settle() {
    for (int i = 0; i < 20; ++i) {
      io.restart();
      io.run_for(2ms);
    }
  }

  // One request through WebApp::handle, with the session and CSRF token of the setup.
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& path, const std::string& body) {
    web::Request req;
    req.method = method;
    req.target = req.path = path;
    req.peer = "127.0.0.1";
    req.body = body;
    req.headers.push_back({"Host", "127.0.0.1:8080"});
    req.headers.push_back({"Content-Type", "application/json"});
    if (!token.empty()) {
      req.headers.push_back({"Cookie", "tetherd_session=" + token});
      req.headers.push_back({"X-CSRF-Token", csrf});
    }
    std::optional<web::Response> got;
    app->handle(req, [&](web::Response r) { got = std::move(r); });
    for (auto deadline = std::chrono::steady_clock::now() + 10s; !got && std::chrono::steady_clock::now() < deadline;) {
      io.restart();
      io.run_for(5ms);
    }
    if (!got) return {0, {}};
    if (const auto* cookie = got->get("Set-Cookie"); cookie && cookie->rfind("tetherd_session=", 0) == 0)
      token = cookie->substr(16, cookie->find(';') - 16);
    return {got->status, nlohmann::json::parse(got->body, nullptr, false)};
  }

  // The daemon's SIGHUP, with what it logged.
  std::pair<Status, std::string> sighup() {
    ::testing::internal::CaptureStderr();
    auto st = running.reload();
    settle();
    return {st, ::testing::internal::GetCapturedStderr()};
  }
  std::pair<int, std::string> putSettings(const std::string& body) {
    ::testing::internal::CaptureStderr();
    int status = call("PUT", "/api/settings", body).first;
    settle();
    return {status, ::testing::internal::GetCapturedStderr()};
  }

  std::filesystem::path dir;
  std::string confPath;
  std::vector<std::string> effects;  // dnsmasq spawns and signals, and events, in order
  boost::asio::io_context io;
  PaperRunner runner{io, effects};
  FakeNetlink nl;
  FakeFirewall fw;
  FakeSysctl sysctl;
  // The daemon's loader (tether/app/daemon.cpp: loadConfig) and its "Config reloaded" event.
  RunningConfig running{[this]() -> Result<Config> {
                          auto c = loadConfigFile(confPath);
                          if (!c) return c;
                          return withRuntimeSettings(std::move(c.value()));
                        },
                        [this] { effects.push_back("event 610 Config reloaded"); }};
  std::unique_ptr<DnsmasqService> dhcp;
  std::unique_ptr<TetherManager> manager;
  std::unique_ptr<web::WebApp> app;
  std::string token, csrf;
};

TEST_F(ConfigPathsTest, SighupAndThePageHaveTheSameEffects) {
  const std::vector<std::string> restarted = {"SIGTERM dnsmasq-usb0", "event 610 Config reloaded",
                                              "spawn dnsmasq-usb0 " + kNewRange};
  const std::string logged = "configuration reloaded from " + confPath;

  writeConf("[dhcp]\nrange_first_host = 200\nrange_last_host = 210\nlease_time = 10m\n");
  auto [st, sighupLog] = sighup();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(effects, restarted) << "SIGHUP: the running dnsmasq restarted with the new range, then the event";
  EXPECT_NE(sighupLog.find(logged), std::string::npos) << sighupLog;
  EXPECT_EQ(running.current().rangeFirstHost, 200);

  writeConf("");  // back to the defaults
  ASSERT_TRUE(sighup().first);
  EXPECT_EQ(running.current().rangeFirstHost, 10);
  effects.clear();

  auto [status, pageLog] = putSettings(R"({"dhcp":{"rangeFirstHost":200,"rangeLastHost":210,"leaseTimeSec":600}})");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(effects, restarted) << "the page: the very same";
  EXPECT_NE(pageLog.find(logged), std::string::npos) << pageLog;
  EXPECT_NE(pageLog.find("web: settings changed and saved"), std::string::npos) << pageLog;
  EXPECT_EQ(running.current().rangeFirstHost, 200);
  EXPECT_EQ(running.current().leaseTimeSec, 600);

  // A SIGHUP after the page's change reads its saved settings over the file: dnsmasq stays.
  effects.clear();
  ASSERT_TRUE(sighup().first);
  EXPECT_EQ(effects, (std::vector<std::string>{"event 610 Config reloaded"}));
  EXPECT_EQ(running.current().rangeFirstHost, 200);
}

TEST_F(ConfigPathsTest, ABadValueByEitherPathChangesNothing) {
  auto same = [this] {
    const Config& c = running.current();
    EXPECT_EQ(c.rangeFirstHost, 10);
    EXPECT_EQ(c.rangeLastHost, 250);
    EXPECT_EQ(c.leaseTimeSec, 3600);
    EXPECT_EQ(c.upstreamPriority, (std::vector<std::string>{"eth0"}));
    EXPECT_EQ(manager->upstreamPriority(), (std::vector<std::string>{"eth0"}));
    EXPECT_EQ(effects, std::vector<std::string>{}) << "no restart, no event";
    EXPECT_FALSE(std::filesystem::exists(runtimeSettingsPath(c.stateDir))) << "nothing saved";
  };

  writeConf("[dhcp]\nlease_time = 10m\nrange_last_host = 300\n");
  auto [st, log] = sighup();
  ASSERT_FALSE(st);
  EXPECT_NE(log.find("reload refused, keeping the running configuration"), std::string::npos) << log;
  EXPECT_NE(log.find("range_last_host 300 does not fit"), std::string::npos) << log;
  same();

  EXPECT_EQ(putSettings(R"({"dhcp":{"leaseTimeSec":600,"rangeLastHost":300}})").first, 400);
  same();
  // Valid as a file, refused by the manager (usb0 is tethered): the lease time does not slip through.
  EXPECT_EQ(putSettings(R"({"dhcp":{"leaseTimeSec":600},"upstreamPriority":["eth0","usb0"]})").first, 400);
  same();
}

}  // namespace
