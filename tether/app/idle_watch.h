// The real IdleTimerWatch (tether/core/idle.h): /sys/class/xt_idletimer/timers/<label>, read
// from offset 0, waited on for its sysfs notification (POLLPRI|POLLERR: Asio's wait_error,
// epoll's EPOLLPRI) — the only sign of the kernel timer's expiry (platform-facts-2 section 4).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "tether/core/idle.h"

namespace tetherd {

Result<std::unique_ptr<IdleTimerWatch>> openIdleTimerWatch(boost::asio::io_context& io, const std::string& label,
                                                          const std::string& dir = "/sys/class/xt_idletimer/timers");

// The inode of this process's network namespace (0 when it cannot be read).
uint64_t netnsInode();

}  // namespace tetherd
