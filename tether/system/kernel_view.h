// The one picture of the kernel's network state tetherd works from: links, IPv4 addresses and
// IPv4 default routes. The daemon owns it; NetlinkMonitor is the only writer (it seeds it,
// updates it from each kernel message, and replaces it whole after an overrun), everything
// else reads it. Events tell readers what changed; the view tells them what is.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tether/system/netlink.h"

namespace tetherd {

struct KernelView {
  std::map<int, LinkInfo> links;     // by ifindex
  std::vector<AddrInfo> addrs;       // IPv4, every link
  std::vector<DefaultRoute> routes;  // IPv4 default routes of the learnt tables (any but tetherd's)
  // IPv6 facts (issue 12), kept current by the monitor without events of their own: nothing
  // planned depends on them yet; status and doctor read them.
  std::vector<Addr6Info> addrs6;        // global IPv6 addresses, every link
  std::vector<DefaultRoute6> routes6;   // IPv6 default routes of the learnt tables
  // Which tables' default routes the monitor learns (set before it starts: tetherd's own
  // range is left out).
  LearntTables tables{};

  // Replaces the picture whole (start, resync after an overrun).
  void replace(const std::vector<LinkInfo>& l, std::vector<AddrInfo> a, std::vector<DefaultRoute> r);
  // Applies one event as the monitor reports it (for feeds other than the monitor: tests,
  // replays). Fills e.before for LinkChanged. Idempotent.
  void apply(NetEvent& e);

  const LinkInfo* link(std::string_view name) const;  // nullptr when there is none
  bool exists(std::string_view name) const { return link(name) != nullptr; }
  bool up(std::string_view name) const;  // admin up and carrier
  bool hasDefaultRoute(std::string_view name) const;
  std::vector<AddrInfo> addressesOf(std::string_view name) const;
  std::vector<Addr6Info> addresses6Of(std::string_view name) const;
  bool hasDefaultRoute6(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted
};

}  // namespace tetherd
