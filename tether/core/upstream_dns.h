// Each upstream candidate's DNS servers (issue 13 point 3), as facts for the planner. Where
// they come from, first that has any:
//   1. [upstream.<if>] dns (IPv4 and IPv6 servers);
//   2. [upstream.<if>] resolv_file: a resolv.conf-format file of this upstream's own, the one
//      its DHCP client writes (dhclient or dhcpcd through Debian's resolvconf:
//      /run/resolvconf/interface/<if>.dhclient, <if>.dhcp; systemd-networkd + resolved's
//      /run/systemd/resolve/resolv.conf for a single upstream; any hook's file);
//   3. [upstream] resolv_file (default /etc/resolv.conf), shared by every candidate.
// The files are watched with inotify (FileWatch: rename writers, symlinks) and read only when
// they change; a change calls onChange (the manager re-plans; the applier rewrites dnsmasq's
// servers file and SIGHUPs every instance: no restart).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/file_watch.h"

namespace tetherd {

struct DnsServers {
  std::vector<Ipv4Address> v4;  // parseResolvConf: at most 8, no loopback
  std::vector<Ipv6Address> v6;  // parseResolvConf6: global ones
  bool empty() const { return v4.empty() && v6.empty(); }
  bool operator==(const DnsServers&) const = default;
};
DnsServers parseDnsServers(std::string_view resolvConfText);

// The files the config names (the shared one first), without repeats.
std::vector<std::string> dnsSourceFiles(const Config& config);

// Per candidate, its servers by the order above, from the files' parsed contents (a file not
// in `files` has none). Every candidate has an entry (maybe empty).
std::map<std::string, DnsServers> upstreamDnsServers(const Config& config, const std::vector<std::string>& candidates,
                                                     const std::map<std::string, DnsServers>& files);

class UpstreamDnsSources {
 public:
  // watch false: no inotify (the watch would keep io.run() busy); sync() then reads every time.
  UpstreamDnsSources(boost::asio::io_context& io, std::function<void()> onChange, bool watch = true);
  // Watch (and read) the files this config names; nothing when they are the same as before.
  void sync(const Config& config);
  // Read every file again now.
  void reload();
  const std::map<std::string, DnsServers>& files() const { return files_; }

 private:
  void onWatch();
  std::function<void()> onChange_;
  FileWatch watch_;
  std::vector<std::string> paths_;
  std::map<std::string, DnsServers> files_;
  bool watching_ = false;
  bool watchFiles_ = true;
};

}  // namespace tetherd
