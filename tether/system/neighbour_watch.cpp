// NeighbourWatch: RTNLGRP_NEIGH on a raw rtnetlink socket, read on the Asio loop.
#include "tether/system/neighbour_watch.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tether/base/log.h"
#include "tether/system/nl_parse.h"

namespace tetherd {

namespace {

// Global unicast (2000::/3) and unique local (fc00::/7): the addresses a client forwards from.
bool routable(const Ipv6Address& a) { return (a.bytes[0] & 0xe0) == 0x20 || a.isUla(); }

}  // namespace

bool NeighbourBook::update(const Neighbour6& n, bool present) {
  if (!routable(n.address)) return false;
  auto link = links_.find(n.index);
  if (!present) {
    if (link == links_.end()) return false;
    bool changed = false;
    for (auto it = link->second.begin(); it != link->second.end();) {
      auto& list = it->second;
      if (n.mac.empty() || n.mac == it->first) {
        auto a = std::find(list.begin(), list.end(), n.address);
        if (a != list.end()) list.erase(a), changed = true;
      }
      it = list.empty() ? link->second.erase(it) : std::next(it);
    }
    if (link->second.empty()) links_.erase(link);
    return changed;
  }
  if (n.mac.empty()) return false;
  auto& macs = links_[n.index];
  // An address that moved to another MAC leaves the old one.
  bool changed = false;
  for (auto it = macs.begin(); it != macs.end();) {
    if (it->first != n.mac) {
      auto a = std::find(it->second.begin(), it->second.end(), n.address);
      if (a != it->second.end()) it->second.erase(a), changed = true;
    }
    it = it->second.empty() ? macs.erase(it) : std::next(it);
  }
  auto& list = macs[n.mac];
  if (auto a = std::find(list.begin(), list.end(), n.address); a != list.end()) {
    std::rotate(a, a + 1, list.end());  // seen again: the most recent (the set is the same)
    return changed;
  }
  list.push_back(n.address);
  if (list.size() > kMaxPerClient) list.erase(list.begin());
  return true;
}

std::map<std::string, std::vector<Ipv6Address>> NeighbourBook::on(int index) const {
  auto it = links_.find(index);
  if (it == links_.end()) return {};
  auto out = it->second;
  for (auto& [mac, list] : out) std::sort(list.begin(), list.end());  // a reordering is no change
  return out;
}

std::map<std::string, std::string> NeighbourBook::owners(int index) const {
  std::map<std::string, std::string> out;
  for (const auto& [mac, list] : on(index))
    for (const auto& a : list) out[a.str()] = mac;
  return out;
}

std::optional<std::pair<Neighbour6, bool>> parseNeighbourEvent(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) return std::nullopt;
  if (!nlmsg_valid_hdr(h, sizeof(ndmsg))) return std::nullopt;
  const auto* nd = static_cast<const ndmsg*>(nlmsg_data(h));
  if (nd->ndm_family != AF_INET6) return std::nullopt;
  if (h->nlmsg_type == RTM_NEWNEIGH && (nd->ndm_state & NUD_FAILED) == 0) {
    auto n = rtnl::parseNeighbour6(h);  // usable states only (not INCOMPLETE, NOARP)
    if (!n) return std::nullopt;
    return std::pair(*n, true);
  }
  // Deleted or FAILED: the address is enough (a FAILED entry may have lost its MAC).
  nlattr* tb[NDA_MAX + 1] = {};
  if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return std::nullopt;
  if (tb[NDA_DST] == nullptr || nla_len(tb[NDA_DST]) != 16) return std::nullopt;
  Neighbour6 n;
  n.index = nd->ndm_ifindex;
  std::memcpy(n.address.bytes.data(), nla_data(tb[NDA_DST]), 16);
  return std::pair(n, false);
}

NeighbourWatch::NeighbourWatch(boost::asio::io_context& io, std::function<void()> changed)
    : fd_(io), timer_(io), changed_(std::move(changed)) {}

NeighbourWatch::~NeighbourWatch() = default;

Status NeighbourWatch::start() {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return systemError("neighbour watch: socket", errno);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_NEIGH;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    const int err = errno;
    ::close(fd);
    return systemError("neighbour watch: bind RTNLGRP_NEIGH", err);
  }
  fd_.assign(fd);
  if (auto st = dump(); !st) return st;
  read();
  return {};
}

// Asks for the whole IPv6 table: the replies are RTM_NEWNEIGH like the events, read by read().
Status NeighbourWatch::dump() {
  struct {
    nlmsghdr h;
    ndmsg nd;
  } req{};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  req.h.nlmsg_type = RTM_GETNEIGH;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = ++seq_;
  req.nd.ndm_family = AF_INET6;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.native_handle(), &req, req.h.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return systemError("neighbour watch: dump request", errno);
  return {};
}

void NeighbourWatch::read() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) log::warning("neighbour watch: ", ec.message());
      return;
    }
    bool changed = false;
    for (;;) {
      const ssize_t n = ::recv(fd_.native_handle(), buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {  // events lost: start again from a dump
          log::debug("neighbour watch: overrun, reading the table again");
          book_.clear();
          changed = true;
          if (auto st = dump(); !st) log::warning(st.error().message);
          continue;
        }
        break;  // EAGAIN: drained
      }
      for (size_t off = 0; off + sizeof(nlmsghdr) <= static_cast<size_t>(n);) {
        auto* h = reinterpret_cast<nlmsghdr*>(buf_.data() + off);
        if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > static_cast<size_t>(n) - off) break;
        if (auto e = parseNeighbourEvent(h)) changed = book_.update(e->first, e->second) || changed;
        off += NLMSG_ALIGN(h->nlmsg_len);
      }
    }
    if (changed) notify();
    read();
  });
}

void NeighbourWatch::notify() {
  if (pending_) return;
  pending_ = true;
  timer_.expires_after(kDelay);
  timer_.async_wait([this](boost::system::error_code ec) {
    pending_ = false;
    if (!ec && changed_) changed_();
  });
}

}  // namespace tetherd
