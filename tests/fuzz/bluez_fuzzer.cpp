// BlueZ's and the bus's D-Bus messages as BluetoothPan reads them
// (tether/radios/bluetooth/bluez_messages.h), on real sd_bus_message objects: the fuzz bytes
// choose a sender and a body of D-Bus values (s, o, g, u, b, as, a{sa{sv}}, v) that the
// fuzzer appends with sd-bus as a peer's message would carry them, then the message is sealed
// and each of tetherd's readers runs on it, as for GetNameOwner's reply, NameOwnerChanged,
// InterfacesAdded and InterfacesRemoved. Then an error reply (a valid D-Bus error name and
// any message) goes through classifySetupError and busErrorText.
// Properties: a reader succeeds exactly when the body starts with the types it reads, and
// gives back exactly the values appended; what a signal is taken to mean follows from the
// values (only org.bluez's owner changes count, only the current BlueZ's signals about our
// adapter count, the adapter is gone only when Adapter1 is in the removed list); an error
// text is one line without control bytes, bounded, and valid UTF-8 when the message was.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tether/radios/bluetooth/bluez_messages.h"
#include "tether/system/sd_bus_loop.h"

using namespace tetherd;
using namespace tetherd::bluez;

namespace {

constexpr const char* kAdapterPath = "/org/bluez/hci0";

// A bus that never connects (the other end of a socketpair nobody reads): enough to create,
// seal and read messages. Made once.
sd_bus* theBus() {
  static sd_bus* bus = [] {
    sd_bus* b = nullptr;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0 || sd_bus_new(&b) < 0 ||
        sd_bus_set_fd(b, fds[0], fds[0]) < 0 || sd_bus_start(b) < 0)
      std::abort();
    return b;
  }();
  return bus;
}

// A string: one of the words that matter, or any bytes.
std::string word(FuzzedDataProvider& in) {
  static const char* const kWords[] = {"org.bluez", "", ":1.7", ":1.8", kAdapterPath, "/org/bluez/hci1", kAdapterIface,
                                       "org.bluez.NetworkServer1", "/"};
  if (in.ConsumeBool()) return kWords[in.ConsumeIntegralInRange<size_t>(0, std::size(kWords) - 1)];
  return in.ConsumeRandomLengthString(48).c_str();  // what a C string carries
}

// One value appended: its signature and, for strings and string arrays, what a reader gets.
struct Value {
  std::string type;
  std::vector<std::string> strings;
};

// Appends a value chosen by the fuzz bytes; false when sd-bus refuses it (an invalid object
// path or UTF-8: no such message reaches tetherd).
bool appendValue(FuzzedDataProvider& in, sd_bus_message* m, std::vector<Value>& body) {
  switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0: case 1: case 2: {
      static const char kTypes[] = {'s', 'o', 'g'};
      char t = kTypes[in.ConsumeIntegralInRange(0, 2)];
      std::string s = word(in);
      if (sd_bus_message_append_basic(m, t, s.c_str()) < 0) return false;
      body.push_back({std::string(1, t), {s}});
      return true;
    }
    case 3: {
      uint32_t u = in.ConsumeIntegral<uint32_t>();
      body.push_back({"u", {}});
      return sd_bus_message_append_basic(m, 'u', &u) >= 0;
    }
    case 4: {
      int b = in.ConsumeBool();
      body.push_back({"b", {}});
      return sd_bus_message_append_basic(m, 'b', &b) >= 0;
    }
    case 5: {
      std::vector<std::string> strings;
      std::vector<const char*> ptrs;
      for (size_t n = in.ConsumeIntegralInRange(0, 4); n > 0; --n) strings.push_back(word(in));
      for (const auto& s : strings) ptrs.push_back(s.c_str());
      ptrs.push_back(nullptr);
      if (sd_bus_message_append_strv(m, const_cast<char**>(ptrs.data())) < 0) return false;
      body.push_back({"as", strings});
      return true;
    }
    case 6: {  // InterfacesAdded's dictionary: a{sa{sv}}
      if (sd_bus_message_open_container(m, 'a', "{sa{sv}}") < 0) return false;
      for (size_t n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
        std::string iface = word(in), prop = word(in), v = word(in);
        if (sd_bus_message_open_container(m, 'e', "sa{sv}") < 0 || sd_bus_message_append(m, "s", iface.c_str()) < 0 ||
            sd_bus_message_open_container(m, 'a', "{sv}") < 0 ||
            sd_bus_message_append(m, "{sv}", prop.c_str(), "s", v.c_str()) < 0 || sd_bus_message_close_container(m) < 0 ||
            sd_bus_message_close_container(m) < 0)
          return false;
      }
      if (sd_bus_message_close_container(m) < 0) return false;
      body.push_back({"a{sa{sv}}", {}});
      return true;
    }
    default: {
      std::string s = word(in);
      if (sd_bus_message_append(m, "v", "s", s.c_str()) < 0) return false;
      body.push_back({"v", {}});
      return true;
    }
  }
}

