// Fakes of the narrow interfaces, for unit-testing the policy layer. They record what was
// asked and can be told to fail; they do nothing to the machine.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tether/core/dhcp_service.h"
#include "tether/system/dnsmasq.h"
#include "tether/system/netfilter/firewall.h"
#include "tether/system/kernel_view.h"
#include "tether/system/netlink.h"
#include "tether/system/sysctl.h"
#include "tether/core/tether_manager.h"

namespace tetherd::testing {

// A fresh, empty directory for the running test: <tmp>/tetherd-<what>-<pid>-<test name>.
inline std::filesystem::path freshTestDir(const std::string& what) {
  auto dir = std::filesystem::temp_directory_path() / ("tetherd-" + what + "-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The defaults with every path inside `dir` and `upstreams` in priority order.
inline Config testConfig(const std::filesystem::path& dir, std::vector<std::string> upstreams) {
  Config c = defaultConfig();
  c.runDir = (dir / "run").string();
  c.stateDir = (dir / "state").string();
  c.resolvFile = (dir / "resolv.conf").string();
  c.upstreamPriority = std::move(upstreams);
  return c;
}

class FakeNetlink : public Netlink {
 public:
  std::vector<LinkInfo> linkList;
  std::vector<AddrInfo> addrList;
  std::vector<DefaultRoute> routeList;
  std::vector<std::string> ops;  // "add usb0 192.168.42.1/24", "up usb0", "del ..."
  std::set<std::string> failAddressOn;
  std::set<std::string> failRemoveOn;
  // The addresses the calls above have put on each link and not taken off (the "kernel's").
  std::map<std::string, std::set<Ipv4Prefix>> onLink;
  std::map<std::string, std::set<Ipv6Prefix>> onLink6;
  // The kernel view the daemon's NetlinkMonitor would keep: seeded from the lists above by
  // syncView(), then fed the events a test delivers (view.apply(e) before onNetEvent(e)).
  KernelView view;
  KernelView& syncView() {
    view.replace(linkList, addrList, routeList);
    return view;
  }

  LinkInfo& addLink(const std::string& name, bool up = true) {
    linkList.push_back(LinkInfo{static_cast<int>(linkList.size()) + 2, name, up, up});
    return linkList.back();
  }
  int indexOf(const std::string& name) const {
    for (const auto& l : linkList)
      if (l.name == name) return l.index;
    return 0;
  }
  Result<std::vector<LinkInfo>> links() override { return linkList; }
  Result<std::vector<AddrInfo>> addresses() override { return addrList; }
  Result<std::vector<DefaultRoute>> defaultRoutes() override { return routeList; }
  Status setLinkUp(const std::string& ifname, bool up) override {
    if (!indexOf(ifname)) return makeError(Errc::UnknownIface, ifname);
    ops.push_back(std::string(up ? "up " : "down ") + ifname);
    return {};
  }
  Status addAddress(const std::string& ifname, const Ipv4Prefix& p) override {
    if (!indexOf(ifname)) return makeError(Errc::UnknownIface, ifname);
    if (failAddressOn.count(ifname)) return makeError(Errc::IfaceCfgError, "Operation not permitted");
    ops.push_back("add " + ifname + " " + p.str());
    onLink[ifname].insert(p);
    return {};
  }
  Status removeAddress(const std::string& ifname, const Ipv4Prefix& p) override {
    if (failRemoveOn.count(ifname)) return makeError(Errc::IfaceCfgError, "Operation not permitted");
    ops.push_back("del " + ifname + " " + p.str());
    if (auto it = onLink.find(ifname); it != onLink.end() && it->second.erase(p) && it->second.empty()) onLink.erase(it);
    return {};
  }
  Status addAddress6(const std::string& ifname, const Ipv6Prefix& p) override {
    if (!indexOf(ifname)) return makeError(Errc::UnknownIface, ifname);
    ops.push_back("add6 " + ifname + " " + p.str());
    onLink6[ifname].insert(p);
    return {};
  }
  Status setAddress6Lifetimes(const std::string& ifname, const Ipv6Prefix& p, uint32_t preferredSec,
                              uint32_t validSec) override {
    if (!indexOf(ifname)) return makeError(Errc::UnknownIface, ifname);
    ops.push_back("life6 " + ifname + " " + p.str() + " " + std::to_string(preferredSec) + "/" + std::to_string(validSec));
    onLink6[ifname].insert(p);
    return {};
  }
  Status removeAddress6(const std::string& ifname, const Ipv6Prefix& p) override {
    ops.push_back("del6 " + ifname + " " + p.str());
    if (auto it = onLink6.find(ifname); it != onLink6.end() && it->second.erase(p) && it->second.empty()) onLink6.erase(it);
    return {};
  }
  Status createBridge(const std::string& name) override {
    ops.push_back("bridge " + name);
    if (!indexOf(name)) addLink(name, false);
    return {};
  }
  Status deleteLink(const std::string& name) override {
    ops.push_back("dellink " + name);
    linkList.erase(std::remove_if(linkList.begin(), linkList.end(), [&](const LinkInfo& l) { return l.name == name; }),
                   linkList.end());
    return {};
  }
};

class FakeFirewall : public Firewall {
 public:
  FirewallState state;
  bool installed = false;
  int applies = 0, resets = 0;  // successful ones
  int calls = 0;                 // every apply() and reset(), failed or not
  int busyTimes = 0;  // next applies answer Busy this many times
  int busyResets = 0;  // next resets answer Busy this many times
  bool fail = false;
  Status reset() override {
    ++calls;
    if (busyResets > 0) {
      --busyResets;
      return makeError(Errc::Busy, "xtables lock held");
    }
    ++resets;
    state = {};
    installed = false;
    return {};
  }
  Status apply(const FirewallState& s) override {
    ++calls;
    if (busyTimes > 0) {
      --busyTimes;
      return makeError(Errc::Busy, "xtables lock held");
    }
    if (fail) return makeError(Errc::SystemError, "iptc_commit: Invalid argument");
    ++applies;
    state = s;
    installed = true;
    return {};
  }
  Result<std::vector<TrafficCounter>> counters() override {
    std::vector<TrafficCounter> out;
    for (const auto& p : state.pairs) out.push_back(TrafficCounter{p.downstream, p.upstream, 10, 1, 20, 2});
    return out;
  }
  std::vector<std::string> rules() const {
    std::vector<std::string> out;
    if (!installed) return out;
    for (const auto& [table, lines] : renderFirewallRules(state))
      for (const auto& l : lines) out.push_back(table + " " + l);
    return out;
  }
};

class FakeSysctl : public Sysctl {
 public:
  std::map<std::string, std::string> values{{"net/ipv4/ip_forward", "0"}};
  bool failWrites = false;
  int reads = 0, writes = 0;
  Result<std::string> read(const std::string& key) override {
    ++reads;
    auto it = values.find(key);
    if (it == values.end()) return makeError(Errc::NotFound, key);
    return it->second;
  }
  Status write(const std::string& key, const std::string& value) override {
    ++writes;
    if (failWrites) return makeError(Errc::SystemError, "write sysctl " + key + ": Read-only file system");
    values[key] = value;
    return {};
  }
};

class FakeDhcp : public DhcpService {
 public:
  std::map<std::string, Downstream> running_;
  std::vector<Ipv4Address> servers;
  std::vector<std::string> ops;
  int calls = 0;  // start(), stop() and setServers(), whatever they did
  bool failStart = false;
  std::function<void(const Downstream&)> beforeStart;  // sees the world as start() is called
  std::vector<StaticLease> pins;  // the latest setStaticLeases (not counted in calls)
  bool failPins = false;
  Status setStaticLeases(const std::vector<StaticLease>& p) override {
    if (failPins) return makeError(Errc::DhcpServerError, "dnsmasq hosts file: No space left on device");
    pins = p;
    return {};
  }
  Status start(const Downstream& d) override {
    ++calls;
    if (beforeStart) beforeStart(d);
    if (failStart) return makeError(Errc::DhcpServerError, "dnsmasq: failed to create listening socket");
    ops.push_back("start " + d.ifname + " " + d.subnet.str() + " " + d.address.str() +
                  (d.address6 ? " " + d.address6->str() : ""));
    running_[d.ifname] = d;
    return {};
  }
  void stop(const std::string& ifname) override {
    ++calls;
    if (running_.erase(ifname)) ops.push_back("stop " + ifname);
  }
  Status setServers(const std::vector<Ipv4Address>& s, const std::vector<Ipv6Address>& s6) override {
    ++calls;
    servers = s;
    std::string line = "servers";
    for (const auto& a : s) line += " " + a.str();
    for (const auto& a : s6) line += " " + a.str();
    ops.push_back(line);
    return {};
  }
  void stopAll(std::function<void()> done) override {
    running_.clear();
    done();
  }
  bool running(const std::string& ifname) const override { return running_.count(ifname) > 0; }
  int restarts(const std::string&) const override { return 0; }
  // The real reader over lease files in stateDir (tests write them as dnsmasq would); none
  // while stateDir is "".
  std::string stateDir;
  mutable std::vector<std::string> leaseWarnings;
  mutable LeaseReader reader{[this](const std::string& m) { leaseWarnings.push_back(m); }};
  std::vector<Lease> leases(const std::string& ifname) const override {
    return stateDir.empty() ? std::vector<Lease>{} : reader.read(dnsmasqLeasePath(stateDir, ifname));
  }
};

}  // namespace tetherd::testing
