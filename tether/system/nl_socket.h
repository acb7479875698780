// The libnl socket the netlink adapters (routing, shaping, conntrack) open on first use and
// keep: one opener, so each says only its protocol and what to call it in an error.
#pragma once

#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <string>

#include "tether/base/result.h"

namespace tetherd {

class NlSocket {
 public:
  NlSocket(int protocol, const char* what) : protocol_(protocol), what_(what) {}
  ~NlSocket() { close(); }
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  // Connected already, or now; else the error, naming the socket.
  Status open() {
    if (sock_) return {};
    sock_ = nl_socket_alloc();
    if (!sock_) return makeError(Errc::IfaceCfgError, std::string(what_) + ": out of memory");
    if (int err = nl_connect(sock_, protocol_); err < 0) {
      close();
      return makeError(Errc::IfaceCfgError, std::string(what_) + ": " + nl_geterror(err));
    }
    return {};
  }
  // Dropped (after a failed request: the next open() starts afresh).
  void close() {
    if (sock_) nl_socket_free(sock_);
    sock_ = nullptr;
  }
  nl_sock* get() const { return sock_; }

 private:
  int protocol_;
  const char* what_;
  nl_sock* sock_ = nullptr;
};

}  // namespace tetherd
