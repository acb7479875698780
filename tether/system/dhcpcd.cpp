#include "tether/system/dhcpcd.h"

#include <charconv>
#include <map>
#include <optional>

#include "tether/base/ip.h"

namespace tetherd {
namespace {

constexpr size_t kMaxPathBytes = 200;
constexpr size_t kMaxEnvBytes = 64 * 1024;
constexpr int kMaxPrefixIndex = 16;  // dhcpcd numbers the prefixes of one IA_PD from 1
constexpr const char* kVarPrefix = "new_dhcp6_ia_pd1_prefix";

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

// An absolute path of characters a shell script and dhcpcd's config take without quoting.
Result<std::string> cleanPath(const std::string& path, const char* what) {
  if (path.empty() || path.front() != '/') return invalid(std::string(what) + " must be an absolute path: '" + path + "'");
  if (path.size() > kMaxPathBytes) return invalid(std::string(what) + " is too long");
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/' || c == '+';
    if (!ok) return invalid(std::string(what) + " may only hold letters, digits and ._-+/: '" + path + "'");
  }
  std::string out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string join(const std::string& dir, const std::string& name) { return (dir == "/" ? "" : dir) + "/" + name; }

Result<std::string> checkSettings(const DhcpcdSettings& s) {
  if (!plainIfname(s.upstream)) return invalid("dhcpcd upstream: '" + s.upstream + "' is not a plain interface name");
  if (s.prefixHint < 48 || s.prefixHint > 64)
    return invalid("dhcpcd prefix hint: /" + std::to_string(s.prefixHint) + " is outside 48..64");
  return s.upstream;
}

std::optional<uint32_t> parseSeconds(std::string_view v) {
  if (v.empty() || v.size() > 10) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n > 0xffffffffULL) return std::nullopt;
  return static_cast<uint32_t>(n);
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

bool globalUnicast(const Ipv6Address& a) {
  if (a.isLinkLocal() || a.isUla() || a.bytes[0] == 0xff) return false;  // link-local, ULA, multicast
  bool zeroHigh = true;  // ::, ::1 and IPv4-mapped/compatible: the first 80 bits zero
  for (int i = 0; i < 10; ++i) zeroHigh = zeroHigh && a.bytes[i] == 0;
  return !zeroHigh;
}

struct RawPrefix {
  std::string address, length, pltime, vltime;
};

}  // namespace

std::string dhcpcdConfPath(const std::string& runDir) { return join(runDir, "dhcpcd-pd.conf"); }
std::string dhcpcdHookPath(const std::string& runDir) { return join(runDir, "dhcpcd-hook"); }
std::string dhcpcdEnvPath(const std::string& runDir) { return join(runDir, "dhcpcd-pd.env"); }

Result<std::string> dhcpcdConf(const DhcpcdSettings& settings, const std::string& runDir) {
  auto ifn = checkSettings(settings);
  if (!ifn) return ifn.error();
  auto run = cleanPath(runDir, "run_dir");
  if (!run) return run.error();
  return "# Written by tetherd: DHCPv6 prefix delegation only, on " + *ifn + ".\n"
         "ipv6only\n"
         "noipv6rs\n"
         "duid\n"
         "allowinterfaces " + *ifn + "\n"
         "script " + dhcpcdHookPath(*run) + "\n"
         "interface " + *ifn + "\n"
         "ia_pd 1/::/" + std::to_string(settings.prefixHint) + "\n";
}

Result<std::vector<std::string>> dhcpcdArgv(const std::string& binary, const DhcpcdSettings& settings,
                                            const std::string& runDir) {
  auto bin = cleanPath(binary, "dhcpcd binary");
  if (!bin) return bin.error();
  auto ifn = checkSettings(settings);
  if (!ifn) return ifn.error();
  auto run = cleanPath(runDir, "run_dir");
  if (!run) return run.error();
  return std::vector<std::string>{*bin, "-B", "-6", "-f", dhcpcdConfPath(*run), *ifn};
}

Result<std::string> dhcpcdHookScript(const std::string& runDir) {
  auto run = cleanPath(runDir, "run_dir");
  if (!run) return run.error();
  const std::string env = dhcpcdEnvPath(*run);
  return "#!/bin/sh\n"
         "# Written by tetherd (tether/system/dhcpcd.h): hands dhcpcd's delegated prefixes to tetherd.\n"
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
         "case \"$reason\" in BOUND6|RENEW6|REBIND6|EXPIRE6|STOP6|STOPPED) ;; *) exit 0 ;; esac\n"
         "umask 077\n"
         "{\n"
         "  printf 'reason=%s\\ninterface=%s\\n' \"$reason\" \"$interface\"\n"
         "  env | grep -E '^new_dhcp6_ia_pd1_prefix[0-9]+(_length|_pltime|_vltime)?=' || :\n"
         "} > " + env + ".tmp && mv -f " + env + ".tmp " + env + "\n";
}

Result<PdUpdate> parseDhcpcdHookEnv(std::string_view text, std::string_view upstream) {
  if (text.size() > kMaxEnvBytes) return invalid("dhcpcd hook file: larger than 64 KiB");
  PdUpdate out;
  std::map<int, RawPrefix> raw;
  bool haveIf = false, haveReason = false;
  size_t lineNo = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(lineNo) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || !printable(line)) {
      out.ignored.push_back(where + "not a printable name=value");
      continue;
    }
    std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    if (name == "reason" || name == "interface") {
      bool& seen = name == "reason" ? haveReason : haveIf;
      if (seen) return invalid("dhcpcd hook file: " + std::string(name) + " given twice");
      seen = true;
      (name == "reason" ? out.reason : out.ifname) = std::string(value.substr(0, 64));
      continue;
    }
    if (!name.starts_with(kVarPrefix)) {
      out.ignored.push_back(where + "unknown variable '" + std::string(name.substr(0, 64)) + "'");
      continue;
    }
    std::string_view rest = name.substr(std::string_view(kVarPrefix).size());
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    int index = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits, index);
    std::string_view field = rest.substr(digits);
    if (digits == 0 || digits > 2 || ec != std::errc() || index < 1 || index > kMaxPrefixIndex ||
        (field != "" && field != "_length" && field != "_pltime" && field != "_vltime")) {
      out.ignored.push_back(where + "unknown variable '" + std::string(name.substr(0, 64)) + "'");
      continue;
    }
    RawPrefix& p = raw[index];
    std::string& dst = field == "" ? p.address : field == "_length" ? p.length : field == "_pltime" ? p.pltime : p.vltime;
    if (!dst.empty()) {
      out.ignored.push_back(where + std::string(name) + " given twice");
      continue;
    }
    dst = std::string(value.substr(0, 64));
  }

  if (out.reason == "BOUND6" || out.reason == "RENEW6" || out.reason == "REBIND6") out.kind = PdUpdate::Kind::Bound;
  else if (out.reason == "EXPIRE6" || out.reason == "STOP6" || out.reason == "STOPPED") out.kind = PdUpdate::Kind::Lost;
  else if (out.reason.empty()) return invalid("dhcpcd hook file: no reason");
  else return invalid("dhcpcd hook file: unknown reason '" + out.reason.substr(0, 32) + "'");
  if (out.ifname.empty()) return invalid("dhcpcd hook file: no interface");
  if (out.ifname != upstream)
    return invalid("dhcpcd hook file: for interface '" + out.ifname.substr(0, 32) + "', not the upstream '" +
                   std::string(upstream) + "'");
  if (out.kind == PdUpdate::Kind::Lost) return out;

  for (const auto& [index, p] : raw) {
    const std::string what = "prefix" + std::to_string(index) + ": ";
    auto addr = Ipv6Address::parse(p.address);
    auto len = parseSeconds(p.length);
    auto pl = parseSeconds(p.pltime);
    auto vl = parseSeconds(p.vltime);
    if (!addr) out.ignored.push_back(what + "'" + p.address + "' is not an IPv6 address");
    else if (!globalUnicast(*addr)) out.ignored.push_back(what + p.address + " is not a global unicast address");
    else if (!len || *len < 1 || *len > 128) out.ignored.push_back(what + "length '" + p.length + "' is not 1..128");
    else if (*len > 64) out.ignored.push_back(what + "/" + p.length + " is longer than /64: no /64 to give");
    else if (!pl || !vl) out.ignored.push_back(what + "lifetimes '" + p.pltime + "'/'" + p.vltime + "' are not seconds");
    else if (*vl == 0) out.ignored.push_back(what + "valid lifetime 0 (withdrawn)");
    else if (*pl > *vl) out.ignored.push_back(what + "preferred lifetime " + p.pltime + " exceeds valid " + p.vltime);
    else {
      DelegatedPrefix d;
      d.prefix.address = Ipv6Prefix{*addr, static_cast<int>(*len)}.network();
      d.prefix.length = static_cast<int>(*len);
      d.preferredSec = *pl;
      d.validSec = *vl;
      out.prefixes.push_back(d);
    }
  }
  return out;
}

}  // namespace tetherd
