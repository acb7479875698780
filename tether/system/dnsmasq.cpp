#include "tether/system/dnsmasq.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>

#include <pwd.h>

namespace tetherd {
namespace {

constexpr int kMinLeaseSec = 120;  // dnsmasq raises anything shorter to 2 minutes
constexpr int kMaxLeaseSec = 7 * 24 * 3600;
constexpr size_t kMaxPathBytes = 200;

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

bool plainUserName(const std::string& u) {
  if (u.empty() || u.size() > 32 || !(std::islower(static_cast<unsigned char>(u[0])) || u[0] == '_')) return false;
  return u.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

// An absolute path without control characters, trailing '/' removed.
Result<std::string> cleanPath(const std::string& path, const char* what) {
  if (path.empty() || path.front() != '/') return invalid(std::string(what) + " must be an absolute path: '" + path + "'");
  if (path.size() > kMaxPathBytes) return invalid(std::string(what) + " is too long");
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) return invalid(std::string(what) + " contains a control character");
  std::string out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string join(const std::string& dir, const std::string& name) { return (dir == "/" ? "" : dir) + "/" + name; }

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "aa:bb:..." as dnsmasq writes bytes (two hex digits each, ':' between), at most maxBytes of
// them; "" is none. Lower-cased, or nullopt when malformed.
std::optional<std::string> hexBytes(std::string_view s, size_t maxBytes) {
  if (s.empty()) return std::string();
  if (s.size() % 3 != 2 || (s.size() + 1) / 3 > maxBytes) return std::nullopt;
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % 3 == 2 ? out[i] != ':' : !isHex(out[i])) return std::nullopt;
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

// The <hwaddr> field into lease.hwType, hwAddr and mac; false when malformed.
bool parseHwAddr(std::string_view f, Lease& lease) {
  int type = 1;
  if (f.size() >= 3 && f[2] == '-') {
    if (!isHex(f[0]) || !isHex(f[1])) return false;
    (void)std::from_chars(f.data(), f.data() + 2, type, 16);
    f.remove_prefix(3);
  } else if (f.empty()) {
    return false;
  }
  auto bytes = hexBytes(f, kMaxLeaseHwAddr);
  if (!bytes) return false;
  if (type == 0 && !bytes->empty()) type = 1;  // as dnsmasq reads it: typed 0 with an address is Ethernet
  lease.hwType = type;
  lease.hwAddr = *bytes;
  lease.mac = bytes->size() == 17 ? *bytes : "";
  return true;
}

std::optional<std::string> printableLine(std::string_view line) {
  if (line.size() > kMaxLeaseLine) return "line too long (" + std::to_string(line.size()) + " bytes)";
  for (unsigned char c : line)
    if (c < 0x20 || c >= 0x7f) return "control or non-ASCII byte in line";
  return std::nullopt;
}

}  // namespace

std::string dnsmasqServersPath(const std::string& runDir) { return join(runDir, "dnsmasq-servers.conf"); }
std::string dnsmasqPidPath(const std::string& runDir, const std::string& ifname) {
  return join(runDir, "dnsmasq-" + ifname + ".pid");
}
std::string dnsmasqLeasePath(const std::string& stateDir, const std::string& ifname) {
  return join(stateDir, "dnsmasq-" + ifname + ".leases");
}

std::string dnsmasqHostsPath(const std::string& runDir, const std::string& ifname) {
  return join(runDir, "dnsmasq-hosts-" + ifname + ".conf");
}

bool validHostLabel(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::string dnsmasqHostsFile(const std::vector<StaticLease>& leases, const Ipv4Prefix& subnet) {
  std::string out;
  const Ipv4Address network = subnet.network();
  const Ipv4Address broadcast{network.value | ~subnet.mask()};
  for (const auto& l : leases) {
    if (!subnet.contains(l.ip) || l.ip == network || l.ip == broadcast) continue;
    out += l.mac + "," + l.ip.str();
    if (!l.hostname.empty()) out += "," + l.hostname;
    out += "\n";
  }
  return out;
}

const DnsmasqUser& dnsmasqUser() {
  static const DnsmasqUser user = []() -> DnsmasqUser {
    if (const passwd* pw = ::getpwnam("dnsmasq")) return {"dnsmasq", pw->pw_uid};
    if (const passwd* pw = ::getpwnam("nobody")) return {"", pw->pw_uid};
    return {};
  }();
  return user;
}

Result<std::vector<std::string>> dnsmasqArgv(const std::string& binary, const DnsmasqDownstream& d,
                                             const std::string& runDir, const std::string& stateDir) {
  if (!plainIfname(d.ifname))
    return invalid("dnsmasq: interface name '" + d.ifname + "' is not usable (1-15 of A-Z a-z 0-9 . _ -)");
  auto bin = cleanPath(binary, "dnsmasq binary");
  if (!bin) return bin.error();
  auto run = cleanPath(runDir, "run_dir");
  if (!run) return run.error();
  auto state = cleanPath(stateDir, "state_dir");
  if (!state) return state.error();

  const Ipv4Prefix& net = d.subnet;
  const std::string where = "dnsmasq for " + d.ifname + ": ";
  if (net.length < 8 || net.length > 30) return invalid(where + "subnet " + net.str() + " must be /8 to /30");
  const uint32_t size = uint32_t{1} << (32 - net.length);
  const uint32_t broadcastHost = size - 1;
  if (!net.contains(d.address)) return invalid(where + "address " + d.address.str() + " is not in " + net.str());
  const uint32_t ownHost = d.address.value & ~net.mask();
  if (ownHost == 0 || ownHost == broadcastHost)
    return invalid(where + "address " + d.address.str() + " is the network or broadcast address of " + net.str());
  if (d.firstHost < 1 || d.lastHost < d.firstHost || static_cast<uint32_t>(d.lastHost) >= broadcastHost)
    return invalid(where + "DHCP pool hosts " + std::to_string(d.firstHost) + ".." + std::to_string(d.lastHost) +
                   " do not fit " + net.str());
  if (ownHost >= static_cast<uint32_t>(d.firstHost) && ownHost <= static_cast<uint32_t>(d.lastHost))
    return invalid(where + "DHCP pool " + net.host(static_cast<uint32_t>(d.firstHost)).str() + ".." +
                   net.host(static_cast<uint32_t>(d.lastHost)).str() + " contains the downstream's own address " +
                   d.address.str());
  if (d.leaseTimeSec < kMinLeaseSec || d.leaseTimeSec > kMaxLeaseSec)
    return invalid(where + "lease time " + std::to_string(d.leaseTimeSec) + " s is not between " +
                   std::to_string(kMinLeaseSec) + " s and " + std::to_string(kMaxLeaseSec) + " s");

  if (d.address6 && (d.address6->length != 64 || d.address6->address == d.address6->network()))
    return invalid(where + "IPv6 address " + d.address6->str() + " must be a host of a /64");
  if (!d.user.empty() && !plainUserName(d.user)) return invalid(where + "user '" + d.user + "' is not a plain user name");

  const std::string& ifn = d.ifname;
  const std::string addr = d.address.str();
  std::vector<std::string> argv{
      *bin,
      "-C",
      "/dev/null",  // never /etc/dnsmasq.conf
      "--keep-in-foreground",
      "--no-resolv",
      "--no-poll",
      "--no-hosts",
      "--bind-dynamic",
      "--interface=" + ifn,
      "--except-interface=lo",
      "--dhcp-range=set:" + ifn + "," + net.host(static_cast<uint32_t>(d.firstHost)).str() + "," +
          net.host(static_cast<uint32_t>(d.lastHost)).str() + "," + net.netmask().str() + "," +
          std::to_string(d.leaseTimeSec) + "s",
      "--dhcp-option=tag:" + ifn + ",option:router," + addr,
      "--dhcp-option=tag:" + ifn + ",option:dns-server," + addr,
      "--dhcp-authoritative",
      "--dhcp-leasefile=" + dnsmasqLeasePath(*state, ifn),
      "--dhcp-hostsfile=" + dnsmasqHostsPath(*run, ifn),
      "--pid-file=" + dnsmasqPidPath(*run, ifn),
      "--log-facility=-",
      "--log-dhcp",
      "--no-ping",
  };
  if (!d.localOnly) argv.push_back("--servers-file=" + dnsmasqServersPath(*run));
  if (!d.user.empty()) argv.push_back("--user=" + d.user);
  const std::string domain = d.domain.empty() && d.localOnly ? "lan" : d.domain;
  if (!domain.empty()) {
    if (domain.size() > 253 || domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos)
      return invalid(where + "domain '" + domain.substr(0, 40) + "' is not a domain name");
    argv.push_back("--local=/" + domain + "/");
    argv.push_back("--domain=" + domain);
  }
  if (d.address6) {
    // RA of the /64 dnsmasq finds on the interface (the constructor needs the router's own
    // address there, not an autoconf one), SLAAC; stateless DHCPv6 (M=0, O=1), or stateful
    // with SLAAC kept (M=1, A=1); RDNSS and the DHCPv6 DNS server are the interface's own
    // global address ([::]); the domain as DNSSL and DHCPv6 domain search.
    argv.push_back("--enable-ra");
    // relay: the upstream's /64, off-link (L=0), stateless only (ipv6-facts.md section 4).
    if (d.offLink)
      argv.push_back("--dhcp-range=set:" + ifn + ",::,constructor:" + ifn + ",ra-stateless,off-link,64,1h");
    else
      argv.push_back("--dhcp-range=set:" + ifn + (d.dhcp6Stateful ? ",::1000,::ffff,constructor:" + ifn + ",slaac"
                                                                  : ",::,constructor:" + ifn + ",ra-stateless") +
                     ",ra-names,64,1h");
    argv.push_back("--dhcp-option=tag:" + ifn + ",option6:dns-server,[::]");
    if (!domain.empty()) argv.push_back("--dhcp-option=tag:" + ifn + ",option6:domain-search," + domain);
  }
  return argv;
}

bool isOwnDnsmasq(const std::vector<std::string>& argv, const std::string& binary, const std::string& runDir,
                  const std::string& stateDir, const std::string& ifname) {
  auto bin = cleanPath(binary, "dnsmasq binary");
  auto run = cleanPath(runDir, "run_dir");
  auto state = cleanPath(stateDir, "state_dir");
  if (!bin || !run || !state || argv.empty() || argv[0] != *bin) return false;
  auto has = [&argv](const std::string& a) { return std::find(argv.begin() + 1, argv.end(), a) != argv.end(); };
  std::string ifn;
  for (const auto& a : argv)
    if (a.starts_with("--interface=")) {
      if (!ifn.empty()) return false;  // tetherd gives exactly one
      ifn = a.substr(12);
    }
  if (ifn.empty() || (!ifname.empty() && ifn != ifname)) return false;
  bool noConfig = false;
  for (size_t i = 1; i + 1 < argv.size(); ++i) noConfig = noConfig || (argv[i] == "-C" && argv[i + 1] == "/dev/null");
  return noConfig && has("--pid-file=" + dnsmasqPidPath(*run, ifn)) &&
         has("--dhcp-leasefile=" + dnsmasqLeasePath(*state, ifn));
}

std::string dnsmasqServersFile(const std::vector<Ipv4Address>& servers, const std::vector<Ipv6Address>& servers6) {
  std::string out;
  for (const auto& s : servers) out += "server=" + s.str() + "\n";
  for (const auto& s : servers6) out += "server=" + s.str() + "\n";
  return out;
}

Result<Lease> parseLeaseLine(std::string_view line) {
  if (auto why = printableLine(line)) return invalid(*why);
  auto f = splitFields(line);
  if (f.size() != 5) return invalid("wrong number of fields (" + std::to_string(f.size()) + ", expected 5)");

  Lease lease;
  auto [next, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), lease.expiry);
  if (ec != std::errc() || next != f[0].data() + f[0].size() || lease.expiry < 0)
    return invalid("bad expiry time '" + std::string(f[0].substr(0, 64)) + "'");
  if (!parseHwAddr(f[1], lease)) return invalid("bad hardware address '" + std::string(f[1].substr(0, 64)) + "'");
  auto ip = Ipv4Address::parse(f[2]);
  if (!ip) return invalid("bad IPv4 address '" + std::string(f[2].substr(0, 64)) + "'");
  lease.ip = *ip;

  if (f[3] != "*") {
    if (f[3].size() > kMaxLeaseHostname)
      return invalid("hostname too long (" + std::to_string(f[3].size()) + " bytes, at most " +
                     std::to_string(kMaxLeaseHostname) + ")");
    for (char c : f[3]) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) return invalid("hostname '" + std::string(f[3].substr(0, 64)) + "' has a character that is not allowed");
    }
    lease.hostname = std::string(f[3]);
  }
  if (f[4] != "*") {
    auto id = hexBytes(f[4], 255);  // "01:aa:bb", at most 255 bytes
    if (!id || id->empty()) return invalid("bad client id '" + std::string(f[4].substr(0, 64)) + "'");
    lease.clientId = *id;
  }
  return lease;
}

