// Internal to HostapdControl: its Impl, shared by hostapd_ctrl.cpp (sockets, opening, closing,
// losing hostapd) and hostapd_ctrl_requests.cpp (the request queue, timeouts, health PINGs,
// the station walk).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "softap/hostapd/hostapd_ctrl.h"

namespace tetherd::softap {

namespace asio = boost::asio;
using Dgram = asio::local::datagram_protocol;

namespace ctrl {

// Send errors meaning nobody is behind ctrlPath any more.
bool isGone(int err);

// A datagram as it may appear in a log line or an error message: short, one line.
std::string printable(std::string_view d);

// The command word only: arguments may hold secrets (SET wpa_passphrase ...).
std::string commandName(std::string_view command);

// 0 or the errno of a non-blocking send.
int sendOn(Dgram::socket& s, std::string_view data);

}  // namespace ctrl

struct HostapdControl::Impl {
  enum class State { Closed, Opening, Open };
  enum class Sock { Command, Event };

  struct Pending {
    std::string command;
    std::function<void(Result<std::string>)> done;
    bool health = false;  // the periodic PING: its failure means hostapd is lost
    bool sent = false;
  };

  Impl(asio::io_context& io, std::string ctrlPath, std::string localDir, Options options)
      : io(io),
        ctrlPath(std::move(ctrlPath)),
        localDir(std::move(localDir)),
        options(options),
        cmd(io),
        evt(io),
        requestTimer(io),
        pingTimer(io) {}

  asio::io_context& io;
  const std::string ctrlPath;
  const std::string localDir;
  const Options options;

  Dgram::socket cmd;  // requests and their replies
  Dgram::socket evt;  // ATTACHed: events only
  std::string cmdPath, evtPath;  // our own socket files
  asio::steady_timer requestTimer;  // the request in flight, or the ATTACH of open()
  asio::steady_timer pingTimer;     // the next health PING
  // Bumped whenever the matching socket or timer is closed, replaced or re-armed: a handler
  // that finds another generation than its own is stale and does nothing.
  uint64_t cmdGen = 0, evtGen = 0, requestGen = 0, pingGen = 0;

  State state = State::Closed;
  uint64_t session = 0;  // counts open()s: a callback may have closed and opened again
  bool destroying = false;
  bool pumpPosted = false;
  std::function<void(Status)> openDone;
  std::optional<Pending> inFlight;
  std::deque<Pending> queue;
  std::deque<Pending> failing;  // taken from queue/inFlight, their callbacks being called

  std::function<void(std::string_view)> eventHandler;
  std::function<void(const Error&)> lostHandler;

  std::array<char, kMaxReply + 1> buf{};  // one more byte than a datagram may have
  std::shared_ptr<char> alive = std::make_shared<char>();  // handlers hold it weakly

  Dgram::socket& sock(Sock which) { return which == Sock::Command ? cmd : evt; }
  uint64_t gen(Sock which) const { return which == Sock::Command ? cmdGen : evtGen; }
  std::string where() const { return "hostapd control " + ctrlPath; }

  // Calls a callback from the loop later, unless this object is gone by then.
  template <class T>
  void post(std::function<void(T)> callback, T value) {
    if (!callback) return;
    asio::post(io, [w = std::weak_ptr<char>(alive), callback = std::move(callback), value = std::move(value)]() mutable {
      if (!w.expired()) callback(std::move(value));
    });
  }

  // ---------------------------------------------------------------------------------------
  // Sockets

  Status connectSocket(Dgram::socket& s, std::string& ownPath);
  static void closeSocket(Dgram::socket& s, std::string& ownPath);
  void armRead(Sock which);
  void onReadable(Sock which);
  void handleDatagram(Sock which, std::string_view d, bool truncated);
  void deliverEvent(std::string_view d);

  // ---------------------------------------------------------------------------------------
  // Opening, closing, losing

  void open(std::function<void(Status)> done);
  void opened();

  // Closes everything; what was pending moves to `failing`, for failPending().
  void shutdown();

  // Calls the callbacks of what shutdown() took, one by one. False if a callback destroyed
  // us (the destructor then fails the rest).
  bool failPending(const Error& error);
  void close();
  void failOpen(const Error& error);
  void lost(const Error& error);

  // ---------------------------------------------------------------------------------------
  // Requests

  void request(std::string command, std::function<void(Result<std::string>)> done);

  // From the loop, so that request() never calls back before it returns.
  void schedulePump();
  void pump();
  void trySend();
  void complete(Result<std::string> result);
  void armRequestTimer();
  void cancelRequestTimer();
  void onRequestTimeout();
  void armPing();

  // ---------------------------------------------------------------------------------------
  // Stations

  struct StationWalk {
    std::function<void(Result<std::vector<std::string>>)> done;
    std::vector<std::string> replies;
  };

  void stationStep(std::shared_ptr<StationWalk> walk, std::string command);
};

}  // namespace tetherd::softap
