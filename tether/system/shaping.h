// Rate limits (issue 14): the tc operations and the narrow port that puts them in the kernel
// (NlShaper: libnl-route, never the tc program). The plain values, the pure plan that makes
// the operations and their text are in the core (tether/core/clients/tc_plan.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/ip6.h"
#include "tether/base/result.h"

namespace tetherd {

constexpr uint32_t kShapingMajor = 0x7e;
constexpr uint64_t kUnlimitedBits = 10'000'000'000ULL;  // the top class of a link without its own limit
constexpr uint32_t kLeafPfifoLimit = 128;               // packets

constexpr const char* kIfbPrefix = "tifb-";  // tetherd's ifb devices: tifb-<ifname> (tc_plan.h)

// One step (tcText in tether/core/clients/tc_plan.h gives it in tc's words).
struct TcOp {
  enum class Kind { Ifb, Ingress, Htb, Leaf, Class, Filter, Redirect } kind = Kind::Htb;
  std::string dev{};
  uint32_t parent = 0;   // class or qdisc handle (major << 16 | minor)
  uint32_t handle = 0;   // qdisc handle or classid
  uint32_t defaultMinor = 0;       // Htb
  uint64_t rate = 0, ceil = 0;     // Class, bits per second
  uint32_t quantum = 0;            // Class, bytes
  bool fqCodel = false;            // Leaf
  Ipv4Address ip{};                // Filter
  std::optional<Ipv6Address> ip6{};  // Filter: an IPv6 one instead (protocol ipv6, prio 2)
  bool matchSource = false;        // Filter: ip src (else dst)
  uint32_t flowid = 0;             // Filter
  std::string target{};            // Redirect: the ifb
  bool operator==(const TcOp&) const = default;
};

// The port. Errors name the operation and the kernel's reason.
class TrafficShaper {
 public:
  virtual ~TrafficShaper() = default;
  // Whether the kernel has fq_codel (asked once, then remembered).
  virtual bool fqCodel() = 0;
  // Carries one step out. The error is the kernel's reason (the caller names the step).
  virtual Status add(const TcOp& op) = 0;
  // Takes tetherd's shaping off ifname: its root qdisc when it is tetherd's (7e:), its ingress
  // qdisc, and the ifb `ifb`. What is not there is success.
  virtual Status clear(const std::string& ifname, const std::string& ifb) = 0;
  // Deletes every ifb whose name starts with kIfbPrefix (a crash's leftovers). Returns how many went.
  virtual Result<int> removeIfbs() = 0;
};

}  // namespace tetherd
