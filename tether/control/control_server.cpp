#include "tether/control/control_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <list>

#include "tether/base/log.h"

namespace tetherd::control {

namespace asio = boost::asio;
using Stream = asio::local::stream_protocol;

// Output memory held by all clients together, and what to do when it is over the total.
struct Budget {
  size_t total = 0;
  size_t dropped = 0;
  std::function<void()> overTotal;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // A written buffer at most this big is kept for the next write; a bigger one is released.
  static constexpr size_t kKeepBuffer = 16 * 1024;

  Session(Stream::socket socket, const CommandHandler& handler, const ServerLimits& limits, Budget& budget,
          std::function<void(Session*, size_t peak)> onClose)
      : socket_(std::move(socket)), handler_(handler), limits_(limits), budget_(budget), onClose_(std::move(onClose)) {}

  void start() { readMore(); }

  void send(std::string_view data) {
    if (closed_) return;
    const size_t need = out_.size() + data.size();
    if (need + writing_.capacity() > limits_.maxQueuedBytes) {
      log::warning("control: client not reading (", held(), " bytes of output held), disconnecting");
      drop();
      return;
    }
    if (out_.capacity() < need) {
      // Grow by doubling, but never past what this client may hold (a fresh string: reserve()
      // on a non-empty one may double past the size asked for).
      size_t room = limits_.maxQueuedBytes - writing_.capacity();
      std::string grown;
      grown.reserve(std::max(need, std::min(std::max<size_t>(2 * out_.capacity(), 256), room)));
      grown.append(out_);
      out_.swap(grown);
    }
    out_.append(data);
    charge();
    if (budget_.total > limits_.maxTotalQueuedBytes && budget_.overTotal) {
      budget_.overTotal();
      if (closed_) return;
    }
    if (!writing_in_flight_) writeNext();
  }

  void drop() {
    ++budget_.dropped;
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    socket_.close(ignored);
    out_ = std::string();
    if (!writing_in_flight_) writing_ = std::string();  // else freed with the session
    budget_.total -= charged_;
    charged_ = 0;
    auto cb = std::move(onClose_);
    if (cb) cb(this, peak_);
  }

  size_t held() const { return out_.capacity() + writing_.capacity(); }

 private:
  void charge() {
    size_t now = held();
    budget_.total = budget_.total - charged_ + now;
    charged_ = now;
    peak_ = std::max(peak_, now);
  }

  void readMore() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(readBuf_), [this, self](boost::system::error_code ec, size_t n) {
      if (ec || closed_) {
        close();
        return;
      }
      consume(std::string_view(readBuf_.data(), n));
      if (!closed_) readMore();
    });
  }

  void consume(std::string_view data) {
    for (char c : data) {
      if (c == '\n' || c == '\0') {
        if (discarding_) {
          discarding_ = false;
        } else {
          handleLine(line_);
        }
        line_.clear();
        if (closed_) return;
        continue;
      }
      if (discarding_) continue;
      if (line_.size() >= kMaxLineLength) {
        // Refuse now rather than buffer without bound; skip to the end of this line.
        auto parsed = parseRequest(std::string_view(line_).substr(0, 16));
        send(formatReply(code::CommandSyntaxError, parsed.request.seq, "Command too long"));
        line_.clear();
        discarding_ = true;
        continue;
      }
      line_ += c;
    }
  }

  void handleLine(const std::string& line) {
    auto parsed = parseRequest(line);
    switch (parsed.kind) {
      case ParseResult::Kind::Empty:
        return;
      case ParseResult::Kind::Error:
        send(formatReply(code::CommandSyntaxError, parsed.request.seq, parsed.error));
        return;
      case ParseResult::Kind::Ok:
        break;
    }
    Responder responder(weak_from_this(), parsed.request.seq);
    try {
      handler_(parsed.request, responder);
    } catch (const std::exception& e) {
      log::error("control: command '", parsed.request.command, "' threw: ", e.what());
      responder.finish(code::OperationFailed, "internal error");
    }
  }

  // Write what is queued as one buffer; what is sent meanwhile queues in out_.
  void writeNext() {
    if (out_.empty()) return;
    std::swap(writing_, out_);
    writing_in_flight_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(writing_), [this, self](boost::system::error_code ec, size_t) {
      writing_in_flight_ = false;
      if (ec || closed_) {
        close();
        return;
      }
      if (writing_.capacity() > kKeepBuffer) writing_ = std::string();
      else writing_.clear();
      charge();
      writeNext();
    });
  }

  Stream::socket socket_;
  const CommandHandler& handler_;
  const ServerLimits& limits_;
  Budget& budget_;
  std::function<void(Session*, size_t)> onClose_;
  std::array<char, 4096> readBuf_{};
  std::string line_;
  bool discarding_ = false;
  bool closed_ = false;
  bool writing_in_flight_ = false;
  std::string out_;      // queued, not yet handed to the socket
  std::string writing_;  // being written
  size_t charged_ = 0;   // what this session counts in budget_.total
  size_t peak_ = 0;
};

void Responder::line(int code, std::string_view message) const {
  if (auto s = session_.lock()) s->send(formatReply(code, seq_, message));
}
void Responder::finish(int code, std::string_view message) const {
  if (auto s = session_.lock()) s->send(formatReply(code, seq_, message));
}
void Responder::fail(const Error& error) const {
  int c = error.code == Errc::InvalidArgument ? code::CommandParameterError : code::OperationFailed;
  finish(c, std::string(errcName(error.code)) + ": " + error.message);
}

