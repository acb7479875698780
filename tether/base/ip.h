// IPv4 addresses and prefixes as values: parsed once at the edge, validated, then passed inward.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd {

struct Ipv4Address {
  uint32_t value = 0;  // host byte order
  static std::optional<Ipv4Address> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const Ipv4Address&) const = default;
};

struct Ipv4Prefix {
  Ipv4Address address;  // as given (may carry host bits: 192.168.42.1/24)
  int length = 0;

  static std::optional<Ipv4Prefix> parse(std::string_view text);  // "a.b.c.d/len"
  uint32_t mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  Ipv4Address network() const { return Ipv4Address{address.value & mask()}; }
  Ipv4Address netmask() const { return Ipv4Address{mask()}; }
  // The n-th address of the network (host part n); n must fit in the host bits.
  Ipv4Address host(uint32_t n) const { return Ipv4Address{network().value | (n & ~mask())}; }
  bool contains(Ipv4Address a) const { return (a.value & mask()) == network().value; }
  bool overlaps(const Ipv4Prefix& other) const;
  std::string str() const;  // "a.b.c.d/len" with the address as given
  auto operator<=>(const Ipv4Prefix&) const = default;
};

// Linux interface names: 1..15 bytes, no '/', ':', whitespace or control characters, not "." or "..".
bool validIfname(std::string_view name);
// A valid name of only [A-Za-z0-9._-]: safe as a tag inside dnsmasq's comma-separated values
// and in dhcpcd's config and hook script without quoting.
bool plainIfname(std::string_view name);

// The value of every "nameserver <value>" line of a resolv.conf, in order, blanks and a CR
// trimmed (each family's parser takes the addresses it can use).
std::vector<std::string_view> resolvConfNameservers(std::string_view text);

// A MAC address "aa:bb:cc:dd:ee:ff" (case-insensitive); returns it lower-cased.
std::optional<std::string> normalizeMac(std::string_view text);
// Whether a normalised MAC is a group (multicast/broadcast) address: not a client's.
bool isMulticastMac(std::string_view normalized);

}  // namespace tetherd
