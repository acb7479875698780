// ClientActions: kick, block and unblock a client of any downstream, for the control socket
// (`client ...`) and the web API alike (one implementation, two front ends).
//
// A client is named by its MAC. Where it is decides what a kick does:
//   - a station of the soft AP: deauthenticated by hostapd (it may come back);
//   - the host on a USB downstream: the gadget is unbound and bound again (a cable replug);
//   - a device on the Bluetooth downstream: BlueZ disconnects it (Device1.Disconnect);
//   - a client on a wired (Ethernet) downstream cannot be disconnected from here: refused,
//     with a hint to block it instead.
// The downstream of a non-Wi-Fi client is the one whose DHCP leases (DhcpService::leases, the
// one lease reader) hold its MAC, whatever hardware type its DHCP request carried.
// A block is the manager's (firewall drop on every downstream, kept in state_dir) plus, with a
// soft AP, hostapd's deny list (no association at all). Nothing half-applies: a deny-list
// failure takes the firewall block back.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tether/base/result.h"
#include "tether/core/tether_manager.h"
#include "tether/system/netlink.h"

namespace tetherd {

// The clients of one configured downstream: its current DHCP leases.
struct DownstreamClients {
  std::string ifname;
  IfaceKind kind = IfaceKind::Ethernet;
  std::vector<Lease> leases;  // in the lease file's order
  // IPv6 addresses seen for each client MAC (the neighbour table; global ones only).
  std::map<std::string, std::vector<Ipv6Address>> ipv6{};
  bool operator==(const DownstreamClients&) const = default;
};

// What the radios offer; any may be empty (that radio is not there).
struct ClientHooks {
  std::function<bool(const std::string& mac)> isWifiStation;
  std::function<void(const std::string& mac, std::function<void(Status)>)> wifiKick;
  std::function<Status(const std::string& mac)> wifiBlock;    // deny list (+ deauth)
  std::function<Status(const std::string& mac)> wifiUnblock;  // NotFound when not denied
  std::function<std::vector<std::string>()> wifiBlocked;
  std::function<Status()> usbReplug;
  std::function<void(const std::string& mac, std::function<void(Status)>)> bluetoothDisconnect;
  std::function<Result<std::vector<Neighbour6>>(const std::string& ifname)> neighbours6;  // IPv6 of clients
};

class ClientActions {
 public:
  ClientActions(TetherManager& manager, const DhcpService& dhcp, ClientHooks hooks)
      : manager_(manager), dhcp_(dhcp), hooks_(std::move(hooks)) {}

  // done() gets the outcome: at once for a refused request or a USB replug, else when the
  // radio answers (from the loop).
  void kick(const std::string& mac, std::function<void(Status)> done);
  Status block(const std::string& mac);
  Status unblock(const std::string& mac);
  std::vector<std::string> blocked() const;  // sorted, each once
  // Static leases (issue 14): pin a MAC to an address (none: its current lease's) and an
  // optional host name, checked by checkPin against every configured downstream's subnet and
  // leases and the other pins; unpin is NotFound when the MAC is not pinned. Re-pinning a MAC
  // replaces its pin. Leases that expired before nowEpochSec do not count.
  Status pin(const std::string& mac, const std::optional<std::string>& ip, const std::string& hostname,
             long long nowEpochSec);
  Status unpin(const std::string& mac);
  std::vector<StaticLease> pinned() const;  // by MAC
  // Rate limits (issue 14): `down` and `up` are rates ("5Mbit", "2MB/s") or "off"; both off
  // removes the client's limit (NotFound when it had none).
  Status limit(const std::string& mac, const std::string& down, const std::string& up);
  ClientLimits limits() const { return manager_.clientLimits(); }
  // Quotas (issue 14): `size` a size ("5MB", "2GB") with an optional period (day, month,
  // total; default day), "off" (NotFound when it had none) or "reset" (the period starts again).
  Status quota(const std::string& mac, const std::string& size, const std::string& period = "");
  Status setQuota(const QuotaRequest& q) { return manager_.setQuota(q, false); }  // checked: checkClientQuota
  const Quotas& quotas() const { return manager_.quotas(); }
  std::vector<QuotaRow> quotaRows() const { return manager_.quotaRows(); }

  // The configured downstream whose leases hold `mac` (normalised), if any.
  std::optional<TetherManager::DownstreamStatus> downstreamOf(const std::string& mac) const;
  // Every configured downstream (one with an address: an unconfigured one's leases are
  // history) in the manager's order, with its leases that have not expired at nowEpochSec
  // (expiry 0 never does): what `client list` and the page's client list show.
  std::vector<DownstreamClients> clients(long long nowEpochSec) const;

 private:
  TetherManager& manager_;
  const DhcpService& dhcp_;
  ClientHooks hooks_;
};

}  // namespace tetherd
