// The event monitor that keeps the one KernelView (links, IPv4 addresses, IPv4 default
// routes) current, over libnl-3 (libnl stays inside nl_monitor.cpp). Not thread-safe: use it
// from the one thread that runs the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "tether/system/kernel_view.h"
#include "tether/system/netlink.h"

namespace tetherd {

// Kernel events as NetEvents, delivered from the io_context, and the one KernelView kept
// current. start() subscribes first and then reads the current links, addresses and default
// routes into the view, so nothing falls between the two.
//
// The monitor keeps no copy of its own: it writes the view it is given (owned by the daemon,
// read by everyone else), and uses it to tell a new link from a changed one (both are
// RTM_NEWLINK), drop kernel messages that change nothing readers see, and report the default
// routes the kernel removes without a message: IPv4 routes flushed when their link goes down
// or away or loses its last address, and a route replaced by `ip route replace`. Events
// therefore mirror the view: no RouteAdded for a route already reported, no RouteRemoved or
// LinkRemoved for one never reported. When a batch of events is delivered the view already
// shows the whole batch. After an overrun the view is replaced whole and Resync delivered.
//
// The callback may call into any Netlink, stop() the monitor, start() it again, or destroy
// it; no further events from the old subscription are delivered after stop(). Destroy the
// monitor before its io_context.
class NetlinkMonitor {
 public:
  using Callback = std::function<void(const NetEvent&)>;

  NetlinkMonitor(boost::asio::io_context& io, KernelView& view, Callback callback);
  ~NetlinkMonitor();
  NetlinkMonitor(const NetlinkMonitor&) = delete;
  NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;

  Status start();  // idempotent
  void stop();     // idempotent
  bool running() const;
  const KernelView& view() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tetherd
