// LeaseWatch: tells when a dnsmasq lease file in state_dir changes (inotify on the directory,
// filtered by name), so that per-client counter rules follow the leases at once. Changes are
// coalesced (a burst of writes gives one call, kDelay after the first). No timer runs while
// nothing changes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <string>

#include "tether/base/result.h"

namespace tetherd {

class LeaseWatch {
 public:
  static constexpr std::chrono::milliseconds kDelay{100};
  LeaseWatch(boost::asio::io_context& io, std::string dir, std::function<void()> changed);
  Status start();
  // Whether `name` (a file name in the directory) is a dnsmasq lease file.
  static bool isLeaseFile(std::string_view name);

 private:
  void read();
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  std::string dir_;
  std::function<void()> changed_;
  bool pending_ = false;
  alignas(8) std::array<char, 4096> buf_{};
};

}  // namespace tetherd
