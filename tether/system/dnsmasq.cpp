#include "tether/system/dnsmasq.h"

#include <charconv>

namespace tetherd {
namespace {

constexpr int kMinLeaseSec = 120;  // dnsmasq raises anything shorter to 2 minutes
constexpr int kMaxLeaseSec = 7 * 24 * 3600;
constexpr size_t kMaxPathBytes = 200;
constexpr size_t kMaxLeaseLine = 1024;

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

// dnsmasq takes the interface name as a tag inside comma-separated values: keep to the
// characters that cannot mean anything there.
bool plainIfname(std::string_view name) {
  if (!validIfname(name)) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
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

}  // namespace

std::string dnsmasqServersPath(const std::string& runDir) { return join(runDir, "dnsmasq-servers.conf"); }
std::string dnsmasqPidPath(const std::string& runDir, const std::string& ifname) {
  return join(runDir, "dnsmasq-" + ifname + ".pid");
}
std::string dnsmasqLeasePath(const std::string& stateDir, const std::string& ifname) {
  return join(stateDir, "dnsmasq-" + ifname + ".leases");
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

  const std::string& ifn = d.ifname;
  const std::string addr = d.address.str();
  return std::vector<std::string>{
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
      "--servers-file=" + dnsmasqServersPath(*run),
      "--pid-file=" + dnsmasqPidPath(*run, ifn),
      "--log-facility=-",
      "--log-dhcp",
      "--no-ping",
  };
}

std::string dnsmasqServersFile(const std::vector<Ipv4Address>& servers) {
  std::string out;
  for (const auto& s : servers) out += "server=" + s.str() + "\n";
  return out;
}

Result<Lease> parseLeaseLine(std::string_view line) {
  if (line.size() > kMaxLeaseLine) return invalid("line too long (" + std::to_string(line.size()) + " bytes)");
  for (unsigned char c : line)
    if (c < 0x20 || c >= 0x7f) return invalid("control or non-ASCII byte in line");
  auto f = splitFields(line);
  if (f.size() != 5) return invalid("wrong number of fields (" + std::to_string(f.size()) + ", expected 5)");

  Lease lease;
  auto [next, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), lease.expiry);
  if (ec != std::errc() || next != f[0].data() + f[0].size() || lease.expiry < 0)
    return invalid("bad expiry time '" + std::string(f[0]) + "'");
  auto mac = normalizeMac(f[1]);
  if (!mac) return invalid("bad MAC address '" + std::string(f[1].substr(0, 64)) + "'");
  lease.mac = *mac;
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
    // Hex bytes separated by ':' ("01:aa:bb"), at most 255 bytes.
    std::string_view id = f[4];
    bool ok = id.size() <= 255 * 3 - 1;
    for (size_t i = 0; ok && i < id.size(); ++i) ok = (i % 3 == 2) ? id[i] == ':' : isHex(id[i]);
    if (!ok || id.size() % 3 != 2) return invalid("bad client id '" + std::string(id.substr(0, 64)) + "'");
    lease.clientId = std::string(id);
  }
  return lease;
}

std::vector<Lease> parseLeaseFile(std::string_view text, std::vector<std::string>* errors) {
  std::vector<Lease> leases;
  size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.substr(0, 5) == "duid ") continue;
    auto lease = parseLeaseLine(line);
    if (lease) {
      leases.push_back(std::move(lease).value());
    } else if (errors) {
      errors->push_back("line " + std::to_string(lineNo) + ": " + lease.error().message);
    }
  }
  return leases;
}

}  // namespace tetherd
