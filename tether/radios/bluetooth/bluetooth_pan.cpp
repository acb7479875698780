#include "tether/radios/bluetooth/bluetooth_pan.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <tuple>
#include <vector>

#include "tether/base/ip.h"
#include "tether/base/log.h"
#include "tether/radios/bluetooth/bluez_messages.h"

namespace tetherd {

namespace asio = boost::asio;

namespace {

using bluez::kAdapterIface;
using bluez::kBluez;
constexpr const char* kNetworkServerIface = "org.bluez.NetworkServer1";
constexpr const char* kDeviceIface = "org.bluez.Device1";
constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";
constexpr const char* kNap = "nap";

uint64_t usec(std::chrono::milliseconds ms) { return static_cast<uint64_t>(ms.count()) * 1000; }

auto btKey(const Config& c) {
  return std::tie(c.bluetoothEnabled, c.bluetoothAdapter, c.bluetoothBridge, c.bluetoothDiscoverable, c.bluetoothPairable,
                  c.bluetoothAlias);
}

}  // namespace

struct BluetoothPan::Impl {
  Impl(asio::io_context& io, Netlink& netlink, const Config& config, BluetoothTiming timing)
      : io(io), netlink(netlink), config(config), timing(timing), bus(io), reconnectTimer(io), retryTimer(io),
        backoff(timing.retryFirst) {
    bus.onDisconnect([this] { onDisconnected(); });
  }
  ~Impl() {
    reconnectTimer.cancel();
    retryTimer.cancel();
    bus.close();
  }

  // One D-Bus call of the setup sequence.
  struct Step {
    std::string what;
    std::function<Result<sd_bus_message*>()> make;
  };

  asio::io_context& io;
  Netlink& netlink;
  Config config;
  BluetoothTiming timing;
  BusConnection bus;
  asio::steady_timer reconnectTimer, retryTimer;
  std::chrono::milliseconds backoff;
  bool running = false, stopping = false, bridgeCreated = false;
  std::string bluezOwner;
  bool registered = false;
  int registrations = 0;
  uint64_t attempt = 0;  // the setup sequence in flight; bumped to abandon it
  std::vector<Step> steps;
  std::string error;
  std::string logged;  // the last problem logged (without the retry note): each is logged once
  std::function<void()> stopDone;

  std::string adapterPath() const { return "/org/bluez/" + config.bluetoothAdapter; }

  void setError(const std::string& message, const std::string& note = "") {
    if (message != logged) log::warning("bluetooth: ", message, note.empty() ? "" : " ", note);
    logged = message;
    error = note.empty() ? message : message + " " + note;
  }

  Status start() {
    if (!config.bluetoothEnabled) return {};
    running = true;
    stopping = false;
    if (auto st = netlink.createBridge(config.bluetoothBridge); !st) {
      error = "bridge " + config.bluetoothBridge + ": " + st.error().message;
      running = false;
      return makeError(st.error().code, "bluetooth: " + error);
    }
    bridgeCreated = true;
    log::info("bluetooth: bridge ", config.bluetoothBridge, " ready for the PAN NAP on ", config.bluetoothAdapter);
    connect();
    return {};
  }

