// One HTTP/1.1 connection on the event loop, templated on the stream so that tests drive it with
// beast::test::stream (raw bytes in, raw bytes out) and the server with a TCP socket.
//
// Requests are parsed by Beast with bounded headers (8 KiB -> 431) and bodies (64 KiB -> 413);
// any parse error gets a 400. Every error is a complete HTTP response followed by a lingering
// close (stop sending, drain what the client still sends for a moment, then close), so the
// client reads the answer instead of a reset. Keep-alive per HTTP/1.1 (and 1.0's header).
// Deadlines: from the moment a request is awaited, its header must be complete within
// `header` and the whole request within `request`; nothing postpones or cancels them (not an
// "Expect: 100-continue" answer, not bytes trickling in) but the request being read. On a TLS
// stream the first request's deadlines include the handshake (StreamHandshake): a client that
// opens TLS and stalls is closed at the header deadline, and may lose its slot before that. Writes
// have their own timer. An
// event-stream response keeps the connection: events are queued to it, a client that stops
// reading is dropped once its queue passes a bound.
//
// Include only from the TUs that instantiate it (Beast is heavy to compile).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "web/http/http.h"
#include "web/http/open_connection.h"

namespace tetherd::web {

// How a stream stops sending and closes; specialised per stream type.
template <class Stream>
struct StreamOps;

template <>
struct StreamOps<boost::asio::ip::tcp::socket> {
  static void shutdownSend(boost::asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }
  static void close(boost::asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    s.close(ec);
  }
};

// The handshake a stream needs before HTTP (none: done at once); TLS specialises it
// (web/http/tls_stream.h).
template <class Stream>
struct StreamHandshake {
  template <class Done>
  static void run(Stream&, Done&& done) {
    done(boost::system::error_code{});
  }
};

struct ConnectionLimits {
  std::chrono::milliseconds header{10'000};  // awaiting a request: its header complete by then
  std::chrono::milliseconds request{30'000}; // and the whole request (body included) by then
  std::chrono::milliseconds write{15'000};   // one write taking longer: the client is gone
  std::chrono::milliseconds linger{1'000};   // draining before the close after an error
  size_t maxQueuedBytes = 256 * 1024;        // event-stream backlog
};

template <class Stream>
class HttpConnection : public OpenConnection, public std::enable_shared_from_this<HttpConnection<Stream>> {
 public:
  using RequestHandler = std::function<void(Request, Reply)>;

  HttpConnection(Stream stream, std::string peer, RequestHandler handler, ConnectionLimits limits = {})
      : stream_(std::move(stream)), peer_(std::move(peer)), handler_(std::move(handler)), limits_(limits),
        timer_(stream_.get_executor()), writeTimer_(stream_.get_executor()) {}

  // The address the client connected to (Request::local), before start().
  void setLocal(std::string local) { local_ = std::move(local); }

  void start() override {
    startDeadlines();
    auto self = this->shared_from_this();
    StreamHandshake<Stream>::run(stream_, [self](boost::system::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->close();  // not TLS, a bad ClientHello, or the deadline closed it
      self->readRequest(true);
    });
  }
  // A check of the first request only (a connection in the session-only slots): "" lets it
  // through, anything else is the message of a 503 that closes the connection.
  void checkFirstRequest(std::function<std::string(const Request&)> check) override { firstCheck_ = std::move(check); }

  // Close now (server stop).
  void close() override {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    writeTimer_.cancel();
    if (stream_event_) stream_event_->detach();
    StreamOps<Stream>::close(stream_);
  }
  bool closed() const override { return closed_; }
  // Waiting for (the rest of) a request: its header or its body. A connection that has not
  // completed a request (a client's take milliseconds) may give its slot to a newcomer.
  bool awaitingRequest() const override { return awaitingRequest_ && !closed_; }

 private:
  void armTimer(std::chrono::milliseconds d) { arm(timer_, d); }

  void arm(boost::asio::steady_timer& t, std::chrono::milliseconds d) {
    t.expires_after(d);
    std::weak_ptr<HttpConnection> weak = this->shared_from_this();
    t.async_wait([weak](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->close();
    });
  }

  // The request's deadlines run from here: the header's first, then the whole request's.
  void startDeadlines() {
    requestDeadline_ = std::chrono::steady_clock::now() + limits_.request;
    awaitingRequest_ = true;
    armTimer(std::min(limits_.header, limits_.request));
  }

  // deadlinesRunning: the first request, whose deadlines start() began before the handshake.
  void readRequest(bool deadlinesRunning = false) {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser_->body_limit(kMaxBodyBytes);
    if (!deadlinesRunning) startDeadlines();
    auto self = this->shared_from_this();
    // The header first: a client that sent "Expect: 100-continue" (curl does, for bodies over
    // 1 KiB) waits for the go-ahead before it sends the body.
    boost::beast::http::async_read_header(stream_, buffer_, *parser_,
                                          [self](boost::beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(boost::beast::error_code ec) {
    if (closed_) return;
    if (ec || parser_->is_done()) return onRead(ec);
    // A session-only slot: the header decides, before any go-ahead for a body.
    if (firstCheck_) {
      Request head;
      for (const auto& f : parser_->get()) head.headers.push_back(Header{std::string(f.name_string()), std::string(f.value())});
      head.peer = peer_;
      head.local = local_;
      if (!passesFirstCheck(head)) return;
    }
    // The header is in: what is left of the request's deadline applies to the body (the write
    // of "100 Continue" below has its own timer and leaves this one alone).
    timer_.expires_at(requestDeadline_);
    std::weak_ptr<HttpConnection> weak = this->shared_from_this();
    timer_.async_wait([weak](boost::system::error_code e) {
      if (e) return;
      if (auto self = weak.lock()) self->close();
    });
    const auto& h = parser_->get();
    auto expect = h.find(boost::beast::http::field::expect);
    if (expect != h.end() && h.version() == 11 && boost::beast::iequals(expect->value(), "100-continue"))
      send("HTTP/1.1 100 Continue\r\n\r\n");
    auto self = this->shared_from_this();
    boost::beast::http::async_read(stream_, buffer_, *parser_,
                                   [self](boost::beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  // The first request's check (checkFirstRequest): false when it was refused (503 sent).
  bool passesFirstCheck(const Request& req) {
    const std::string why = firstCheck_(req);
    firstCheck_ = nullptr;
    if (why.empty()) return true;
    timer_.cancel();
    keepAlive_ = false;
    headOnly_ = false;
    Response busy = plainError(503, why);
    busy.set("Retry-After", "5");
    respond(std::move(busy));
    return false;
  }

  void onRead(boost::beast::error_code ec) {
    timer_.cancel();
    awaitingRequest_ = false;
    if (closed_) return;
    namespace http = boost::beast::http;
    if (ec) {
      if (ec == http::error::end_of_stream || ec == boost::asio::error::eof || ec == boost::asio::error::operation_aborted ||
          ec == boost::asio::error::connection_reset)
        return close();
      if (ec == http::error::partial_message) return close();  // the client left mid-request
      if (ec == http::error::header_limit) return fail(431, "request headers larger than 8 KiB");
      if (ec == http::error::body_limit) return fail(413, "request body larger than 64 KiB");
      return fail(400, "malformed request");
    }
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (req.target.empty() || req.target.front() != '/') return fail(400, "only origin-form targets (\"/path\")");
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& f : msg) req.headers.push_back(Header{std::string(f.name_string()), std::string(f.value())});
    req.body = std::move(msg.body());
    req.peer = peer_;
    req.local = local_;
    keepAlive_ = msg.keep_alive();
    headOnly_ = req.method == "HEAD";
    if (msg.version() != 11 && msg.version() != 10) return fail(505, "HTTP/1.0 or HTTP/1.1 only");
    if (msg.version() == 11 && !req.header("Host")) return fail(400, "Host header required");
    if (firstCheck_ && !passesFirstCheck(req)) return;
    auto self = this->shared_from_this();
    auto replied = std::make_shared<bool>(false);
    handler_(std::move(req), [self, replied](Response r) {
      if (*replied) return;  // a handler answers once
      *replied = true;
      self->respond(std::move(r));
    });
  }

  void respond(Response r) {
    if (closed_) return;
    if (r.stream) {
      stream_event_ = r.stream;
      send(serialize(r, false));
      std::weak_ptr<HttpConnection> weak = this->shared_from_this();
      stream_event_->attach(
          [weak](std::string chunk) {
            if (auto self = weak.lock()) self->send(std::move(chunk));
          },
          [weak] {
            if (auto self = weak.lock()) self->endAfterWrites();
          });
      watchForClose();
      return;
    }
    const bool keep = keepAlive_ && !r.close;
    send(serialize(r, keep, headOnly_));
    if (keep) {
      afterWrites_ = [this] { readRequest(); };
    } else {
      afterWrites_ = [this] { lingeringClose(); };
    }
    if (!writing_) runAfterWrites();
  }

  // An error response, then the lingering close.
  void fail(int status, std::string_view message) {
    keepAlive_ = false;
    headOnly_ = false;
    respond(plainError(status, message));
  }

  void send(std::string data) {
    if (closed_) return;
    queuedBytes_ += data.size();
    if (queuedBytes_ > limits_.maxQueuedBytes) return close();  // not reading: drop it
    queue_.push_back(std::move(data));
    if (!writing_) writeNext();
  }

  void writeNext() {
    if (queue_.empty()) {
      writing_ = false;
      runAfterWrites();
      return;
    }
    writing_ = true;
    arm(writeTimer_, limits_.write);
    auto self = this->shared_from_this();
    boost::asio::async_write(stream_, boost::asio::buffer(queue_.front()), [self](boost::beast::error_code ec, std::size_t) {
      self->writeTimer_.cancel();
      if (ec) return self->close();
      self->queuedBytes_ -= self->queue_.front().size();
      self->queue_.pop_front();
      self->writeNext();
    });
  }

  void runAfterWrites() {
    if (!afterWrites_ || writing_ || closed_) return;
    auto next = std::move(afterWrites_);
    afterWrites_ = nullptr;
    next();
  }

  void endAfterWrites() {
    afterWrites_ = [this] { lingeringClose(); };
    if (!writing_) runAfterWrites();
  }

  // An event stream: the client sends nothing more; a read completes when it goes away.
  void watchForClose() {
    auto self = this->shared_from_this();
    stream_.async_read_some(boost::asio::buffer(drain_), [self](boost::beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->watchForClose();  // ignore stray bytes
    });
  }

  void lingeringClose() {
    if (closed_) return;
    StreamOps<Stream>::shutdownSend(stream_);
    armTimer(limits_.linger);
    drainSome(0);
  }

  void drainSome(size_t total) {
    auto self = this->shared_from_this();
    stream_.async_read_some(boost::asio::buffer(drain_), [self, total](boost::beast::error_code ec, std::size_t n) {
      if (ec || total + n > 256 * 1024) return self->close();
      self->drainSome(total + n);
    });
  }

  Stream stream_;
  std::string peer_;
  std::string local_;
  RequestHandler handler_;
  ConnectionLimits limits_;
  boost::asio::steady_timer timer_;       // the request's deadlines, then the lingering close
  boost::asio::steady_timer writeTimer_;  // one write
  std::chrono::steady_clock::time_point requestDeadline_{};
  bool awaitingRequest_ = false;
  boost::beast::flat_buffer buffer_{2 * (kMaxHeaderBytes + kMaxBodyBytes)};
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::deque<std::string> queue_;
  size_t queuedBytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool keepAlive_ = false;
  bool headOnly_ = false;
  std::function<void()> afterWrites_;
  std::function<std::string(const Request&)> firstCheck_;
  std::shared_ptr<EventStream> stream_event_;
  char drain_[4096];
};

}  // namespace tetherd::web
