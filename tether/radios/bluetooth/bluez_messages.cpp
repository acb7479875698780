#include "tether/radios/bluetooth/bluez_messages.h"

#include <cstdlib>

namespace tetherd::bluez {

std::optional<NameOwnerChanged> readNameOwnerChanged(sd_bus_message* m) {
  const char *name = nullptr, *oldOwner = nullptr, *newOwner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &oldOwner, &newOwner) < 0 || name == nullptr || oldOwner == nullptr ||
      newOwner == nullptr)
    return std::nullopt;
  return NameOwnerChanged{name, oldOwner, newOwner};
}

std::optional<std::string> readNameOwner(sd_bus_message* reply) {
  const char* name = nullptr;
  if (sd_bus_message_read(reply, "s", &name) < 0 || name == nullptr || *name == '\0') return std::nullopt;
  return std::string(name);
}

std::optional<InterfacesSignal> readInterfacesSignal(sd_bus_message* m, bool removed) {
  InterfacesSignal out;
  const char* sender = sd_bus_message_get_sender(m);
  if (sender != nullptr) out.sender = sender;
  const char* path = nullptr;
  if (sd_bus_message_read(m, "o", &path) < 0 || path == nullptr) return std::nullopt;
  out.path = path;
  if (!removed) return out;
  char** interfaces = nullptr;
  if (sd_bus_message_read_strv(m, &interfaces) < 0) return std::nullopt;
  for (char** i = interfaces; i != nullptr && *i != nullptr; ++i) {
    out.interfaces.emplace_back(*i);
    free(*i);
  }
  free(interfaces);
  return out;
}

Change interpretOwnerChange(const NameOwnerChanged& s) {
  if (s.name != kBluez) return Change::None;
  return s.newOwner.empty() ? Change::BluezLeft : Change::BluezAppeared;
}

Change interpretInterfaces(const InterfacesSignal& s, bool removed, std::string_view bluezOwner,
                           std::string_view adapterPath) {
  if (bluezOwner.empty() || s.sender != bluezOwner || s.path != adapterPath) return Change::None;
  if (!removed) return Change::AdapterAppeared;
  for (const auto& i : s.interfaces)
    if (i == kAdapterIface) return Change::AdapterGone;
  return Change::None;
}

SetupError classifySetupError(const sd_bus_error& e, size_t step, size_t steps) {
  if (step + 1 == steps && sd_bus_error_has_name(&e, "org.bluez.Error.AlreadyExists")) return SetupError::AlreadyRegistered;
  if (step == 0 && sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.UnknownObject")) return SetupError::NoAdapter;
  return SetupError::Failed;
}

}  // namespace tetherd::bluez
