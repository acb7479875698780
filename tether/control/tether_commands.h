// The netd-style control-socket commands of the tethering core, as thin text adapters over
// TetherManager's operations (the web API adapts the same operations to JSON).
#pragma once

#include "tether/core/client_actions.h"
#include "tether/core/client_usage.h"
#include "tether/control/command_table.h"
#include "tether/core/tether_manager.h"

namespace tetherd {

void registerTetherCommands(CommandTable& table, TetherManager& manager);
// `client kick|block|unblock <mac>`, `client blocked`, `client list`: any downstream's clients.
// With `usage`: `client usage [<mac>]`, and `client list` shows today's rx_bytes= tx_bytes=.
void registerClientCommands(CommandTable& table, ClientActions& clients, ClientUsage* usage = nullptr);

// One-line descriptions shared by the control socket and the web API.
std::string describeDownstream(const TetherManager::DownstreamStatus& d);
std::string describeUpstream(const UpstreamView& v, int rank, bool selected);
// The IPv6 part of `tether status`: " ipv6=off" while IPv6 is off, else
// " ipv6=auto ipv6_mode=pd delegated=2001:db8:0:10::/60 preferred=1800s valid=3600s
// ipv6_left=none ipv6.usb0=pd,2001:db8:0:11::/64 ipv6.wlan0=none" (ipv6_mode: what `auto` or
// `pd` resolved to; preferred/valid: the lifetimes left, "infinite" for 4294967295;
// ipv6_left: the downstreams the delegation had no /64 for; one ipv6.<if>= per configured
// downstream: its mode and /64, or none).
// The offload part of `tether status`: " offload=off", " offload=active", or
// " offload=inactive offload_reason=\"kernel without flowtable support (nf_flow_table)\"".
std::string describeOffload(const OffloadStatus& s);
std::string describeIpv6Status(const TetherManager::Ipv6Upstream& v6,
                               const std::vector<TetherManager::DownstreamStatus>& downstreams);
// A `client list` line: "mac=02:de:ad:be:ef:01 ip=192.168.42.10 hostname=phone downstream=usb0
// kind=usb expires=1700000600 hwtype=6 client_id=none blocked=no" (expires: seconds since the
// epoch or "never"; mac=none when the lease has no 6-byte hardware address).
std::string describeClient(const DownstreamClients& d, const Lease& lease, bool blocked);
// A `client pinned` line: "<mac> <ip>[ <hostname>]". `client list` adds " pinned=<ip>" to a
// pinned client's line.
std::string describePin(const StaticLease& pin);

}  // namespace tetherd
