// A D-Bus connection (sd-bus) driven by the Asio loop: the connection's fd waits in a
// posix::stream_descriptor for what sd_bus_get_events() asks, a steady_timer for
// sd_bus_get_timeout(), and sd_bus_process() runs when either fires. Nothing blocks: method
// calls are asynchronous (sd_bus_call_async), their replies and matched signals are delivered
// from the loop. Not thread-safe: use it from the thread that runs the io_context.
#pragma once

#include <systemd/sd-bus.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tether/base/result.h"

namespace tetherd {

class BusConnection {
 public:
  // The reply of a method call: `reply` is the reply message or nullptr, `error` is set for
  // an error reply, a timeout or a lost connection.
  using ReplyHandler = std::function<void(sd_bus_message* reply, const sd_bus_error* error)>;
  using SignalHandler = std::function<void(sd_bus_message* signal)>;

  explicit BusConnection(boost::asio::io_context& io);
  ~BusConnection();
  BusConnection(const BusConnection&) = delete;
  BusConnection& operator=(const BusConnection&) = delete;

  // Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else the default socket). The
  // connection and the Hello exchange complete in the loop; calls may be queued at once.
  Status openSystem();
  // Drops the connection; pending replies are never delivered. Safe from inside a handler.
  void close();
  bool isOpen() const;
  // Called (from the loop) when the connection is lost; the connection is closed by then.
  void onDisconnect(std::function<void()> handler);

  // A method call message to fill with sd_bus_message_append() before call().
  Result<sd_bus_message*> newMethodCall(const char* destination, const char* path, const char* interface,
                                        const char* member);
  // Sends `message` (takes ownership of the caller's reference). The handler runs exactly
  // once from the loop, unless the connection is closed first.
  Status call(sd_bus_message* message, uint64_t timeoutUsec, ReplyHandler handler);
  // A match rule ("type='signal',..."); the handler runs for each matching message.
  Status addMatch(const std::string& rule, SignalHandler handler);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "org.freedesktop.DBus.Error.UnknownMethod: No such method 'Register'" (or the errno text):
// one line, the message cut after 160 bytes (on a UTF-8 character boundary), control bytes as
// spaces.
std::string busErrorText(const sd_bus_error* error);

}  // namespace tetherd
