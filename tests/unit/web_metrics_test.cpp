// GET /metrics: the exposition text of a typed snapshot, exactly, in both formats (web/metrics.h);
// label escaping, format negotiation, the bearer token; [web] metrics_token; and the route
// through WebApp::handle: loopback scrapes without a password or session, a downstream address
// only with the token, the numbers from the same counters as `tether stats`.
#include <boost/asio/io_context.hpp>
#include <filesystem>

#include <gtest/gtest.h>

#include "fakes.h"
#include "softap/hostapd/hostapd_protocol.h"
#include "softap/service/softap_service.h"
#include "web/metrics.h"
#include "web/web_app.h"

using namespace tetherd;
using namespace tetherd::web;
using namespace tetherd::testing;
using namespace std::chrono_literals;

namespace {

MetricsSnapshot sampleSnapshot() {
  MetricsSnapshot s;
  s.version = "1.2.3";
  s.startTimeSec = 1700000000;
  s.masterState = "TetherModeAlive";
  s.masterStates = {"Initial", "TetherModeAlive"};
  s.tetheringErrors = 0;
  s.forwarded = {{"usb0", "eth0", 100, 2, 300, 4}};
  s.downstreams = {{"usb0", "usb", "tethered", "", 1, true, 3}, {"wlan0", "wifi", "failed", "HostapdError", 0, false, std::nullopt}};
  s.downstreamStates = {"tethered", "failed"};
  s.downstreamErrors = {{"wlan0", 2}};
  s.upstreams = {{"eth0", "ready", true}, {"wwan0", "down", false}};
  s.upstreamStates = {"down", "ready"};
  s.clients = {{"wlan0", "02:00:00:00:00:01", 10, 20, 1, 2}, {"wlan0", "a\"b\\c\nd\x01\xc3", 5, std::nullopt, std::nullopt, std::nullopt}};
  s.hostapd = MetricsSnapshot::Hostapd{"wlan0", true, 1};
  return s;
}

const char* kOpenMetrics = R"(# TYPE tetherd_build_info gauge
# HELP tetherd_build_info tetherd's version.
tetherd_build_info{version="1.2.3"} 1
# TYPE tetherd_start_time_seconds gauge
# UNIT tetherd_start_time_seconds seconds
# HELP tetherd_start_time_seconds When tetherd started (Unix time).
tetherd_start_time_seconds 1700000000
# TYPE tetherd_tethering_state gauge
# HELP tetherd_tethering_state The tethering master machine's state (1: current).
tetherd_tethering_state{state="Initial"} 0
tetherd_tethering_state{state="TetherModeAlive"} 1
# TYPE tetherd_tethering_errors counter
# HELP tetherd_tethering_errors Failures of the tethering master machine since start.
tetherd_tethering_errors_total 0
# TYPE tetherd_downstream_received_bytes counter
# UNIT tetherd_downstream_received_bytes bytes
# HELP tetherd_downstream_received_bytes Bytes forwarded from the downstream's clients to the upstream (tetherctl tether stats tx_bytes).
tetherd_downstream_received_bytes_total{downstream="usb0",upstream="eth0"} 100
# TYPE tetherd_downstream_received_packets counter
# HELP tetherd_downstream_received_packets Packets forwarded from the downstream's clients to the upstream (tx_packets).
tetherd_downstream_received_packets_total{downstream="usb0",upstream="eth0"} 2
# TYPE tetherd_downstream_sent_bytes counter
# UNIT tetherd_downstream_sent_bytes bytes
# HELP tetherd_downstream_sent_bytes Bytes forwarded from the upstream to the downstream's clients (tetherctl tether stats rx_bytes).
tetherd_downstream_sent_bytes_total{downstream="usb0",upstream="eth0"} 300
# TYPE tetherd_downstream_sent_packets counter
# HELP tetherd_downstream_sent_packets Packets forwarded from the upstream to the downstream's clients (rx_packets).
tetherd_downstream_sent_packets_total{downstream="usb0",upstream="eth0"} 4
# TYPE tetherd_downstream_state gauge
# HELP tetherd_downstream_state Each downstream's state (1: current).
tetherd_downstream_state{downstream="usb0",kind="usb",state="tethered"} 1
tetherd_downstream_state{downstream="usb0",kind="usb",state="failed"} 0
tetherd_downstream_state{downstream="wlan0",kind="wifi",state="tethered"} 0
tetherd_downstream_state{downstream="wlan0",kind="wifi",state="failed"} 1
# TYPE tetherd_downstream_error gauge
# HELP tetherd_downstream_error A downstream's error now, by code.
tetherd_downstream_error{downstream="wlan0",code="HostapdError"} 1
# TYPE tetherd_downstream_errors counter
# HELP tetherd_downstream_errors Failures of a downstream's machine since start.
tetherd_downstream_errors_total{downstream="wlan0"} 2
# TYPE tetherd_downstream_clients gauge
# HELP tetherd_downstream_clients Clients of each downstream (DHCP leases; Wi-Fi: stations).
tetherd_downstream_clients{downstream="usb0"} 1
tetherd_downstream_clients{downstream="wlan0"} 0
# TYPE tetherd_dnsmasq_running gauge
# HELP tetherd_dnsmasq_running Whether the downstream's DHCP/DNS server (dnsmasq) runs.
tetherd_dnsmasq_running{downstream="usb0"} 1
tetherd_dnsmasq_running{downstream="wlan0"} 0
# TYPE tetherd_dnsmasq_restarts counter
# HELP tetherd_dnsmasq_restarts Restarts of the downstream's dnsmasq after it exited unexpectedly (while it is tethered).
tetherd_dnsmasq_restarts_total{downstream="usb0"} 3
# TYPE tetherd_upstream_state gauge
# HELP tetherd_upstream_state Each upstream candidate's state (1: current).
tetherd_upstream_state{upstream="eth0",state="down"} 0
tetherd_upstream_state{upstream="eth0",state="ready"} 1
tetherd_upstream_state{upstream="wwan0",state="down"} 1
tetherd_upstream_state{upstream="wwan0",state="ready"} 0
# TYPE tetherd_upstream_selected gauge
# HELP tetherd_upstream_selected 1 for the upstream the downstreams are forwarded to.
tetherd_upstream_selected{upstream="eth0"} 1
tetherd_upstream_selected{upstream="wwan0"} 0
# TYPE tetherd_client_received_bytes counter
# UNIT tetherd_client_received_bytes bytes
# HELP tetherd_client_received_bytes Bytes the soft AP received from a Wi-Fi station (hostapd).
tetherd_client_received_bytes_total{downstream="wlan0",mac="02:00:00:00:00:01"} 10
tetherd_client_received_bytes_total{downstream="wlan0",mac="a\"b\\c\nd??"} 5
# TYPE tetherd_client_received_packets counter
# HELP tetherd_client_received_packets Packets the soft AP received from a Wi-Fi station (hostapd).
tetherd_client_received_packets_total{downstream="wlan0",mac="02:00:00:00:00:01"} 1
# TYPE tetherd_client_sent_bytes counter
# UNIT tetherd_client_sent_bytes bytes
# HELP tetherd_client_sent_bytes Bytes the soft AP sent to a Wi-Fi station (hostapd).
tetherd_client_sent_bytes_total{downstream="wlan0",mac="02:00:00:00:00:01"} 20
# TYPE tetherd_client_sent_packets counter
# HELP tetherd_client_sent_packets Packets the soft AP sent to a Wi-Fi station (hostapd).
tetherd_client_sent_packets_total{downstream="wlan0",mac="02:00:00:00:00:01"} 2
# TYPE tetherd_hostapd_running gauge
# HELP tetherd_hostapd_running Whether the soft AP's hostapd runs.
tetherd_hostapd_running{interface="wlan0"} 1
# TYPE tetherd_hostapd_restarts counter
# HELP tetherd_hostapd_restarts Restarts of hostapd after it exited unexpectedly.
tetherd_hostapd_restarts_total{interface="wlan0"} 1
# EOF
)";

