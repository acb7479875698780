#include "config/usb_values.h"

#include <algorithm>
#include <cctype>

#include "tether/base/ip.h"

namespace tetherd::usb {

namespace {

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

}  // namespace

const char* functionName(Function f) {
  switch (f) {
    case Function::Rndis: return "rndis";
    case Function::Ncm: return "ncm";
    case Function::Ecm: return "ecm";
  }
  return "?";
}

Result<std::vector<Function>> parseFunctions(std::string_view text) {
  std::vector<Function> out;
  if (text.empty() || text == "none") return out;
  size_t pos = 0;
  while (true) {
    size_t plus = text.find('+', pos);
    std::string_view word = text.substr(pos, plus == std::string_view::npos ? std::string_view::npos : plus - pos);
    Function f;
    if (word == "rndis") f = Function::Rndis;
    else if (word == "ncm") f = Function::Ncm;
    else if (word == "ecm") f = Function::Ecm;
    else {
      // Built with append, not operator+: g++ 12 -O3 warns falsely on the latter (GCC bug 105329).
      std::string why = "'";
      why.append(word);
      why.append("' is not rndis, ncm or ecm (combine with '+', e.g. rndis+ncm, or none)");
      return invalid(why);
    }
    if (std::find(out.begin(), out.end(), f) != out.end()) return invalid(std::string(word) + " is listed twice");
    if (f == Function::Rndis && !out.empty())
      return invalid("rndis must come first (Windows only uses the first configuration), e.g. rndis+ncm");
    out.push_back(f);
    if (plus == std::string_view::npos) break;
    pos = plus + 1;
  }
  return out;
}

std::string functionsText(const std::vector<Function>& functions) {
  if (functions.empty()) return "none";
  std::string out;
  for (auto f : functions) {
    if (!out.empty()) out += '+';
    out += functionName(f);
  }
  return out;
}

Status checkUsbString(std::string_view field, std::string_view value) {
  const std::string f(field);
  if (value.empty()) return invalid(f + ": empty");
  if (value.size() > 126) return invalid(f + ": longer than 126 characters (" + std::to_string(value.size()) + ")");
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e) return invalid(f + ": only printable ASCII characters are allowed");
    if (c == '/') return invalid(f + ": '/' is not allowed");
  }
  return {};
}

Status checkGadgetName(std::string_view name) {
  if (name.empty() || name.size() > 32) return invalid("gadget name: 1 to 32 characters");
  if (name == "." || name == "..") return invalid("gadget name: '" + std::string(name) + "' is not allowed");
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      return invalid("gadget name: '" + std::string(name) + "': only letters, digits, '_', '-' and '.'");
  return {};
}

Status checkUdcName(std::string_view name) {
  if (name.empty() || name.size() > 64) return invalid("udc: 1 to 64 characters");
  if (name == "." || name == "..") return invalid("udc: '" + std::string(name) + "' is not allowed");
  for (unsigned char c : name)
    if (c <= 0x20 || c > 0x7e || c == '/') return invalid("udc: '" + std::string(name) + "' is not a controller name");
  return {};
}

Result<std::string> checkUnicastMac(std::string_view field, std::string_view text) {
  auto mac = normalizeMac(text);
  if (!mac) return invalid(std::string(field) + ": '" + std::string(text) + "' is not a MAC address like 02:00:00:00:00:01");
  if (isMulticastMac(*mac)) return invalid(std::string(field) + ": " + std::string(text) + " is a multicast address");
  if (*mac == "00:00:00:00:00:00") return invalid(std::string(field) + ": the zero address is not allowed");
  return *mac;
}

}  // namespace tetherd::usb
