#include "tether/core/applier.h"

#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

Applier::Applier(ApplierPorts ports, std::string addressRecord) : ports_(ports), record_(std::move(addressRecord)), routing_(ports.routing),
      shaping_(ports.shaper, record_.empty() ? "" : record_.substr(0, record_.rfind('/') + 1) + "shaped-links"),
      relay_(ports.relay, record_.empty() ? "" : record_.substr(0, record_.rfind('/') + 1) + "relay-hosts") {}

Applier::Outcome Applier::apply(const Desired& want, const KernelView& kernel) {
  Outcome out;
  // IP forwarding for new requesters first: the master turns it on before anything else.
  const auto have = ports_.ipfwd.requesters();
  for (const auto& r : want.ipfwdRequesters)
    if (std::find(have.begin(), have.end(), r) == have.end()) out.ipfwd[r] = ports_.ipfwd.enable(r);
  out.sysctls = applySysctls(want.sysctls, false);

  // Downstreams that go, or move elsewhere: soft AP, DHCP server, address.
  bool recordChanged = false;
  for (auto it = downstreams_.begin(); it != downstreams_.end();) {
    auto p = want.configured.find(it->first);
    if (p == want.configured.end() || it->second.address != p->second.address) {
      recordChanged |= it->second.address.has_value() || it->second.address6.has_value();
      takeDown(it->first, it->second, kernel);
    } else if (it->second.address6 != p->second.address6 && it->second.complete && it->second.lease6 &&
               p->second.address6 && p->second.ipv6 != Ipv6Mode::Relay) {
      // A delegated prefix replaced (a new one, or nat66's ULA when it is lost): dnsmasq keeps
      // running and announces both, the old one deprecated (RFC 9096).
      recordChanged = true;
      if (auto st = renumber6(it->first, it->second, p->second); !st) log::warning(st.error().message);
    } else if (it->second.address6 == p->second.address6 && it->second.complete && p->second.lease6 &&
               it->second.lease6 != p->second.lease6) {
      // The same prefix renewed: its lifetimes, which the next router advertisement carries.
      if (auto st = setLease6(it->first, *p->second.address6, *p->second.lease6); !st) log::warning(st.error().message);
      else it->second.lease6 = p->second.lease6;
    } else if (it->second.address6 != p->second.address6 && (it->second.address6 || it->second.complete)) {
      // Only IPv6 changes: the IPv4 address stays, dnsmasq restarts with the new /64.
      recordChanged |= it->second.address6.has_value();
      takeDown(it->first, it->second, kernel, /*keepIpv4=*/true);
    }
    if (!it->second.address && !it->second.address6 && !it->second.dhcp && !it->second.ap &&
        !want.configured.count(it->first)) {
      it = downstreams_.erase(it);
    } else {
      ++it;
    }
  }

  // Addresses of the new (or moved) ones.
  std::vector<std::string> fresh;
  for (const auto& [name, p] : want.configured) {
    Downstream& d = downstreams_[name];
    if (d.complete) continue;
    if (d.address && *d.address != p.address) {  // the old one could not be removed
      out.configured[name] = makeError(Errc::IfaceCfgError, name + ": " + d.address->str() + " is still on it");
      continue;
    }
    if (!d.address) {
      if (auto st = ports_.netlink.addAddress(name, p.address); !st) {
        out.configured[name] =
            makeError(Errc::IfaceCfgError, name + ": set address " + p.address.str() + ": " + st.error().message);
        continue;
      }
      d.address = p.address;
      recordChanged = true;
    }
    if (p.address6 && !d.address6) {
      if (auto st = p.lease6                                  ? setLease6(name, *p.address6, *p.lease6)
                    : p.ipv6 == Ipv6Mode::Relay && ports_.relay ? ports_.relay->addAddress(name, *p.address6)  // noprefixroute
                                                                : ports_.netlink.addAddress6(name, *p.address6);
          !st) {
        out.configured[name] =
            makeError(Errc::IfaceCfgError, name + ": set address " + p.address6->str() + ": " + st.error().message);
        continue;
      }
      d.address6 = p.address6;
      d.lease6 = p.lease6;
      recordChanged = true;
      revive6(name, d, want.configured);
    }
    fresh.push_back(name);
  }
  if (recordChanged) saveRecord();

  // The firewall before any new DHCP server: a blocked client never gets a lease.
  out.firewall = applyFirewall(want.firewall);
  const bool blocksMissing = !out.firewall && out.firewall.error().code != Errc::Busy && want.firewall &&
                             !want.firewall->blockedMacs.empty();

  // Policy routing after the firewall: NAT to a new upstream is in place before traffic goes there.
  out.routing = routing_.apply(want.routing);

  for (const auto& name : fresh) {
    if (blocksMissing) {
      out.configured[name] =
          makeError(Errc::IfaceCfgError, name + ": blocked clients' rules: " + out.firewall.error().message);
      continue;
    }
    out.configured[name] = bringUp(name, want.configured.at(name), downstreams_[name]);
  }

  // IPv6 relay: routes back and proxy entries for the clients' addresses.
  out.relay = relay_.apply(want.relay);

  // Rate limits on the downstreams that are in place (gone ones' first).
  out.shaping = shaping_.apply(want.shaping);

  // DNS forwarders: all instances at once (one servers file, SIGHUP).
  if (!want.dns) {
    dns_.reset();
    dnsStatus_ = {};
  } else if (want.dns != dns_ || want.dns6 != dns6_) {
    auto st = ports_.dhcp.setServers(*want.dns, want.dns6);
    if (st) {
      dns_ = want.dns;
      dns6_ = want.dns6;
      dnsStatus_ = {};
    } else {
      dnsStatus_ = makeError(Errc::ServiceUnavail, st.error().message);
    }
  }
  out.dns = dnsStatus_;

  // IP forwarding for the requesters that went, last: after their rules.
  for (const auto& r : ports_.ipfwd.requesters())
    if (!want.ipfwdRequesters.count(r)) out.ipfwd[r] = ports_.ipfwd.disable(r);
  if (auto st = applySysctls(want.sysctls, true); !st && out.sysctls) out.sysctls = st;
  saveAnnounced();
  return out;
}

