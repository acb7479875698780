#include "tether/base/ip.h"

#include <charconv>
#include <cstdio>

namespace tetherd {

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9') return std::nullopt;  // no leading zeros
    unsigned part = 0;
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc() || part > 255 || next - p > 3) return std::nullopt;
    value = (value << 8) | part;
    p = next;
  }
  if (p != end) return std::nullopt;
  return Ipv4Address{value};
}

std::string Ipv4Address::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", (value >> 24) & 255u, (value >> 16) & 255u,
                (value >> 8) & 255u, value & 255u);
  return buf;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv4Address::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  auto lenText = text.substr(slash + 1);
  if (lenText.empty() || lenText.size() > 2) return std::nullopt;
  int len = 0;
  auto [next, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
  if (ec != std::errc() || next != lenText.data() + lenText.size() || len < 0 || len > 32)
    return std::nullopt;
  return Ipv4Prefix{*addr, len};
}

bool Ipv4Prefix::overlaps(const Ipv4Prefix& other) const {
  int shorter = length < other.length ? length : other.length;
  uint32_t m = shorter == 0 ? 0 : ~uint32_t{0} << (32 - shorter);
  return (address.value & m) == (other.address.value & m);
}

std::string Ipv4Prefix::str() const { return address.str() + "/" + std::to_string(length); }

bool validIfname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':' || c == '"' || c == '\\') return false;
  }
  return true;
}

bool plainIfname(std::string_view name) {
  if (!validIfname(name)) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string_view> resolvConfNameservers(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    constexpr std::string_view kKey = "nameserver";
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    if (line.empty() || (line.front() != ' ' && line.front() != '\t')) continue;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    out.push_back(line);
  }
  return out;
}

std::optional<std::string> normalizeMac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i % 3 == 2) {
      if (c != ':') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

bool isMulticastMac(std::string_view normalized) {
  if (normalized.size() < 2) return false;
  const char c = normalized[1];  // the low nibble of the first octet holds the group bit
  const int nibble = c >= 'a' ? c - 'a' + 10 : c - '0';
  return (nibble & 1) != 0;
}

}  // namespace tetherd