  void connect() {
    if (!running || stopping) return;
    if (auto st = bus.openSystem(); !st) {
      setError(st.error().message, "(retrying)");
      reconnectTimer.expires_after(timing.reconnect);
      reconnectTimer.async_wait([this](boost::system::error_code ec) {
        if (!ec) connect();
      });
      return;
    }
    log::debug("bluetooth: connected to the system bus");
    const std::string owner =
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
        "member='NameOwnerChanged',arg0='org.bluez'";
    const std::string added = "type='signal',path='/',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'";
    const std::string removed = "type='signal',path='/',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'";
    Status st = bus.addMatch(owner, [this](sd_bus_message* m) { onNameOwnerChanged(m); });
    if (st) st = bus.addMatch(added, [this](sd_bus_message* m) { onInterfaces(m, true); });
    if (st) st = bus.addMatch(removed, [this](sd_bus_message* m) { onInterfaces(m, false); });
    if (st) {
      // After the matches (same connection, in order): no change of owner is missed.
      auto m = bus.newMethodCall("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner");
      if (!m) {
        st = m.error();
      } else if (int r = sd_bus_message_append(*m, "s", kBluez); r < 0) {
        sd_bus_message_unref(*m);
        st = systemError("d-bus: GetNameOwner", -r);
      } else {
        st = bus.call(*m, usec(timing.callTimeout), [this](sd_bus_message* reply, const sd_bus_error* e) {
          auto name = e == nullptr ? bluez::readNameOwner(reply) : std::nullopt;
          if (!name) {
            log::info("bluetooth: BlueZ (org.bluez) is not on the system bus yet");
            return;
          }
          bluezAppeared(*name);
        });
      }
    }
    if (!st) {
      setError(st.error().message);
      bus.close();
      onDisconnected();
    }
  }

  void onDisconnected() {
    bool wasRegistered = registered;
    bluezOwner.clear();
    registered = false;
    ++attempt;
    retryTimer.cancel();
    if (stopping) return finishStop();
    if (!running) return;
    setError(std::string("lost the system bus") + (wasRegistered ? " (the NAP is gone with it)" : "") + ": reconnecting");
    reconnectTimer.expires_after(timing.reconnect);
    reconnectTimer.async_wait([this](boost::system::error_code ec) {
      if (!ec) connect();
    });
  }

  void onNameOwnerChanged(sd_bus_message* m) {
    auto signal = bluez::readNameOwnerChanged(m);
    if (!signal) return;
    auto change = bluez::interpretOwnerChange(*signal);
    if (change == bluez::Change::BluezAppeared) {
      bluezAppeared(signal->newOwner);
    } else if (change == bluez::Change::BluezLeft) {
      log::notice("bluetooth: BlueZ left the bus: the NAP is gone until it is back");
      bluezOwner.clear();
      registered = false;
      ++attempt;
      retryTimer.cancel();
      error = "BlueZ is not running";
    }
  }

  void bluezAppeared(const std::string& owner) {
    if (stopping) return;
    if (owner == bluezOwner && (registered || !steps.empty())) return;  // already on it
    log::info("bluetooth: BlueZ is on the bus (", owner, ")");
    bluezOwner = owner;
    registered = false;
    backoff = timing.retryFirst;
    beginSetup();
  }

  // InterfacesAdded(o, a{sa{sv}}) / InterfacesRemoved(o, as) from BlueZ's object manager.
  void onInterfaces(sd_bus_message* m, bool added) {
    auto signal = bluez::readInterfacesSignal(m, !added);
    if (!signal) return;
    auto change = bluez::interpretInterfaces(*signal, !added, bluezOwner, adapterPath());
    if (change == bluez::Change::AdapterAppeared) {
      if (registered) return;
      log::info("bluetooth: adapter ", config.bluetoothAdapter, " appeared");
      backoff = timing.retryFirst;
      beginSetup();
      return;
    }
    if (change != bluez::Change::AdapterGone) return;
    log::notice("bluetooth: adapter ", config.bluetoothAdapter, " went away");
    registered = false;
    ++attempt;
    retryTimer.cancel();
    error = "adapter " + config.bluetoothAdapter + " is not there";
  }

  Result<sd_bus_message*> setProperty(const char* property, char type, const void* value) {
    auto m = bus.newMethodCall(kBluez, adapterPath().c_str(), kPropertiesIface, "Set");
    if (!m) return m;
    int r = sd_bus_message_append(*m, "ss", kAdapterIface, property);
    if (r >= 0) {
      const char sig[2] = {type, '\0'};
      r = sd_bus_message_open_container(*m, 'v', sig);
      if (r >= 0) r = sd_bus_message_append_basic(*m, type, value);
      if (r >= 0) r = sd_bus_message_close_container(*m);
    }
    if (r < 0) {
      sd_bus_message_unref(*m);
      return systemError(std::string("d-bus: Set ") + property, -r);
    }
    return m;
  }

