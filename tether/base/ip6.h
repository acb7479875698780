// IPv6 addresses and prefixes as values, and the unique local prefixes (RFC 4193) tetherd
// gives its downstreams in nat66 mode.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd {

struct Ipv6Address {
  std::array<uint8_t, 16> bytes{};  // network order
  static std::optional<Ipv6Address> parse(std::string_view text);
  std::string str() const;  // RFC 5952 text (inet_ntop)
  bool isLinkLocal() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
  bool isUla() const { return (bytes[0] & 0xfe) == 0xfc; }
  auto operator<=>(const Ipv6Address&) const = default;
};

struct Ipv6Prefix {
  Ipv6Address address;  // as given (may carry host bits: fd12:3456:789a:1::1/64)
  int length = 0;

  static std::optional<Ipv6Prefix> parse(std::string_view text);  // "addr/len"
  Ipv6Address network() const;
  bool contains(const Ipv6Address& a) const;
  std::string str() const;  // "addr/len" with the address as given
  auto operator<=>(const Ipv6Prefix&) const = default;
};

// The IPv6 nameservers of a resolv.conf text, in order: "nameserver <addr>" lines; scoped
// (fe80::1%eth0), link-local and loopback ones are left out (dnsmasq forwards to global ones).
std::vector<Ipv6Address> parseResolvConf6(std::string_view text);

// A random unique local /48 (fdXX:XXXX:XXXX::/48) from the given 40-bit global ID.
Ipv6Prefix ulaPrefix48(uint64_t globalId);

// The router's own address in the /64 `subnetId` of a /48: <48 bits><subnetId>::1/64.
Ipv6Prefix subnet64Router(const Ipv6Prefix& prefix48, uint16_t subnetId);

// The subnet ID a downstream's /64 starts from: a hash of its name, so that the same
// interface gets the same /64 across restarts without any stored assignment.
uint16_t subnetIdFor(std::string_view ifname);

}  // namespace tetherd
