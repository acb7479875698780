#include "tether/core/upstream_dns.h"

#include <algorithm>

#include "tether/base/files.h"
#include "tether/base/log.h"
#include "tether/core/upstream.h"

namespace tetherd {
namespace {

constexpr size_t kMaxResolvBytes = 64 * 1024;

std::string describe(const DnsServers& s) {
  std::string out;
  for (const auto& a : s.v4) out += (out.empty() ? "" : " ") + a.str();
  for (const auto& a : s.v6) out += (out.empty() ? "" : " ") + a.str();
  return out.empty() ? "none" : out;
}

}  // namespace

DnsServers parseDnsServers(std::string_view text) { return DnsServers{parseResolvConf(text), parseResolvConf6(text)}; }

std::vector<std::string> dnsSourceFiles(const Config& c) {
  std::vector<std::string> out{c.resolvFile};
  for (const auto& [ifname, path] : c.upstreamResolvFile)
    if (!path.empty() && std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  return out;
}

std::map<std::string, DnsServers> upstreamDnsServers(const Config& c, const std::vector<std::string>& candidates,
                                                     const std::map<std::string, DnsServers>& files) {
  auto fileServers = [&files](const std::string& path) {
    auto it = files.find(path);
    return it == files.end() ? DnsServers{} : it->second;
  };
  std::map<std::string, DnsServers> out;
  for (const auto& name : candidates) {
    DnsServers s;
    if (auto v4 = c.upstreamDns.find(name); v4 != c.upstreamDns.end()) s.v4 = v4->second;
    if (auto v6 = c.upstreamDns6.find(name); v6 != c.upstreamDns6.end()) s.v6 = v6->second;
    if (s.empty())
      if (auto own = c.upstreamResolvFile.find(name); own != c.upstreamResolvFile.end()) s = fileServers(own->second);
    if (s.empty()) s = fileServers(c.resolvFile);
    out[name] = std::move(s);
  }
  return out;
}

UpstreamDnsSources::UpstreamDnsSources(boost::asio::io_context& io, std::function<void()> onChange, bool watch)
    : onChange_(std::move(onChange)), watch_(io, [this] { onWatch(); }), watchFiles_(watch) {}

void UpstreamDnsSources::sync(const Config& config) {
  auto paths = dnsSourceFiles(config);
  if (!watchFiles_) {
    paths_ = std::move(paths);
    reload();
    return;
  }
  if (watching_ && paths == paths_) return;
  paths_ = std::move(paths);
  if (auto st = watch_.watch(paths_); !st)
    log::warning("DNS servers: cannot watch ", paths_.front(), " (", st.error().message,
                 "): changes are not followed until the settings change");
  watching_ = true;
  reload();
}

void UpstreamDnsSources::reload() {
  std::map<std::string, DnsServers> next;
  for (const auto& p : paths_) {
    auto text = readFile(p, kMaxResolvBytes);
    next[p] = text ? parseDnsServers(*text) : DnsServers{};
    auto before = files_.find(p);
    if (before == files_.end() || before->second != next[p]) log::info("DNS servers in ", p, ": ", describe(next[p]));
  }
  files_ = std::move(next);
}

void UpstreamDnsSources::onWatch() {
  auto before = files_;
  reload();
  if (files_ != before && onChange_) onChange_();
}

}  // namespace tetherd
