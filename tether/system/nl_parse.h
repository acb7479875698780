// Pure translation of rtnetlink messages into tetherd's values: what NlNetlink reads from its
// dumps and what NetlinkMonitor turns into NetEvents. No socket and no libnl objects, only
// libnl's message/attribute accessors on a raw buffer; split out of nl_netlink.cpp so that the
// netlink fuzzer (tests/fuzz/netlink_fuzzer.cpp) can reach it.
//
// Every function takes one message as libnl hands it to a callback: h->nlmsg_len bytes
// readable at h (nlmsg_ok() held on the received buffer), 4-byte aligned. Anything else in the
// message is untrusted.
#pragma once

#include <linux/netlink.h>

#include <map>
#include <optional>
#include <vector>

#include "tether/system/kernel_view.h"
#include "tether/system/netlink.h"

namespace tetherd::rtnl {

// RTM_NEWLINK / RTM_DELLINK of family AF_UNSPEC with a positive index; nullopt otherwise.
std::optional<LinkInfo> parseLink(nlmsghdr* h);
// RTM_NEWADDR / RTM_DELADDR, IPv4 only; ifname is the label without an alias suffix.
std::optional<AddrInfo> parseAddr(nlmsghdr* h);
// RTM_NEWROUTE / RTM_DELROUTE: the IPv4 unicast default routes of a table `tables` learns,
// one per nexthop, with their table; empty for any other route. ifname is left empty.
std::vector<DefaultRoute> parseDefaultRoutes(nlmsghdr* h, const LearntTables& tables);
// The same for IPv6: global addresses (scope universe) and default routes of learnt tables
// (a multipath one, RTA_MULTIPATH, one per nexthop).
std::optional<Addr6Info> parseAddr6(nlmsghdr* h);
std::vector<DefaultRoute6> parseDefaultRoutes6(nlmsghdr* h, const LearntTables& tables);

// RTM_NEWNEIGH of family AF_INET6 with a 6-byte link-layer address, in a usable state
// (not FAILED or INCOMPLETE); nullopt otherwise.
std::optional<Neighbour6> parseNeighbour6(nlmsghdr* h);

// The identity of a default route for the kernel: which route an event talks about.
bool sameRoute(const DefaultRoute& a, const DefaultRoute& b);

// NetlinkMonitor's handling of one event message: updates the kernel view (links by index,
// addresses, the default routes of view.tables reported so far), appends the NetEvents readers must see to
// `events`, and returns true when the default routes must be compared with the kernel's (the
// kernel may have flushed some without a message).
bool translateEvent(nlmsghdr* h, KernelView& view, std::vector<NetEvent>& events);

}  // namespace tetherd::rtnl
