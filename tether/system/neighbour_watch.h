// NeighbourWatch (issue 14 with issue 12): the clients' IPv6 addresses by MAC, from the
// kernel's neighbour table, kept current by its rtnetlink events, so that the per-client
// counters, quotas and limits cover a client's IPv6 as well as its DHCP lease.
//
// One socket of its own, subscribed to RTNLGRP_NEIGH and seeded by one dump at start. Only
// global and unique local addresses with a MAC are kept (link-local ones are never
// forwarded). SLAAC privacy addresses come and go, and a stale entry lingers in the kernel's
// table until its garbage collection: each MAC keeps its kMaxPerClient most recently seen
// addresses (any event about an address makes it the most recent; the least recent is
// forgotten first). A change to that set (an address appears, fails or is deleted) calls
// `changed` once, kDelay after the first of a burst; the events that change nothing
// (REACHABLE <-> STALE) wake the loop but cost one parse. Nothing runs while the table is
// quiet (no client traffic, no event).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <linux/netlink.h>

#include "tether/base/result.h"
#include "tether/system/netlink.h"

namespace tetherd {

// Pure: the addresses per link index and MAC, kept in order of use (most recent last).
class NeighbourBook {
 public:
  static constexpr size_t kMaxPerClient = 8;
  // An address seen (present) or gone (a FAILED entry or a deletion): returns whether the
  // set of addresses changed (not their order). Link-local, multicast and unspecified addresses are ignored.
  bool update(const Neighbour6& n, bool present);
  void clear() { links_.clear(); }
  // MAC -> addresses (sorted) on one link.
  std::map<std::string, std::vector<Ipv6Address>> on(int index) const;
  // Address text -> MAC on one link (ClientUsage attributes counters with it).
  std::map<std::string, std::string> owners(int index) const;

 private:
  std::map<int, std::map<std::string, std::vector<Ipv6Address>>> links_;
};

// An RTM_NEWNEIGH / RTM_DELNEIGH of family AF_INET6 with its address: the neighbour (the MAC
// may be empty for a deletion) and whether it is present (false: deleted or FAILED).
// nullopt for anything else (INCOMPLETE entries included: not yet known to be there).
std::optional<std::pair<Neighbour6, bool>> parseNeighbourEvent(nlmsghdr* h);

class NeighbourWatch {
 public:
  static constexpr std::chrono::milliseconds kDelay{100};
  NeighbourWatch(boost::asio::io_context& io, std::function<void()> changed);
  ~NeighbourWatch();
  Status start();
  const NeighbourBook& book() const { return book_; }

 private:
  Status dump();
  void read();
  void notify();
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  std::function<void()> changed_;
  NeighbourBook book_;
  bool pending_ = false;
  uint32_t seq_ = 0;
  alignas(8) std::array<char, 32768> buf_{};
};

}  // namespace tetherd
