#include "web/metrics.h"

#include <initializer_list>

namespace tetherd::web {

namespace {

using Label = std::pair<const char*, std::string_view>;

enum class Type { Counter, Gauge };

// One family at a time: its metadata lines, then its samples. A family without samples is not
// written at all (nothing to say, and the two formats disagree on empty families).
class Writer {
 public:
  explicit Writer(MetricsFormat f) : f_(f) {}

  // name: the family's name (a counter's without "_total"); unit: "" or the name's last word.
  void family(const char* name, Type type, const char* unit, const char* help) {
    name_ = name;
    type_ = type;
    unit_ = unit;
    help_ = help;
    written_ = false;
  }

  void sample(std::initializer_list<Label> labels, uint64_t value) { sample(labels, std::to_string(value)); }
  void sample(std::initializer_list<Label> labels, long long value) { sample(labels, std::to_string(value)); }
  void sample(std::initializer_list<Label> labels, int value) { sample(labels, std::to_string(value)); }
  void sample(std::initializer_list<Label> labels, bool value) { sample(labels, std::string(value ? "1" : "0")); }

  std::string finish() {
    if (f_ == MetricsFormat::OpenMetrics) out_ += "# EOF\n";
    return std::move(out_);
  }

 private:
  void sample(std::initializer_list<Label> labels, const std::string& value) {
    if (!written_) header();
    out_ += name_;
    if (type_ == Type::Counter) out_ += "_total";
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        out_ += escapeLabelValue(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  void header() {
    written_ = true;
    const char* type = type_ == Type::Counter ? "counter" : "gauge";
    if (f_ == MetricsFormat::OpenMetrics) {
      // The family's own name; its counter samples end in _total.
      out_ += std::string("# TYPE ") + name_ + " " + type + "\n";
      if (*unit_) out_ += std::string("# UNIT ") + name_ + " " + unit_ + "\n";
      out_ += std::string("# HELP ") + name_ + " " + help_ + "\n";
    } else {
      // Text 0.0.4 knows no families apart from their samples: the name is the sample's.
      const std::string sampleName = std::string(name_) + (type_ == Type::Counter ? "_total" : "");
      out_ += "# HELP " + sampleName + " " + help_ + "\n";
      out_ += "# TYPE " + sampleName + " " + type + "\n";
    }
  }

  MetricsFormat f_;
  std::string out_;
  const char* name_ = "";
  Type type_ = Type::Gauge;
  const char* unit_ = "";
  const char* help_ = "";
  bool written_ = false;
};

void writeTethering(Writer& w, const MetricsSnapshot& s) {
  w.family("tetherd_build_info", Type::Gauge, "", "tetherd's version.");
  w.sample({{"version", s.version}}, 1);
  w.family("tetherd_start_time_seconds", Type::Gauge, "seconds", "When tetherd started (Unix time).");
  w.sample({}, s.startTimeSec);
  w.family("tetherd_tethering_state", Type::Gauge, "", "The tethering master machine's state (1: current).");
  for (const auto& st : s.masterStates) w.sample({{"state", st}}, st == s.masterState);
  w.family("tetherd_tethering_error", Type::Gauge, "", "The tethering master machine's error now, by code.");
  if (!s.masterErrorCode.empty()) w.sample({{"code", s.masterErrorCode}}, 1);
  w.family("tetherd_tethering_errors", Type::Counter, "", "Failures of the tethering master machine since start.");
  w.sample({}, s.tetheringErrors);
}

void writeForwarded(Writer& w, const MetricsSnapshot& s) {
  using F = MetricsSnapshot::Forwarded;
  struct Column {
    const char* name;
    const char* unit;
    const char* help;
    uint64_t F::*field;
  };
  static const Column kColumns[] = {
      {"tetherd_downstream_received_bytes", "bytes",
       "Bytes forwarded from the downstream's clients to the upstream (tetherctl tether stats tx_bytes).", &F::receivedBytes},
      {"tetherd_downstream_received_packets", "",
       "Packets forwarded from the downstream's clients to the upstream (tx_packets).", &F::receivedPackets},
      {"tetherd_downstream_sent_bytes", "bytes",
       "Bytes forwarded from the upstream to the downstream's clients (tetherctl tether stats rx_bytes).", &F::sentBytes},
      {"tetherd_downstream_sent_packets", "",
       "Packets forwarded from the upstream to the downstream's clients (rx_packets).", &F::sentPackets},
  };
  for (const auto& c : kColumns) {
    w.family(c.name, Type::Counter, c.unit, c.help);
    for (const auto& f : s.forwarded) w.sample({{"downstream", f.downstream}, {"upstream", f.upstream}}, f.*c.field);
  }
}

void writeDownstreams(Writer& w, const MetricsSnapshot& s) {
  w.family("tetherd_downstream_state", Type::Gauge, "", "Each downstream's state (1: current).");
  for (const auto& d : s.downstreams)
    for (const auto& st : s.downstreamStates)
      w.sample({{"downstream", d.ifname}, {"kind", d.kind}, {"state", st}}, st == d.state);
  w.family("tetherd_downstream_error", Type::Gauge, "", "A downstream's error now, by code.");
  for (const auto& d : s.downstreams)
    if (!d.errorCode.empty()) w.sample({{"downstream", d.ifname}, {"code", d.errorCode}}, 1);
  w.family("tetherd_downstream_errors", Type::Counter, "", "Failures of a downstream's machine since start.");
  for (const auto& [ifname, n] : s.downstreamErrors) w.sample({{"downstream", ifname}}, n);
  w.family("tetherd_downstream_clients", Type::Gauge, "", "Clients of each downstream (DHCP leases; Wi-Fi: stations).");
  for (const auto& d : s.downstreams) w.sample({{"downstream", d.ifname}}, d.clients);
  w.family("tetherd_dnsmasq_running", Type::Gauge, "", "Whether the downstream's DHCP/DNS server (dnsmasq) runs.");
  for (const auto& d : s.downstreams) w.sample({{"downstream", d.ifname}}, d.dhcpRunning);
  w.family("tetherd_dnsmasq_restarts", Type::Counter, "",
           "Restarts of the downstream's dnsmasq after it exited unexpectedly (while it is tethered).");
  for (const auto& d : s.downstreams)
    if (d.dnsmasqRestarts) w.sample({{"downstream", d.ifname}}, static_cast<uint64_t>(*d.dnsmasqRestarts));
}

void writeUpstreams(Writer& w, const MetricsSnapshot& s) {
  w.family("tetherd_upstream_state", Type::Gauge, "", "Each upstream candidate's state (1: current).");
  for (const auto& u : s.upstreams)
    for (const auto& st : s.upstreamStates) w.sample({{"upstream", u.ifname}, {"state", st}}, st == u.state);
  w.family("tetherd_upstream_selected", Type::Gauge, "", "1 for the upstream the downstreams are forwarded to.");
  for (const auto& u : s.upstreams) w.sample({{"upstream", u.ifname}}, u.selected);
}

void writeClients(Writer& w, const MetricsSnapshot& s) {
  using C = MetricsSnapshot::Client;
  struct Column {
    const char* name;
    const char* unit;
    const char* help;
    std::optional<uint64_t> C::*field;
  };
  static const Column kColumns[] = {
      {"tetherd_client_received_bytes", "bytes", "Bytes the soft AP received from a Wi-Fi station (hostapd).", &C::receivedBytes},
      {"tetherd_client_received_packets", "", "Packets the soft AP received from a Wi-Fi station (hostapd).", &C::receivedPackets},
      {"tetherd_client_sent_bytes", "bytes", "Bytes the soft AP sent to a Wi-Fi station (hostapd).", &C::sentBytes},
      {"tetherd_client_sent_packets", "", "Packets the soft AP sent to a Wi-Fi station (hostapd).", &C::sentPackets},
  };
  for (const auto& col : kColumns) {
    w.family(col.name, Type::Counter, col.unit, col.help);
    size_t n = 0;
    for (const auto& c : s.clients) {
      if (++n > kMaxMetricsClients) break;
      if (const auto& v = c.*col.field) w.sample({{"downstream", c.downstream}, {"mac", c.mac}}, *v);
    }
  }
  if (!s.hostapd) return;
  w.family("tetherd_hostapd_running", Type::Gauge, "", "Whether the soft AP's hostapd runs.");
  w.sample({{"interface", s.hostapd->ifname}}, s.hostapd->running);
  w.family("tetherd_hostapd_restarts", Type::Counter, "", "Restarts of hostapd after it exited unexpectedly.");
  w.sample({{"interface", s.hostapd->ifname}}, static_cast<uint64_t>(s.hostapd->restarts));
}

bool containsCaseless(std::string_view hay, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool same = true;
    for (size_t j = 0; j < needle.size() && same; ++j) {
      char a = hay[i + j], b = needle[j];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      same = a == b;
    }
    if (same) return true;
  }
  return false;
}

}  // namespace

std::string metricsText(const MetricsSnapshot& s, MetricsFormat format) {
  Writer w(format);
  writeTethering(w, s);
  writeForwarded(w, s);
  writeDownstreams(w, s);
  writeUpstreams(w, s);
  writeClients(w, s);
  return w.finish();
}

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c >= 0x7f) out += '?';
    else out += static_cast<char>(c);
  }
  return out;
}

