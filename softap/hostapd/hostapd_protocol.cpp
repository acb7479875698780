#include "softap/hostapd/hostapd_protocol.h"

#include <charconv>
#include <set>

#include "tether/base/ip.h"

namespace tetherd::softap {

namespace {

constexpr size_t kMaxMacListFile = 1024 * 1024;

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

// Splits on '\n' and hands each line (without a trailing '\r') to fn(line, lineNo); stops when fn
// returns false.
template <class Fn>
void forEachLine(std::string_view text, Fn&& fn) {
  size_t pos = 0, lineNo = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!fn(line, lineNo)) return;
  }
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n'))
    v.remove_suffix(1);
  return v;
}

template <class T>
bool parseNumber(std::string_view v, T& out) {
  if (v.empty()) return false;
  auto [next, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && next == v.data() + v.size();
}

// "[AUTH][ASSOC][AUTHORIZED]" -> {AUTH, ASSOC, AUTHORIZED}; "" -> {}.
bool parseFlags(std::string_view v, std::vector<std::string>& out) {
  out.clear();
  while (!v.empty()) {
    if (v.front() != '[') return false;
    auto close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view flag = v.substr(1, close - 1);
    for (unsigned char c : flag)
      if (c <= 0x20 || c >= 0x7f || c == '[') return false;
    out.emplace_back(flag);
    v.remove_prefix(close + 1);
  }
  return true;
}

bool hasNul(std::string_view v) { return v.find('\0') != std::string_view::npos; }

// Removes an "IFNAME=<name> " prefix; returns false when the prefix is there but malformed.
bool stripIfnamePrefix(std::string_view& v) {
  constexpr std::string_view kPrefix = "IFNAME=";
  if (v.substr(0, kPrefix.size()) != kPrefix) return true;
  auto space = v.find(' ');
  if (space == std::string_view::npos) return false;
  if (!validIfname(v.substr(kPrefix.size(), space - kPrefix.size()))) return false;
  v.remove_prefix(space + 1);
  return true;
}

}  // namespace

bool Station::authorized() const {
  for (const auto& f : flags)
    if (f == "AUTHORIZED") return true;
  return false;
}

Result<HostapdStatus> parseStatus(std::string_view reply) {
  if (reply.size() > kMaxCtrlDatagram) return invalid("STATUS reply: longer than 4096 bytes");
  if (hasNul(reply)) return invalid("STATUS reply: contains a NUL byte");
  HostapdStatus st;
  std::string error;
  forEachLine(reply, [&](std::string_view line, size_t lineNo) {
    if (line.empty()) return true;
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      error = "STATUS reply: line " + std::to_string(lineNo) + " is not key=value";
      return false;
    }
    std::string key(line.substr(0, eq));
    std::string_view value = line.substr(eq + 1);
    bool ok = true;
    if (key == "state") st.state = value;
    else if (key == "channel") ok = parseNumber(value, st.channel);
    else if (key == "freq") ok = parseNumber(value, st.freq);
    else if (key == "ssid[0]") st.ssid = value;
    else if (key == "num_sta[0]") ok = parseNumber(value, st.numStations);
    if (!ok) {
      error = "STATUS reply: " + key + ": not a number";
      return false;
    }
    st.raw[key] = std::string(value);
    return true;
  });
  if (!error.empty()) return invalid(error);
  if (st.state.empty()) return invalid("STATUS reply: no state= line");
  return st;
}

