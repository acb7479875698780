// Upstream validation: the probe answers' parsers (hostile input), the hysteresis and schedule
// of one candidate, the selection over validation states, and the validator on a fake prober.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "tether/core/planner.h"
#include "tether/core/upstream.h"
#include "tether/core/upstream_validator.h"
#include "tether/core/validation.h"
#include "tether/system/probe_parse.h"

using namespace tetherd;

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
using namespace std::chrono_literals;
using Kind = probe::HttpVerdict::Kind;

namespace {

probe::Url url(const char* s) { return *parseHttpUrl(s); }
const probe::Url kProbe = url("http://probe.example/generate_204");

TEST(ProbeUrl, ParsesAndRefuses) {
  auto u = url("http://198.51.100.10:8080/status/204");
  EXPECT_EQ(u.host, "198.51.100.10");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.path, "/status/204");
  EXPECT_EQ(url("HTTP://a.example").str(), "http://a.example/");
  std::string why;
  EXPECT_FALSE(parseHttpUrl("https://a.example/", &why));
  EXPECT_NE(why.find("http://"), std::string::npos);
  EXPECT_FALSE(parseHttpUrl("http://a.example:0/", &why));
  EXPECT_FALSE(parseHttpUrl("http://a.example:99999/", &why));
  EXPECT_FALSE(parseHttpUrl("http:///x", &why));
  EXPECT_FALSE(parseHttpUrl("http://user@a.example/", &why));
  EXPECT_FALSE(parseHttpUrl("http://a.example/a b", &why));
  EXPECT_FALSE(parseHttpUrl("http://a_b.example/", &why));
}

TEST(ProbeHttp, RequestIsExact) {
  EXPECT_EQ(probe::httpRequest(url("http://a.example:81/x?y")),
            "GET /x?y HTTP/1.1\r\nHost: a.example:81\r\nUser-Agent: tetherd-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n");
}

