// BluetoothPan: tetherd's Bluetooth PAN network access point (NAP) through BlueZ.
//
// tetherd creates the bridge (default bt-pan; libnl) and asks BlueZ over the system D-Bus to
// serve NAP on it: on org.bluez /org/bluez/<adapter> it sets org.bluez.Adapter1 Powered
// (and Alias, Pairable, DiscoverableTimeout=0 + Discoverable, as configured) with
// org.freedesktop.DBus.Properties.Set, then calls org.bluez.NetworkServer1.Register("nap",
// <bridge>). BlueZ adds a bnepN port to the bridge for each connected phone or PC; the
// bridge itself is a downstream like any other: it matches the Bluetooth pattern and the
// TetherManager tethers it when it appears.
//
// BlueZ may come and go (NameOwnerChanged for org.bluez) and the adapter may appear later
// (InterfacesAdded): the setup runs again each time; a failed setup is retried with backoff.
// On stop: NetworkServer1.Unregister("nap") (waited for, bounded), the bridge is deleted.
// All D-Bus traffic is asynchronous on the Asio loop (tether/sd_bus_loop.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "tether/system/netlink.h"
#include "tether/system/sd_bus_loop.h"

namespace tetherd {

struct BluetoothTiming {
  std::chrono::milliseconds reconnect{2000};      // the system bus is not there: try again
  std::chrono::milliseconds retryFirst{1000};     // a failed setup: first retry, doubling...
  std::chrono::milliseconds retryMax{30000};      // ...up to this
  std::chrono::milliseconds callTimeout{5000};    // each D-Bus call
  std::chrono::milliseconds stopTimeout{2000};    // Unregister at stop
};

class BluetoothPan {
 public:
  BluetoothPan(boost::asio::io_context& io, Netlink& netlink, const Config& config, BluetoothTiming timing = {});
  ~BluetoothPan();
  BluetoothPan(const BluetoothPan&) = delete;
  BluetoothPan& operator=(const BluetoothPan&) = delete;

  // Disabled: nothing. Else creates the bridge (an error is returned: nothing else happens)
  // and connects to the system bus (retried while it is not there).
  Status start();
  // Unregisters the NAP (bounded wait), disconnects, deletes the bridge; then done().
  void stop(std::function<void()> done);
  // A new configuration: a change of [bluetooth] restarts the service.
  void reconfigure(const Config& config);
  // A client kick: BlueZ's org.bluez.Device1.Disconnect on the device with this address (its
  // PAN connection and bnep port go). done() runs from the loop.
  void disconnect(const std::string& mac, std::function<void(Status)> done);

  struct View {
    bool enabled = false;
    std::string adapter, bridge;
    bool bridgePresent = false;  // created by us and not deleted
    bool busConnected = false;
    std::string bluez;           // BlueZ's unique bus name, "" when BlueZ is not on the bus
    bool registered = false;     // NetworkServer1.Register("nap", bridge) succeeded
    int registrations = 0;       // successful registrations since start (re-registrations count)
    std::string error;           // the last problem, "" when none
  };
  View status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tetherd