Result<StaReply> parseStaReply(std::string_view datagram) {
  StaReply r;
  if (datagram.empty()) {
    r.kind = StaReplyKind::NoMore;
    return r;
  }
  if (datagram.size() > kMaxCtrlDatagram) return invalid("STA reply: longer than 4096 bytes");
  if (isFailReply(datagram)) {
    r.kind = StaReplyKind::Failed;
    return r;
  }
  if (hasNul(datagram)) return invalid("STA reply: contains a NUL byte");
  r.kind = StaReplyKind::Station;
  Station& sta = r.station;
  std::string error;
  forEachLine(datagram, [&](std::string_view line, size_t lineNo) {
    if (lineNo == 1) {
      auto mac = normalizeMac(line);
      if (!mac) {
        error = "STA reply: first line is not a MAC address";
        return false;
      }
      sta.mac = *mac;
      return true;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return true;  // not key=value: ignored
    std::string key(line.substr(0, eq));
    std::string_view value = line.substr(eq + 1);
    bool ok = true;
    if (key == "flags") {
      ok = parseFlags(value, sta.flags);
    } else if (key == "connected_time") {
      long t = 0;
      ok = parseNumber(value, t) && t >= 0;
      if (ok) sta.connectedTimeSec = t;
    } else if (key == "signal") {
      int dbm = 0;
      ok = parseNumber(value, dbm);
      if (ok) sta.signalDbm = dbm;
    } else if (key == "rx_bytes" || key == "tx_bytes") {
      uint64_t n = 0;
      ok = parseNumber(value, n);
      if (ok) (key == "rx_bytes" ? sta.rxBytes : sta.txBytes) = n;
    } else if (key == "rx_packets" || key == "tx_packets") {
      uint64_t n = 0;
      ok = parseNumber(value, n);
      if (ok) (key == "rx_packets" ? sta.rxPackets : sta.txPackets) = n;
    } else if (key == "rx_rate_info") {
      sta.rxRate = std::string(value);
    } else if (key == "tx_rate_info") {
      sta.txRate = std::string(value);
    }
    if (!ok) {
      error = "STA reply: " + key + ": malformed value";
      return false;
    }
    sta.raw[key] = std::string(value);
    return true;
  });
  if (!error.empty()) return invalid(error);
  return r;
}

std::optional<HostapdEvent> parseEvent(std::string_view datagram) {
  if (datagram.empty() || datagram.size() > kMaxCtrlDatagram) return std::nullopt;
  std::string_view v = datagram;
  if (!stripIfnamePrefix(v)) return std::nullopt;  // "IFNAME=wlan0 <3>..." (wpa_supplicant style)
  if (v.size() < 3 || v.front() != '<') return std::nullopt;
  auto close = v.find('>');
  if (close == std::string_view::npos || close < 2 || close > 3) return std::nullopt;
  HostapdEvent ev;
  if (!parseNumber(v.substr(1, close - 1), ev.level)) return std::nullopt;
  v.remove_prefix(close + 1);
  if (!stripIfnamePrefix(v)) return std::nullopt;  // "<3>IFNAME=wlan0 ..."
  v = trim(v);
  if (v.empty()) return std::nullopt;
  ev.text = std::string(v);
  auto space = v.find(' ');
  ev.name = std::string(v.substr(0, space));
  std::string_view rest = space == std::string_view::npos ? std::string_view() : v.substr(space + 1);
  auto firstWord = rest.substr(0, rest.find(' '));
  using T = HostapdEvent::Type;
  if (ev.name == "AP-STA-CONNECTED" || ev.name == "AP-STA-DISCONNECTED") {
    if (auto mac = normalizeMac(firstWord)) {
      ev.mac = *mac;
      ev.type = ev.name == "AP-STA-CONNECTED" ? T::StaConnected : T::StaDisconnected;
    }
  } else if (ev.name == "AP-ENABLED") {
    ev.type = T::ApEnabled;
  } else if (ev.name == "AP-DISABLED") {
    ev.type = T::ApDisabled;
  } else if (ev.name == "CTRL-EVENT-TERMINATING") {
    ev.type = T::Terminating;
  }
  return ev;
}

bool isOkReply(std::string_view reply) { return reply == "OK\n" || reply == "OK"; }

bool isFailReply(std::string_view reply) {
  if (reply == "FAIL\n" || reply == "FAIL") return true;
  if (reply.size() > kMaxCtrlDatagram || reply.substr(0, 5) != "FAIL-") return false;
  auto body = reply.substr(0, reply.size() - (reply.back() == '\n' ? 1 : 0));
  return body.find('\n') == std::string_view::npos;
}

Result<std::vector<std::string>> parseMacList(std::string_view text) {
  if (text.size() > kMaxMacListFile) return invalid("MAC list: larger than 1 MiB");
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::string error;
  forEachLine(text, [&](std::string_view line, size_t lineNo) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) return true;
    auto mac = normalizeMac(line);
    if (!mac) {
      error = "MAC list: line " + std::to_string(lineNo) + ": not a MAC address";
      return false;
    }
    if (seen.insert(*mac).second) out.push_back(*mac);
    return true;
  });
  if (!error.empty()) return invalid(error);
  return out;
}

std::string formatMacList(const std::vector<std::string>& macs) {
  std::string out = "# Stations denied by the tetherd soft AP (one MAC per line).\n";
  std::set<std::string> seen;
  for (const auto& m : macs) {
    auto mac = normalizeMac(m);
    if (!mac || !seen.insert(*mac).second) continue;
    out += *mac;
    out += '\n';
  }
  return out;
}

}  // namespace tetherd::softap