TEST(ProbeHttp, Verdicts) {
  auto v = probe::judgeHttpAnswer("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Validated);
  EXPECT_EQ(v.status, 204);
  v = probe::judgeHttpAnswer("HTTP/1.0 302 Found\r\nLocation: http://portal.example/login?x=1\r\n\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Portal);
  EXPECT_EQ(v.portalUrl, "http://portal.example/login?x=1");
  v = probe::judgeHttpAnswer("HTTP/1.1 307 Temporary Redirect\nlocation:   /splash  \n\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Portal);
  EXPECT_EQ(v.portalUrl, "http://probe.example/splash");
  v = probe::judgeHttpAnswer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", kProbe);
  EXPECT_EQ(v.kind, Kind::Portal);
  EXPECT_EQ(v.portalUrl, "http://probe.example/generate_204");
  v = probe::judgeHttpAnswer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Failed);
  v = probe::judgeHttpAnswer("HTTP/1.1 302 Found\r\n\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Failed);
  EXPECT_EQ(v.why, "HTTP 302 without a Location");
  v = probe::judgeHttpAnswer("HTTP/1.1 503 Busy\r\n\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Failed);
  EXPECT_EQ(v.why, "HTTP 503");
}

TEST(ProbeHttp, GarbageAndStormsFail) {
  for (std::string bad : {std::string(""), std::string("garbage\r\n\r\n"), std::string("HTTP/1.1 2x4 Hm\r\n\r\n"),
                          std::string("HTTP/1.1 204"), std::string("HTTP/2 204\r\n\r\n"),
                          std::string("HTTP/1.1 302 Found\r\nLocation: http://a\x01\r\n\r\n"),
                          std::string("\0\0\0\0\n\n", 6)}) {
    EXPECT_EQ(probe::judgeHttpAnswer(bad, kProbe).kind, Kind::Failed) << bad;
  }
  std::string storm = "HTTP/1.1 204 No Content\r\n";
  while (storm.size() < 2 * probe::kMaxProbeHeader) storm += "X-Storm: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  EXPECT_FALSE(probe::httpAnswerComplete(storm.substr(0, 100)));
  EXPECT_TRUE(probe::httpAnswerComplete(storm));  // read no further
  auto v = probe::judgeHttpAnswer(storm + "\r\n", kProbe);
  EXPECT_EQ(v.kind, Kind::Failed);
  EXPECT_EQ(v.why, "HTTP header longer than 8 KiB");
  std::string longLocation = "HTTP/1.1 302 Found\r\nLocation: http://p.example/" + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(probe::judgeHttpAnswer(longLocation, kProbe).portalUrl.size(), probe::kMaxPortalUrl);
}

std::vector<uint8_t> answerTo(const std::vector<uint8_t>& query, std::vector<std::vector<uint8_t>> addrs) {
  std::vector<uint8_t> r = query;
  r[2] |= 0x80;
  r[7] = static_cast<uint8_t>(addrs.size());
  for (const auto& a : addrs) {
    r.insert(r.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4});
    r.insert(r.end(), a.begin(), a.end());
  }
  return r;
}

TEST(ProbeDns, QueryAndAnswer) {
  auto q = probe::dnsQuery(0x1234, "www.tether.test");
  EXPECT_EQ(q, (std::vector<uint8_t>{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 6, 't', 'e', 't', 'h', 'e',
                                     'r', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1}));
  auto r = answerTo(q, {{198, 51, 100, 10}});
  auto a = probe::parseDnsAnswer(r.data(), r.size(), 0x1234);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(a->front().str(), "198.51.100.10");
  EXPECT_FALSE(probe::parseDnsAnswer(r.data(), r.size(), 0x1235));       // not ours
  EXPECT_FALSE(probe::parseDnsAnswer(q.data(), q.size(), 0x1234));       // a query, not an answer
  EXPECT_FALSE(probe::parseDnsAnswer(r.data(), r.size() - 1, 0x1234));   // cut short
  auto refused = r;
  refused[3] |= 5;
  EXPECT_FALSE(probe::parseDnsAnswer(refused.data(), refused.size(), 0x1234));
  auto loop = q;  // a name that points at itself
  loop[2] |= 0x80;
  loop[12] = 0xc0;
  loop[13] = 12;
  EXPECT_FALSE(probe::parseDnsAnswer(loop.data(), 14, 0x1234));
}

TEST(ProbeDns, Ipv6AskedForAaaaRecords) {
  auto q = probe::dnsQuery(0x1234, "www6.tether.test", probe::kTypeAaaa);
  EXPECT_EQ(q, (std::vector<uint8_t>{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'w', 'w', 'w', '6', 6, 't', 'e', 't', 'h',
                                     'e', 'r', 4, 't', 'e', 's', 't', 0, 0, 28, 0, 1}));
  // An answer with a CNAME-ish record of another type, then the AAAA.
  std::vector<uint8_t> r = q;
  r[2] |= 0x80;
  r[7] = 2;
  r.insert(r.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 10});  // an A record: not ours
  r.insert(r.end(), {0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0,
                     0, 0, 0x10});
  auto a = probe::parseDnsAnswer6(r.data(), r.size(), 0x1234);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(a->front().str(), "2001:db8:ffff::10");
  EXPECT_EQ(probe::parseDnsAnswer(r.data(), r.size(), 0x1234)->size(), 1u);  // the A one, for IPv4
  EXPECT_FALSE(probe::parseDnsAnswer6(r.data(), r.size() - 1, 0x1234));    // cut short
  EXPECT_FALSE(probe::parseDnsAnswer6(r.data(), r.size(), 0x4321));        // not ours
}

// ---------------------------------------------------------------------------- hysteresis

ProbeOutcome good() { return ProbeOutcome{Validation::Validated, "", "", 12}; }
ProbeOutcome bad() { return ProbeOutcome{Validation::NoInternet, "", "timeout", 0}; }

TEST(Validation, FirstAnswerDecidesThenHysteresis) {
  ValidationSettings s;
  s.enabled = true;
  s.failuresToLeave = 3;
  s.successesToReturn = 2;
  auto t = CandidateValidation::Clock::time_point{} + 100s;
  CandidateValidation v(t);
  EXPECT_EQ(v.state(), Validation::Probing);
  EXPECT_TRUE(v.record(good(), s, t));
  EXPECT_EQ(v.state(), Validation::Validated);
  EXPECT_EQ(v.nextProbe(), t + 30s);
  EXPECT_FALSE(v.record(bad(), s, t));
  EXPECT_EQ(v.nextProbe(), t + 1s);  // confirm soon
  EXPECT_FALSE(v.record(bad(), s, t));
  EXPECT_TRUE(v.record(bad(), s, t));  // the third in a row
  EXPECT_EQ(v.state(), Validation::NoInternet);
  EXPECT_EQ(v.nextProbe(), t + 4s);  // backoff: 1 s doubled per failure after the first
  EXPECT_FALSE(v.record(good(), s, t));
  EXPECT_EQ(v.state(), Validation::NoInternet);
  EXPECT_TRUE(v.record(good(), s, t));
  EXPECT_EQ(v.state(), Validation::Validated);
}

TEST(Validation, FlappingMovesNoMoreThanTheHysteresisAllows) {
  ValidationSettings s;
  s.failuresToLeave = 2;
  s.successesToReturn = 2;
  auto t = CandidateValidation::Clock::time_point{};
  CandidateValidation v(t);
  (void)v.record(good(), s, t);
  int changes = 0;
  for (int i = 0; i < 40; ++i) changes += v.record(i % 2 ? good() : bad(), s, t) ? 1 : 0;  // 20 flaps
  EXPECT_EQ(changes, 0);
  EXPECT_EQ(v.state(), Validation::Validated);
}

TEST(Validation, BackoffIsCapped) {
  ValidationSettings s;
  s.retryMaxMs = 8000;
  auto t = CandidateValidation::Clock::time_point{};
  CandidateValidation v(t);
  for (int i = 0; i < 20; ++i) (void)v.record(bad(), s, t);
  EXPECT_EQ(v.nextProbe(), t + 8s);
}

TEST(Selection, BestValidatedByPriorityElseBestUsable) {
  std::map<std::string, UpstreamView> views;
  views["eth0"] = UpstreamView{"eth0", true, true, true, {Ipv4Address{1}}, Validation::CaptivePortal};
  views["wwan0"] = UpstreamView{"wwan0", true, true, true, {Ipv4Address{1}}, Validation::Validated};
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, views), "wwan0");  // a portal is not selected while another validates
  views["wwan0"].validation = Validation::NoInternet;
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, views), "eth0");  // none validates: the best usable
  views["eth0"].validation = Validation::Probing;
  views["wwan0"].validation = Validation::Validated;
  EXPECT_EQ(chooseUpstream({"eth0", "wwan0"}, views), "eth0");  // not yet probed: not passed over
}

