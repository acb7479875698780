// The control socket: a unix stream socket served on the daemon's Asio loop.
// Many clients at once; each line is parsed and handed to the CommandHandler; replies
// and 6xx events are queued per client. A client that sends an over-long line gets a
// 500 and the rest of that line is discarded; one that stops reading is disconnected
// once its queue passes a bound; none of them can block the loop or another client.
// Queued output is one contiguous buffer per client (plus the one being written), and
// what is counted is the buffers' capacity, i.e. the memory really held: per client and
// in total across clients. Over the total, the client holding the most is dropped. The
// memory of a dropped or departed client is given back to the system (malloc_trim).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "tether/control/control_protocol.h"
#include "tether/base/result.h"

namespace tetherd::control {

class Session;

// Replies to one request. Copyable; may be kept and completed later (asynchronous
// commands). Lines sent after the client went away are dropped.
class Responder {
 public:
  Responder(std::weak_ptr<Session> session, uint32_t seq) : session_(std::move(session)), seq_(seq) {}
  void line(int code, std::string_view message) const;   // 1xx continuation
  void finish(int code, std::string_view message) const;  // final 2xx/4xx/5xx
  void fail(const Error& error) const;                     // 4xx (5xx for InvalidArgument)
  uint32_t seq() const { return seq_; }

 private:
  std::weak_ptr<Session> session_;
  uint32_t seq_;
};

using CommandHandler = std::function<void(const Request&, const Responder&)>;

struct ServerLimits {
  size_t maxClients = 64;                  // more are refused with a 500 line
  size_t maxQueuedBytes = 128 * 1024;      // per client (buffer capacity), before it is dropped
  size_t maxTotalQueuedBytes = 2u << 20;   // all clients; over it the biggest holder is dropped
};

struct ServerStats {
  size_t clients = 0;
  size_t queuedBytes = 0;   // output buffer memory held for all clients now
  size_t dropped = 0;       // clients dropped for not reading, since start
  size_t refused = 0;       // connections refused for too many clients, since start
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, CommandHandler handler, ServerLimits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Bind a new socket at path (mode 0660, optional group); refuses when another daemon
  // answers there, replaces a stale file otherwise.
  Status listenPath(const std::string& path, const std::string& group);
  // Adopt an already listening socket (systemd socket activation); the file stays.
  Status adoptFd(int fd);
  void stop();  // close the listener and every client; removes the file it created

  void broadcast(int code, std::string_view message);  // a 6xx event to every client
  size_t clientCount() const;
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd::control
