#include "tether/system/probe_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tetherd::probe {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool urlChar(char c) { return c > 0x20 && c < 0x7f; }

// Where the header ends (the index after the blank line), or npos.
size_t headerEnd(std::string_view b) {
  size_t crlf = b.find("\r\n\r\n");
  size_t lf = b.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) return crlf + 4;
  if (lf != std::string_view::npos) return lf + 2;
  return std::string_view::npos;
}

}  // namespace

std::string httpRequest(const Url& url) {
  return "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host + (url.port == 80 ? "" : ":" + std::to_string(url.port)) +
         "\r\nUser-Agent: tetherd-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

bool httpAnswerComplete(std::string_view bytes) {
  if (bytes.size() > kMaxProbeHeader) return true;
  return headerEnd(bytes) != std::string_view::npos;
}

HttpVerdict judgeHttpAnswer(std::string_view bytes, const Url& probed) {
  HttpVerdict v;
  size_t end = headerEnd(bytes.substr(0, std::min(bytes.size(), kMaxProbeHeader)));
  if (end == std::string_view::npos) {
    v.why = bytes.size() >= kMaxProbeHeader ? "HTTP header longer than 8 KiB" : "no complete HTTP header";
    return v;
  }
  std::string_view header = bytes.substr(0, end);
  size_t nl = header.find('\n');
  std::string_view statusLine = trim(header.substr(0, nl));
  // "HTTP/1.x NNN reason"
  if (statusLine.size() < 12 || statusLine.substr(0, 7) != "HTTP/1." || statusLine[8] != ' ') {
    v.why = "not an HTTP/1 answer";
    return v;
  }
  auto code = statusLine.substr(9, 3);
  int status = 0;
  auto [next, ec] = std::from_chars(code.data(), code.data() + 3, status);
  if (ec != std::errc() || next != code.data() + 3 || status < 100 || (statusLine.size() > 12 && statusLine[12] != ' ')) {
    v.why = "not an HTTP status";
    return v;
  }
  v.status = status;
  std::optional<std::string_view> location;
  std::optional<long long> contentLength;
  bool chunked = false;
  std::string_view rest = header.substr(nl + 1);
  while (!rest.empty()) {
    size_t e = rest.find('\n');
    std::string_view line = trim(rest.substr(0, e));
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto name = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (ieq(name, "location")) location = value;
    else if (ieq(name, "transfer-encoding")) chunked = true;
    else if (ieq(name, "content-length")) {
      long long n = -1;
      auto [p, err] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (err == std::errc() && p == value.data() + value.size() && n >= 0) contentLength = n;
    }
  }
  if (status == 204) {
    v.kind = HttpVerdict::Kind::Validated;
    return v;
  }
  const bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  if (redirect) {
    if (!location || location->empty()) {
      v.why = "HTTP " + std::to_string(status) + " without a Location";
      return v;
    }
    std::string url;
    if (location->front() == '/') url = "http://" + probed.host + (probed.port == 80 ? "" : ":" + std::to_string(probed.port));
    for (char c : *location) {
      if (!urlChar(c)) {
        v.why = "HTTP " + std::to_string(status) + " with an unreadable Location";
        return v;
      }
      url += c;
    }
    if (url.size() > kMaxPortalUrl) url.resize(kMaxPortalUrl);
    v.kind = HttpVerdict::Kind::Portal;
    v.portalUrl = std::move(url);
    v.why = "HTTP " + std::to_string(status) + " redirect";
    return v;
  }
  if (status == 200) {
    const bool body = chunked || (contentLength ? *contentLength > 0 : bytes.size() > end);
    if (!body && contentLength) {
      v.why = "HTTP 200 with an empty body";
      return v;
    }
    v.kind = HttpVerdict::Kind::Portal;  // a page instead of the empty answer: someone answers for the probe
    v.portalUrl = probed.str();
    v.why = "HTTP 200 instead of 204";
    return v;
  }
  v.why = "HTTP " + std::to_string(status);
  return v;
}

// ------------------------------------------------------------------------------------ DNS

std::vector<uint8_t> dnsQuery(uint16_t id, std::string_view name, uint16_t type) {
  std::vector<uint8_t> q = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t pos = 0;
  while (pos < name.size()) {
    size_t dot = name.find('.', pos);
    auto label = name.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    pos = dot == std::string_view::npos ? name.size() : dot + 1;
    if (label.empty()) continue;
    if (label.size() > 63) label = label.substr(0, 63);
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type & 0xff), 0, 1});  // root, type, class IN
  return q;
}

namespace {

// Skips a (possibly compressed) name at `pos`: the index after it, or nullopt.
std::optional<size_t> skipName(const uint8_t* d, size_t size, size_t pos) {
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= size) return std::nullopt;
    uint8_t len = d[pos];
    if ((len & 0xc0) == 0xc0) return pos + 2 <= size ? std::optional<size_t>(pos + 2) : std::nullopt;
    if ((len & 0xc0) != 0) return std::nullopt;
    if (len == 0) return pos + 1;
    pos += 1 + len;
  }
  return std::nullopt;
}

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

namespace {

// The data of the answer's records of `type` with `len` bytes (class IN), at most 16.
std::optional<std::vector<const uint8_t*>> records(const uint8_t* d, size_t size, uint16_t id, uint16_t wantType,
                                                   uint16_t wantLen) {
  if (size < 12 || u16(d) != id) return std::nullopt;
  const bool response = (d[2] & 0x80) != 0, truncated = (d[2] & 0x02) != 0;
  const int rcode = d[3] & 0x0f;
  if (!response || truncated || rcode != 0) return std::nullopt;
  const int questions = u16(d + 4), answers = u16(d + 6);
  if (questions != 1) return std::nullopt;
  auto pos = skipName(d, size, 12);
  if (!pos || *pos + 4 > size) return std::nullopt;
  size_t p = *pos + 4;
  std::vector<const uint8_t*> out;
  for (int i = 0; i < answers && out.size() < 16; ++i) {
    auto after = skipName(d, size, p);
    if (!after || *after + 10 > size) return std::nullopt;
    const uint8_t* rr = d + *after;
    uint16_t type = u16(rr), cls = u16(rr + 2), len = u16(rr + 8);
    size_t dataAt = *after + 10;
    if (dataAt + len > size) return std::nullopt;
    if (type == wantType && cls == 1 && len == wantLen) out.push_back(d + dataAt);
    p = dataAt + len;
  }
  return out;
}

}  // namespace

std::optional<std::vector<Ipv4Address>> parseDnsAnswer(const uint8_t* d, size_t size, uint16_t id) {
  auto found = records(d, size, id, kTypeA, 4);
  if (!found) return std::nullopt;
  std::vector<Ipv4Address> out;
  for (const uint8_t* a : *found)
    out.push_back(Ipv4Address{(uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3]});
  return out;
}

std::optional<std::vector<Ipv6Address>> parseDnsAnswer6(const uint8_t* d, size_t size, uint16_t id) {
  auto found = records(d, size, id, kTypeAaaa, 16);
  if (!found) return std::nullopt;
  std::vector<Ipv6Address> out;
  for (const uint8_t* a : *found) {
    Ipv6Address v;
    std::copy(a, a + 16, v.bytes.begin());
    out.push_back(v);
  }
  return out;
}

}  // namespace tetherd::probe
