// The kernel's network configuration as tetherd needs it: links, IPv4 addresses and IPv4
// default routes, read and changed through one narrow interface, plus the events that keep
// an owner's view current. The real adapters (libnl) are tether/system/nl_netlink.h (requests)
// and tether/system/nl_monitor.h (events); unit tests fake this interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

struct LinkInfo {
  int index = 0;
  std::string name;
  bool adminUp = false;  // IFF_UP
  bool lowerUp = false;  // IFF_LOWER_UP (carrier)
  bool operator==(const LinkInfo&) const = default;
};

// One IPv4 address on a link.
struct AddrInfo {
  int index = 0;
  std::string ifname;
  Ipv4Prefix prefix;  // the local address with its prefix length
  bool operator==(const AddrInfo&) const = default;
};

// The routing tables whose default routes tetherd learns: an upstream's routes count from
// whatever table they are in (a DHCP client or NetworkManager may keep a modem's default in a
// table of its own), except unspec (0), local (255) and tetherd's own range, which holds its
// copies of the others (learning them would feed its mirror back to itself).
struct LearntTables {
  uint32_t ownFirst = 1, ownLast = 0;  // tetherd's range ([upstream] route_tables); empty: none
  bool learns(uint32_t table) const { return table != 0 && table != 255 && (table < ownFirst || table > ownLast); }
};

constexpr uint32_t kMainRouteTable = 254;

// An IPv4 default route (0.0.0.0/0, unicast) in a learnt table. A multipath route shows as
// one DefaultRoute per nexthop. gateway is 0.0.0.0 for a route without a gateway ("dev X").
struct DefaultRoute {
  int index = 0;
  std::string ifname;
  Ipv4Address gateway;
  uint32_t metric = 0;
  uint32_t table = kMainRouteTable;
  bool operator==(const DefaultRoute&) const = default;
};

// One global IPv6 address on a link (link-local and host-scope ones are not kept).
struct Addr6Info {
  int index = 0;
  std::string ifname;
  Ipv6Prefix prefix;
  uint32_t flags = 0;  // IFA_F_* (IFA_FLAGS when given): autoconf ones lack IFA_F_PERMANENT
  bool operator==(const Addr6Info&) const = default;
};

// An IPv6 default route (::/0, unicast) in a learnt table, from RAs or static. A multipath
// route (the kernel's siblings: same metric, each its gateway) shows as one DefaultRoute6 per
// nexthop, each with multipath set.
struct DefaultRoute6 {
  int index = 0;
  std::string ifname;
  Ipv6Address gateway;  // :: without a gateway
  uint32_t metric = 0;
  uint32_t table = kMainRouteTable;
  bool multipath = false;  // a nexthop of an RTA_MULTIPATH route
  bool operator==(const DefaultRoute6&) const = default;
};

// A neighbour (NDP) entry: a client's IPv6 address and its MAC ("aa:bb:cc:dd:ee:ff").
struct Neighbour6 {
  int index = 0;
  std::string mac;
  Ipv6Address address;
  bool operator==(const Neighbour6&) const = default;
};

// What changed in the kernel. Only the member matching the type is filled in.
// Resync: events were lost (the event socket overran); the owner must read links(),
// addresses() and defaultRoutes() again.
struct NetEvent {
  enum class Type {
    LinkAdded,
    LinkChanged,  // name, adminUp or lowerUp changed (a rename shows the new name)
    LinkRemoved,
    AddrAdded,
    AddrRemoved,
    RouteAdded,
    RouteRemoved,
    Routes6Changed,  // the IPv6 default routes changed: the view's routes6 says how (no payload)
    Addrs6Changed,   // a global IPv6 address came, went or changed flags: the view's addrs6 says how
    Resync,
  } type = Type::Resync;
  LinkInfo link;      // Link*
  AddrInfo addr;      // Addr*
  DefaultRoute route; // Route*
  LinkInfo before{};  // LinkChanged: the link as it was
};

const char* netEventTypeName(NetEvent::Type type);

// Errors: an interface that does not exist gives Errc::UnknownIface (the message names
// it); any other failure Errc::IfaceCfgError naming the operation, the interface and the
// kernel's reason.
class Netlink {
 public:
  virtual ~Netlink() = default;

  virtual Result<std::vector<LinkInfo>> links() = 0;
  virtual Result<std::vector<AddrInfo>> addresses() = 0;  // IPv4 only
  virtual Result<std::vector<DefaultRoute>> defaultRoutes() = 0;

  virtual Status setLinkUp(const std::string& ifname, bool up) = 0;
  // Idempotent: an address already present is success. Sets the broadcast address
  // (none for /31 and /32).
  virtual Status addAddress(const std::string& ifname, const Ipv4Prefix& p) = 0;
  // An address that is not there is success.
  virtual Status removeAddress(const std::string& ifname, const Ipv4Prefix& p) = 0;
  // IPv6, the same way: added with IFA_F_NODAD (the router's own address on a link it
  // alone serves) so that it is usable at once; idempotent as above.
  virtual Status addAddress6(const std::string& ifname, const Ipv6Prefix& p) = 0;
  virtual Status removeAddress6(const std::string& ifname, const Ipv6Prefix& p) = 0;
  // Adds the address (as addAddress6) or, when it is there, replaces its lifetimes: seconds,
  // 4294967295 = forever; preferred 0 deprecates it (RFC 9096), and the kernel removes it when
  // valid runs out. A delegated prefix's router address carries the delegation's lifetimes.
  virtual Status setAddress6Lifetimes(const std::string& ifname, const Ipv6Prefix& p, uint32_t preferredSec,
                                      uint32_t validSec) = 0;
  // A new bridge (admin down, no ports), e.g. the Bluetooth PAN bridge. Idempotent: a bridge
  // of that name already there is success; another kind of link of that name is
  // Errc::AlreadyExists.
  virtual Status createBridge(const std::string& name) = 0;
  // Deletes a link (a bridge's ports are released by the kernel). A link that is not there
  // is success.
  virtual Status deleteLink(const std::string& name) = 0;
};

inline const char* netEventTypeName(NetEvent::Type type) {
  switch (type) {
    case NetEvent::Type::LinkAdded: return "LinkAdded";
    case NetEvent::Type::LinkChanged: return "LinkChanged";
    case NetEvent::Type::LinkRemoved: return "LinkRemoved";
    case NetEvent::Type::AddrAdded: return "AddrAdded";
    case NetEvent::Type::AddrRemoved: return "AddrRemoved";
    case NetEvent::Type::RouteAdded: return "RouteAdded";
    case NetEvent::Type::RouteRemoved: return "RouteRemoved";
    case NetEvent::Type::Routes6Changed: return "Routes6Changed";
    case NetEvent::Type::Addrs6Changed: return "Addrs6Changed";
    case NetEvent::Type::Resync: return "Resync";
  }
  return "?";
}

}  // namespace tetherd