MetricsFormat metricsFormatFor(const std::string* accept) {
  return accept && containsCaseless(*accept, "application/openmetrics-text") ? MetricsFormat::OpenMetrics
                                                                             : MetricsFormat::PrometheusText;
}

const char* contentTypeOf(MetricsFormat format) {
  return format == MetricsFormat::OpenMetrics ? kOpenMetricsContentType : kPrometheusTextContentType;
}

bool isLoopbackAddress(std::string_view a) {
  if (a.rfind("::ffff:", 0) == 0) a.remove_prefix(7);
  return a == "::1" || a.rfind("127.", 0) == 0;
}

bool bearerTokenMatches(const std::string* authorization, std::string_view configured) {
  if (configured.empty() || !authorization) return false;
  std::string_view h = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  if (h.size() < kScheme.size() || !containsCaseless(h.substr(0, kScheme.size()), kScheme)) return false;
  h.remove_prefix(kScheme.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  // Every byte of the configured token is looked at, whatever the guess: the time says neither
  // where a guess differs nor how long the token is compared with it.
  volatile unsigned char diff = h.size() == configured.size() ? 0 : 1;
  for (size_t i = 0; i < configured.size(); ++i) {
    const unsigned char g = h.empty() ? 0 : static_cast<unsigned char>(h[i % h.size()]);
    diff = static_cast<unsigned char>(diff | (g ^ static_cast<unsigned char>(configured[i])));
  }
  return diff == 0 && !h.empty();
}

}  // namespace tetherd::web
