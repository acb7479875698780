#include "tether/control/usb_commands.h"

#include <cstdio>

namespace tetherd {

using control::Request;
using control::Responder;
namespace code = control::code;

std::string describeUsb(const UsbGadgetService::View& v) {
  char ids[40];
  std::snprintf(ids, sizeof ids, "vendor=0x%04x product=0x%04x", static_cast<unsigned>(v.vendorId),
                static_cast<unsigned>(v.productId));
  std::string interfaces;
  for (const auto& [function, ifname] : v.interfaces)
    interfaces += (interfaces.empty() ? "" : ",") + function + ":" + (ifname.empty() ? "?" : ifname);
  std::string out = "gadget=" + v.name + " functions=" + v.functions + " state=" + UsbGadgetService::stateName(v.state) +
                    " udc=" + (v.udc.empty() ? "none" : v.udc) + " " + ids +
                    " interfaces=" + (interfaces.empty() ? "none" : interfaces) +
                    " carrier_bounces=" + std::to_string(v.carrierBounces);
  if (!v.error.empty()) out += " error=" + control::quoteValue(v.error);
  return out;
}

void registerUsbCommands(CommandTable& table, UsbGadgetService& usb) {
  const std::string usage = "usb status | usb bind | usb unbind | usb replug";
  table.add("usb", usage, [&usb, usage](const Request& req, const Responder& r) {
    const auto& a = req.args;
    if (a.size() == 1 && a[0] == "status") return r.finish(code::StatusReport, describeUsb(usb.status()));
    if (a.size() == 1 && (a[0] == "bind" || a[0] == "unbind")) {
      auto st = a[0] == "bind" ? usb.bind() : usb.unbind();
      if (!st) return r.fail(st.error());
      return r.finish(code::CommandOkay, a[0] == "bind" ? "usb gadget bound to " + usb.status().udc : "usb gadget unbound");
    }
    if (a.size() == 1 && a[0] == "replug") {
      if (auto st = usb.replug(); !st) return r.fail(st.error());
      return r.finish(code::CommandOkay, "usb gadget unbound, binding again shortly");
    }
    r.finish(code::CommandSyntaxError, "Usage: " + usage);
  });
}

}  // namespace tetherd
