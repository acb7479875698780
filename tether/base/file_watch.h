// A few small files (resolv.conf and its kin) watched with inotify on the Asio loop: no polling,
// no thread. Each through its directory, so writers that rename a new file into place
// (resolvconf, dhclient-script, systemd-resolved) count as well as in-place ones (at
// IN_CLOSE_WRITE, never half-written; IN_MODIFY does not count); also removal, a created
// symlink, a queue overflow. A symlink is followed to its target, whose directory is watched
// too, and re-followed after every change. One read's events make one onChange call.
// Limits: a directory missing at watch() is skipped until the next watch(); only a chain's
// link and final target are watched.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

class FileWatch {
 public:
  FileWatch(boost::asio::io_context& io, std::function<void()> onChange);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watch exactly these files (absolute paths), replacing the previous set. Fails only when
  // inotify itself cannot be had; a missing directory is skipped (see the header).
  Status watch(const std::vector<std::string>& paths);
  std::set<std::string> directories() const;  // watched now

 private:
  void rewatch();
  void arm();
  void onReadable();

  std::function<void()> onChange_;
  int fd_ = -1;
  boost::asio::posix::stream_descriptor stream_;
  std::vector<std::string> paths_;
  std::map<int, std::string> dirs_;                     // watch descriptor -> directory
  std::set<std::pair<std::string, std::string>> names_;  // (directory, name) that count
  bool armed_ = false;
};

}  // namespace tetherd