// Sets the planned kernel parameters not yet held (accept_ra before forwarding: a forwarding
// upstream at accept_ra=1 would drop the next RA), or, `restoring`, puts back those no longer
// planned.
Status Applier::applySysctls(const std::map<std::string, std::string>& want, bool restoring) {
  if (!ports_.sysctls) return {};
  Status first;
  auto note = [&first](const std::string& key, Status st) {
    if (st) return;
    log::warning("sysctl ", key, ": ", st.error().message);
    if (first) first = st;
  };
  const auto held = ports_.sysctls->held();
  if (restoring) {
    for (const auto& [key, value] : held)
      if (!want.count(key)) note(key, ports_.sysctls->restore(key));
    return first;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [key, value] : want) {
      if ((key.ends_with("/accept_ra") ? 0 : 1) != pass) continue;
      auto it = held.find(key);
      if (it == held.end() || it->second != value) note(key, ports_.sysctls->set(key, value));
    }
  }
  return first;
}

void Applier::takeDown(const std::string& ifname, Downstream& d, const KernelView& kernel, bool keepIpv4) {
  if (d.ap && ports_.ap && !keepIpv4) ports_.ap->stop(ifname);
  if (!keepIpv4) d.ap = false;
  if (d.dhcp) ports_.dhcp.stop(ifname);
  d.dhcp = false;
  d.complete = false;
  carry6(ifname, d);
  for (const auto& old : d.deprecated6)
    if (kernel.exists(ifname)) (void)ports_.netlink.removeAddress6(ifname, old.address);
  d.deprecated6.clear();
  d.lease6.reset();
  if (d.address6 && kernel.exists(ifname)) {
    auto st = ports_.netlink.removeAddress6(ifname, *d.address6);
    if (!st && st.error().code != Errc::UnknownIface) log::warning(ifname, ": remove address: ", st.error().message);
    else d.address6.reset();
  } else {
    d.address6.reset();
  }
  if (!d.address || keepIpv4) return;
  if (kernel.exists(ifname)) {
    auto st = ports_.netlink.removeAddress(ifname, *d.address);
    if (!st && st.error().code != Errc::UnknownIface) {
      log::warning(ifname, ": remove address: ", st.error().message);
      return;  // still there: tried again at the next apply
    }
  }
  d.address.reset();
}

Status Applier::setLease6(const std::string& ifname, const Ipv6Prefix& address, const PdLease& lease) {
  const auto now = PdLease::Clock::now();
  auto st = ports_.netlink.setAddress6Lifetimes(ifname, address, pdSecondsLeft(lease.preferredUntil, now),
                                                pdSecondsLeft(lease.validUntil, now));
  if (!st) return makeError(Errc::IfaceCfgError, ifname + ": set address " + address.str() + ": " + st.error().message);
  return {};
}