TEST(WebMetricsText, OpenMetricsOfASnapshot) {
  EXPECT_EQ(metricsText(sampleSnapshot(), MetricsFormat::OpenMetrics), kOpenMetrics);
}

// Text 0.0.4: the same samples; HELP and TYPE name the sample (a counter's ends in _total), no
// UNIT, no # EOF.
TEST(WebMetricsText, PrometheusTextOfASnapshot) {
  MetricsSnapshot s;
  s.version = "1.2.3";
  s.startTimeSec = 5;
  s.forwarded = {{"usb0", "eth0", 100, 2, 300, 4}};
  const std::string text = metricsText(s, MetricsFormat::PrometheusText);
  EXPECT_EQ(text.substr(0, text.find("# HELP tetherd_downstream_received_packets_total")),
            "# HELP tetherd_build_info tetherd's version.\n"
            "# TYPE tetherd_build_info gauge\n"
            "tetherd_build_info{version=\"1.2.3\"} 1\n"
            "# HELP tetherd_start_time_seconds When tetherd started (Unix time).\n"
            "# TYPE tetherd_start_time_seconds gauge\n"
            "tetherd_start_time_seconds 5\n"
            "# HELP tetherd_tethering_errors_total Failures of the tethering master machine since start.\n"
            "# TYPE tetherd_tethering_errors_total counter\n"
            "tetherd_tethering_errors_total 0\n"
            "# HELP tetherd_downstream_received_bytes_total Bytes forwarded from the downstream's clients to the "
            "upstream (tetherctl tether stats tx_bytes).\n"
            "# TYPE tetherd_downstream_received_bytes_total counter\n"
            "tetherd_downstream_received_bytes_total{downstream=\"usb0\",upstream=\"eth0\"} 100\n");
  EXPECT_EQ(text.find("# EOF"), std::string::npos);
  EXPECT_EQ(text.find("# UNIT"), std::string::npos);
  // The same samples as OpenMetrics.
  auto samples = [](const std::string& t) {
    std::string out;
    for (size_t at = 0; at < t.size();) {
      const size_t nl = t.find('\n', at);
      if (t[at] != '#') out += t.substr(at, nl - at + 1);
      at = nl + 1;
    }
    return out;
  };
  EXPECT_EQ(samples(metricsText(sampleSnapshot(), MetricsFormat::PrometheusText)),
            samples(metricsText(sampleSnapshot(), MetricsFormat::OpenMetrics)));
}

