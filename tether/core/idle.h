// Idle auto-off (issue 14 point 6; Android's soft AP timeout, netd's idletimer): a downstream
// no client has used for its timeout is untethered (the soft AP goes off), and a 613 event
// says so. `softap start` / `tether interface add` bring it back.
//
// Activity is the kernel's: an xt_IDLETIMER rule per downstream (the planner puts it in the
// firewall state: mangle PREROUTING -i <downstream>), restarted by every IPv4 packet a client
// sends. Its expiry is only a sysfs notification on /sys/class/xt_idletimer/timers/<label>
// (POLLPRI|POLLERR; the file then reads 0): tetherd sleeps on it, so an idle downstream costs
// no wake-up at all until the timeout. For the soft AP an associated station also counts as a
// client, silent or not: the AP goes off only after the timeout has passed with no station.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.h"
#include "tether/base/result.h"
#include "tether/core/events.h"
#include "tether/system/netfilter/firewall.h"

namespace tetherd {

// The idle timeout of a downstream (seconds), none when it is never turned off for idleness:
// the soft AP's [softap] idle_timeout, any other kind's [tethering] idle_timeout when the
// kind is in [tethering] idle_untether.
std::optional<int> idleTimeoutSec(const Config& config, IfaceKind kind, bool accessPoint);

using IdleClock = std::chrono::steady_clock;

// What is known of one downstream with an idle timer.
struct IdleInputs {
  bool expired = false;  // the kernel's timer ran out (no packet from a client for the timeout)
  int stations = 0;      // associated Wi-Fi stations (the soft AP's; 0 elsewhere)
  std::optional<IdleClock::time_point> lastStationLeft{};  // since the watch began
  std::chrono::seconds timeout{0};
};

// What to do: wait for the next input (the kernel's notification, a station), look again at
// `at` (a station left less than the timeout ago), or turn the downstream off.
struct IdleVerdict {
  enum class Kind { Wait, RecheckAt, Off } kind = Kind::Wait;
  IdleClock::time_point at{};
  bool operator==(const IdleVerdict&) const = default;
};

// Pure: off only when the kernel timer has expired, no station is associated and the last
// one left at least the timeout ago.
IdleVerdict decideIdle(const IdleInputs& in, IdleClock::time_point now);

// One kernel timer's sysfs file (the daemon's adapter; a fake in tests).
class IdleTimerWatch {
 public:
  virtual ~IdleTimerWatch() = default;
  // Seconds left (0: expired), read from offset 0.
  virtual Result<uint32_t> remaining() = 0;
  // `fired` once, at the next notification (or error); cancelled by destruction.
  virtual void wait(std::function<void()> fired) = 0;
};
using IdleWatchFactory = std::function<Result<std::unique_ptr<IdleTimerWatch>>(const std::string& label)>;

// Follows the planned idle timers (sync()), the soft AP's stations, and turns a downstream off
// (`off`, then the IfaceClassActivity event) when decideIdle() says so.
class IdleMonitor {
 public:
  using Off = std::function<Status(const std::string& ifname)>;
  using Sink = std::function<void(const Event&)>;
  using Now = std::function<IdleClock::time_point()>;

  IdleMonitor(boost::asio::io_context& io, IdleWatchFactory watches, Now now, Off off, Sink sink);
  ~IdleMonitor();

  // The timers the firewall holds now: new ones are watched, gone or changed ones dropped.
  void sync(const std::map<std::string, IdleTimer>& timers);
  // A Wi-Fi station (dis)associated (ClientChanged events of the soft AP).
  void onEvent(const Event& e);
  std::size_t watching() const { return entries_.size(); }

 private:
  struct Entry;
  void open(const std::string& ifname, Entry& e);
  void evaluate(const std::string& ifname);
  void arm(const std::string& ifname, Entry& e);

  boost::asio::io_context& io_;
  IdleWatchFactory watches_;
  Now now_;
  Off off_;
  Sink sink_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace tetherd