// An IPv6-only candidate (issue 13; upstream.h has the order): selectable while the
// downstreams have IPv6; IPv4 first at the same standing; a validated IPv6-only one before an
// IPv4 one that fails validation.
TEST(Selection, AnIpv6OnlyCandidateIsSelectedWhenNoIpv4OneDoes) {
  const auto dns6 = std::vector<Ipv6Address>{*Ipv6Address::parse("2001:db8:ffff::53")};
  std::map<std::string, UpstreamView> views;
  views["eth0"] = UpstreamView{"eth0", true, true, true, {Ipv4Address{1}}, Validation::Validated};
  UpstreamView only6{"wwan0", true, true, false, {}, Validation::Validated};
  only6.defaultRoute6 = only6.address6 = true;
  only6.dns6 = dns6;
  views["wwan0"] = only6;
  const std::vector<std::string> wwanFirst{"wwan0", "eth0"};
  EXPECT_EQ(chooseUpstream(wwanFirst, views, true), "eth0");  // IPv4 keeps precedence over priority
  views["eth0"].up = false;
  EXPECT_EQ(chooseUpstream(wwanFirst, views, true), "wwan0");    // no IPv4 one: the IPv6-only one
  EXPECT_EQ(chooseUpstream(wwanFirst, views, false), std::nullopt);  // downstreams without IPv6: no use
  EXPECT_EQ(selectionReason(wwanFirst, views, std::string("wwan0"), true),
            "IPv6 only, no candidate usable with IPv4: first validated by priority");
  views["eth0"].up = true;
  views["eth0"].validation = Validation::CaptivePortal;
  EXPECT_EQ(chooseUpstream(wwanFirst, views, true), "wwan0");  // validated IPv6 beats a portal's IPv4
  EXPECT_EQ(selectionReason(wwanFirst, views, std::string("wwan0"), true),
            "IPv6 only, no candidate with IPv4 validates: first validated by priority");
  views["wwan0"].validation = Validation::NoInternet;
  EXPECT_EQ(chooseUpstream(wwanFirst, views, true), "eth0");  // neither validates: IPv4 first
  // Not usable over IPv6: no address, no IPv6 servers, no IPv6 default.
  views["eth0"].up = false;
  for (auto spoil : {+[](UpstreamView& v) { v.address6 = false; }, +[](UpstreamView& v) { v.dns6.clear(); },
                     +[](UpstreamView& v) { v.defaultRoute6 = false; }}) {
    UpstreamView v = only6;
    spoil(v);
    views["wwan0"] = v;
    EXPECT_EQ(chooseUpstream(wwanFirst, views, true), std::nullopt);
  }
}

