#include "tether/control/tether_commands.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include "tether/control/usage_commands.h"
#include "tether/core/doctor.h"

namespace tetherd {

using control::Request;
using control::Responder;
namespace code = control::code;

namespace {

template <class Address>
std::string joinAddrs(const std::vector<Address>& v, char sep = ',') {
  std::string out;
  for (const auto& a : v) {
    if (!out.empty()) out += sep;
    out += a.str();
  }
  return out.empty() ? "none" : out;
}

void finishStatus(const Responder& r, const Status& st, const std::string& okMessage) {
  if (st) r.finish(code::CommandOkay, okMessage);
  else r.fail(st.error());
}

void usage(const Responder& r, const std::string& text) { r.finish(code::CommandSyntaxError, "Usage: " + text); }

}  // namespace

std::string describeDownstream(const TetherManager::DownstreamStatus& d) {
  std::string s = d.ifname + " kind=" + ifaceKindName(d.kind) + " state=" + TetherInterfaceMachine::stateName(d.state) +
                  " address=" + (d.address ? d.address->str() : "none") + " dhcp=" + (d.dhcpRunning ? "running" : "stopped") +
                  " wanted=" + (d.requested ? "yes" : "no") + " ipv6=" + ipv6ModeName(d.ipv6) +
                  " ipv6_prefix=" + (d.ipv6Prefix ? d.ipv6Prefix->str() : "none");
  if (d.error.code != Errc::Ok) s += std::string(" error=") + errcName(d.error.code) + " cause=\"" + d.error.message + "\"";
  return s;
}

std::string describeUpstream(const UpstreamView& v, int rank, bool selected) {
  std::string s = v.ifname + " priority=" + std::to_string(rank) + " exists=" + (v.exists ? "yes" : "no") +
                  " up=" + (v.up ? "yes" : "no") + " route=" + (v.defaultRoute ? "yes" : "no") + " dns=" + joinAddrs(v.dns) +
                  " selected=" + (selected ? "yes" : "no");
  // The health probes: state, the last probe's age (s) and RTT (ms), the portal, the cause.
  s += std::string(" validation=") + validationName(v.validation) + " last_probe=" +
       (v.lastProbeAgoMs ? std::to_string(*v.lastProbeAgoMs / 1000) + "s" : std::string("never")) +
       " rtt=" + (v.lastProbeAgoMs ? std::to_string(v.rttMs) + "ms" : std::string("none")) +
       " portal=" + (v.portalUrl.empty() ? std::string("none") : control::quoteValue(v.portalUrl)) +
       " detail=" + (v.detail.empty() ? std::string("none") : control::quoteValue(v.detail));
  // IPv6: its default route and servers (an IPv6-only candidate is selectable, upstream.h).
  s += std::string(" route6=") + (v.defaultRoute6 ? "yes" : "no") + " dns6=" + joinAddrs(v.dns6);
  return s;
}

std::string describeOffload(const OffloadStatus& s) {
  if (!s.configured) return " offload=off";
  if (s.active) return " offload=active";
  return " offload=inactive offload_reason=" + control::quoteValue(s.reason);
}

std::string describeIpv6Status(const TetherManager::Ipv6Upstream& v6,
                               const std::vector<TetherManager::DownstreamStatus>& downstreams) {
  std::string s = std::string(" ipv6=") + ipv6ModeName(v6.configured);
  if (v6.configured == Ipv6Mode::Off) return s;
  auto secs = [](uint32_t n) { return n == 4294967295u ? std::string("infinite") : std::to_string(n) + "s"; };
  s += std::string(" ipv6_mode=") + ipv6ModeName(v6.mode) + " delegated=" + (v6.delegated ? v6.delegated->str() : "none");
  if (v6.delegated) s += " preferred=" + secs(v6.preferredSec) + " valid=" + secs(v6.validSec);
  std::string left;
  for (const auto& n : v6.pdLeft) left += (left.empty() ? "" : ",") + n;
  s += " ipv6_left=" + (left.empty() ? std::string("none") : left);
  for (const auto& d : downstreams) {
    if (!d.address) continue;  // not configured
    s += " ipv6." + d.ifname + "=" +
         (d.ipv6Prefix ? std::string(ipv6ModeName(d.ipv6)) + "," + d.ipv6Prefix->str() : std::string("none"));
  }
  return s;
}

namespace {

// " ipv6=<the client's IPv6 addresses, comma-separated, sorted>", or nothing when none is
// known (so that an IPv4-only line stays what it was).
std::string ipv6Text(const DownstreamClients& d, const std::string& mac) {
  auto it = d.ipv6.find(mac);
  if (it == d.ipv6.end() || it->second.empty()) return "";
  auto addrs = it->second;
  std::sort(addrs.begin(), addrs.end());
  std::string s;
  for (const auto& a : addrs) s += (s.empty() ? "" : ",") + a.str();
  return " ipv6=" + s;
}

}  // namespace

std::string describePin(const StaticLease& p) {
  return p.mac + " " + p.ip.str() + (p.hostname.empty() ? "" : " " + p.hostname);
}

std::string describeClient(const DownstreamClients& d, const Lease& l, bool blocked) {
  auto orNone = [](const std::string& v) { return v.empty() ? std::string("none") : v; };
  return "mac=" + orNone(l.mac) + " ip=" + l.ip.str() + " hostname=" + orNone(l.hostname) + " downstream=" + d.ifname +
         " kind=" + ifaceKindName(d.kind) + " expires=" + (l.expiry == 0 ? "never" : std::to_string(l.expiry)) +
         " hwtype=" + std::to_string(l.hwType) + " client_id=" + orNone(l.clientId) + " blocked=" + (blocked ? "yes" : "no") +
         ipv6Text(d, l.mac);
}

void registerTetherCommands(CommandTable& table, TetherManager& m) {
  table.add("tether",
            "tether start|stop|status|clear-error | tether interface add|remove|list [<if>] | tether dns set <ip>...|clear|list | tether stats"
            " | tether doctor | tether quota <if> <size> [day|month|total]|off|reset | tether quotas",
            [&m](const Request& req, const Responder& r) {
              const auto& a = req.args;
              const std::string sub = a.empty() ? "" : a[0];
              if (sub == "quota") {
                return quotaCommand({a.begin() + 1, a.end()}, [&m](const QuotaRequest& q) { return m.setQuota(q, true); }, true, r);
              }
              if (sub == "quotas" && a.size() == 1) return quotasCommand(m.quotaRows(), true, r);
              if (sub == "start" && a.size() == 1) return finishStatus(r, m.startTethering(), "Tethering started");
              if (sub == "stop" && a.size() == 1) return finishStatus(r, m.stopTethering(), "Tethering stopped");
              if (sub == "clear-error" && a.size() == 1) return finishStatus(r, m.clearError(), "Error cleared");
              if (sub == "status" && a.size() == 1) {
                std::string msg = std::string("Tethering ") + (m.tetheringStarted() ? "started" : "stopped") +
                                  " master=" + TetherMasterMachine::stateName(m.masterState()) +
                                  " upstream=" + m.upstream().value_or("none") + " dns=" + joinAddrs(m.dnsForwarders()) +
                                  " shaping=" + m.shapingQueue();
                msg += describeIpv6Status(m.ipv6Upstream(), m.downstreams());
                msg += describeOffload(m.offload());
                if (m.masterError().code != Errc::Ok)
                  msg += std::string(" error=") + errcName(m.masterError().code) + " cause=\"" + m.masterError().message + "\"";
                return r.finish(code::TetherStatus, msg);
              }
              if (sub == "interface" && a.size() == 3 && a[1] == "add") return finishStatus(r, m.addInterface(a[2]), a[2] + " requested");
              if (sub == "interface" && a.size() == 3 && a[1] == "remove")
                return finishStatus(r, m.removeInterface(a[2]), a[2] + " released");
              if (sub == "interface" && a.size() == 2 && a[1] == "list") {
                for (const auto& d : m.downstreams()) r.line(code::TetherInterfaceList, describeDownstream(d));
                return r.finish(code::CommandOkay, "Tether interface list completed");
              }
              if (sub == "dns" && a.size() >= 2 && a[1] == "list") {
                for (const auto& s : m.dnsForwarders()) r.line(code::TetherDnsFwdTgtList, s.str());
                return r.finish(code::CommandOkay, "Tether dns list completed");
              }
              if (sub == "dns" && a.size() == 2 && a[1] == "clear")
                return finishStatus(r, m.setDnsOverride({}), "DNS forwarders follow the upstream");
              if (sub == "dns" && a.size() >= 3 && a[1] == "set") {
                std::vector<Ipv4Address> servers;
                for (size_t i = 2; i < a.size(); ++i) {
                  auto ip = Ipv4Address::parse(a[i]);
                  if (!ip) return r.fail(makeError(Errc::InvalidArgument, "'" + a[i].substr(0, 40) + "' is not an IPv4 address"));
                  servers.push_back(*ip);
                }
                if (servers.size() > 8) return r.fail(makeError(Errc::InvalidArgument, "at most 8 DNS servers"));
                return finishStatus(r, m.setDnsOverride(servers), "DNS forwarders set");
              }
              if (sub == "stats" && a.size() == 1) {
                auto st = m.stats();
                if (!st) return r.fail(st.error());
                for (const auto& c : *st)
                  r.line(code::TetheringStatsList, c.downstream + " " + c.upstream + " rx_bytes=" + std::to_string(c.rxBytes) +
                                                       " rx_packets=" + std::to_string(c.rxPackets) +
                                                       " tx_bytes=" + std::to_string(c.txBytes) +
                                                       " tx_packets=" + std::to_string(c.txPackets));
                return r.finish(code::CommandOkay, "Tethering stats list completed");
              }
              if (sub == "doctor" && a.size() == 1) {  // why clients may have no internet, one line each
                size_t problems = 0;
                for (const auto& line : doctor::diagnose(doctor::gatherFacts(m))) {
                  r.line(code::DoctorList, line);
                  if (line.rfind("problem ", 0) == 0) ++problems;
                }
                return r.finish(code::CommandOkay, problems == 0 ? "Doctor found no problem"
                                                                 : "Doctor found " + std::to_string(problems) + " problem(s)");
              }
              usage(r, "tether start|stop|status|clear-error|stats|doctor | tether interface add|remove <if> | tether interface list | "
                       "tether dns set <ip>...|clear|list");
            });

  table.add("nat", "nat enable|disable <internal-if> <external-if>", [&m](const Request& req, const Responder& r) {
    const auto& a = req.args;
    if (a.size() != 3 || (a[0] != "enable" && a[0] != "disable")) return usage(r, "nat enable|disable <internal-if> <external-if>");
    if (a[0] == "enable") return finishStatus(r, m.enableNat(a[1], a[2]), "Nat enabled " + a[1] + " -> " + a[2]);
    finishStatus(r, m.disableNat(a[1], a[2]), "Nat disabled " + a[1] + " -> " + a[2]);
  });

  table.add("ipfwd", "ipfwd enable|disable [requester] | ipfwd status", [&m](const Request& req, const Responder& r) {
    const auto& a = req.args;
    if (a.size() == 1 && a[0] == "status") {
      auto on = m.ipfwdKernelOn();
      if (!on) return r.fail(on.error());
      std::string reqs;
      for (const auto& q : m.ipfwdRequesters()) reqs += (reqs.empty() ? "" : ",") + q;
      return r.finish(code::IpFwdStatus, std::string("Forwarding ") + (*on ? "enabled" : "disabled") +
                                             " requesters=" + (reqs.empty() ? "none" : reqs));
    }
    if ((a.size() == 1 || a.size() == 2) && (a[0] == "enable" || a[0] == "disable")) {
      std::string who = a.size() == 2 ? a[1] : "tetherctl";
      if (who.size() > 32 || who.find_first_of(" ,=\"") != std::string::npos)
        return r.fail(makeError(Errc::InvalidArgument, "requester must be a word of at most 32 characters"));
      if (a[0] == "enable") return finishStatus(r, m.ipfwdEnable(who), "ipfwd operation succeeded");
      return finishStatus(r, m.ipfwdDisable(who), "ipfwd operation succeeded");
    }
    usage(r, "ipfwd enable|disable [requester] | ipfwd status");
  });

  table.add("interface", "interface list | interface getcfg <if>", [&m](const Request& req, const Responder& r) {
    const auto& a = req.args;
    if (a.size() == 1 && a[0] == "list") {
      for (const auto& l : m.links()) r.line(code::InterfaceList, l.name);
      return r.finish(code::CommandOkay, "Interface list completed");
    }
    if (a.size() == 2 && a[0] == "getcfg") {
      for (const auto& l : m.links()) {
        if (l.name != a[1]) continue;
        auto addrs = m.addressesOf(l.name);
        std::string addr = addrs.empty() ? "none" : addrs.front().prefix.str();
        return r.finish(code::InterfaceGetCfg, l.name + " address=" + addr + " admin=" + (l.adminUp ? "up" : "down") +
                                                   " carrier=" + (l.lowerUp ? "yes" : "no") + " index=" + std::to_string(l.index));
      }
      return r.fail(makeError(Errc::UnknownIface, "interface " + a[1].substr(0, 32) + " does not exist"));
    }
    usage(r, "interface list | interface getcfg <if>");
  });

  table.add("upstream", "upstream list | upstream set-priority <if>...", [&m](const Request& req, const Responder& r) {
    const auto& a = req.args;
    if (a.size() == 1 && a[0] == "list") {
      int rank = 1;
      auto chosen = m.upstream();
      for (const auto& v : m.upstreams()) {
        std::string line = describeUpstream(v, rank++, chosen == v.ifname);
        if (chosen == v.ifname) line += " reason=" + control::quoteValue(m.upstreamReason());
        r.line(code::UpstreamList, line);
      }
      return r.finish(code::CommandOkay, "Upstream list completed");
    }
    if (a.size() >= 1 && a[0] == "set-priority") {
      std::vector<std::string> names(a.begin() + 1, a.end());
      return finishStatus(r, m.setUpstreamPriority(names), "Upstream priority set");
    }
    usage(r, "upstream list | upstream set-priority <if>...");
  });
}

void registerClientCommands(CommandTable& table, ClientActions& clients, ClientUsage* counted) {
  const std::string help =
      "client list | client kick|block|unblock <mac> | client blocked | client pin <mac> [<ip> [<hostname>]] | "
      "client unpin <mac> | client pinned | client limit <mac> <down> <up>|off | client limits | client quota <mac> <size> [day|month|total]|off|reset | client quotas | client usage [<mac>]";
  table.add("client", help, [&clients, counted, help](const Request& req, const Responder& r) {
    const auto& a = req.args;
    const std::string sub = a.empty() ? "" : a[0];
    if (sub == "usage" && counted != nullptr) return clientUsageCommand({a.begin() + 1, a.end()}, *counted, r);
    if (sub == "blocked" && a.size() == 1) {
      for (const auto& m : clients.blocked()) r.line(code::StationList, m);
      return r.finish(code::CommandOkay, "blocked clients listed");
    }
    if (sub == "pinned" && a.size() == 1) {
      for (const auto& p : clients.pinned()) r.line(code::StationList, describePin(p));
      return r.finish(code::CommandOkay, "pinned clients listed");
    }
    if (sub == "limits" && a.size() == 1) {
      for (const auto& [mac, l] : clients.limits()) r.line(code::StationList, describeClientLimit(mac, l));
      return r.finish(code::CommandOkay, "limited clients listed");
    }
    if (sub == "limit" && (a.size() == 3 || a.size() == 4)) {
      if (a.size() == 3 && a[2] != "off") return usage(r, help);
      return finishStatus(r, clients.limit(a[1], a[2], a.size() == 4 ? a[3] : "off"), a[1] + " limit set");
    }
    if (sub == "quota") {
      return quotaCommand({a.begin() + 1, a.end()}, [&clients](const QuotaRequest& q) { return clients.setQuota(q); }, false, r);
    }
    if (sub == "quotas" && a.size() == 1) return quotasCommand(clients.quotaRows(), false, r);  // with what each used
    if (sub == "pin" && a.size() >= 2 && a.size() <= 4) {
      std::optional<std::string> ip;
      if (a.size() >= 3) ip = a[2];
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
      return finishStatus(r, clients.pin(a[1], ip, a.size() == 4 ? a[3] : "", now.count()), a[1] + " pinned");
    }
    if (sub == "list" && a.size() == 1) {  // every downstream's leases, ordered as the page orders them
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
      const auto all = clients.clients(now.count());
      std::vector<std::pair<const DownstreamClients*, const Lease*>> rows;
      for (const auto& d : all)
        for (const auto& l : d.leases) rows.emplace_back(&d, &l);
      std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
        return std::tie(x.first->ifname, x.second->ip, x.second->mac) < std::tie(y.first->ifname, y.second->ip, y.second->mac);
      });
      const auto blockedList = clients.blocked();
      const std::set<std::string> blocked(blockedList.begin(), blockedList.end());
      std::map<std::string, std::string> pinned;
      for (const auto& p : clients.pinned()) pinned[p.mac] = p.ip.str();
      if (counted != nullptr) counted->sample();
      const auto today = counted != nullptr ? counted->todayTotals() : std::map<std::string, UsageBytes>{};
      std::map<std::string, QuotaRow> quotas;
      for (auto& q : clients.quotaRows())
        if (!q.downstream) quotas[q.key] = std::move(q);
      for (const auto& [d, l] : rows) {
        auto line = describeClient(*d, *l, blocked.count(l->mac) > 0);
        if (counted != nullptr) line += usageFields(today, l->mac);
        if (auto q = quotas.find(l->mac); q != quotas.end())
          line += " quota=" + std::to_string(q->second.quota.bytes) + " remaining=" + std::to_string(quotaRemaining(q->second.quota.bytes, q->second.used));
        if (auto it = pinned.find(l->mac); it != pinned.end()) line += " pinned=" + it->second;
        r.line(code::ClientList, line);
      }
      return r.finish(code::CommandOkay, "Client list completed");
    }
    if (a.size() != 2) return usage(r, help);
    const std::string& mac = a[1];
    if (sub == "kick")
      return clients.kick(mac, [r, mac](Status st) { finishStatus(r, st, mac + " kicked"); });
    if (sub == "block") return finishStatus(r, clients.block(mac), mac + " blocked");
    if (sub == "unblock") return finishStatus(r, clients.unblock(mac), mac + " unblocked");
    if (sub == "unpin") return finishStatus(r, clients.unpin(mac), mac + " unpinned");
    usage(r, help);
  });
}

}  // namespace tetherd
