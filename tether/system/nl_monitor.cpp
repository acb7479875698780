// NetlinkMonitor: rtnetlink events (links, IPv4 addresses, IPv4 routes) on a socket of its
// own, read on the Asio loop and translated by rtnl::translateEvent (nl_parse.cpp).
#include "tether/system/nl_monitor.h"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <algorithm>
#include <exception>
#include <map>
#include <utility>
#include <vector>

#include "tether/base/log.h"
#include "tether/system/nl_netlink.h"
#include "tether/system/nl_parse.h"

namespace tetherd {

namespace asio = boost::asio;

namespace {

std::string nlReason(int err) { return nl_geterror(err); }

using rtnl::sameRoute;

}  // namespace

struct NetlinkMonitor::Impl : std::enable_shared_from_this<NetlinkMonitor::Impl> {
  // Receives per io_context turn before yielding to other work (then we post ourselves).
  static constexpr int kMaxReadsPerTurn = 256;
  // Receives while throwing away the queue after an overrun.
  static constexpr int kMaxDiscardReads = 8192;
  static constexpr int kReceiveBuffer = 1 << 20;  // the kernel caps it at net.core.rmem_max

  Impl(asio::io_context& io, KernelView& view, Callback callback)
      : io(io), callback(std::move(callback)), descriptor(io), view(view) {}
  ~Impl() { close(); }

  asio::io_context& io;
  Callback callback;
  asio::posix::stream_descriptor descriptor;
  nl_sock* sk = nullptr;
  nl_cb* cb = nullptr;
  NlNetlink requests;  // seeding and reconciling, on a socket of its own
  bool running = false;
  uint64_t generation = 0;

  // The view the events describe (the daemon's; this is its only writer).
  KernelView& view;

  // Filled while libnl parses, delivered after nl_recvmsgs has returned.
  std::vector<NetEvent> pending;
  bool reconcile = false;
  bool overrun = false;
  bool discarding = false;

  Status start();
  void stop();
  void close();
  void arm();
  void onReadable(uint64_t gen);
  void handle(nlmsghdr* h);
  Status reseed();
  void reconcileRoutes();
  void emit(NetEvent::Type type, const LinkInfo* link, const AddrInfo* addr, const DefaultRoute* route);

  static int onMessage(nl_msg* msg, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    if (self->discarding) return NL_OK;
    try {
      self->handle(nlmsg_hdr(msg));
    } catch (...) {  // never let an exception cross libnl's C frames
      self->overrun = true;  // state is unsure now: have the owner read it again
    }
    return NL_OK;
  }
};

Status NetlinkMonitor::Impl::start() {
  if (running) return {};
  auto fail = [this](const std::string& what, int err) -> Status {
    close();
    return makeError(Errc::SystemError, "netlink monitor: " + what + ": " + nlReason(err));
  };
  sk = nl_socket_alloc();
  if (sk == nullptr) return fail("allocate socket", -NLE_NOMEM);
  nl_socket_disable_seq_check(sk);  // events are not answers to our requests
  if (int err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, &Impl::onMessage, this); err < 0) {
    return fail("set callback", err);
  }
  if (int err = nl_connect(sk, NETLINK_ROUTE); err < 0) return fail("connect", err);
  if (int err = nl_socket_add_memberships(sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
                                                RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE, 0); err < 0) {
    return fail("join groups", err);
  }
  if (int err = nl_socket_set_nonblocking(sk); err < 0) return fail("set non-blocking", err);
  if (int err = nl_socket_set_buffer_size(sk, kReceiveBuffer, 0); err < 0) {
    log::warning("netlink monitor: cannot enlarge the receive buffer: ", nlReason(err));
  }
  cb = nl_socket_get_cb(sk);  // a reference of our own, for nl_recvmsgs_report
  if (cb == nullptr) return fail("get callbacks", -NLE_NOMEM);

  // Subscribed first, then read: nothing falls between the two.
  if (auto seeded = reseed(); !seeded) {
    close();
    return makeError(Errc::SystemError, "netlink monitor: " + seeded.error().message);
  }

  boost::system::error_code ec;
  descriptor.assign(nl_socket_get_fd(sk), ec);
  if (ec) {
    close();
    return makeError(Errc::SystemError, "netlink monitor: event loop: " + ec.message());
  }
  running = true;
  ++generation;
  arm();
  return {};
}

void NetlinkMonitor::Impl::stop() {
  if (!running) return;
  running = false;
  ++generation;
  close();
}

void NetlinkMonitor::Impl::close() {
  if (descriptor.is_open()) {
    boost::system::error_code ignored;
    descriptor.cancel(ignored);
    (void)descriptor.release();  // the fd belongs to libnl: it closes it below
  }
  if (cb != nullptr) nl_cb_put(cb);
  cb = nullptr;
  if (sk != nullptr) nl_socket_free(sk);
  sk = nullptr;
  pending.clear();
  reconcile = overrun = discarding = false;
}

void NetlinkMonitor::Impl::arm() {
  std::weak_ptr<Impl> weak = weak_from_this();
  uint64_t gen = generation;
  descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                        [weak, gen](const boost::system::error_code& ec) {
                          auto self = weak.lock();
                          if (!self || !self->running || self->generation != gen) return;
                          if (ec) {
                            if (ec != asio::error::operation_aborted) {
                              log::error("netlink monitor: wait failed: ", ec.message());
                            }
                            return;
                          }
                          self->onReadable(gen);
                        });
}