bool startsWith(const std::vector<Value>& body, std::initializer_list<const char*> types) {
  size_t i = 0;
  for (const char* t : types) {
    if (i >= body.size() || body[i].type != t) return false;
    ++i;
  }
  return true;
}

bool validUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// A D-Bus error name as sd-bus accepts one in a reply: two or more dot-separated elements of
// [A-Za-z0-9_], none empty or starting with a digit, at most 255 bytes.
bool validErrorName(const std::string& s) {
  if (s.empty() || s.size() > 255) return false;
  size_t elements = 0, len = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (len == 0) return false;
      ++elements;
      len = 0;
      continue;
    }
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(len > 0 && c >= '0' && c <= '9')) return false;
    ++len;
  }
  return elements >= 2;
}

void checkMessage(FuzzedDataProvider& in) {
  sd_bus_message* m = nullptr;
  if (sd_bus_message_new_signal(theBus(), &m, "/", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved") < 0)
    std::abort();
  std::vector<Value> body;
  bool good = true;
  for (size_t n = in.ConsumeIntegralInRange(0, 5); n > 0 && good; --n) good = appendValue(in, m, body);
  std::string sender = in.ConsumeBool() ? word(in) : "";
  if (good && !sender.empty()) good = sd_bus_message_set_sender(m, sender.c_str()) >= 0;
  if (!good || sd_bus_message_seal(m, 1, 0) < 0) {
    sd_bus_message_unref(m);
    return;
  }
  const std::string owner = in.ConsumeBool() ? sender : word(in);

  FUZZ_CHECK(sd_bus_message_rewind(m, 1) >= 0);
  auto name = readNameOwner(m);
  FUZZ_CHECK(name.has_value() == (startsWith(body, {"s"}) && !body[0].strings[0].empty()));
  if (name) FUZZ_CHECK(*name == body[0].strings[0]);

  FUZZ_CHECK(sd_bus_message_rewind(m, 1) >= 0);
  auto owners = readNameOwnerChanged(m);
  FUZZ_CHECK(owners.has_value() == startsWith(body, {"s", "s", "s"}));
  if (owners) {
    FUZZ_CHECK(*owners == (NameOwnerChanged{body[0].strings[0], body[1].strings[0], body[2].strings[0]}));
    Change c = interpretOwnerChange(*owners);
    if (owners->name != kBluez) FUZZ_CHECK(c == Change::None);
    else FUZZ_CHECK(c == (owners->newOwner.empty() ? Change::BluezLeft : Change::BluezAppeared));
  }

  for (bool removed : {false, true}) {
    FUZZ_CHECK(sd_bus_message_rewind(m, 1) >= 0);
    auto s = readInterfacesSignal(m, removed);
    FUZZ_CHECK(s.has_value() == (removed ? startsWith(body, {"o", "as"}) : startsWith(body, {"o"})));
    if (!s) continue;
    FUZZ_CHECK(s->sender == sender && s->path == body[0].strings[0]);
    FUZZ_CHECK(s->interfaces == (removed ? body[1].strings : std::vector<std::string>{}));
    for (const char* path : {kAdapterPath, "/org/bluez/hci1"}) {
      Change c = interpretInterfaces(*s, removed, owner, path);
      if (owner.empty() || s->sender != owner || s->path != path) {
        FUZZ_CHECK(c == Change::None);
        continue;
      }
      bool adapter = false;
      for (const auto& i : s->interfaces) adapter = adapter || i == kAdapterIface;
      FUZZ_CHECK(c == (!removed ? Change::AdapterAppeared : adapter ? Change::AdapterGone : Change::None));
    }
  }
  sd_bus_message_unref(m);
}

void checkError(FuzzedDataProvider& in) {
  std::string errorName = in.ConsumeBool() ? "org.bluez.Error.AlreadyExists" : in.ConsumeRandomLengthString(64);
  std::string message = in.ConsumeRandomLengthString(400);
  if (!validErrorName(errorName)) return;
  sd_bus_error e{nullptr, nullptr, 0};
  sd_bus_error_set(&e, errorName.c_str(), message.c_str());
  message = message.c_str();  // what a C string carries

  size_t steps = in.ConsumeIntegralInRange<size_t>(2, 6), step = in.ConsumeIntegralInRange<size_t>(0, steps - 1);
  SetupError kind = classifySetupError(e, step, steps);
  if (kind == SetupError::AlreadyRegistered) FUZZ_CHECK(step + 1 == steps && errorName == "org.bluez.Error.AlreadyExists");
  if (kind == SetupError::NoAdapter) FUZZ_CHECK(step == 0 && errorName == "org.freedesktop.DBus.Error.UnknownObject");

  std::string text = busErrorText(&e);
  FUZZ_CHECK(text.rfind(errorName, 0) == 0);
  FUZZ_CHECK(text.size() <= errorName.size() + 2 + 160 + 3);
  for (char c : text) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  if (validUtf8(message)) FUZZ_CHECK(validUtf8(text));
  sd_bus_error_free(&e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  checkMessage(in);
  checkError(in);
  return 0;
}
