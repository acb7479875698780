// UsbGadgetService: tetherd's USB tethering gadget. From the [usb] configuration it builds
// the gadget's configfs operations (tether/usb_gadget.h), removes a previous run's gadget of
// the same name, creates this one and binds it to the UDC (retrying while there is none);
// on stop it unbinds and removes it in reverse order. It does not tether anything itself: the
// gadget-side interfaces (usb0, usb1, ...) appear in the kernel and the TetherManager tethers
// them by their name, like any downstream.
//
// EcmCarrierQuirk: with ECM, the gadget-side interface sometimes stays NO-CARRIER after the
// host enumerated it until it is taken down and up once (seen in the VM lab; real hosts do
// the same). The quirk watches the ECM interfaces and bounces one that is up without carrier
// for `grace`, once per bind and once per later loss of carrier.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "tether/system/netlink.h"
#include "tether/radios/usb/usb_configfs.h"
#include "tether/radios/usb/usb_gadget.h"

namespace tetherd {

struct UsbPaths {
  std::string configfs = "/sys/kernel/config/usb_gadget";
  std::string udcDir = "/sys/class/udc";
  std::string machineId = "/etc/machine-id";                // seed of the derived MACs and serial
  std::string bootId = "/proc/sys/kernel/random/boot_id";  // fallback seed (changes every boot)
};

struct UsbTiming {
  std::chrono::milliseconds udcRetry{2000};      // no UDC yet, or it is busy: try again
  std::chrono::milliseconds carrierGrace{3000};  // ECM: no carrier this long after up -> bounce
};

// The gadget settings for a configuration: strings and IDs as configured, MACs and serial as
// configured or derived from `seed` (the machine id). Validated.
Result<usb::GadgetSettings> gadgetSettingsFrom(const Config& config, const std::string& seed);

class EcmCarrierQuirk {
 public:
  EcmCarrierQuirk(boost::asio::io_context& io, Netlink& netlink, std::chrono::milliseconds grace);
  ~EcmCarrierQuirk();
  // After a bind: watch these interfaces (the ones already watched are re-armed).
  void watch(const std::vector<std::string>& ifnames);
  void clear();  // unbound or removed
  void onNetEvent(const NetEvent& e);
  int bounces() const { return bounces_; }
  std::vector<std::string> watched() const;

 private:
  struct Watch {
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool armed = false;
    bool bounced = false;  // since the last time it had carrier (or the bind)
  };
  void arm(const std::string& ifname, Watch& w);
  void fire(const std::string& ifname);

  boost::asio::io_context& io_;
  Netlink& netlink_;
  std::chrono::milliseconds grace_;
  std::map<std::string, Watch> watches_;
  int bounces_ = 0;
};

class UsbGadgetService {
 public:
  enum class State { Off, Failed, WaitingForUdc, Bound, Unbound };
  static const char* stateName(State s);  // off failed waiting-for-udc bound unbound

  UsbGadgetService(boost::asio::io_context& io, Netlink& netlink, usb::GadgetFs& fs, const Config& config,
                   UsbPaths paths = {}, UsbTiming timing = {});
  ~UsbGadgetService();
  UsbGadgetService(const UsbGadgetService&) = delete;
  UsbGadgetService& operator=(const UsbGadgetService&) = delete;

  // Removes a previous run's gadget of the configured name (also with gadget = none), then
  // creates and binds this one. An error leaves nothing of the gadget behind (state failed);
  // a missing or busy UDC is not an error: it is retried (state waiting-for-udc).
  Status start();
  // Unbinds and removes the gadget (reverse order), if there is one.
  void stop();
  // A new configuration: the gadget is re-made when a [usb] setting changed.
  void reconfigure(const Config& config);
  void onNetEvent(const NetEvent& e);

  // `usb bind` / `usb unbind`: what a cable replug does to the host side.
  Status bind();
  Status unbind();
  // A client kick: unbind now, bind again after `gap` (the host sees the cable go and come
  // back, and enumerates the gadget afresh).
  Status replug(std::chrono::milliseconds gap = std::chrono::milliseconds(1500));

  struct View {
    State state = State::Off;
    std::string functions = "none";  // "rndis+ncm"
    std::string name;                // gadget directory name
    std::string udc;                 // bound to ("" when not)
    uint16_t vendorId = 0, productId = 0;
    std::vector<std::pair<std::string, std::string>> interfaces;  // function -> ifname ("" unknown)
    int carrierBounces = 0;
    std::string error;  // the last problem, "" when none
  };
  View status();
  // The operations that created the gadget (empty when there is none).
  const std::vector<usb::Op>& setupOps() const { return ops_; }

 private:
  Status create();
  Status tryBind();
  void scheduleBindRetry();
  void refreshInterfaces();
  void fail(const Error& e);

  usb::GadgetFs& fs_;
  Config config_;
  UsbPaths paths_;
  UsbTiming timing_;
  boost::asio::steady_timer retry_;
  EcmCarrierQuirk quirk_;
  State state_ = State::Off;
  usb::GadgetSettings settings_;
  std::vector<usb::Op> ops_;
  std::string udc_;
  std::vector<std::string> ifnames_;  // per function
  std::string error_;
};

}  // namespace tetherd
