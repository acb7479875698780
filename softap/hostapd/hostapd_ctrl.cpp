#include "softap/hostapd/hostapd_ctrl.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>

#include "tether/base/log.h"

namespace tetherd::softap {

namespace asio = boost::asio;
using Dgram = asio::local::datagram_protocol;

namespace {

// Datagrams read per wake-up before the socket waits again (and other work gets a turn).
constexpr int kMaxReadsPerTurn = 64;
constexpr std::string_view kTerminating = "CTRL-EVENT-TERMINATING";

// A unique suffix for this process's socket files ("-<n>").
std::atomic<unsigned> gSocketCounter{0};

// Send errors meaning nobody is behind ctrlPath any more.
bool isGone(int err) {
  return err == ECONNREFUSED || err == ENOENT || err == ECONNRESET || err == ENOTCONN || err == EPIPE ||
         err == EDESTADDRREQ;
}

// "<3>CTRL-EVENT-TERMINATING" (also with the "IFNAME=<if> " of hostapd's global interface).
bool isTerminating(std::string_view d) {
  if (!d.empty() && d.front() == '<') {
    auto close = d.find('>');
    if (close == std::string_view::npos) return false;
    d.remove_prefix(close + 1);
  }
  if (d.starts_with("IFNAME=")) {
    auto space = d.find(' ');
    if (space == std::string_view::npos) return false;
    d.remove_prefix(space + 1);
  }
  return d.starts_with(kTerminating);
}

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

// A datagram as it may appear in a log line or an error message: short, one line.
std::string printable(std::string_view d) {
  constexpr size_t kMax = 80;
  std::string out;
  for (char c : d.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (u < 0x20 || u == 0x7f) out += '?';
    else out += c;
  }
  if (d.size() > kMax) out += "...";
  return out;
}

// The command word only: arguments may hold secrets (SET wpa_passphrase ...).
std::string commandName(std::string_view command) { return std::string(command.substr(0, command.find(' '))); }

// 0 or the errno of a non-blocking send.
int sendOn(Dgram::socket& s, std::string_view data) {
  for (;;) {
    if (::send(s.native_handle(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace

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

  Status connectSocket(Dgram::socket& s, std::string& ownPath) {
    std::string path = localDir + "/tetherd-ctrl-" + std::to_string(::getpid()) + "-" + std::to_string(++gSocketCounter);
    if (path.size() >= sizeof(sockaddr_un::sun_path))
      return makeError(Errc::InvalidArgument, "client socket path too long: " + path);
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return systemError(where() + ": socket", errno);
    boost::system::error_code ec;
    s.assign(Dgram(), fd, ec);
    if (ec) {
      ::close(fd);
      return makeError(Errc::SystemError, where() + ": socket: " + ec.message());
    }
    // 0600: only hostapd (root) has to send to it.
    mode_t old = ::umask(0177);
    s.bind(Dgram::endpoint(path), ec);
    if (ec == asio::error::address_in_use) {
      // The name holds our pid: the file is from an earlier process that had it.
      ::unlink(path.c_str());
      ec.clear();
      s.bind(Dgram::endpoint(path), ec);
    }
    ::umask(old);
    if (ec) {
      closeSocket(s, ownPath);
      return makeError(Errc::SystemError, where() + ": bind " + path + ": " + ec.message());
    }
    ownPath = path;
    s.connect(Dgram::endpoint(ctrlPath), ec);
    if (ec) {
      closeSocket(s, ownPath);
      return makeError(Errc::ServiceUnavail, where() + ": connect: " + ec.message());
    }
    return {};
  }

  static void closeSocket(Dgram::socket& s, std::string& ownPath) {
    boost::system::error_code ignored;
    s.close(ignored);
    if (!ownPath.empty()) ::unlink(ownPath.c_str());
    ownPath.clear();
  }

  void armRead(Sock which) {
    std::weak_ptr<char> w = alive;
    uint64_t g = gen(which);
    sock(which).async_wait(Dgram::socket::wait_read, [this, w, which, g](const boost::system::error_code& ec) {
      if (w.expired() || g != gen(which)) return;
      if (ec) {
        if (ec != asio::error::operation_aborted) lost(makeError(Errc::ServiceUnavail, where() + ": wait: " + ec.message()));
        return;
      }
      onReadable(which);
    });
  }

  void onReadable(Sock which) {
    std::weak_ptr<char> w = alive;
    uint64_t g = gen(which);
    for (int i = 0; i < kMaxReadsPerTurn; ++i) {
      // MSG_TRUNC: the datagram's real length, to tell a truncated one.
      ssize_t n = ::recv(sock(which).native_handle(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        lost(systemError(where() + ": receive", errno));
        return;
      }
      auto len = static_cast<size_t>(n);
      handleDatagram(which, std::string_view(buf.data(), std::min(len, kMaxReply)), len > kMaxReply);
      if (w.expired() || g != gen(which)) return;
    }
    armRead(which);
  }

  void handleDatagram(Sock which, std::string_view d, bool truncated) {
    if (!d.empty() && d.front() == '<') {
      if (truncated) {
        log::warning(where(), ": dropped an event longer than ", kMaxReply, " bytes: ", printable(d));
        return;
      }
      deliverEvent(d);
      return;
    }
    if (which == Sock::Event) {
      if (state == State::Opening) {
        if (d == "OK\n") {
          opened();
        } else {
          failOpen(makeError(Errc::ServiceUnavail, where() + ": ATTACH answered '" + printable(d) + "'"));
        }
      } else {
        log::debug(where(), ": ignored on the event socket: '", printable(d), "'");
      }
      return;
    }
    if (!inFlight || !inFlight->sent) {
      log::debug(where(), ": ignored a reply with no request: '", printable(d), "'");
      return;
    }
    if (truncated) {
      complete(makeError(Errc::SystemError, where() + ": reply to " + commandName(inFlight->command) +
                                                " longer than " + std::to_string(kMaxReply) + " bytes"));
      return;
    }
    complete(std::string(d));
  }

  void deliverEvent(std::string_view d) {
    bool terminating = isTerminating(d);
    std::weak_ptr<char> w = alive;
    if (eventHandler) {
      auto handler = eventHandler;  // it may replace itself
      handler(d);
      if (w.expired()) return;
    }
    if (terminating) lost(makeError(Errc::ServiceUnavail, where() + ": hostapd is terminating"));
  }

  // ---------------------------------------------------------------------------------------
  // Opening, closing, losing

  void open(std::function<void(Status)> done) {
    if (destroying) return;
    if (state != State::Closed) {
      post(std::move(done), Status(makeError(Errc::AlreadyExists, where() + ": already open")));
      return;
    }
    if (ctrlPath.empty() || ctrlPath.size() >= sizeof(sockaddr_un::sun_path)) {
      post(std::move(done), Status(makeError(Errc::InvalidArgument, "bad hostapd control socket path '" + ctrlPath + "'")));
      return;
    }
    Status st = connectSocket(cmd, cmdPath);
    if (st) st = connectSocket(evt, evtPath);
    if (st) {
      if (int err = sendOn(evt, "ATTACH"); err != 0) {
        st = err == EAGAIN || err == EWOULDBLOCK || isGone(err)
                 ? makeError(Errc::ServiceUnavail, where() + ": send ATTACH: " + std::strerror(err))
                 : systemError(where() + ": send ATTACH", err);
      }
    }
    if (!st) {
      log::debug(st.error().message);
      ++cmdGen;
      ++evtGen;
      closeSocket(cmd, cmdPath);
      closeSocket(evt, evtPath);
      post(std::move(done), st);
      return;
    }
    state = State::Opening;
    ++session;
    openDone = std::move(done);
    ++cmdGen;
    ++evtGen;
    armRead(Sock::Command);
    armRead(Sock::Event);
    armRequestTimer();
  }

  void opened() {
    state = State::Open;
    cancelRequestTimer();
    armPing();
    log::debug(where(), ": attached");
    std::weak_ptr<char> w = alive;
    if (auto done = std::move(openDone)) {
      openDone = nullptr;
      done(Status{});
      if (w.expired()) return;
    }
    pump();
  }

  // Closes everything; what was pending moves to `failing`, for failPending().
  void shutdown() {
    if (state != State::Closed && evt.is_open()) (void)sendOn(evt, "DETACH");  // best effort
    state = State::Closed;
    ++cmdGen;
    ++evtGen;
    cancelRequestTimer();
    ++pingGen;
    pingTimer.cancel();
    closeSocket(cmd, cmdPath);
    closeSocket(evt, evtPath);
    if (inFlight) failing.push_back(std::move(*inFlight));
    inFlight.reset();
    for (auto& p : queue) failing.push_back(std::move(p));
    queue.clear();
  }

  // Calls the callbacks of what shutdown() took, one by one. False if a callback destroyed
  // us (the destructor then fails the rest).
  bool failPending(const Error& error) {
    std::weak_ptr<char> w = alive;
    if (auto done = std::move(openDone)) {
      openDone = nullptr;
      done(Status(error));
      if (w.expired()) return false;
    }
    while (!failing.empty()) {
      Pending p = std::move(failing.front());
      failing.pop_front();
      if (p.health || !p.done) continue;
      p.done(Result<std::string>(error));
      if (w.expired()) return false;
    }
    return true;
  }

  void close() {
    shutdown();
    failPending(makeError(Errc::ServiceUnavail, where() + ": closed"));
  }

  void failOpen(const Error& error) {
    log::debug(error.message);
    shutdown();
    failPending(error);
  }

  void lost(const Error& error) {
    if (state == State::Closed) return;
    if (state == State::Opening) {
      failOpen(error);
      return;
    }
    log::warning(error.message);
    shutdown();
    uint64_t lostSession = session;
    if (!failPending(error) || session != lostSession) return;  // destroyed, or opened again
    if (lostHandler) {
      auto handler = lostHandler;
      handler(error);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  void request(std::string command, std::function<void(Result<std::string>)> done) {
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

  // From the loop, so that request() never calls back before it returns.
  void schedulePump() {
    if (pumpPosted) return;
    pumpPosted = true;
    asio::post(io, [this, w = std::weak_ptr<char>(alive)] {
      if (w.expired()) return;
      pumpPosted = false;
      pump();
    });
  }

  void pump() {
    if (state != State::Open || inFlight || queue.empty()) return;
    inFlight = std::move(queue.front());
    queue.pop_front();
    armRequestTimer();
    trySend();
  }

  void trySend() {
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

  void complete(Result<std::string> result) {
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

  void armRequestTimer() {
    uint64_t g = ++requestGen;
    requestTimer.expires_after(options.requestTimeout);
    requestTimer.async_wait([this, w = std::weak_ptr<char>(alive), g](const boost::system::error_code& ec) {
      if (w.expired() || ec || g != requestGen) return;
      onRequestTimeout();
    });
  }

  void cancelRequestTimer() {
    ++requestGen;
    requestTimer.cancel();
  }

  void onRequestTimeout() {
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

  void armPing() {
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

  // ---------------------------------------------------------------------------------------
  // Stations

  struct StationWalk {
    std::function<void(Result<std::vector<std::string>>)> done;
    std::vector<std::string> replies;
  };

  void stationStep(std::shared_ptr<StationWalk> walk, std::string command) {
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
};

HostapdControl::HostapdControl(asio::io_context& io, std::string ctrlPath, std::string localDir, Options options)
    : impl_(std::make_unique<Impl>(io, std::move(ctrlPath), std::move(localDir), options)) {}

HostapdControl::~HostapdControl() {
  impl_->destroying = true;
  impl_->close();
}

void HostapdControl::open(std::function<void(Status)> done) { impl_->open(std::move(done)); }

void HostapdControl::close() { impl_->close(); }

bool HostapdControl::isOpen() const { return impl_->state == Impl::State::Open; }

void HostapdControl::request(std::string command, std::function<void(Result<std::string>)> done) {
  impl_->request(std::move(command), std::move(done));
}

void HostapdControl::onEvent(std::function<void(std::string_view)> handler) { impl_->eventHandler = std::move(handler); }

void HostapdControl::onLost(std::function<void(const Error&)> handler) { impl_->lostHandler = std::move(handler); }

void HostapdControl::ping(std::function<void(Status)> done) {
  impl_->request("PING", [done = std::move(done)](Result<std::string> r) {
    if (!done) return;
    if (!r) {
      done(r.error());
    } else if (*r == "PONG\n") {
      done(Status{});
    } else {
      done(makeError(Errc::SystemError, "hostapd answered PING with '" + printable(*r) + "'"));
    }
  });
}

void HostapdControl::stations(std::function<void(Result<std::vector<std::string>>)> done) {
  auto walk = std::make_shared<Impl::StationWalk>();
  walk->done = done ? std::move(done) : [](Result<std::vector<std::string>>) {};
  impl_->stationStep(std::move(walk), "STA-FIRST");
}

}  // namespace tetherd::softap
