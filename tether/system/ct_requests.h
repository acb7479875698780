// ctnetlink's requests and IPv6 entries as pure functions (no socket): what NlConntrack sends
// (a dump of one family's entries; the delete of one dumped entry by its original tuple and
// zone) and how an IPv6 entry reads. Tested on the exact bytes (tests/unit/ct_requests_test.cpp).
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "tether/base/ip6.h"

struct nl_msg;

namespace tetherd {

// An IPv6 entry's addresses in both directions, with its protocol.
struct CtEntry6 {
  Ipv6Address origSrc, origDst, replySrc, replyDst;
  uint8_t proto = 0;
  bool operator==(const CtEntry6&) const = default;
};

// natedTo for IPv6 (nat66): the answers go to `address`, while the flow did not come from there.
bool natedTo6(const CtEntry6& e, const Ipv6Address& address);

namespace ctnl {

struct MsgFree {
  void operator()(nl_msg* m) const;
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

// IPCTNL_MSG_CT_GET with NLM_F_DUMP for one family (AF_INET, AF_INET6); nullptr without memory.
MsgPtr dumpRequest(uint8_t family);
// IPCTNL_MSG_CT_DELETE with NLM_F_ACK for an entry of a dump (IPCTNL_MSG_CT_NEW): its family,
// its CTA_TUPLE_ORIG and, when it has one, CTA_ZONE; nullptr for anything else.
MsgPtr deleteRequest(nlmsghdr* entry);
// An IPCTNL_MSG_CT_NEW or _DELETE message of an AF_INET6 entry; nullopt for anything else.
std::optional<CtEntry6> parseEntry6(nlmsghdr* h);

}  // namespace ctnl
}  // namespace tetherd