  std::vector<Step> setupSteps() {
    std::vector<Step> out;
    auto boolProp = [this, &out](const char* name, bool v) {
      out.push_back(Step{std::string("Set Adapter1.") + name + (v ? " true" : " false"), [this, name, v] {
                           int b = v ? 1 : 0;
                           return setProperty(name, 'b', &b);
                         }});
    };
    boolProp("Powered", true);
    if (!config.bluetoothAlias.empty())
      out.push_back(Step{"Set Adapter1.Alias", [this] { return setProperty("Alias", 's', config.bluetoothAlias.c_str()); }});
    if (config.bluetoothPairable) boolProp("Pairable", *config.bluetoothPairable);
    if (config.bluetoothDiscoverable) {
      if (*config.bluetoothDiscoverable)  // stay discoverable, not just for BlueZ's default 3 minutes
        out.push_back(Step{"Set Adapter1.DiscoverableTimeout 0", [this] {
                             uint32_t zero = 0;
                             return setProperty("DiscoverableTimeout", 'u', &zero);
                           }});
      boolProp("Discoverable", *config.bluetoothDiscoverable);
    }
    out.push_back(Step{"NetworkServer1.Register(nap, " + config.bluetoothBridge + ")", [this]() -> Result<sd_bus_message*> {
                         auto m = bus.newMethodCall(kBluez, adapterPath().c_str(), kNetworkServerIface, "Register");
                         if (!m) return m;
                         if (int r = sd_bus_message_append(*m, "ss", kNap, config.bluetoothBridge.c_str()); r < 0) {
                           sd_bus_message_unref(*m);
                           return systemError("d-bus: Register", -r);
                         }
                         return m;
                       }});
    return out;
  }

  void beginSetup() {
    if (stopping || !bus.isOpen() || bluezOwner.empty()) return;
    retryTimer.cancel();
    ++attempt;
    steps = setupSteps();
    runStep(0, attempt);
  }

  void runStep(size_t i, uint64_t id) {
    if (id != attempt) return;
    if (i == steps.size()) {
      steps.clear();
      registered = true;
      ++registrations;
      error.clear();
      logged.clear();
      backoff = timing.retryFirst;
      log::notice("bluetooth: NAP registered on ", config.bluetoothAdapter, " with bridge ", config.bluetoothBridge);
      return;
    }
    auto m = steps[i].make();
    if (!m) return setupFailed(steps[i].what + ": " + m.error().message);
    auto st = bus.call(*m, usec(timing.callTimeout), [this, i, id](sd_bus_message*, const sd_bus_error* e) {
      if (id != attempt) return;  // abandoned (BlueZ left, stop, ...)
      if (e != nullptr) {
        auto kind = bluez::classifySetupError(*e, i, steps.size());
        if (kind == bluez::SetupError::AlreadyRegistered) {
          log::info("bluetooth: BlueZ says the NAP is registered already");
        } else if (kind == bluez::SetupError::NoAdapter) {
          return setupFailed("adapter " + config.bluetoothAdapter + " is not there (" + busErrorText(e) + ")");
        } else {
          return setupFailed(steps[i].what + ": " + busErrorText(e));
        }
      }
      runStep(i + 1, id);
    });
    if (!st) setupFailed(steps[i].what + ": " + st.error().message);
  }

