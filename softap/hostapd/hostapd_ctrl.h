// An asynchronous client of hostapd's control interface (the wpa_ctrl protocol: text
// datagrams on unix sockets), on the Asio loop. Like hostapd_cli it keeps two connections:
// one for commands (one request in flight, one datagram per reply) and one ATTACHed for
// events, which is drained whenever the loop runs — a monitor that stops reading stalls
// hostapd after a few hundred events. While open it PINGs hostapd every pingInterval and
// reports hostapd gone (send refused, PING unanswered, CTRL-EVENT-TERMINATING) through onLost.
//
// Never blocks the loop. Every callback runs from the loop (never from inside the call that
// registered it), and the owner may destroy the object from inside any of them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::softap {

class HostapdControl {
 public:
  static constexpr size_t kMaxRequest = 4095;  // bytes of one command
  static constexpr size_t kMaxReply = 4096;    // bytes of one datagram; longer ones are errors
  static constexpr size_t kMaxStations = 2048;  // stations() stops there
  static constexpr size_t kMaxQueued = 256;     // requests waiting behind the one in flight

  struct Options {
    // For each request once it is sent, and for the ATTACH of open().
    std::chrono::milliseconds requestTimeout{2000};
    // Health PING while open. Keep it >= 1 s outside tests; zero or less: no health pings.
    std::chrono::milliseconds pingInterval{5000};
  };

  // ctrlPath: "<ctrl_interface dir>/<ifname>". localDir: an existing directory where this
  // client binds its own sockets ("<localDir>/tetherd-ctrl-<pid>-<n>", mode 0600, removed
  // on close).
  HostapdControl(boost::asio::io_context& io, std::string ctrlPath, std::string localDir, Options options);
  HostapdControl(boost::asio::io_context& io, std::string ctrlPath, std::string localDir)
      : HostapdControl(io, std::move(ctrlPath), std::move(localDir), Options{}) {}
  // As close(). No callback is ever called once the destructor has returned.
  ~HostapdControl();
  HostapdControl(const HostapdControl&) = delete;
  HostapdControl& operator=(const HostapdControl&) = delete;

  // Connects both sockets and ATTACHes the event one; done(ok) once hostapd answers OK.
  // Failures: ServiceUnavail (no hostapd at ctrlPath), Timeout (no answer to ATTACH),
  // AlreadyExists (open or opening), InvalidArgument (a path too long for a unix socket).
  // Requests made while opening wait for it.
  void open(std::function<void(Status)> done);
  // DETACH (best effort, not waited for), close both sockets, remove their files. Callbacks of
  // requests still pending (and of an open() under way) are called now with ServiceUnavail.
  // Does not call onLost. Idempotent.
  void close();
  bool isOpen() const;

  // Sends `command` and delivers the one reply datagram ("OK\n", "FAIL\n", "UNKNOWN
  // COMMAND\n", "" for an empty answer...). Requests are sent one at a time, in order.
  // Errors: Timeout (no reply within requestTimeout: the command socket is then replaced, so
  // a late reply cannot be taken for the next one's), ServiceUnavail (not open, closed, or
  // hostapd lost), InvalidArgument (empty or longer than kMaxRequest), Busy (kMaxQueued
  // waiting), SystemError (a reply longer than kMaxReply, or a send failure).
  void request(std::string command, std::function<void(Result<std::string>)> done);

  // Raw event datagrams ("<3>AP-STA-CONNECTED 02:00:00:00:00:01"), from either socket. The
  // view is valid during the call only.
  void onEvent(std::function<void(std::string_view datagram)> handler);
  // hostapd went away while open: a send refused (ECONNREFUSED/ENOENT...), a receive error,
  // the health PING unanswered, or CTRL-EVENT-TERMINATING. The client is closed (pending
  // callbacks got the same error) before the handler runs; open() again to reconnect.
  void onLost(std::function<void(const Error&)> handler);

  // PING → ok when hostapd answers PONG.
  void ping(std::function<void(Status)> done);
  // STA-FIRST, then STA-NEXT <mac> until an empty reply or FAIL: the raw reply of each
  // station (its MAC on the first line, then key=value lines), at most kMaxStations.
  void stations(std::function<void(Result<std::vector<std::string>>)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd::softap