// ---------------------------------------------------------------------------- the validator

class FakeProber : public NetProber {
 public:
  std::vector<std::pair<ProbeTarget, std::function<void(ProbeReport)>>> pending;
  void probe(const ProbeTarget& t, std::function<void(ProbeReport)> done) override { pending.emplace_back(t, std::move(done)); }
  void answer(const std::string& ifname, Kind kind, bool dnsOk = true, std::string portal = "") {
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (it->first.ifname != ifname) continue;
      ProbeReport r;
      r.dnsOk = dnsOk;
      r.http.kind = kind;
      r.http.portalUrl = std::move(portal);
      auto done = std::move(it->second);
      pending.erase(it);
      done(r);
      return;
    }
    FAIL() << "no probe pending for " << ifname;
  }
};

ProbeTarget target(const char* ifname) {
  ProbeTarget t;
  t.ifname = ifname;
  t.source = Ipv4Address{1};
  t.url = kProbe;
  return t;
}

TEST(UpstreamValidator, ProbesEveryCandidateAndReportsChanges) {
  boost::asio::io_context io;
  FakeProber prober;
  std::vector<std::string> changes;
  UpstreamValidator v(io, prober, [&](const std::string& n, Validation s) { changes.push_back(n + " " + validationName(s)); });
  ValidationSettings s;
  s.enabled = true;
  v.update({target("eth0"), target("wwan0")}, s);
  io.run_for(50ms);
  ASSERT_EQ(prober.pending.size(), 2u);  // both at once: one wake-up
  prober.answer("eth0", Kind::Portal, true, "http://portal.example/");
  prober.answer("wwan0", Kind::Failed, true);
  EXPECT_EQ(changes, (std::vector<std::string>{"eth0 captive-portal", "wwan0 partial"}));
  EXPECT_EQ(v.entries().at("eth0").validation.last()->portalUrl, "http://portal.example/");
  v.update({target("wwan0")}, s);  // eth0 went
  EXPECT_EQ(v.states(), (std::map<std::string, Validation>{{"wwan0", Validation::Partial}}));
  s.enabled = false;
  v.update({target("wwan0")}, s);
  EXPECT_TRUE(v.states().empty());
}

TEST(ProbeTargets, CandidatesThatCanBeProbed) {
  Facts f;
  f.kernel.links[2] = {2, "eth0", true, true};
  f.kernel.links[3] = {3, "wwan0", true, true};
  f.kernel.addrs = {{2, "eth0", *Ipv4Prefix::parse("203.0.113.2/24")}, {3, "wwan0", *Ipv4Prefix::parse("100.64.0.2/24")}};
  f.kernel.routes = {{2, "eth0", *Ipv4Address::parse("203.0.113.1"), 100}};
  f.upstreamDns["eth0"] = {*Ipv4Address::parse("198.51.100.53")};
  Intent i;
  i.config = defaultConfig();
  i.priority = {"eth0", "wwan0"};
  EXPECT_TRUE(probeTargets(f, i).empty());  // validation off
  i.config.validation = true;
  auto t = probeTargets(f, i);
  ASSERT_EQ(t.size(), 1u);  // wwan0 has no default route
  EXPECT_EQ(t[0].ifname, "eth0");
  EXPECT_EQ(t[0].source.str(), "203.0.113.2");
  EXPECT_EQ(t[0].dns, f.upstreamDns["eth0"]);
  EXPECT_EQ(t[0].url.str(), "http://connectivitycheck.gstatic.com/generate_204");
  ASSERT_TRUE(t[0].fallback);
  EXPECT_EQ(t[0].fallback->str(), "http://www.google.com/gen_204");
}

