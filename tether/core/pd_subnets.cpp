#include "tether/core/pd_subnets.h"

#include <charconv>
#include <optional>

#include "tether/base/files.h"
#include "tether/base/ip.h"

namespace tetherd {

Ipv6Prefix pdRouter(const Ipv6Prefix& delegated, uint32_t n) {
  Ipv6Address a = delegated.network();
  // n occupies bits [length, 64): add it at the bottom of the upper 64 bits.
  uint64_t hi = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | a.bytes[i];
  hi |= static_cast<uint64_t>(n);
  for (int i = 7; i >= 0; --i) {
    a.bytes[i] = static_cast<uint8_t>(hi & 0xff);
    hi >>= 8;
  }
  for (int i = 8; i < 15; ++i) a.bytes[i] = 0;
  a.bytes[15] = 1;
  return Ipv6Prefix{a, 64};
}

PdCarve carvePdSubnets(const Ipv6Prefix& delegated, const std::set<std::string>& downstreams, const PdSubnets& stored) {
  PdCarve out;
  if (delegated.length < 1 || delegated.length > 64) {
    out.left.assign(downstreams.begin(), downstreams.end());
    out.subnets = stored;
    return out;
  }
  const int bits = 64 - delegated.length;
  const uint64_t count = bits >= 32 ? (1ULL << 32) : (1ULL << bits);
  std::map<uint32_t, std::string> taken;  // by a tethered downstream
  for (const auto& name : downstreams) {
    auto it = stored.find(name);
    if (it != stored.end() && it->second < count && !taken.count(it->second)) taken[it->second] = name;
  }
  std::set<std::string> placed;
  for (const auto& [n, name] : taken) placed.insert(name);
  // Numbers reserved for downstreams not tethered now: avoided while other room is left.
  std::set<uint32_t> reserved;
  for (const auto& [name, n] : stored)
    if (!downstreams.count(name) && n < count) reserved.insert(n);
  std::vector<std::string> waiting;
  for (const auto& name : downstreams)
    if (!placed.count(name)) waiting.push_back(name);
  auto nextFree = [&](bool skipReserved) -> std::optional<uint32_t> {
    for (uint64_t n = 0; n < count && n < taken.size() + reserved.size() + 2; ++n)
      if (!taken.count(static_cast<uint32_t>(n)) && (!skipReserved || !reserved.count(static_cast<uint32_t>(n))))
        return static_cast<uint32_t>(n);
    return std::nullopt;
  };
  for (const auto& name : waiting) {
    auto n = nextFree(true);
    if (!n) n = nextFree(false);
    if (!n) {
      out.left.push_back(name);
      continue;
    }
    taken[*n] = name;
    reserved.erase(*n);
  }
  out.subnets = stored;
  for (auto it = out.subnets.begin(); it != out.subnets.end();) {  // a reservation given away is dropped
    auto t = taken.find(it->second);
    if (t != taken.end() && t->second != it->first) it = out.subnets.erase(it);
    else ++it;
  }
  for (const auto& [n, name] : taken) {
    out.subnets[name] = n;
    out.routers[name] = pdRouter(delegated, n);
  }
  return out;
}

std::string formatPdSubnets(const PdSubnets& subnets) {
  std::string out;
  for (const auto& [name, n] : subnets) out += name + " " + std::to_string(n) + "\n";
  return out;
}

Result<PdSubnets> parsePdSubnets(const std::string& text, const std::string& path) {
  PdSubnets out;
  size_t pos = 0, lineNo = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++lineNo;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string name = line.substr(0, sp);
    std::string num = sp == std::string::npos ? "" : line.substr(sp + 1);
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (!validIfname(name) || num.empty() || num.size() > 10 || ec != std::errc() || end != num.data() + num.size() ||
        n > 0xffffffffULL || out.count(name))
      return makeError(Errc::InvalidArgument,
                       path + ":" + std::to_string(lineNo) + ": '" + line.substr(0, 64) + "' is not '<interface> <number>'");
    out[name] = static_cast<uint32_t>(n);
  }
  return out;
}

Result<PdSubnets> loadPdSubnets(const std::string& path) {
  auto text = readFile(path, 64 * 1024);
  if (!text) {
    if (text.error().code == Errc::NotFound) return PdSubnets{};
    return text.error();
  }
  return parsePdSubnets(*text, path);
}

Status savePdSubnets(const std::string& path, const PdSubnets& subnets) {
  return writeFileAtomic(path, formatPdSubnets(subnets), 0644);
}

PdLease pdLease(const DelegatedPrefix& d, PdLease::Clock::time_point now) {
  auto at = [now](uint32_t sec) {
    return sec == 0xffffffffU ? PdLease::Clock::time_point::max() : now + std::chrono::seconds(sec);
  };
  return PdLease{d.prefix, at(d.preferredSec), at(d.validSec)};
}

uint32_t pdSecondsLeft(PdLease::Clock::time_point until, PdLease::Clock::time_point now) {
  if (until == PdLease::Clock::time_point::max()) return 0xffffffffU;
  if (until <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
  long long sec = (ms + 999) / 1000;
  return sec >= 0xffffffffLL ? 0xfffffffeU : static_cast<uint32_t>(sec);
}

}  // namespace tetherd