struct ControlServer::Impl {
  Impl(asio::io_context& io, CommandHandler h, ServerLimits l)
      : io(io), handler(std::move(h)), limits(l), acceptor(io) {
    budget.overTotal = [this] { dropBiggest(); };
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, Stream::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        if (sessions.size() >= limits.maxClients) {
          refuse(std::move(socket));
        } else {
          auto session = std::make_shared<Session>(std::move(socket), handler, limits, budget,
                                                   [this](Session* s, size_t peak) { remove(s, peak); });
          sessions.push_back(session);
          session->start();
        }
      } else {
        log::warning("control: accept failed: ", ec.message());
      }
      accept();
    });
  }

  void refuse(Stream::socket socket) {
    if (refused++ % 100 == 0)
      log::warning("control: too many clients (", sessions.size(), "), refusing (", refused, " so far)");
    std::string line = formatReply(code::CommandSyntaxError, 0,
                                   "Too many control clients (" + std::to_string(limits.maxClients) + "); try again later");
    // A fresh socket's buffer is empty: this does not block, and a failure changes nothing.
    (void)::send(socket.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  void dropBiggest() {
    while (budget.total > limits.maxTotalQueuedBytes && !sessions.empty()) {
      std::shared_ptr<Session> biggest;
      for (auto& s : sessions)
        if (!biggest || s->held() > biggest->held()) biggest = s;
      log::warning("control: clients hold ", budget.total, " bytes of output (limit ", limits.maxTotalQueuedBytes,
                   "); disconnecting the one not reading the most (", biggest->held(), " bytes)");
      biggest->drop();
    }
  }

  void remove(Session* s, size_t peak) {
    sessions.remove_if([s](const std::shared_ptr<Session>& p) { return p.get() == s; });
    // Give a big client's buffers back to the system once they are freed (after its
    // cancelled handlers, queued before this, have run).
    if (peak >= kTrimAfter) asio::post(io, [] { trimHeap(); });
  }

  static void trimHeap() {
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
  }
  static constexpr size_t kTrimAfter = 64 * 1024;

  asio::io_context& io;
  CommandHandler handler;
  ServerLimits limits;
  Stream::acceptor acceptor;
  std::list<std::shared_ptr<Session>> sessions;
  Budget budget;
  size_t refused = 0;
  std::string ownedPath;  // the socket file we created (removed on stop)
};

ControlServer::ControlServer(asio::io_context& io, CommandHandler handler, ServerLimits limits)
    : impl_(std::make_unique<Impl>(io, std::move(handler), limits)) {}

ControlServer::~ControlServer() { stop(); }

namespace {
// Is a daemon answering on this path?
bool someoneListening(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

Status ControlServer::listenPath(const std::string& path, const std::string& group) {
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return makeError(Errc::InvalidArgument, "control socket path too long: " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return makeError(Errc::AlreadyExists, path + " exists and is not a socket");
    if (someoneListening(path)) return makeError(Errc::AlreadyExists, "another tetherd is answering on " + path);
    ::unlink(path.c_str());  // stale, from a previous run that did not stop cleanly
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    struct group* gr = ::getgrnam(group.c_str());
    if (!gr) return makeError(Errc::InvalidArgument, "control_group '" + group + "' does not exist");
    gid = gr->gr_gid;
  }
  boost::system::error_code ec;
  impl_->acceptor.open(Stream(), ec);
  // Created with 0660 from the start: never world-accessible, not even for a moment.
  mode_t old = ::umask(0117);
  if (!ec) impl_->acceptor.bind(Stream::endpoint(path), ec);
  ::umask(old);
  if (ec) {
    impl_->acceptor.close();
    return makeError(Errc::SystemError, "bind " + path + ": " + ec.message());
  }
  impl_->ownedPath = path;
  if (gid != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)
    return systemError("chown " + path, errno);
  ::chmod(path.c_str(), 0660);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return makeError(Errc::SystemError, "listen " + path + ": " + ec.message());
  impl_->accept();
  return {};
}

Status ControlServer::adoptFd(int fd) {
  boost::system::error_code ec;
  impl_->acceptor.assign(Stream(), fd, ec);
  if (ec) return makeError(Errc::SystemError, "adopt socket fd " + std::to_string(fd) + ": " + ec.message());
  impl_->accept();
  return {};
}

void ControlServer::stop() {
  if (!impl_) return;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  auto sessions = impl_->sessions;  // close() removes from the list
  for (auto& s : sessions) s->close();
  impl_->sessions.clear();
  if (!impl_->ownedPath.empty()) {
    ::unlink(impl_->ownedPath.c_str());
    impl_->ownedPath.clear();
  }
}

void ControlServer::broadcast(int code, std::string_view message) {
  std::string line = formatEvent(code, message);
  auto sessions = impl_->sessions;
  for (auto& s : sessions) s->send(line);
}

size_t ControlServer::clientCount() const { return impl_->sessions.size(); }

ServerStats ControlServer::stats() const {
  return {impl_->sessions.size(), impl_->budget.total, impl_->budget.dropped, impl_->refused};
}

}  // namespace tetherd::control