// The new prefix's router address first (dnsmasq sees it and announces it at once), then the
// old one deprecated: preferred 0, valid what is left of the old delegation, so that dnsmasq
// announces it with preferred lifetime 0 and the clients stop choosing it (RFC 9096). The
// kernel removes it when its valid lifetime ends.
Status Applier::renumber6(const std::string& ifname, Downstream& d, const DownstreamPlan& plan) {
  auto added = plan.lease6 ? setLease6(ifname, *plan.address6, *plan.lease6)
                           : ports_.netlink.addAddress6(ifname, *plan.address6);  // nat66's ULA
  if (!added) return added;  // naming the address and the interface
  const auto now = PdLease::Clock::now();
  std::erase_if(d.deprecated6, [&](const auto& e) { return e.address == *plan.address6 || e.validUntil <= now; });
  const uint32_t left = pdSecondsLeft(d.lease6->validUntil, now);
  Status st = left > 0 ? ports_.netlink.setAddress6Lifetimes(ifname, *d.address6, 0, std::min(left, 0xfffffffeU))
                       : ports_.netlink.removeAddress6(ifname, *d.address6);
  if (!st) log::warning(ifname, ": deprecate ", d.address6->str(), ": ", st.error().message);
  else if (left > 0) d.deprecated6.push_back(AnnouncedPrefix{*d.address6, std::min(d.lease6->validUntil, now + kMaxAnnouncedValid)});
  log::notice(ifname, ": IPv6 now ", plan.address6->str(), "; ", d.address6->str(),
              left > 0 ? " deprecated until its valid lifetime ends (" + std::to_string(left) + " s)" : " removed");
  d.address6 = plan.address6;
  d.lease6 = plan.lease6;
  return {};
}

// pd: what the clients may still hold comes back deprecated when IPv6 does (revive6).
void Applier::carry6(const std::string& ifname, const Downstream& d) {
  auto& carry = carried_[ifname];
  for (const auto& old : d.deprecated6) addAnnounced(carry, old);
  if (d.address6 && d.lease6) addAnnounced(carry, AnnouncedPrefix{*d.address6, d.lease6->validUntil});
  if (carry.empty()) carried_.erase(ifname);
}

// pd: the /64s this downstream announced before (carried_: before its dnsmasq restarted, or in
// an earlier run) come back beside its new address while valid, unless one is some
// downstream's own /64 now: preferred kRevivedPreferredSec, so that the dnsmasq started next
// announces them, and the kernel deprecates them then (pd_announced.h).
void Applier::revive6(const std::string& ifname, Downstream& d, const std::map<std::string, DownstreamPlan>& planned) {
  auto it = carried_.find(ifname);
  if (it == carried_.end()) return;
  const auto now = PdLease::Clock::now();
  const auto maxLeft = static_cast<uint32_t>(std::chrono::seconds(kMaxAnnouncedValid).count());
  std::vector<AnnouncedPrefix> kept;
  for (const auto& p : it->second) {
    bool own = false;
    for (const auto& [n, q] : planned) own = own || (q.address6 && q.address6->network() == p.address.network());
    if (own || p.validUntil <= now) continue;
    const uint32_t left = std::min(pdSecondsLeft(p.validUntil, now), maxLeft);
    if (auto st = ports_.netlink.setAddress6Lifetimes(ifname, p.address, std::min(kRevivedPreferredSec, left), left); !st) {
      log::warning(ifname, ": announce ", p.address.str(), " deprecated: ", st.error().message);
      kept.push_back(p);  // tried again when the downstream next gets IPv6
      continue;
    }
    d.deprecated6.push_back(p);
    log::notice(ifname, ": ", p.address.str(), " announced again, deprecated until its valid lifetime ends (", left, " s)");
  }
  if (kept.empty()) carried_.erase(it);
  else it->second = std::move(kept);
}

void Applier::loadAnnounced(std::string file) {
  announcedFile_ = std::move(file);
  auto text = readFile(announcedFile_, 64 * 1024);
  if (!text) return;  // none yet
  const auto now = PdLease::Clock::now();
  for (const auto& [name, list] : parseAnnounced(*text, now, std::chrono::system_clock::now()))
    for (const auto& p : list) addAnnounced(carried_[name], p);
  announcedSaved_ = announced(now);
}

// Every downstream's announced /64s: its pd address (valid as its lease), its deprecated ones,
// and those carried; ended ones left out.
AnnouncedPrefixes Applier::announced(PdLease::Clock::time_point now) const {
  AnnouncedPrefixes all = carried_;
  for (const auto& [n, d] : downstreams_) {
    if (d.address6 && d.lease6) addAnnounced(all[n], AnnouncedPrefix{*d.address6, d.lease6->validUntil});
    for (const auto& old : d.deprecated6) addAnnounced(all[n], old);
  }
  for (auto it = all.begin(); it != all.end();) {
    std::erase_if(it->second, [&](const AnnouncedPrefix& p) { return p.validUntil <= now; });
    it = it->second.empty() ? all.erase(it) : std::next(it);
  }
  return all;
}