std::string formatLeaseLine(const Lease& l) {
  char type[8];
  std::snprintf(type, sizeof type, "%.2x-", static_cast<unsigned>(l.hwType) & 0xffu);
  std::string hw = l.hwType == 1 && !l.hwAddr.empty() ? l.hwAddr : type + l.hwAddr;
  return std::to_string(l.expiry) + " " + hw + " " + l.ip.str() + " " + (l.hostname.empty() ? "*" : l.hostname) + " " +
         (l.clientId.empty() ? "*" : l.clientId);
}

bool isIpv6LeaseLine(std::string_view line) {
  if (printableLine(line)) return false;
  auto f = splitFields(line);
  if (f.size() != 5 || !isDigits(f[0])) return false;
  std::string_view iaid = f[1];
  if (!iaid.empty() && iaid.front() == 'T') iaid.remove_prefix(1);
  if (!isDigits(iaid) || iaid.size() > 10) return false;
  in6_addr a{};
  return f[2].size() < INET6_ADDRSTRLEN && ::inet_pton(AF_INET6, std::string(f[2]).c_str(), &a) == 1;
}

LeaseFile parseLeaseFile(std::string_view text) {
  LeaseFile out;
  size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.substr(0, 5) == "duid ") continue;
    if (isIpv6LeaseLine(line)) {
      ++out.ipv6Leases;
      continue;
    }
    auto lease = parseLeaseLine(line);
    if (lease) out.leases.push_back(std::move(lease).value());
    else out.bad.push_back({lineNo, std::string(line.substr(0, kMaxLeaseLine)), lease.error().message});
  }
  return out;
}

}  // namespace tetherd
