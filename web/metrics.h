// Prometheus metrics, the pure part: a typed snapshot of the daemon in, the exposition text out
// (GET /metrics, web/routes/metrics.cpp, gathers the snapshot). Two formats of the same
// families: OpenMetrics 1.0.0 for a scraper that asks for it (Prometheus does, in its Accept
// header) and the Prometheus text format 0.0.4 otherwise (curl; what `promtool check metrics`
// parses). Only counter and gauge types, so both formats say the same thing; a state is a
// gauge per possible state, 1 for the current one. Nothing is kept between scrapes: the
// series are the snapshot's (real downstreams, upstreams and associated stations), so no
// client can make tetherd remember label values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tetherd::web {

enum class MetricsFormat { OpenMetrics, PrometheusText };

inline constexpr const char* kOpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
inline constexpr const char* kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
// At most this many stations are listed (hostapd's own limit is lower): a bound on the text.
inline constexpr size_t kMaxMetricsClients = 1024;

struct MetricsSnapshot {
  std::string version;         // tetherd_build_info{version}
  long long startTimeSec = 0;  // tetherd_start_time_seconds (Unix time)

  std::string masterState;                // the master machine's state now
  std::vector<std::string> masterStates;  // every state it has, in order
  std::string masterErrorCode;            // "" when none

  // The same counters as `tetherctl tether stats`, per (downstream, upstream) pair; from the
  // firewall's accounting rules. sent = upstream -> downstream (to the clients), received =
  // downstream -> upstream (from the clients).
  struct Forwarded {
    std::string downstream, upstream;
    uint64_t receivedBytes = 0, receivedPackets = 0, sentBytes = 0, sentPackets = 0;
  };
  std::vector<Forwarded> forwarded;

  struct Downstream {
    std::string ifname;
    std::string kind;   // "usb", "wifi", ...
    std::string state;  // one of downstreamStates
    std::string errorCode;  // "" when none
    int clients = 0;
    bool dhcpRunning = false;
    std::optional<int> dnsmasqRestarts;  // unknown when no DHCP service is at hand
  };
  std::vector<Downstream> downstreams;
  std::vector<std::string> downstreamStates;  // every state a downstream's machine has

  // Upstream candidates in priority order. state is one of upstreamStates; validation (issue
  // 13) adds its states to that list and sets them here, nothing else changes.
  struct Upstream {
    std::string ifname;
    std::string state;
    bool selected = false;
  };
  std::vector<Upstream> upstreams;
  std::vector<std::string> upstreamStates;

  // Clients tetherd has counters of: Wi-Fi stations, from hostapd (the AP's view: received =
  // from the client, sent = to it).
  struct Client {
    std::string downstream, mac;
    std::optional<uint64_t> receivedBytes, sentBytes, receivedPackets, sentPackets;
  };
  std::vector<Client> clients;

  // The soft AP's hostapd (absent: no soft AP configured).
  struct Hostapd {
    std::string ifname;
    bool running = false;
    int restarts = 0;
  };
  std::optional<Hostapd> hostapd;

  // Failures reported since start (a machine entering a state with an error): the master's,
  // and per downstream (the caller bounds how many downstreams it remembers).
  uint64_t tetheringErrors = 0;
  std::vector<std::pair<std::string, uint64_t>> downstreamErrors;
};

// The exposition text: families in a fixed order, series in the snapshot's order.
std::string metricsText(const MetricsSnapshot& s, MetricsFormat format);
// A label value escaped for both formats: backslash, double quote and newline escaped; other
// control bytes and bytes outside ASCII become '?' (interface names and MACs are ASCII).
std::string escapeLabelValue(std::string_view v);
// The format an Accept header asks for: OpenMetrics when it names application/openmetrics-text.
MetricsFormat metricsFormatFor(const std::string* accept);
const char* contentTypeOf(MetricsFormat format);

// ---- who may scrape -------------------------------------------------------------------------

// A loopback address ("127.x.y.z", "::1", "::ffff:127.x.y.z").
bool isLoopbackAddress(std::string_view address);
// "Bearer <token>" against the configured token, in time that depends only on the configured
// token's length (not on where a guess differs, nor on its length). false when none is configured.
bool bearerTokenMatches(const std::string* authorization, std::string_view configured);

}  // namespace tetherd::web