  void setupFailed(const std::string& why) {
    steps.clear();
    ++attempt;
    setError(why, "(retrying in " + std::to_string(backoff.count()) + " ms)");
    retryTimer.expires_after(backoff);
    backoff = std::min(backoff * 2, timing.retryMax);
    retryTimer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !registered) beginSetup();
    });
  }

  void stop(std::function<void()> done) {
    stopDone = std::move(done);
    stopping = true;
    reconnectTimer.cancel();
    retryTimer.cancel();
    ++attempt;  // abandon a setup in flight
    steps.clear();
    if (registered && bus.isOpen()) {
      auto m = bus.newMethodCall(kBluez, adapterPath().c_str(), kNetworkServerIface, "Unregister");
      Status st = m ? Status{} : Status{m.error()};
      if (m) {
        if (int r = sd_bus_message_append(*m, "s", kNap); r < 0) {
          sd_bus_message_unref(*m);
          st = systemError("d-bus: Unregister", -r);
        } else {
          st = bus.call(*m, usec(timing.stopTimeout), [this](sd_bus_message*, const sd_bus_error* e) {
            if (e != nullptr) log::warning("bluetooth: NetworkServer1.Unregister(nap): ", busErrorText(e));
            else log::info("bluetooth: NAP unregistered");
            finishStop();
          });
        }
      }
      if (st) return;  // finishStop() when BlueZ answers (or the call times out)
      log::warning("bluetooth: NetworkServer1.Unregister(nap): ", st.error().message);
    }
    finishStop();
  }

  void finishStop() {
    bus.close();
    registered = false;
    bluezOwner.clear();
    running = false;
    if (bridgeCreated) {
      if (auto st = netlink.deleteLink(config.bluetoothBridge); !st)
        log::warning("bluetooth: delete bridge ", config.bluetoothBridge, ": ", st.error().message);
      bridgeCreated = false;
    }
    auto done = std::move(stopDone);
    stopDone = nullptr;
    stopping = false;
    if (done) done();
  }
};

BluetoothPan::BluetoothPan(asio::io_context& io, Netlink& netlink, const Config& config, BluetoothTiming timing)
    : impl_(std::make_unique<Impl>(io, netlink, config, timing)) {}

BluetoothPan::~BluetoothPan() = default;

Status BluetoothPan::start() { return impl_->start(); }

void BluetoothPan::stop(std::function<void()> done) {
  if (!impl_->running && !impl_->stopping) {
    if (done) done();
    return;
  }
  impl_->stop(std::move(done));
}

void BluetoothPan::reconfigure(const Config& config) {
  if (btKey(config) == btKey(impl_->config)) return;
  log::notice("bluetooth: [bluetooth] settings changed: restarting the NAP");
  stop([this, config] {
    impl_->config = config;
    impl_->error.clear();
    if (auto st = impl_->start(); !st) log::error(st.error().message);
  });
}

void BluetoothPan::disconnect(const std::string& mac, std::function<void(Status)> done) {
  Impl& m = *impl_;
  auto fail = [&m, &done](Error e) { asio::post(m.io, [done = std::move(done), e = std::move(e)] { done(e); }); };
  auto n = normalizeMac(mac);
  if (!n) return fail(makeError(Errc::InvalidArgument, "mac: '" + mac.substr(0, 32) + "' is not a Bluetooth address"));
  if (!m.running || !m.bus.isOpen() || m.bluezOwner.empty())
    return fail(makeError(Errc::ServiceUnavail, "bluetooth: BlueZ is not reachable"));
  // BlueZ names a device by its address: /org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF.
  std::string path = m.adapterPath() + "/dev_";
  for (char c : *n) path += c == ':' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto msg = m.bus.newMethodCall(kBluez, path.c_str(), kDeviceIface, "Disconnect");
  if (!msg) return fail(msg.error());
  auto st = m.bus.call(*msg, usec(m.timing.callTimeout), [done, n = *n](sd_bus_message*, const sd_bus_error* e) {
    if (e != nullptr) return done(makeError(Errc::ServiceUnavail, "bluetooth: disconnect " + n + ": " + busErrorText(e)));
    log::notice("bluetooth: ", n, " disconnected");
    done({});
  });
  if (!st) fail(st.error());
}

BluetoothPan::View BluetoothPan::status() const {
  const Impl& m = *impl_;
  View v;
  v.enabled = m.config.bluetoothEnabled;
  v.adapter = m.config.bluetoothAdapter;
  v.bridge = m.config.bluetoothBridge;
  v.bridgePresent = m.bridgeCreated;
  v.busConnected = m.bus.isOpen();
  v.bluez = m.bluezOwner;
  v.registered = m.registered;
  v.registrations = m.registrations;
  v.error = m.error;
  return v;
}

}  // namespace tetherd
