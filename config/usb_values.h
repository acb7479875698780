// The [usb] section's values, validated without the gadget code: the function list and the
// USB string, gadget and UDC names. tether/radios/usb/usb_gadget.h builds the gadget from them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::usb {

enum class Function { Rndis, Ncm, Ecm };
const char* functionName(Function f);  // "rndis", "ncm", "ecm"

// "none" (or "") gives no functions; "rndis+ncm" gives {Rndis, Ncm}. Refused: unknown names,
// a function twice, RNDIS anywhere but first. Errc::InvalidArgument naming the problem.
Result<std::vector<Function>> parseFunctions(std::string_view text);
std::string functionsText(const std::vector<Function>& functions);  // "rndis+ncm", or "none"

// A USB string descriptor (manufacturer, product, serial number): 1..126 printable ASCII
// characters, no '/'. `field` names the value in the error.
Status checkUsbString(std::string_view field, std::string_view value);
// The gadget's directory name under usb_gadget/: 1..32 of [A-Za-z0-9_.-], not "." or "..".
Status checkGadgetName(std::string_view name);
// A UDC name as listed in /sys/class/udc: 1..64 printable ASCII characters, no '/' or space.
Status checkUdcName(std::string_view name);
// A unicast MAC, not all zero (configured host_addr / dev_addr); lower-cased.
Result<std::string> checkUnicastMac(std::string_view field, std::string_view text);

}  // namespace tetherd::usb