void NetlinkMonitor::Impl::onReadable(uint64_t gen) {
  auto self = shared_from_this();  // alive through the callbacks, even if the owner goes

  bool more = false;
  int reads = 0;
  for (;;) {
    int r = nl_recvmsgs_report(sk, cb);
    if (r > 0) {
      if (++reads >= kMaxReadsPerTurn) {
        more = true;
        break;
      }
      continue;
    }
    if (r == 0 || r == -NLE_AGAIN) break;
    if (r == -NLE_NOMEM) {  // ENOBUFS: the kernel dropped events
      overrun = true;
      continue;
    }
    log::warning("netlink monitor: receive failed: ", nlReason(r));
    overrun = true;
    break;
  }

  if (overrun) {
    // What is queued predates the loss: throw it away, read the state afresh, and tell
    // the owner to do the same.
    discarding = true;
    for (int i = 0; i < kMaxDiscardReads; ++i) {
      int r = nl_recvmsgs_report(sk, cb);
      if (r == 0 || r == -NLE_AGAIN) break;
    }
    discarding = false;
    more = false;
    overrun = false;
    reconcile = false;
    pending.clear();
    log::warning("netlink monitor: events lost (receive queue overrun), resynchronizing");
    if (auto seeded = reseed(); !seeded) log::warning("netlink monitor: ", seeded.error().message);
    emit(NetEvent::Type::Resync, nullptr, nullptr, nullptr);
  } else if (reconcile) {
    reconcile = false;
    reconcileRoutes();
  }

  std::vector<NetEvent> events;
  events.swap(pending);
  for (const auto& event : events) {
    if (!running || generation != gen) return;  // stopped (or restarted) by a callback
    try {
      callback(event);
    } catch (const std::exception& e) {
      log::error("netlink monitor: event handler threw: ", e.what());
    }
  }
  if (!running || generation != gen) return;

  if (more) {
    std::weak_ptr<Impl> weak = self;
    asio::post(io, [weak, gen] {
      auto s = weak.lock();
      if (s && s->running && s->generation == gen) s->onReadable(gen);
    });
  } else {
    arm();
  }
}

void NetlinkMonitor::Impl::emit(NetEvent::Type type, const LinkInfo* link, const AddrInfo* addr,
                                const DefaultRoute* route) {
  NetEvent event;
  event.type = type;
  if (link != nullptr) event.link = *link;
  if (addr != nullptr) event.addr = *addr;
  if (route != nullptr) event.route = *route;
  pending.push_back(std::move(event));
}

void NetlinkMonitor::Impl::handle(nlmsghdr* h) {
  if (rtnl::translateEvent(h, view, pending)) reconcile = true;
}

Status NetlinkMonitor::Impl::reseed() {
  requests.learnTables(view.tables);
  auto l = requests.links();
  if (!l) return l.error();
  auto a = requests.addresses();
  if (!a) return a.error();
  auto r = requests.defaultRoutes();
  if (!r) return r.error();
  view.replace(*l, std::move(*a), std::move(*r));
  view.addrs6.clear();
  view.routes6.clear();
  if (auto st = requests.readIpv6(view.addrs6, view.routes6); !st)
    log::warning("netlink monitor: IPv6 facts: ", st.error().message);  // a kernel without IPv6
  return {};
}

// Compare the routes we have reported with the kernel's and report the difference.
void NetlinkMonitor::Impl::reconcileRoutes() {
  requests.learnTables(view.tables);  // the owner may have moved its own tables since
  auto current = requests.defaultRoutes();
  if (!current) {
    log::warning("netlink monitor: cannot check default routes: ", current.error().message);
    return;
  }
  auto& routes = view.routes;
  for (auto it = routes.begin(); it != routes.end();) {
    bool present = std::any_of(current->begin(), current->end(),
                               [&](const DefaultRoute& r) { return sameRoute(r, *it); });
    if (present) {
      ++it;
      continue;
    }
    DefaultRoute gone = *it;
    it = routes.erase(it);
    emit(NetEvent::Type::RouteRemoved, nullptr, nullptr, &gone);
  }
  for (const auto& r : *current) {
    bool known = std::any_of(routes.begin(), routes.end(), [&](const DefaultRoute& k) { return sameRoute(k, r); });
    if (known) continue;
    routes.push_back(r);
    emit(NetEvent::Type::RouteAdded, nullptr, nullptr, &r);
  }
}

NetlinkMonitor::NetlinkMonitor(asio::io_context& io, KernelView& view, Callback callback)
    : impl_(std::make_shared<Impl>(io, view, std::move(callback))) {}

NetlinkMonitor::~NetlinkMonitor() { impl_->stop(); }

Status NetlinkMonitor::start() { return impl_->start(); }
void NetlinkMonitor::stop() { impl_->stop(); }
bool NetlinkMonitor::running() const { return impl_->running; }
const KernelView& NetlinkMonitor::view() const { return impl_->view; }

}  // namespace tetherd
