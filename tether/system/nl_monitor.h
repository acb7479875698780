// The event monitor that keeps an owner's view of links, IPv4 addresses and IPv4 default
// routes current, over libnl-3 (libnl stays inside nl_monitor.cpp). Not thread-safe: use it
// from the one thread that runs the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "tether/system/netlink.h"

namespace tetherd {

// Kernel events as NetEvents, delivered from the io_context. start() subscribes first and
// then reads the current links and default routes, so an owner that calls start() before
// its own initial dump misses nothing.
//
// The monitor keeps its own copy of links and default routes so that it can tell a new link
// from a changed one (both are RTM_NEWLINK), drop kernel messages that change nothing the
// owner sees, and report the default routes the kernel removes without a message: IPv4
// routes flushed when their link goes down or away or loses its last address, and a route
// replaced by `ip route replace`. Events therefore mirror the kernel's state: no RouteAdded
// for a route already reported, no RouteRemoved or LinkRemoved for one never reported.
//
// The callback may call into any Netlink, stop() the monitor, start() it again, or destroy
// it; no further events from the old subscription are delivered after stop(). Destroy the
// monitor before its io_context.
class NetlinkMonitor {
 public:
  using Callback = std::function<void(const NetEvent&)>;

  NetlinkMonitor(boost::asio::io_context& io, Callback callback);
  ~NetlinkMonitor();
  NetlinkMonitor(const NetlinkMonitor&) = delete;
  NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;

  Status start();  // idempotent
  void stop();     // idempotent
  bool running() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tetherd
