// HostapdControl: its two sockets, opening (ATTACH), closing and losing hostapd, and the
// public interface (the requests are hostapd_ctrl_requests.cpp).
#include "softap/hostapd/hostapd_ctrl.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "softap/hostapd/hostapd_ctrl_impl.h"
#include "tether/base/log.h"

namespace tetherd::softap {

namespace ctrl {

// Send errors meaning nobody is behind ctrlPath any more.
bool isGone(int err) {
  return err == ECONNREFUSED || err == ENOENT || err == ECONNRESET || err == ENOTCONN || err == EPIPE ||
         err == EDESTADDRREQ;
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

}  // namespace ctrl

using namespace ctrl;

namespace {

// Datagrams read per wake-up before the socket waits again (and other work gets a turn).
constexpr int kMaxReadsPerTurn = 64;
constexpr std::string_view kTerminating = "CTRL-EVENT-TERMINATING";

// A unique suffix for this process's socket files ("-<n>").
std::atomic<unsigned> gSocketCounter{0};

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

}  // namespace

Status HostapdControl::Impl::connectSocket(Dgram::socket& s, std::string& ownPath) {
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

void HostapdControl::Impl::closeSocket(Dgram::socket& s, std::string& ownPath) {
  boost::system::error_code ignored;
  s.close(ignored);
  if (!ownPath.empty()) ::unlink(ownPath.c_str());
  ownPath.clear();
}

void HostapdControl::Impl::armRead(Sock which) {
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

void HostapdControl::Impl::onReadable(Sock which) {
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

void HostapdControl::Impl::handleDatagram(Sock which, std::string_view d, bool truncated) {
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

void HostapdControl::Impl::deliverEvent(std::string_view d) {
  bool terminating = isTerminating(d);
  std::weak_ptr<char> w = alive;
  if (eventHandler) {
    auto handler = eventHandler;  // it may replace itself
    handler(d);
    if (w.expired()) return;
  }
  if (terminating) lost(makeError(Errc::ServiceUnavail, where() + ": hostapd is terminating"));
}

void HostapdControl::Impl::open(std::function<void(Status)> done) {
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

void HostapdControl::Impl::opened() {
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

void HostapdControl::Impl::shutdown() {
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

bool HostapdControl::Impl::failPending(const Error& error) {
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

void HostapdControl::Impl::close() {
  shutdown();
  failPending(makeError(Errc::ServiceUnavail, where() + ": closed"));
}

void HostapdControl::Impl::failOpen(const Error& error) {
  log::debug(error.message);
  shutdown();
  failPending(error);
}

void HostapdControl::Impl::lost(const Error& error) {
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
