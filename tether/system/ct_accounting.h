// Conntrack's accounting of flows (issue 18): the per-direction counters of IPv4 entries
// carrying a mark bit, read by a filtered ctnetlink dump (NlConntrack::markedFlows) and, for the
// flows that end, from ctnetlink's destroy events (CtDestroyWatch). Flowtable-offloaded packets
// skip every netfilter hook, but with the flowtable's `counter` and net.netfilter.
// nf_conntrack_acct=1 they are still added to their conntrack entry's counters.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include <linux/netlink.h>

#include "tether/base/result.h"
#include "tether/system/nl_conntrack.h"

struct nlattr;

namespace tetherd {

// A CTA_TUPLE_ORIG/REPLY attribute of an IPv4 entry: addresses, protocol, ports; nullopt for
// anything else (also used by NlConntrack's deletes).
std::optional<CtTuple> parseCtTuple(nlattr* attr);

// An IPCTNL_MSG_CT_NEW or _DELETE message of an IPv4 entry (a dump's reply or an event);
// nullopt for anything else.
std::optional<CtCounted> parseCtCounted(const nlmsghdr* h);

// Destroy events of entries whose mark has all bits of `mark`: the final counters of each,
// handed to `ended`. The socket buffer is large (events are read on the loop; drain() reads
// what is queued now, before a dump). Events lost to an overrun are logged (their flows' last
// bytes since the previous dump are lost).
class CtDestroyWatch {
 public:
  CtDestroyWatch(boost::asio::io_context& io, uint32_t mark, std::function<void(const CtCounted&)> ended);
  Status start();
  void stop();
  void drain();
  bool running() const { return fd_.is_open(); }

 private:
  void read();
  void take();
  boost::asio::posix::stream_descriptor fd_;
  uint32_t mark_;
  std::function<void(const CtCounted&)> ended_;
  std::array<char, 32768> buf_{};
};

}  // namespace tetherd
