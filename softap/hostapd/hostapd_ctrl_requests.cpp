// HostapdControl's requests: one in flight at a time, each with its timeout, the health PING
// ahead of the queue, and the STA-FIRST/STA-NEXT walk of stations().
#include <cerrno>
#include <cstring>
#include <utility>

#include "softap/hostapd/hostapd_ctrl_impl.h"
#include "tether/base/log.h"

namespace tetherd::softap {

using namespace ctrl;

namespace {

bool looksLikeMac(std::string_view s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

void HostapdControl::Impl::request(std::string command, std::function<void(Result<std::string>)> done) {
  if (command.empty() || command.size() > kMaxRequest) {
    post(std::move(done), Result<std::string>(makeError(
                              Errc::InvalidArgument, where() + ": a command must have 1 to " +
                                                         std::to_string(kMaxRequest) + " bytes")));
    return;
  }
  if (state == State::Closed) {
    post(std::move(done), Result<std::string>(makeError(Errc::ServiceUnavail, where() + ": not open")));
    return;
  }
  if (queue.size() >= kMaxQueued) {
    post(std::move(done), Result<std::string>(makeError(Errc::Busy, where() + ": too many requests waiting")));
    return;
  }
  queue.push_back(Pending{std::move(command), std::move(done)});
  schedulePump();
}

void HostapdControl::Impl::schedulePump() {
  if (pumpPosted) return;
  pumpPosted = true;
  asio::post(io, [this, w = std::weak_ptr<char>(alive)] {
    if (w.expired()) return;
    pumpPosted = false;
    pump();
  });
}

void HostapdControl::Impl::pump() {
  if (state != State::Open || inFlight || queue.empty()) return;
  inFlight = std::move(queue.front());
  queue.pop_front();
  armRequestTimer();
  trySend();
}

void HostapdControl::Impl::trySend() {
  int err = sendOn(cmd, inFlight->command);
  if (err == 0) {
    inFlight->sent = true;
    return;
  }
  if (err == EAGAIN || err == EWOULDBLOCK) {  // hostapd's queue is full: the timer runs on
    std::weak_ptr<char> w = alive;
    uint64_t g = cmdGen;
    cmd.async_wait(Dgram::socket::wait_write, [this, w, g](const boost::system::error_code& ec) {
      if (w.expired() || g != cmdGen || !inFlight || inFlight->sent) return;
      if (ec) {
        if (ec != asio::error::operation_aborted) lost(makeError(Errc::ServiceUnavail, where() + ": wait: " + ec.message()));
        return;
      }
      trySend();
    });
    return;
  }
  std::string what = where() + ": send " + commandName(inFlight->command);
  if (isGone(err)) {
    lost(makeError(Errc::ServiceUnavail, what + ": " + std::strerror(err)));
    return;
  }
  complete(systemError(what, err));
}

void HostapdControl::Impl::complete(Result<std::string> result) {
  Pending p = std::move(*inFlight);
  inFlight.reset();
  cancelRequestTimer();
  if (p.health) {
    if (!result) {
      lost(result.error());
    } else if (*result != "PONG\n") {
      lost(makeError(Errc::ServiceUnavail, where() + ": PING answered '" + printable(*result) + "'"));
    } else {
      armPing();
      pump();
    }
    return;
  }
  std::weak_ptr<char> w = alive;
  if (p.done) p.done(std::move(result));
  if (w.expired()) return;
  pump();
}

void HostapdControl::Impl::armRequestTimer() {
  uint64_t g = ++requestGen;
  requestTimer.expires_after(options.requestTimeout);
  requestTimer.async_wait([this, w = std::weak_ptr<char>(alive), g](const boost::system::error_code& ec) {
    if (w.expired() || ec || g != requestGen) return;
    onRequestTimeout();
  });
}

void HostapdControl::Impl::cancelRequestTimer() {
  ++requestGen;
  requestTimer.cancel();
}

void HostapdControl::Impl::onRequestTimeout() {
  const std::string within = " within " + std::to_string(options.requestTimeout.count()) + " ms";
  if (state == State::Opening) {
    failOpen(makeError(Errc::Timeout, where() + ": no answer to ATTACH" + within));
    return;
  }
  if (!inFlight) return;
  if (inFlight->health) {
    lost(makeError(Errc::Timeout, where() + ": no answer to PING" + within));
    return;
  }
  Pending p = std::move(*inFlight);
  inFlight.reset();
  Error timeout = makeError(Errc::Timeout, where() + ": no reply to " + commandName(p.command) + within);
  log::warning(timeout.message);
  // Its reply may still come: on a fresh socket it cannot be taken for the next one's.
  ++cmdGen;
  closeSocket(cmd, cmdPath);
  Status reconnected = connectSocket(cmd, cmdPath);
  if (reconnected) armRead(Sock::Command);
  std::weak_ptr<char> w = alive;
  uint64_t timedOutSession = session;
  if (p.done) p.done(std::move(timeout));
  if (w.expired() || session != timedOutSession || state != State::Open) return;  // the callback closed us
  if (!reconnected) {
    lost(reconnected.error());
    return;
  }
  pump();
}

void HostapdControl::Impl::armPing() {
  if (state != State::Open || options.pingInterval <= std::chrono::milliseconds::zero()) return;
  uint64_t g = ++pingGen;
  pingTimer.expires_after(options.pingInterval);
  pingTimer.async_wait([this, w = std::weak_ptr<char>(alive), g](const boost::system::error_code& ec) {
    if (w.expired() || ec || g != pingGen || state != State::Open) return;
    // Ahead of the user's requests: a hung hostapd is noticed after one timeout.
    queue.push_front(Pending{"PING", nullptr, true});
    pump();
  });
}

void HostapdControl::Impl::stationStep(std::shared_ptr<StationWalk> walk, std::string command) {
  request(std::move(command), [this, walk](Result<std::string> r) {
    if (!r) {
      walk->done(r.error());
      return;
    }
    std::string& reply = *r;
    if (reply.empty() || reply == "FAIL\n") {  // the end (FAIL: the last one left meanwhile)
      walk->done(std::move(walk->replies));
      return;
    }
    std::string_view mac = std::string_view(reply).substr(0, reply.find('\n'));
    if (!looksLikeMac(mac)) {
      walk->done(makeError(Errc::SystemError, where() + ": unexpected station reply '" + printable(reply) + "'"));
      return;
    }
    std::string next = "STA-NEXT " + std::string(mac);
    walk->replies.push_back(std::move(reply));
    if (walk->replies.size() >= kMaxStations) {
      log::warning(where(), ": more than ", kMaxStations, " stations; listing the first ", kMaxStations);
      walk->done(std::move(walk->replies));
      return;
    }
    stationStep(walk, std::move(next));
  });
}

}  // namespace tetherd::softap
