#include "tether/system/sd_bus_loop.h"

#include <poll.h>
#include <time.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>

#include "tether/base/log.h"
#include "tether/system/sd_bus_lazy.h"

namespace tetherd {

namespace asio = boost::asio;

namespace {

// Handlers live on the heap, owned by their sd-bus slot: freed by the slot's destroy callback
// when the slot goes (reply delivered, or the connection freed).
struct CallData {
  BusConnection::ReplyHandler handler;
};
struct MatchData {
  BusConnection::SignalHandler handler;
};

int onReply(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
  auto* d = static_cast<CallData*>(userdata);
  auto handler = std::move(d->handler);
  d->handler = nullptr;
  if (!handler) return 0;
  const sd_bus_error* e = sd_bus_message_get_error(m);
  try {  // never let an exception cross sd-bus's C frames
    handler(e != nullptr ? nullptr : m, e);
  } catch (const std::exception& ex) {
    log::error("d-bus: reply handler failed: ", ex.what());
  }
  return 0;
}

int onSignal(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
  auto* d = static_cast<MatchData*>(userdata);
  try {
    if (d->handler) d->handler(m);
  } catch (const std::exception& ex) {
    log::error("d-bus: signal handler failed: ", ex.what());
  }
  return 0;  // other handlers may want it too
}

void destroyCall(void* userdata) { delete static_cast<CallData*>(userdata); }
void destroyMatch(void* userdata) { delete static_cast<MatchData*>(userdata); }

uint64_t monotonicUsec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000ULL + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

Error busError(const std::string& what, int r) { return systemError("d-bus: " + what, -r); }

// A slot we hand over to the connection: it lives as long as the connection (or the call).
void floatSlot(sd_bus_slot* slot, sd_bus_destroy_t destroy) {
  sd_bus_slot_set_destroy_callback(slot, destroy);
  sd_bus_slot_set_floating(slot, 1);
  sd_bus_slot_unref(slot);
}

}  // namespace

std::string busErrorText(const sd_bus_error* error) {
  if (error == nullptr) return "no error";
  std::string out = error->name != nullptr ? error->name : "error";
  if (error->message != nullptr && *error->message != '\0') {
    // One line of text, bounded: a peer's message may be long (a Python traceback from a mock)
    // and hold any control byte. Cut on a character boundary: D-Bus strings are UTF-8, and so
    // stays what is shown (a cut inside a character made invalid UTF-8).
    std::string message = error->message;
    if (message.size() > 160) {
      size_t cut = 160;
      while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
      message = message.substr(0, cut) + "...";
    }
    for (char& c : message)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    out += ": " + message;
  }
  return out;
}

struct BusConnection::Impl : std::enable_shared_from_this<BusConnection::Impl> {
  explicit Impl(asio::io_context& io) : io(io), timer(io) {}
  ~Impl() { close(); }

  asio::io_context& io;
  sd_bus* bus = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> fd;
  asio::steady_timer timer;
  uint64_t generation = 0;  // bumped by close(): waits of an old connection are ignored
  bool readWait = false, writeWait = false, posted = false, inProcess = false;
  sd_bus* closeAfterProcess = nullptr;
  std::function<void()> disconnectHandler;

  Status open() {
    close();
    if (const auto why = loadSdBus(); !why.empty()) return makeError(Errc::ServiceUnavail, "d-bus: " + why);
    sd_bus* b = nullptr;
    int r = sd_bus_open_system(&b);
    if (r < 0) return busError("connect to the system bus", r);
    int rawFd = sd_bus_get_fd(b);
    if (rawFd < 0) {
      sd_bus_close_unref(b);
      return busError("connection fd", rawFd);
    }
    bus = b;
    ++generation;
    fd = std::make_unique<asio::posix::stream_descriptor>(io, rawFd);  // not owned: released on close
    schedule();
    return {};
  }

  void close() {
    ++generation;
    readWait = writeWait = posted = false;
    timer.cancel();
    if (fd) {
      fd->release();  // cancels the waits; sd-bus closes the fd itself
      fd.reset();
    }
    if (bus == nullptr) return;
    if (inProcess) {
      closeAfterProcess = bus;  // not under sd_bus_process's feet
    } else {
      sd_bus_close_unref(bus);
    }
    bus = nullptr;
  }

