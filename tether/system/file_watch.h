// Watching a few small files (resolv.conf and its kin) with inotify on the Asio loop: no
// polling, no thread. Each file is watched through its directory, so the writers that replace
// a file by rename (resolvconf, dhclient-script, systemd-resolved, NetworkManager, editors) are
// seen as well as those that write it in place; a symlink (/etc/resolv.conf ->
// /run/systemd/resolve/stub-resolv.conf) is followed to its target, whose directory is watched
// too, and followed again after every change (the link may be re-pointed).
//
// Events that count: IN_CLOSE_WRITE (in place, once the writer is done, never a half-written
// file), IN_MOVED_TO / IN_MOVED_FROM / IN_DELETE (replaced, renamed away, removed), IN_CREATE
// of a symlink, and a queue overflow. IN_MODIFY does not count (a truncating writer would show
// an empty file first). All the events one read returns make one call of onChange.
// Limits: a directory that does not exist when watch() is called is not watched until the next
// watch() (the caller re-calls watch() with the same paths to retry); intermediate links of a
// symlink chain are not watched, only the link itself and its final target.
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
  const std::vector<std::string>& paths() const { return paths_; }
  // The directories watched now (for the tests and doctor).
  std::set<std::string> directories() const;

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
