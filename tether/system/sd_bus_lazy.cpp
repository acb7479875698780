#include "tether/system/sd_bus_lazy.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdarg>
#include <type_traits>

#include "tether/base/lazy_library.h"

namespace tetherd {

LazyLibrary& libsystemd() {
  static LazyLibrary lib("libsystemd.so.0");
  return lib;
}

std::string loadSdBus() {
  auto& lib = libsystemd();
  if (auto e = lib.error(); !e.empty()) return e;
  // Every function the stubs forward to, so that a missing one shows here, not mid-call.
  for (const char* name : {"sd_bus_open_system", "sd_bus_message_appendv", "sd_bus_message_readv", "sd_bus_add_match_async"})
    if (lib.function<void (*)()>(name) == nullptr) return lib.error();
  return "";
}

}  // namespace tetherd

namespace {

// The stub's answer when the library or the function is not there.
template <class R>
R unavailable() {
  if constexpr (std::is_same_v<R, int>) return -ELIBACC;
  else return R{};
}

}  // namespace

// ---- the stubs: the declarations of <systemd/sd-bus.h>, forwarding ---------------------------

#define TETHERD_FORWARD(ret, name, params, ...)                                                           \
  ret name params {                                                                                       \
    static const auto real = tetherd::libsystemd().function<ret(*) params>(#name);                        \
    return real != nullptr ? real(__VA_ARGS__) : unavailable<ret>();                                      \
  }

extern "C" {

TETHERD_FORWARD(int, sd_bus_open_system, (sd_bus * *ret), ret)
TETHERD_FORWARD(sd_bus*, sd_bus_close_unref, (sd_bus * bus), bus)
TETHERD_FORWARD(int, sd_bus_is_open, (sd_bus * bus), bus)
TETHERD_FORWARD(int, sd_bus_call_async,
                (sd_bus * bus, sd_bus_slot** slot, sd_bus_message* m, sd_bus_message_handler_t cb, void* userdata, uint64_t usec),
                bus, slot, m, cb, userdata, usec)
TETHERD_FORWARD(int, sd_bus_get_fd, (sd_bus * bus), bus)
TETHERD_FORWARD(int, sd_bus_get_events, (sd_bus * bus), bus)
TETHERD_FORWARD(int, sd_bus_get_timeout, (sd_bus * bus, uint64_t* usec), bus, usec)
TETHERD_FORWARD(int, sd_bus_process, (sd_bus * bus, sd_bus_message** r), bus, r)
TETHERD_FORWARD(int, sd_bus_add_match_async,
                (sd_bus * bus, sd_bus_slot** slot, const char* match, sd_bus_message_handler_t cb,
                 sd_bus_message_handler_t install, void* userdata),
                bus, slot, match, cb, install, userdata)
TETHERD_FORWARD(sd_bus_slot*, sd_bus_slot_unref, (sd_bus_slot * slot), slot)
TETHERD_FORWARD(int, sd_bus_slot_set_floating, (sd_bus_slot * slot, int b), slot, b)
TETHERD_FORWARD(int, sd_bus_slot_set_destroy_callback, (sd_bus_slot * slot, sd_bus_destroy_t cb), slot, cb)
TETHERD_FORWARD(int, sd_bus_message_new_method_call,
                (sd_bus * bus, sd_bus_message** m, const char* destination, const char* path, const char* interface,
                 const char* member),
                bus, m, destination, path, interface, member)
TETHERD_FORWARD(sd_bus_message*, sd_bus_message_unref, (sd_bus_message * m), m)
TETHERD_FORWARD(const char*, sd_bus_message_get_member, (sd_bus_message * m), m)
TETHERD_FORWARD(const char*, sd_bus_message_get_sender, (sd_bus_message * m), m)
TETHERD_FORWARD(const sd_bus_error*, sd_bus_message_get_error, (sd_bus_message * m), m)
TETHERD_FORWARD(int, sd_bus_message_appendv, (sd_bus_message * m, const char* types, va_list ap), m, types, ap)
TETHERD_FORWARD(int, sd_bus_message_append_basic, (sd_bus_message * m, char type, const void* p), m, type, p)
TETHERD_FORWARD(int, sd_bus_message_open_container, (sd_bus_message * m, char type, const char* contents), m, type, contents)
TETHERD_FORWARD(int, sd_bus_message_close_container, (sd_bus_message * m), m)
TETHERD_FORWARD(int, sd_bus_message_readv, (sd_bus_message * m, const char* types, va_list ap), m, types, ap)
TETHERD_FORWARD(int, sd_bus_message_read_strv, (sd_bus_message * m, char*** l), m, l)
TETHERD_FORWARD(int, sd_bus_error_has_name, (const sd_bus_error* e, const char* name), e, name)

// The variadic two go through their va_list forms.
int sd_bus_message_append(sd_bus_message* m, const char* types, ...) {
  va_list ap;
  va_start(ap, types);
  const int r = sd_bus_message_appendv(m, types, ap);
  va_end(ap);
  return r;
}

int sd_bus_message_read(sd_bus_message* m, const char* types, ...) {
  va_list ap;
  va_start(ap, types);
  const int r = sd_bus_message_readv(m, types, ap);
  va_end(ap);
  return r;
}

}  // extern "C"
