// The USB tethering gadget as data: validated settings, and the exact list of configfs
// operations (mkdir / write / symlink, and their reverse) that create, bind, unbind and remove
// it. Pure: nothing here touches a file. tether/usb_configfs.h applies the operations.
//
// Layout for functions rndis+ncm (one configuration per function, in the order given; RNDIS,
// when present, must come first: Windows only ever uses configuration 1, which carries the
// Microsoft OS descriptors; Linux hosts skip an RNDIS first configuration in favour of the
// next one, so they use NCM or ECM):
//
//   <name>/                      idVendor idProduct bcdDevice bcdUSB bDeviceClass(0xef: IAD) ...
//   <name>/strings/0x409/        manufacturer product serialnumber
//   <name>/os_desc/              use=1 b_vendor_code=0xcd qw_sign=MSFT100, c.1 -> configs/c.1
//   <name>/functions/rndis.usb0/ host_addr dev_addr, os_desc/interface.rndis/{compatible_id=RNDIS,
//                                sub_compatible_id=5162001}
//   <name>/functions/ncm.usb1/   host_addr dev_addr
//   <name>/configs/c.1/          MaxPower, strings/0x409/configuration=RNDIS, rndis.usb0 -> function
//   <name>/configs/c.2/          MaxPower, strings/0x409/configuration=NCM, ncm.usb1 -> function
//   <name>/UDC                   the controller's name (bind), "\n" (unbind)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/usb_values.h"
#include "tether/base/result.h"

namespace tetherd::usb {

// The host- and device-side MAC addresses of one network function.
struct FunctionAddrs {
  std::string host;  // the MAC the USB host's interface gets
  std::string dev;   // the MAC of the gadget-side interface (usbN)
  bool operator==(const FunctionAddrs&) const = default;
};

struct GadgetSettings {
  std::string name = "tetherd";
  std::vector<Function> functions;
  uint16_t vendorId = 0x1d6b;   // Linux Foundation
  uint16_t productId = 0x0104;  // Multifunction Composite Gadget
  std::string manufacturer = "tetherd";
  std::string product = "tetherd USB tethering";
  std::string serial;
  std::vector<FunctionAddrs> addrs;  // one per function, same order
};

// Every field, and the combination; the first problem is named ("serial: ...").
Status validate(const GadgetSettings& s);

// Stable values from a machine identity (e.g. the contents of /etc/machine-id). The seed
// itself never leaves the machine: only a hash of it with `label` is used.
// A locally administered unicast MAC ("x2:..:..").
std::string deriveMac(std::string_view seed, std::string_view label);
// 16 upper-case hex digits.
std::string deriveSerial(std::string_view seed);
// `base` with n added to its last three bytes (configured addresses for function n).
std::string offsetMac(const std::string& base, unsigned n);

// One configfs operation; paths are relative to the usb_gadget directory.
struct Op {
  enum class Kind { Mkdir, Write, Symlink, Rmdir, Unlink } kind = Kind::Mkdir;
  std::string path;   // the directory, attribute or link
  std::string value;  // Write: the bytes written; Symlink: the link's target (relative path)
  bool operator==(const Op&) const = default;
  // "mkdir tetherd", "write tetherd/idVendor 0x1d6b", "symlink tetherd/functions/ncm.usb1
  // tetherd/configs/c.2/ncm.usb1" (target, then link), "rmdir ...", "unlink ...". A newline
  // in a written value shows as \n.
  std::string str() const;
};

// The function's directory ("tetherd/functions/ncm.usb1") and its instance name.
std::string functionDir(const GadgetSettings& s, size_t index);

// Creates the gadget, unbound. The settings are validated first.
Result<std::vector<Op>> gadgetOps(const GadgetSettings& s);
Op bindOp(const std::string& gadgetName, const std::string& udc);  // write <name>/UDC <udc>
Op unbindOp(const std::string& gadgetName);                        // write <name>/UDC "\n"
// The reverse of `ops`, last first: mkdir -> rmdir, symlink -> unlink; writes are dropped
// (an attribute goes with its directory). For a bound gadget, unbindOp() comes first.
std::vector<Op> removalOps(const std::vector<Op>& ops);

// The UDC to bind: the configured one if present, else the only one there is.
// Errors (Errc::NotFound): none at all, the configured one missing, several and none chosen.
Result<std::string> chooseUdc(const std::string& configured, const std::vector<std::string>& available);

}  // namespace tetherd::usb
