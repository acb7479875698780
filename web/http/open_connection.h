// What the server sees of one accepted connection, whatever its stream (plain TCP or TLS):
// HttpConnection<Stream> implements it, and the server keeps its slots with this alone.
// No Beast here.
#pragma once

#include <functional>
#include <string>

#include "web/http/http.h"

namespace tetherd::web {

class OpenConnection {
 public:
  virtual ~OpenConnection() = default;
  // Starts the deadlines (header, request), the TLS handshake if any, then reading.
  virtual void start() = 0;
  virtual void close() = 0;
  virtual bool closed() const = 0;
  // Its request (or the TLS handshake before it) not complete yet.
  virtual bool awaitingRequest() const = 0;
  virtual void checkFirstRequest(std::function<std::string(const Request&)> check) = 0;
};

}  // namespace tetherd::web
