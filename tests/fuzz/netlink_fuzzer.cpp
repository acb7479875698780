// rtnetlink messages as the kernel hands them to tetherd (tether/nl_parse.h). The input is a
// receive buffer: messages are walked with nlmsg_ok/nlmsg_next as libnl's nl_recvmsgs does,
// and each is copied into an allocation of exactly nlmsg_len bytes (what libnl guarantees
// readable), so that a read past the message is an ASan report. Each message goes through
// the three dump parsers and through NetlinkMonitor's event translation, whose view carries
// over from one message to the next.
// Properties: parsed values are sane (positive link index, prefix length <= 32, the label's
// alias suffix removed); the events mirror the view: no LinkRemoved for a link never added,
// no RouteAdded for a route already reported, no RouteRemoved for one never reported, and
// the view's routes are exactly those reported and not removed.
#include <netlink/msg.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/system/nl_parse.h"

using namespace tetherd;

namespace {

bool contains(const std::vector<DefaultRoute>& routes, const DefaultRoute& r) {
  return std::any_of(routes.begin(), routes.end(), [&](const DefaultRoute& k) { return rtnl::sameRoute(k, r); });
}

void checkParsers(nlmsghdr* h) {
  if (auto link = rtnl::parseLink(h)) FUZZ_CHECK(link->index > 0);
  if (auto addr = rtnl::parseAddr(h)) {
    FUZZ_CHECK(addr->prefix.length >= 0 && addr->prefix.length <= 32);
    FUZZ_CHECK(addr->ifname.find(':') == std::string::npos);
  }
  (void)rtnl::parseDefaultRoutes(h, LearntTables{9200, 9263});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The receive buffer, aligned as the kernel's.
  std::vector<uint32_t> buffer((size + 3) / 4);
  if (size > 0) std::memcpy(buffer.data(), data, size);
  auto* h = reinterpret_cast<nlmsghdr*>(buffer.data());
  int remaining = static_cast<int>(size);

  KernelView view;
  std::vector<DefaultRoute> reported;  // RouteAdded minus RouteRemoved, as the owner saw them
  std::map<int, LinkInfo> known;       // LinkAdded/Changed minus LinkRemoved
  while (nlmsg_ok(h, remaining)) {
    const size_t len = h->nlmsg_len;
    std::unique_ptr<char[]> copy(new char[len]);
    std::memcpy(copy.get(), h, len);
    auto* msg = reinterpret_cast<nlmsghdr*>(copy.get());

    checkParsers(msg);
    std::vector<NetEvent> events;
    (void)rtnl::translateEvent(msg, view, events);
    for (const auto& e : events) {
      switch (e.type) {
        case NetEvent::Type::LinkAdded:
          FUZZ_CHECK(known.count(e.link.index) == 0);
          known[e.link.index] = e.link;
          break;
        case NetEvent::Type::LinkChanged:
          FUZZ_CHECK(known.count(e.link.index) == 1);
          FUZZ_CHECK(!(known[e.link.index] == e.link));
          known[e.link.index] = e.link;
          break;
        case NetEvent::Type::LinkRemoved:
          FUZZ_CHECK(known.erase(e.link.index) == 1);
          break;
        case NetEvent::Type::RouteAdded:
          FUZZ_CHECK(!contains(reported, e.route));
          reported.push_back(e.route);
          break;
        case NetEvent::Type::RouteRemoved: {
          auto it = std::find_if(reported.begin(), reported.end(),
                                 [&](const DefaultRoute& k) { return rtnl::sameRoute(k, e.route); });
          FUZZ_CHECK(it != reported.end());
          reported.erase(it);
          break;
        }
        case NetEvent::Type::AddrAdded:
        case NetEvent::Type::AddrRemoved:
          FUZZ_CHECK(e.addr.prefix.length >= 0 && e.addr.prefix.length <= 32);
          break;
        case NetEvent::Type::Routes6Changed:
        case NetEvent::Type::Addrs6Changed:
          break;
        case NetEvent::Type::Resync:
          FUZZ_CHECK(false);  // only the monitor's overrun handling emits it
          break;
      }
    }
    FUZZ_CHECK(view.links.size() == known.size());
    FUZZ_CHECK(view.routes.size() == reported.size());
    for (const auto& r : view.routes) FUZZ_CHECK(contains(reported, r));
    h = nlmsg_next(h, &remaining);
  }
  return 0;
}
