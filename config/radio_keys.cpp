// The [usb] and [bluetooth] sections' keys, validated without the gadget or BlueZ code
// (config/usb_values.h).
#include "config/config_keys.h"

#include <cctype>
#include <charconv>

#include "config/usb_values.h"

namespace tetherd::config_keys {

void addRadioKeys(SectionTable& t) {
  auto& usb = t["usb"];
  usb["gadget"] = [](Config& c, const std::string& v) -> std::string {
    auto f = usb::parseFunctions(v);
    if (!f) return f.error().message;
    c.usbGadget = usb::functionsText(*f);
    return "";
  };
  usb["udc"] = [](Config& c, const std::string& v) -> std::string {
    if (!v.empty())
      if (auto st = usb::checkUdcName(v); !st) return st.error().message;
    c.usbUdc = v;
    return "";
  };
  auto usbId = [](int& field, const std::string& v) -> std::string {
    std::string_view digits = v;
    if (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0) digits.remove_prefix(2);
    unsigned n = 0;
    auto [next, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
    if (digits.empty() || digits.size() > 4 || ec != std::errc() || next != digits.data() + digits.size())
      return "'" + v + "' is not a 16-bit hexadecimal number like 0x1d6b";
    field = static_cast<int>(n);
    return "";
  };
  usb["vendor_id"] = [usbId](Config& c, const std::string& v) -> std::string {
    auto err = usbId(c.usbVendorId, v);
    if (err.empty() && c.usbVendorId == 0) return "0 is not a vendor";
    return err;
  };
  usb["product_id"] = [usbId](Config& c, const std::string& v) { return usbId(c.usbProductId, v); };
  auto usbString = [](std::string& field, const char* name, const std::string& v) -> std::string {
    if (auto st = usb::checkUsbString(name, v); !st) return st.error().message;
    field = v;
    return "";
  };
  usb["manufacturer"] = [usbString](Config& c, const std::string& v) { return usbString(c.usbManufacturer, "manufacturer", v); };
  usb["product"] = [usbString](Config& c, const std::string& v) { return usbString(c.usbProduct, "product", v); };
  usb["serial"] = [usbString](Config& c, const std::string& v) -> std::string {
    if (!v.empty()) return usbString(c.usbSerial, "serial", v);
    c.usbSerial.clear();  // derived from the machine id
    return "";
  };
  usb["gadget_name"] = [](Config& c, const std::string& v) -> std::string {
    if (auto st = usb::checkGadgetName(v); !st) return st.error().message;
    c.usbGadgetName = v;
    return "";
  };
  auto usbMac = [](std::string& field, const char* name, const std::string& v) -> std::string {
    if (v.empty()) {
      field.clear();  // derived from the machine id
      return "";
    }
    auto m = usb::checkUnicastMac(name, v);
    if (!m) return m.error().message;
    field = *m;
    return "";
  };
  usb["host_addr"] = [usbMac](Config& c, const std::string& v) { return usbMac(c.usbHostAddr, "host_addr", v); };
  usb["dev_addr"] = [usbMac](Config& c, const std::string& v) { return usbMac(c.usbDevAddr, "dev_addr", v); };

  auto& bt = t["bluetooth"];
  bt["enabled"] = [](Config& c, const std::string& v) { return setBool(c.bluetoothEnabled, v); };
  bt["adapter"] = [](Config& c, const std::string& v) -> std::string {
    if (v.empty() || v.size() > 32) return "adapter name: 1 to 32 characters (e.g. hci0)";
    for (char ch : v)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return "'" + v + "' is not an adapter name like hci0";
    c.bluetoothAdapter = v;
    return "";
  };
  bt["bridge"] = [](Config& c, const std::string& v) -> std::string {
    if (!validIfname(v)) return "'" + v + "' is not a valid interface name";
    c.bluetoothBridge = v;
    return "";
  };
  auto optBool = [](std::optional<bool>& field, const std::string& v) -> std::string {
    if (v.empty() || v == "unchanged") {
      field.reset();  // left as BlueZ has it
      return "";
    }
    bool b = false;
    if (!setBool(b, v).empty()) return "'" + v + "' is not yes, no or unchanged";
    field = b;
    return "";
  };
  bt["discoverable"] = [optBool](Config& c, const std::string& v) { return optBool(c.bluetoothDiscoverable, v); };
  bt["pairable"] = [optBool](Config& c, const std::string& v) { return optBool(c.bluetoothPairable, v); };
  bt["alias"] = [](Config& c, const std::string& v) -> std::string {
    if (v.size() > 248) return "longer than 248 bytes";
    for (unsigned char ch : v)
      if (ch < 0x20 || ch == 0x7f) return "contains a control character";
    c.bluetoothAlias = v;
    return "";
  };
}

}  // namespace tetherd::config_keys
