#include "tether/core/client_actions.h"

#include <algorithm>
#include <set>

#include "config/rate_values.h"
#include "tether/base/ip.h"
#include "tether/base/log.h"
#include "tether/core/clients/pinned_clients.h"

namespace tetherd {

namespace {

Result<std::string> clientMac(const std::string& mac) {
  auto n = normalizeMac(mac);
  if (!n) return makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  return *n;
}

}  // namespace

std::optional<TetherManager::DownstreamStatus> ClientActions::downstreamOf(const std::string& mac) const {
  for (const auto& d : manager_.downstreams()) {
    if (!d.address) continue;  // not configured: its lease file is history
    for (const auto& lease : dhcp_.leases(d.ifname))
      if (!lease.mac.empty() && lease.mac == mac) return d;
  }
  return std::nullopt;
}

std::vector<DownstreamClients> ClientActions::clients(long long nowEpochSec) const {
  std::vector<DownstreamClients> out;
  for (const auto& d : manager_.downstreams()) {
    if (!d.address) continue;
    DownstreamClients dc{d.ifname, d.kind, {}};
    for (auto& l : dhcp_.leases(d.ifname))
      if (l.expiry == 0 || l.expiry > nowEpochSec) dc.leases.push_back(std::move(l));
    if (hooks_.neighbours6 && d.ipv6Prefix) {
      if (auto ns = hooks_.neighbours6(d.ifname))
        for (const auto& n : *ns)
          if (!n.address.isLinkLocal()) dc.ipv6[n.mac].push_back(n.address);
    }
    out.push_back(std::move(dc));
  }
  return out;
}

void ClientActions::kick(const std::string& mac, std::function<void(Status)> done) {
  auto m = clientMac(mac);
  if (!m) return done(m.error());
  if (hooks_.isWifiStation && hooks_.wifiKick && hooks_.isWifiStation(*m)) {
    log::notice("client ", *m, ": deauthenticating (Wi-Fi)");
    return hooks_.wifiKick(*m, std::move(done));
  }
  auto d = downstreamOf(*m);
  if (!d) return done(makeError(Errc::NotFound, "mac: " + *m + " is not a connected client"));
  switch (d->kind) {
    case IfaceKind::Usb:
      if (!hooks_.usbReplug) break;
      log::notice("client ", *m, " on ", d->ifname, ": replugging the USB gadget");
      return done(hooks_.usbReplug());
    case IfaceKind::Bluetooth:
      if (!hooks_.bluetoothDisconnect) break;
      log::notice("client ", *m, " on ", d->ifname, ": disconnecting the Bluetooth device");
      return hooks_.bluetoothDisconnect(*m, std::move(done));
    case IfaceKind::Wifi:
      return done(makeError(Errc::NotFound, "mac: " + *m + " is not associated with the soft AP on " + d->ifname));
    default:
      break;
  }
  done(makeError(Errc::Unsupported, "mac: " + *m + " is on " + d->ifname + " (" + ifaceKindName(d->kind) +
                                        "): it cannot be disconnected from here; block it instead"));
}

Status ClientActions::block(const std::string& mac) {
  auto m = clientMac(mac);
  if (!m) return m.error();
  const auto before = manager_.blockedClients();
  const bool wasBlocked = std::find(before.begin(), before.end(), *m) != before.end();
  if (auto st = manager_.blockClient(*m); !st) return st;
  if (hooks_.wifiBlock) {
    if (auto st = hooks_.wifiBlock(*m); !st) {
      if (!wasBlocked) (void)manager_.unblockClient(*m);
      return st;
    }
  }
  return {};
}

Status ClientActions::unblock(const std::string& mac) {
  auto m = clientMac(mac);
  if (!m) return m.error();
  Status fw = manager_.unblockClient(*m);
  if (!fw && fw.error().code != Errc::NotFound) return fw;
  Status ap = hooks_.wifiUnblock ? hooks_.wifiUnblock(*m) : Status{makeError(Errc::NotFound, "")};
  if (!ap && ap.error().code != Errc::NotFound) {
    if (fw) (void)manager_.blockClient(*m);  // put the firewall block back: all or nothing
    return ap;
  }
  if (!fw && !ap) return makeError(Errc::NotFound, "mac: " + *m + " is not blocked");
  return {};
}

Status ClientActions::pin(const std::string& mac, const std::optional<std::string>& ip, const std::string& hostname,
                          long long nowEpochSec) {
  std::vector<PinSite> sites;
  for (const auto& d : manager_.downstreams()) {
    if (!d.address) continue;
    PinSite site{d.ifname, *d.address, d.address->address, {}};
    for (auto& l : dhcp_.leases(d.ifname))
      if (l.expiry == 0 || l.expiry > nowEpochSec) site.leases.push_back(std::move(l));
    sites.push_back(std::move(site));
  }
  auto p = checkPin(mac, ip, hostname, sites, manager_.pinnedClients());
  if (!p) return p.error();
  auto next = manager_.pinnedClients();
  const std::string m = p->mac;
  const std::string what = p->ip.str();
  next[m] = std::move(*p);
  if (auto st = manager_.setPinnedClients(std::move(next)); !st) return st;
  log::notice("client ", m, " pinned to ", what);
  return {};
}

Status ClientActions::unpin(const std::string& mac) {
  auto m = clientMac(mac);
  if (!m) return m.error();
  auto next = manager_.pinnedClients();
  if (next.erase(*m) == 0) return makeError(Errc::NotFound, "mac: " + *m + " is not pinned");
  if (auto st = manager_.setPinnedClients(std::move(next)); !st) return st;
  log::notice("client ", *m, " unpinned");
  return {};
}

std::vector<StaticLease> ClientActions::pinned() const {
  std::vector<StaticLease> out;
  for (const auto& [mac, p] : manager_.pinnedClients()) out.push_back(p);
  return out;
}

Status ClientActions::limit(const std::string& mac, const std::string& down, const std::string& up) {
  auto l = checkClientLimit(mac, down, up);
  if (!l) return l.error();
  auto next = manager_.clientLimits();
  if (l->second.down == 0 && l->second.up == 0) {
    if (next.erase(l->first) == 0) return makeError(Errc::NotFound, "mac: " + l->first + " has no rate limit");
  } else {
    next[l->first] = l->second;
  }
  if (auto st = manager_.setClientLimits(std::move(next)); !st) return st;
  log::notice("client ", describeClientLimit(l->first, l->second));
  return {};
}

Status ClientActions::quota(const std::string& mac, const std::string& size, const std::string& period) {
  auto q = checkClientQuota(mac, size, period);
  if (!q) return q.error();
  return manager_.setQuota(*q, false);
}

std::vector<std::string> ClientActions::blocked() const {
  std::set<std::string> all;
  for (auto& m : manager_.blockedClients()) all.insert(m);
  if (hooks_.wifiBlocked)
    for (auto& m : hooks_.wifiBlocked()) all.insert(m);
  return {all.begin(), all.end()};
}

}  // namespace tetherd