TEST(ProbeTargets, ACandidateWithoutIpv4IsProbedOverIpv6) {
  Facts f;
  f.kernel.links[2] = {2, "eth0", true, true};
  f.kernel.links[3] = {3, "wwan0", true, true};
  f.kernel.addrs = {{2, "eth0", *Ipv4Prefix::parse("203.0.113.2/24")}};
  f.kernel.routes = {{2, "eth0", *Ipv4Address::parse("203.0.113.1"), 100}};
  f.kernel.addrs6 = {{3, "wwan0", *Ipv6Prefix::parse("fd00:1::2/64")}, {3, "wwan0", *Ipv6Prefix::parse("2001:db8:2::2/64")},
                     {3, "wwan0", *Ipv6Prefix::parse("2001:db8:2::3/64")}, {2, "eth0", *Ipv6Prefix::parse("2001:db8:1::2/64")}};
  f.kernel.routes6 = {{3, "wwan0", *Ipv6Address::parse("fe80::1"), 1024}, {2, "eth0", *Ipv6Address::parse("fe80::1"), 1024}};
  f.upstreamDns["eth0"] = {*Ipv4Address::parse("198.51.100.53")};
  f.upstreamDns6["wwan0"] = {*Ipv6Address::parse("2001:db8:ffff::53")};
  Intent i;
  i.config = defaultConfig();
  i.config.validation = true;
  i.priority = {"eth0", "wwan0"};
  auto t = probeTargets(f, i);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].ifname, "eth0");  // IPv4 when it has it
  EXPECT_FALSE(t[0].source6);
  EXPECT_EQ(t[1].ifname, "wwan0");
  ASSERT_TRUE(t[1].source6);
  EXPECT_EQ(t[1].source6->str(), "2001:db8:2::2");  // the first global one, not the ULA
  EXPECT_EQ(t[1].dns6, f.upstreamDns6["wwan0"]);
  EXPECT_TRUE(t[1].dns.empty());
  f.kernel.routes6.erase(f.kernel.routes6.begin());  // no IPv6 default either: not probed
  EXPECT_EQ(probeTargets(f, i).size(), 1u);
}

// An IPv4 address but no IPv4 default route (a link-local or stale DHCP address beside an
// IPv6 network): probed over IPv6 too, as the selection treats it as IPv6-only.
TEST(ProbeTargets, AnIpv4AddressWithoutAnIpv4DefaultIsProbedOverIpv6) {
  Facts f;
  f.kernel.links[3] = {3, "wwan0", true, true};
  f.kernel.addrs = {{3, "wwan0", *Ipv4Prefix::parse("169.254.7.7/16")}};
  f.kernel.addrs6 = {{3, "wwan0", *Ipv6Prefix::parse("2001:db8:2::2/64")}};
  f.kernel.routes6 = {{3, "wwan0", *Ipv6Address::parse("fe80::1"), 1024}};
  Intent i;
  i.config = defaultConfig();
  i.config.validation = true;
  i.priority = {"wwan0"};
  auto t = probeTargets(f, i);
  ASSERT_EQ(t.size(), 1u);
  ASSERT_TRUE(t[0].source6);
  EXPECT_EQ(t[0].source6->str(), "2001:db8:2::2");
}

TEST(ValidationConfig, KeysAreValidatedWithFileAndLine) {
  auto ok = parseConfig("[upstream]\nvalidation = on\nprobe_url = http://198.51.100.10/status/204\nprobe_fallback_url =\n"
                        "probe_interval = 2s\nprobe_failures = 2\nprobe_successes = 1\nprobe_timeout = 500ms\n",
                        "t.conf");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->validation);
  EXPECT_EQ(ok->probeFallbackUrl, "");
  EXPECT_EQ(ok->probeIntervalMs, 2000);
  EXPECT_EQ(ok->probeTimeoutMs, 500);
  auto bad = parseConfig("[upstream]\n\nprobe_url = https://x.example/\n", "t.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("t.conf:3"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("probe_url"), std::string::npos) << bad.error().message;
  auto fast = parseConfig("[upstream]\nprobe_interval = 100ms\n", "t.conf");
  ASSERT_FALSE(fast.ok());
  EXPECT_NE(fast.error().message.find("probe_interval"), std::string::npos) << fast.error().message;
}

}  // namespace