  void schedule() {
    if (posted || bus == nullptr) return;
    posted = true;
    asio::post(io, [weak = weak_from_this(), gen = generation] {
      auto self = weak.lock();
      if (!self || gen != self->generation) return;
      self->posted = false;
      self->process();
    });
  }

  void process() {
    if (bus == nullptr) return;
    auto keep = shared_from_this();  // a handler may drop the BusConnection
    int r = 0;
    inProcess = true;
    for (int i = 0; i < 64 && bus != nullptr; ++i) {
      r = sd_bus_process(bus, nullptr);
      if (r <= 0) break;
    }
    inProcess = false;
    if (closeAfterProcess != nullptr) {
      sd_bus_close_unref(closeAfterProcess);
      closeAfterProcess = nullptr;
    }
    if (bus == nullptr) return;  // closed by a handler
    if (r < 0 || sd_bus_is_open(bus) <= 0) return lost(r);
    if (r > 0) return schedule();  // more queued: yield to the loop, then go on
    arm();
  }

  void arm() {
    int events = sd_bus_get_events(bus);
    if (events < 0) return lost(events);
    auto weak = weak_from_this();
    const uint64_t gen = generation;
    auto waiter = [weak, gen](bool Impl::*flag) {
      return [weak, gen, flag](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self || gen != self->generation) return;
        (*self).*flag = false;
        if (!ec) self->process();
      };
    };
    if ((events & POLLIN) != 0 && !readWait) {
      readWait = true;
      fd->async_wait(asio::posix::descriptor_base::wait_read, waiter(&Impl::readWait));
    }
    if ((events & POLLOUT) != 0 && !writeWait) {
      writeWait = true;
      fd->async_wait(asio::posix::descriptor_base::wait_write, waiter(&Impl::writeWait));
    }
    uint64_t until = UINT64_MAX;
    if (sd_bus_get_timeout(bus, &until) < 0 || until == UINT64_MAX) {
      timer.cancel();
      return;
    }
    uint64_t now = monotonicUsec();
    timer.expires_after(std::chrono::microseconds(until > now ? until - now : 0));
    timer.async_wait([weak, gen](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || gen != self->generation) return;
      self->process();
    });
  }

  void lost(int r) {
    log::warning("d-bus: connection lost", r < 0 ? std::string(": ") + std::strerror(-r) : std::string());
    close();
    if (disconnectHandler) disconnectHandler();
  }
};

BusConnection::BusConnection(asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}
BusConnection::~BusConnection() { impl_->close(); }

Status BusConnection::openSystem() { return impl_->open(); }
void BusConnection::close() { impl_->close(); }
bool BusConnection::isOpen() const { return impl_->bus != nullptr; }
void BusConnection::onDisconnect(std::function<void()> handler) { impl_->disconnectHandler = std::move(handler); }

Result<sd_bus_message*> BusConnection::newMethodCall(const char* destination, const char* path, const char* interface,
                                                     const char* member) {
  if (impl_->bus == nullptr) return makeError(Errc::ServiceUnavail, "d-bus: not connected");
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(impl_->bus, &m, destination, path, interface, member);
  if (r < 0) return busError(std::string("new call ") + interface + "." + member, r);
  return m;
}

Status BusConnection::call(sd_bus_message* message, uint64_t timeoutUsec, ReplyHandler handler) {
  if (impl_->bus == nullptr) {
    sd_bus_message_unref(message);
    return makeError(Errc::ServiceUnavail, "d-bus: not connected");
  }
  auto* data = new CallData{std::move(handler)};
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_async(impl_->bus, &slot, message, onReply, data, timeoutUsec);
  const char* member = sd_bus_message_get_member(message);
  std::string what = std::string("call ") + (member != nullptr ? member : "?");
  sd_bus_message_unref(message);
  if (r < 0) {
    delete data;
    return busError(what, r);
  }
  floatSlot(slot, destroyCall);
  impl_->schedule();
  return {};
}

Status BusConnection::addMatch(const std::string& rule, SignalHandler handler) {
  if (impl_->bus == nullptr) return makeError(Errc::ServiceUnavail, "d-bus: not connected");
  auto* data = new MatchData{std::move(handler)};
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_add_match_async(impl_->bus, &slot, rule.c_str(), onSignal, nullptr, data);
  if (r < 0) {
    delete data;
    return busError("add match " + rule, r);
  }
  floatSlot(slot, destroyMatch);
  impl_->schedule();
  return {};
}

}  // namespace tetherd
