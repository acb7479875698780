#include "tether/core/clients/pinned_clients.h"

#include <set>

#include "tether/base/ip.h"

namespace tetherd {

namespace {

std::string quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 32)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  return out + (text.size() > 32 ? "...'" : "'");
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

Result<StaticLease> pinFields(std::string_view macText, std::string_view ipText, std::string_view hostname) {
  auto mac = normalizeMac(macText);
  if (!mac) return makeError(Errc::InvalidArgument, "mac: " + quoted(macText) + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (isMulticastMac(*mac)) return makeError(Errc::InvalidArgument, "mac: " + *mac + " is a multicast address, not a client");
  auto ip = Ipv4Address::parse(ipText);
  if (!ip) return makeError(Errc::InvalidArgument, "ip: " + quoted(ipText) + " is not an IPv4 address");
  if (!hostname.empty() && !validHostLabel(hostname))
    return makeError(Errc::InvalidArgument, "hostname: " + quoted(hostname) +
                                                " is not a host name (1-63 of A-Z a-z 0-9 -, not starting or ending with -)");
  return StaticLease{*mac, *ip, std::string(hostname)};
}

}  // namespace

PinnedClientsFile parsePinnedClients(std::string_view text, size_t maxPins) {
  PinnedClientsFile out;
  std::set<Ipv4Address> ips;
  int n = 0;
  while (!text.empty()) {
    ++n;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto f = fields(line);
    if (f.empty() || f[0].front() == '#') continue;
    if (f.size() < 2 || f.size() > 3) {
      out.bad.push_back({n, quoted(line) + " is not '<mac> <ip> [<hostname>]'"});
      continue;
    }
    auto pin = pinFields(f[0], f[1], f.size() == 3 ? f[2] : std::string_view{});
    if (!pin) {
      out.bad.push_back({n, pin.error().message});
    } else if (out.pins.count(pin->mac)) {
      out.bad.push_back({n, pin->mac + " is pinned on an earlier line"});
    } else if (ips.count(pin->ip)) {
      out.bad.push_back({n, pin->ip.str() + " is pinned to another MAC on an earlier line"});
    } else if (out.pins.size() >= maxPins) {
      out.bad.push_back({n, pin->mac + ": more than " + std::to_string(maxPins) + " pinned clients"});
    } else {
      ips.insert(pin->ip);
      out.pins[pin->mac] = std::move(*pin);
    }
  }
  return out;
}

std::string formatPinnedClients(const std::map<std::string, StaticLease>& pins) {
  std::string text;
  for (const auto& [mac, p] : pins) text += mac + " " + p.ip.str() + (p.hostname.empty() ? "" : " " + p.hostname) + "\n";
  return text;
}

const PinSite* siteOf(Ipv4Address ip, const std::vector<PinSite>& sites) {
  for (const auto& s : sites)
    if (s.subnet.contains(ip)) return &s;
  return nullptr;
}

Result<StaticLease> checkPin(const std::string& macText, const std::optional<std::string>& ipText, const std::string& hostname,
                             const std::vector<PinSite>& sites, const std::map<std::string, StaticLease>& pins) {
  auto mac = normalizeMac(macText);
  if (!mac) return makeError(Errc::InvalidArgument, "mac: " + quoted(macText) + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
  std::string ip;
  if (ipText) {
    ip = *ipText;
  } else {
    for (const auto& s : sites)
      for (const auto& l : s.leases)
        if (l.mac == *mac) ip = l.ip.str();
    if (ip.empty()) return makeError(Errc::NotFound, "ip: " + *mac + " has no lease; give the address to pin");
  }
  auto pin = pinFields(*mac, ip, hostname);
  if (!pin) return pin;
  const PinSite* site = siteOf(pin->ip, sites);
  if (!site) return makeError(Errc::InvalidArgument, "ip: " + ip + " is outside every downstream's subnet");
  const Ipv4Address network = site->subnet.network();
  const Ipv4Address broadcast{network.value | ~site->subnet.mask()};
  if (pin->ip == network || pin->ip == broadcast)
    return makeError(Errc::InvalidArgument, "ip: " + ip + " is the network or broadcast address of " + site->ifname + "'s " +
                                                Ipv4Prefix{network, site->subnet.length}.str());
  if (pin->ip == site->address)
    return makeError(Errc::InvalidArgument, "ip: " + ip + " is the router's own address on " + site->ifname);
  for (const auto& l : site->leases)
    if (l.ip == pin->ip && l.mac != pin->mac)
      return makeError(Errc::InvalidArgument, "ip: " + ip + " is leased to " + (l.mac.empty() ? std::string("another client") : l.mac));
  for (const auto& [m, p] : pins)
    if (p.ip == pin->ip && m != pin->mac) return makeError(Errc::InvalidArgument, "ip: " + ip + " is pinned to " + m);
  return pin;
}

}  // namespace tetherd
