#include "tether/base/ip6.h"

#include "tether/base/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace tetherd {

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  Ipv6Address a;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = Ipv6Address::parse(text.substr(0, slash));
  const auto len = text.substr(slash + 1);
  int n = -1;
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  if (!a || len.empty() || ec != std::errc{} || ptr != len.data() + len.size() || n < 0 || n > 128) return std::nullopt;
  return Ipv6Prefix{*a, n};
}

Ipv6Address Ipv6Prefix::network() const {
  Ipv6Address out = address;
  for (int i = 0; i < 16; ++i) {
    const int bits = length - i * 8;
    if (bits >= 8) continue;
    out.bytes[static_cast<size_t>(i)] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
  }
  return out;
}

bool Ipv6Prefix::contains(const Ipv6Address& a) const { return Ipv6Prefix{a, length}.network() == network(); }

std::string Ipv6Prefix::str() const { return address.str() + "/" + std::to_string(length); }

std::vector<Ipv6Address> parseResolvConf6(std::string_view text) {
  std::vector<Ipv6Address> out;
  for (std::string_view line : resolvConfNameservers(text)) {
    auto a = Ipv6Address::parse(line);
    if (!a || a->isLinkLocal() || *a == *Ipv6Address::parse("::1") || *a == Ipv6Address{}) continue;
    if (a->bytes[0] == 0 && a->bytes[10] == 0xff && a->bytes[11] == 0xff) continue;  // ::ffff:a.b.c.d: IPv4's list has it
    out.push_back(*a);
  }
  return out;
}

Ipv6Prefix ulaPrefix48(uint64_t globalId) {
  Ipv6Prefix p;
  p.length = 48;
  p.address.bytes[0] = 0xfd;
  for (int i = 0; i < 5; ++i) p.address.bytes[static_cast<size_t>(1 + i)] = static_cast<uint8_t>(globalId >> (32 - 8 * i));
  return p;
}

Ipv6Prefix subnet64Router(const Ipv6Prefix& prefix48, uint16_t subnetId) {
  Ipv6Prefix p{prefix48.network(), 64};
  p.address.bytes[6] = static_cast<uint8_t>(subnetId >> 8);
  p.address.bytes[7] = static_cast<uint8_t>(subnetId);
  p.address.bytes[15] = 1;
  return p;
}

uint16_t subnetIdFor(std::string_view ifname) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : ifname) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<uint16_t>(h ^ (h >> 16));
}

}  // namespace tetherd
