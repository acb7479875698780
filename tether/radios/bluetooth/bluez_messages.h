// The D-Bus messages BluetoothPan reads (the bus's NameOwnerChanged and GetNameOwner reply,
// BlueZ's ObjectManager signals, error replies to the setup calls): readers that take what
// tetherd uses out of an sd_bus_message into plain values, and pure functions saying what those
// values mean for the NAP. Split out of bluetooth_pan.cpp so that the fuzzer
// (tests/fuzz/bluez_fuzzer.cpp) runs the very code the service runs, on messages built from
// fuzz bytes.
#pragma once

#include <systemd/sd-bus.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd::bluez {

inline constexpr const char* kBluez = "org.bluez";
inline constexpr const char* kAdapterIface = "org.bluez.Adapter1";

// org.freedesktop.DBus.NameOwnerChanged(s name, s old_owner, s new_owner); nullopt when the
// body does not start with three strings.
struct NameOwnerChanged {
  std::string name, oldOwner, newOwner;
  bool operator==(const NameOwnerChanged&) const = default;
};
std::optional<NameOwnerChanged> readNameOwnerChanged(sd_bus_message* m);

// The reply to GetNameOwner(s): the owner's (unique) name; nullopt when the body does not
// start with a string, or it is empty.
std::optional<std::string> readNameOwner(sd_bus_message* reply);

// org.freedesktop.DBus.ObjectManager InterfacesAdded(o path, a{sa{sv}}) and
// InterfacesRemoved(o path, as interfaces): the sender ("" when none), the path and, for a
// removal, the interface names (the added dictionary is not needed). nullopt when the body
// does not start with what is read ("o", or "oas" for a removal).
struct InterfacesSignal {
  std::string sender, path;
  std::vector<std::string> interfaces;
  bool operator==(const InterfacesSignal&) const = default;
};
std::optional<InterfacesSignal> readInterfacesSignal(sd_bus_message* m, bool removed);

// What a signal means for the NAP.
enum class Change {
  None,             // not about BlueZ or our adapter: ignored
  BluezAppeared,    // BlueZ owns org.bluez now (the owner: NameOwnerChanged::newOwner)
  BluezLeft,        // org.bluez has no owner any more
  AdapterAppeared,  // our adapter's object appeared
  AdapterGone,      // our adapter's Adapter1 interface went away
};
Change interpretOwnerChange(const NameOwnerChanged& s);
// Only signals from the current BlueZ (`bluezOwner`, "" when none: nothing counts) about
// `adapterPath` count.
Change interpretInterfaces(const InterfacesSignal& s, bool removed, std::string_view bluezOwner,
                           std::string_view adapterPath);

// An error reply to setup step `step` of `steps` (0-based: 0 sets Powered, the last registers
// the NAP).
enum class SetupError {
  AlreadyRegistered,  // the last step, org.bluez.Error.AlreadyExists: the NAP is there; go on
  NoAdapter,          // the first step, org.freedesktop.DBus.Error.UnknownObject
  Failed,             // anything else
};
SetupError classifySetupError(const sd_bus_error& e, size_t step, size_t steps);

}  // namespace tetherd::bluez