TEST(WebMetricsText, EmptyFamiliesAreLeftOut) {
  const std::string text = metricsText(MetricsSnapshot{}, MetricsFormat::OpenMetrics);
  EXPECT_EQ(text.find("tetherd_downstream"), std::string::npos) << text;
  EXPECT_EQ(text.find("tetherd_hostapd"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

TEST(WebMetricsText, ClientsAreBounded) {
  MetricsSnapshot s;
  for (size_t i = 0; i < kMaxMetricsClients + 10; ++i) s.clients.push_back({"wlan0", "m" + std::to_string(i), 1, 1, 1, 1});
  const std::string text = metricsText(s, MetricsFormat::PrometheusText);
  size_t n = 0;
  for (size_t at = text.find("tetherd_client_received_bytes_total{"); at != std::string::npos;
       at = text.find("tetherd_client_received_bytes_total{", at + 1))
    ++n;
  EXPECT_EQ(n, kMaxMetricsClients);
}

TEST(WebMetricsText, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabelValue("usb0"), "usb0");
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escapeLabelValue(std::string("x\ty\x7f\xff\0z", 7)), "x?y???z");
}

TEST(WebMetricsText, FormatFromTheAcceptHeader) {
  const std::string prometheus =
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  EXPECT_EQ(metricsFormatFor(&prometheus), MetricsFormat::OpenMetrics);
  const std::string curl = "*/*";
  EXPECT_EQ(metricsFormatFor(&curl), MetricsFormat::PrometheusText);
  EXPECT_EQ(metricsFormatFor(nullptr), MetricsFormat::PrometheusText);
  EXPECT_STREQ(contentTypeOf(MetricsFormat::OpenMetrics), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_STREQ(contentTypeOf(MetricsFormat::PrometheusText), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(WebMetricsAccess, BearerToken) {
  const std::string token = "0123456789abcdef0123";
  auto h = [](std::string v) { return v; };
  std::string good = h("Bearer " + token), lower = h("bearer " + token), spaced = h("Bearer   " + token + " ");
  std::string wrong = h("Bearer " + token.substr(0, 19) + "X"), shorter = h("Bearer " + token.substr(0, 5));
  std::string longer = h("Bearer " + token + token), basic = h("Basic " + token), bare = token, empty = h("Bearer ");
  EXPECT_TRUE(bearerTokenMatches(&good, token));
  EXPECT_TRUE(bearerTokenMatches(&lower, token));
  EXPECT_TRUE(bearerTokenMatches(&spaced, token));
  for (const std::string* bad : {&wrong, &shorter, &longer, &basic, &bare, &empty})
    EXPECT_FALSE(bearerTokenMatches(bad, token)) << *bad;
  EXPECT_FALSE(bearerTokenMatches(nullptr, token));
  EXPECT_FALSE(bearerTokenMatches(&good, ""));  // none configured: no header is good
}

TEST(WebMetricsAccess, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) EXPECT_TRUE(isLoopbackAddress(a)) << a;
  for (const char* a : {"192.168.42.10", "", "::", "::ffff:10.0.0.1", "1127.0.0.1"}) EXPECT_FALSE(isLoopbackAddress(a)) << a;
}

TEST(WebMetricsConfig, TokenIsValidatedWithoutBeingQuoted) {
  auto c = parseConfig("[web]\nmetrics_token = Zm9vYmFyYmF6cXV4LXRva2Vu\n", "/etc/tetherd.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->webMetricsToken, "Zm9vYmFyYmF6cXV4LXRva2Vu");
  EXPECT_EQ(defaultConfig().webMetricsToken, "");
  EXPECT_EQ(parseConfig("[web]\nmetrics_token =\n", "t")->webMetricsToken, "");
  struct Bad {
    const char* value;
    const char* why;
  };
  for (const Bad& b : {Bad{"short-secret", "too short"}, Bad{"has spaces inside a long token", "contains a character"},
                       Bad{"\"quoted;semicolon;token\"", "contains a character"}}) {
    auto r = parseConfig(std::string("[web]\n\nmetrics_token = ") + b.value + "\n", "/etc/tetherd.conf");
    ASSERT_FALSE(r) << b.value;
    const std::string& m = r.error().message;
    EXPECT_EQ(m.rfind("/etc/tetherd.conf:3: key 'metrics_token' in [web]: ", 0), 0u) << m;
    EXPECT_NE(m.find(b.why), std::string::npos) << m;
    EXPECT_EQ(m.find("secret"), std::string::npos) << "the value is never quoted: " << m;
    EXPECT_EQ(m.find("semicolon"), std::string::npos) << m;
  }
  EXPECT_FALSE(parseConfig("[web]\nmetrics_token = " + std::string(257, 'a') + "\n", "t"));
}

TEST(WebMetricsHostapd, StationPacketCounters) {
  auto r = softap::parseStaReply("02:00:00:00:00:01\nflags=[AUTH][ASSOC][AUTHORIZED]\nrx_packets=7\ntx_packets=9\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->station.rxPackets.value_or(0), 7u);
  EXPECT_EQ(r->station.txPackets.value_or(0), 9u);
  EXPECT_FALSE(softap::parseStaReply("02:00:00:00:00:01\nrx_packets=x\n"));
}

// ---- the route, through WebApp ---------------------------------------------------------------

class NoProcesses : public ProcessRunner {
 public:
  Result<pid_t> spawn(const ProcessSpec&) override { return makeError(Errc::Unsupported, "no processes in unit tests"); }
  Status signal(pid_t, int) override { return makeError(Errc::NotFound, "no such child"); }
  void onExit(pid_t, ExitHandler) override {}
  void onOutput(pid_t, OutputHandler) override {}
};

class WebMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = freshTestDir("web-metrics");
    config = testConfig(dir, {"eth0"});
    config.upstreamDns["eth0"] = {*Ipv4Address::parse("10.0.1.1")};
    config.webEnabled = true;
    nl.addLink("lo");
    nl.addLink("eth0");
    nl.addLink("usb0");
    nl.routeList.push_back(DefaultRoute{nl.indexOf("eth0"), "eth0", *Ipv4Address::parse("10.0.1.254"), 100});
    nl.addrList.push_back(AddrInfo{nl.indexOf("eth0"), "eth0", *Ipv4Prefix::parse("10.0.1.2/24")});
    manager = std::make_unique<TetherManager>(ManagerDeps{io, nl, fw, sysctl, nl.syncView()}, dhcp, config, [](const Event&) {});
    ASSERT_TRUE(manager->start());
    ASSERT_TRUE(manager->startTethering());
    softap = std::make_unique<softap::SoftApService>(
        io, runner, dhcp, config, nullptr, [](const std::string&) {}, [](const std::string&, const Error&) {});
    ASSERT_TRUE(softap->load());
    dhcp.stateDir = config.stateDir;
    clients = std::make_unique<ClientActions>(*manager, dhcp, softap->clientHooks());
    app = std::make_unique<WebApp>(WebDeps{io, *manager, softap.get(), [this]() -> const Config& { return config; },
                                           [](const Config&) {}, [] { return TimePoint{} + 1000h; },
                                           [] { return 1'700'000'000'000LL; }, fastHashParams(), {"tetherd.local"},
                                           clients.get(), &dhcp});
    ASSERT_TRUE(app->load());
  }

  void TearDown() override {
    app.reset();
    clients.reset();
    softap.reset();
    manager.reset();
    std::filesystem::remove_all(dir);
  }

  Response get(const std::string& peer, const std::string& local, std::vector<Header> headers = {}) {
    Request req;
    req.method = "GET";
    req.target = req.path = "/metrics";
    req.peer = peer;
    req.local = local;
    req.headers = std::move(headers);
    req.headers.push_back({"Host", local + ":8080"});
    std::optional<Response> got;
    app->handle(req, [&](Response r) { got = std::move(r); });
    for (int i = 0; i < 200 && !got; ++i) {
      io.restart();
      io.run_for(5ms);
    }
    EXPECT_TRUE(got);
    return got ? *got : Response{};
  }

  std::filesystem::path dir;
  boost::asio::io_context io;
  Config config;
  FakeNetlink nl;
  FakeFirewall fw;
  FakeSysctl sysctl;
  FakeDhcp dhcp;
  NoProcesses runner;
  std::unique_ptr<TetherManager> manager;
  std::unique_ptr<softap::SoftApService> softap;
  std::unique_ptr<ClientActions> clients;
  std::unique_ptr<WebApp> app;
};

TEST_F(WebMetricsTest, LoopbackScrapesWithoutPasswordOrSession) {
  ASSERT_FALSE(app->passwordSet());
  Response r = get("127.0.0.1", "127.0.0.1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(*r.get("Cache-Control"), "no-store");
  // The same counters as `tether stats` (FakeFirewall: tx 10 bytes / 1 packet, rx 20 / 2).
  EXPECT_NE(r.body.find("tetherd_downstream_received_bytes_total{downstream=\"usb0\",upstream=\"eth0\"} 10\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("tetherd_downstream_sent_packets_total{downstream=\"usb0\",upstream=\"eth0\"} 2\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_downstream_state{downstream=\"usb0\",kind=\"usb\",state=\"tethered\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_upstream_selected{upstream=\"eth0\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_upstream_state{upstream=\"eth0\",state=\"ready\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_tethering_state{state=\"TetherModeAlive\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_dnsmasq_restarts_total{downstream=\"usb0\"} 0\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_hostapd_restarts_total{interface=\"wlan0\"} 0\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_start_time_seconds 1700000000\n"), std::string::npos);
  EXPECT_NE(r.body.find("tetherd_build_info{version=\"" TETHERD_VERSION "\"} 1\n"), std::string::npos);

  r = get("127.0.0.1", "127.0.0.1", {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(*r.get("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(r.body.substr(r.body.size() - 6), "# EOF\n");
}

TEST_F(WebMetricsTest, DownstreamNeedsTheConfiguredToken) {
  Response r = get("192.168.42.10", "192.168.42.1");
  EXPECT_EQ(r.status, 403) << "no token configured: loopback only";
  EXPECT_NE(r.body.find("metrics_token"), std::string::npos) << r.body;

  config.webMetricsToken = "0123456789abcdef0123";
  r = get("192.168.42.10", "192.168.42.1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(*r.get("WWW-Authenticate"), "Bearer realm=\"tetherd metrics\"");
  EXPECT_EQ(r.body.find("0123456789abcdef0123"), std::string::npos);
  EXPECT_EQ(get("192.168.42.10", "192.168.42.1", {{"Authorization", "Bearer 0123456789abcdef0124"}}).status, 401);
  EXPECT_EQ(get("192.168.42.10", "192.168.42.1", {{"Cookie", "tetherd_session=" + std::string(64, 'a')}}).status, 401);
  r = get("192.168.42.10", "192.168.42.1", {{"Authorization", "Bearer 0123456789abcdef0123"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("tetherd_downstream_clients{downstream=\"usb0\"}"), std::string::npos);
  // A loopback peer on a non-loopback address is not this machine's scraper by address alone.
  EXPECT_EQ(get("127.0.0.1", "192.168.42.1").status, 401);
  // Loopback never needs it.
  EXPECT_EQ(get("127.0.0.1", "127.0.0.1").status, 200);
}

TEST_F(WebMetricsTest, WrongTokensAreThrottledApartFromLogins) {
  config.webMetricsToken = "0123456789abcdef0123";
  // No header guesses nothing: not counted.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get("192.168.42.10", "192.168.42.1").status, 401);
  for (int i = 0; i < LoginLimiter::kFreeFailures; ++i)
    EXPECT_EQ(get("192.168.42.10", "192.168.42.1", {{"Authorization", "Bearer wrong" + std::to_string(i)}}).status, 401);
  Response r = get("192.168.42.10", "192.168.42.1", {{"Authorization", "Bearer 0123456789abcdef0123"}});
  EXPECT_EQ(r.status, 429) << "the clock stands still in this test";
  EXPECT_NE(r.get("Retry-After"), nullptr);
  EXPECT_EQ(app->limiter().failures("192.168.42.10"), 0) << "the page's login limiter is not touched";
  EXPECT_EQ(get("192.168.42.11", "192.168.42.1", {{"Authorization", "Bearer 0123456789abcdef0123"}}).status, 200);
  EXPECT_EQ(get("127.0.0.1", "127.0.0.1").status, 200);
}

TEST_F(WebMetricsTest, FailuresAreCountedPerMachineAndBounded) {
  auto failed = [&](std::optional<std::string> ifname) {
    app->onEvent(Event{events::TetherStateChanged{ifname, "failed", makeError(Errc::DhcpServerError, "x")}});
  };
  failed(std::nullopt);
  failed("usb0");
  failed("usb0");
  app->onEvent(Event{events::TetherStateChanged{std::string("usb0"), "tethered", std::nullopt}});
  for (int i = 0; i < 100; ++i) failed("if" + std::to_string(i));
  const std::string body = get("127.0.0.1", "127.0.0.1").body;
  EXPECT_NE(body.find("tetherd_tethering_errors_total 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("tetherd_downstream_errors_total{downstream=\"usb0\"} 2\n"), std::string::npos);
  size_t n = 0;
  for (size_t at = body.find("tetherd_downstream_errors_total{"); at != std::string::npos;
       at = body.find("tetherd_downstream_errors_total{", at + 1))
    ++n;
  EXPECT_EQ(n, WebContext::kMaxCountedDownstreams);
}

TEST_F(WebMetricsTest, OnlyGet) {
  EXPECT_EQ(app->routes().back().access, Access::Metrics);
  Request req;
  req.method = "POST";
  req.target = req.path = "/metrics";
  req.peer = req.local = "127.0.0.1";
  req.headers = {{"Host", "127.0.0.1:8080"}};
  std::optional<Response> got;
  app->handle(req, [&](Response r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 405);
}

}  // namespace