// The state file follows what is announced (written only when that changed: a renewal, a new
// prefix, one ended).
void Applier::saveAnnounced() {
  if (announcedFile_.empty()) return;
  const auto now = PdLease::Clock::now();
  auto all = announced(now);
  if (all == announcedSaved_) return;
  announcedSaved_ = all;
  const auto text = formatAnnounced(all, now, std::chrono::system_clock::now());
  if (text.empty()) {
    ::unlink(announcedFile_.c_str());
    return;
  }
  if (auto st = writeFileAtomic(announcedFile_, text, 0644); !st) log::warning(st.error().message);
}

Status Applier::bringUp(const std::string& ifname, const DownstreamPlan& plan, Downstream& d) {
  if (auto st = ports_.netlink.setLinkUp(ifname, true); !st)
    return makeError(Errc::IfaceCfgError, ifname + ": bring up: " + st.error().message);
  auto st = ports_.dhcp.start(DhcpService::Downstream{ifname, plan.subnet(), plan.address.address, plan.address6,
                                                      plan.localOnly, plan.ipv6 == Ipv6Mode::Relay});
  if (!st) return makeError(Errc::DhcpServerError, ifname + ": DHCP server: " + st.error().message);
  d.dhcp = true;
  if (plan.accessPoint && ports_.ap) {
    if (auto a = ports_.ap->start(ifname); !a) return makeError(Errc::TetherIfaceError, ifname + ": soft AP: " + a.error().message);
    d.ap = true;
  }
  d.complete = true;
  return {};
}

Status Applier::applyFirewall(const std::optional<FirewallState>& want) {
  if (!want) {
    if (!installed_) return {};
    auto st = ports_.firewall.reset();
    if (st) {
      installed_ = false;
      firewall_.reset();
    }
    return st;
  }
  if (installed_ && firewall_ == *want) return {};
  auto st = ports_.firewall.apply(*want);
  installed_ = true;  // or partly: unknown after a failure, so the next apply rebuilds it
  if (st) firewall_ = *want;
  else firewall_.reset();
  return st;
}

Status Applier::resetFirewall() {
  auto st = ports_.firewall.reset();
  installed_ = !st.ok();  // a held lock: leftovers may still be there, removed by a later apply
  firewall_.reset();
  return st;
}

void Applier::saveRecord() {
  std::string text;
  for (const auto& [n, d] : downstreams_)
    if (d.address) text += n + " " + d.address->str() + "\n";
  for (const auto& [n, d] : downstreams_) {
    if (d.address6) text += n + " " + d.address6->str() + "\n";
    for (const auto& old : d.deprecated6) text += n + " " + old.address.str() + "\n";
  }
  if (text.empty()) {  // nothing to undo after a crash: no record left in run_dir
    ::unlink(record_.c_str());
    return;
  }
  if (auto st = writeFileAtomic(record_, text, 0644); !st) log::warning(st.error().message);
}

void Applier::removeLeftovers() {
  auto text = readFile(record_, 64 * 1024);
  if (!text) return;
  std::istringstream in(*text);
  std::string ifname, prefix;
  while (in >> ifname >> prefix) {
    if (!validIfname(ifname)) continue;
    if (auto p6 = Ipv6Prefix::parse(prefix)) {
      if (ports_.netlink.removeAddress6(ifname, *p6))
        log::notice("removed ", p6->str(), " from ", ifname, " left by a previous run");
      continue;
    }
    auto p = Ipv4Prefix::parse(prefix);
    if (!p) continue;
    if (ports_.netlink.removeAddress(ifname, *p)) log::notice("removed ", p->str(), " from ", ifname, " left by a previous run");
  }
  ::unlink(record_.c_str());
}

void Applier::forgetDownstream(const std::string& ifname) {
  if (auto it = downstreams_.find(ifname); it != downstreams_.end()) carry6(ifname, it->second);
  downstreams_.erase(ifname);
}

std::optional<Ipv4Prefix> Applier::address(const std::string& ifname) const {
  auto it = downstreams_.find(ifname);
  if (it == downstreams_.end()) return std::nullopt;
  return it->second.address;
}

std::map<std::string, Ipv6Prefix> Applier::addresses6() const {
  std::map<std::string, Ipv6Prefix> out;
  for (const auto& [n, d] : downstreams_)
    if (d.address6) out[n] = *d.address6;
  return out;
}

std::map<std::string, Ipv4Prefix> Applier::addresses() const {
  std::map<std::string, Ipv4Prefix> out;
  for (const auto& [n, d] : downstreams_)
    if (d.address) out[n] = *d.address;
  return out;
}

}  // namespace tetherd
