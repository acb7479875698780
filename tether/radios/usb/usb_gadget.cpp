#include "tether/radios/usb/usb_gadget.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "tether/base/ip.h"

namespace tetherd::usb {

namespace {

Error invalid(std::string message) { return makeError(Errc::InvalidArgument, std::move(message)); }

std::string hex4(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(v));
  return buf;
}

// FNV-1a 64 followed by the splitmix64 finaliser: stable across builds and machines, and
// well mixed. Not a secret: it only keeps the machine id itself off the wire.
uint64_t hash64(std::string_view a, std::string_view b) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  feed("tetherd-usb\n");
  feed(a);
  feed("\n");
  feed(b);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string formatMac(const unsigned char (&b)[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return buf;
}

bool parseMac(std::string_view text, unsigned char (&out)[6]) {
  auto norm = normalizeMac(text);
  if (!norm) return false;
  for (int i = 0; i < 6; ++i) {
    unsigned v = 0;
    std::sscanf(norm->c_str() + i * 3, "%2x", &v);
    out[i] = static_cast<unsigned char>(v);
  }
  return true;
}

const char* configurationLabel(Function f) {
  switch (f) {
    case Function::Rndis: return "RNDIS";
    case Function::Ncm: return "NCM";
    case Function::Ecm: return "ECM";
  }
  return "?";
}

}  // namespace


Status validate(const GadgetSettings& s) {
  if (auto st = checkGadgetName(s.name); !st) return st;
  if (s.functions.empty()) return invalid("functions: none given");
  if (auto f = parseFunctions(functionsText(s.functions)); !f) return invalid("functions: " + f.error().message);
  if (s.vendorId == 0) return invalid("vendor_id: 0 is not a vendor");
  if (auto st = checkUsbString("manufacturer", s.manufacturer); !st) return st;
  if (auto st = checkUsbString("product", s.product); !st) return st;
  if (auto st = checkUsbString("serial", s.serial); !st) return st;
  if (s.addrs.size() != s.functions.size())
    return invalid("addresses: " + std::to_string(s.addrs.size()) + " pairs for " + std::to_string(s.functions.size()) + " functions");
  std::vector<std::string> seen;
  for (size_t i = 0; i < s.addrs.size(); ++i) {
    const std::string n = std::string(functionName(s.functions[i]));
    for (const auto* m : {&s.addrs[i].host, &s.addrs[i].dev}) {
      auto ok = checkUnicastMac(n + (m == &s.addrs[i].host ? " host_addr" : " dev_addr"), *m);
      if (!ok) return ok.error();
      if (std::find(seen.begin(), seen.end(), *ok) != seen.end()) return invalid(n + ": MAC address " + *ok + " used twice");
      seen.push_back(*ok);
    }
  }
  return {};
}

std::string deriveMac(std::string_view seed, std::string_view label) {
  uint64_t h = hash64(seed, label);
  unsigned char b[6];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(h >> (8 * i));
  b[0] = static_cast<unsigned char>((b[0] & 0xfc) | 0x02);  // locally administered, unicast
  return formatMac(b);
}

std::string deriveSerial(std::string_view seed) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(hash64(seed, "serial")));
  return buf;
}

std::string offsetMac(const std::string& base, unsigned n) {
  unsigned char b[6];
  if (!parseMac(base, b)) return base;
  uint32_t low = (uint32_t{b[3]} << 16 | uint32_t{b[4]} << 8 | b[5]) + n;
  b[3] = static_cast<unsigned char>(low >> 16);
  b[4] = static_cast<unsigned char>(low >> 8);
  b[5] = static_cast<unsigned char>(low);
  return formatMac(b);
}

std::string Op::str() const {
  auto escaped = [](const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == '\n') out += "\\n";
      else out += c;
    }
    return out;
  };
  switch (kind) {
    case Kind::Mkdir: return "mkdir " + path;
    case Kind::Write: return "write " + path + " " + escaped(value);
    case Kind::Symlink: return "symlink " + value + " " + path;
    case Kind::Rmdir: return "rmdir " + path;
    case Kind::Unlink: return "unlink " + path;
  }
  return "?";
}

std::string functionDir(const GadgetSettings& s, size_t index) {
  return s.name + "/functions/" + functionName(s.functions[index]) + ".usb" + std::to_string(index);
}

Result<std::vector<Op>> gadgetOps(const GadgetSettings& s) {
  if (auto st = validate(s); !st) return st.error();
  std::vector<Op> ops;
  auto mkdir = [&ops](std::string p) { ops.push_back(Op{Op::Kind::Mkdir, std::move(p), {}}); };
  auto write = [&ops](std::string p, std::string v) { ops.push_back(Op{Op::Kind::Write, std::move(p), std::move(v)}); };
  auto symlink = [&ops](std::string target, std::string link) {
    ops.push_back(Op{Op::Kind::Symlink, std::move(link), std::move(target)});
  };
  const std::string& g = s.name;
  const bool rndis = s.functions.front() == Function::Rndis;

  mkdir(g);
  write(g + "/idVendor", hex4(s.vendorId));
  write(g + "/idProduct", hex4(s.productId));
  write(g + "/bcdDevice", "0x0100");
  write(g + "/bcdUSB", "0x0200");
  // Miscellaneous / Common Class / Interface Association: the functions describe themselves
  // with IADs, which Windows needs to see announced in the device descriptor.
  write(g + "/bDeviceClass", "0xef");
  write(g + "/bDeviceSubClass", "0x02");
  write(g + "/bDeviceProtocol", "0x01");
  mkdir(g + "/strings/0x409");
  write(g + "/strings/0x409/manufacturer", s.manufacturer);
  write(g + "/strings/0x409/product", s.product);
  write(g + "/strings/0x409/serialnumber", s.serial);
  if (rndis) {
    // Microsoft OS descriptors: Windows asks for them with vendor request 0xcd and then
    // binds its RNDIS driver to the interface with compatible ID "RNDIS" / "5162001".
    write(g + "/os_desc/use", "1");
    write(g + "/os_desc/b_vendor_code", "0xcd");
    write(g + "/os_desc/qw_sign", "MSFT100");
  }
  for (size_t i = 0; i < s.functions.size(); ++i) {
    const std::string dir = functionDir(s, i);
    mkdir(dir);
    write(dir + "/host_addr", s.addrs[i].host);
    write(dir + "/dev_addr", s.addrs[i].dev);
    if (s.functions[i] == Function::Rndis) {
      write(dir + "/os_desc/interface.rndis/compatible_id", "RNDIS");
      write(dir + "/os_desc/interface.rndis/sub_compatible_id", "5162001");
    }
  }
  for (size_t i = 0; i < s.functions.size(); ++i) {
    const std::string config = g + "/configs/c." + std::to_string(i + 1);
    const std::string dir = functionDir(s, i);
    mkdir(config);
    write(config + "/MaxPower", "250");
    mkdir(config + "/strings/0x409");
    write(config + "/strings/0x409/configuration", configurationLabel(s.functions[i]));
    symlink(dir, config + "/" + dir.substr(dir.rfind('/') + 1));
    if (i == 0 && rndis) symlink(config, g + "/os_desc/c.1");
  }
  return ops;
}

Op bindOp(const std::string& gadgetName, const std::string& udc) { return Op{Op::Kind::Write, gadgetName + "/UDC", udc}; }

Op unbindOp(const std::string& gadgetName) { return Op{Op::Kind::Write, gadgetName + "/UDC", "\n"}; }

std::vector<Op> removalOps(const std::vector<Op>& ops) {
  std::vector<Op> out;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    if (it->kind == Op::Kind::Mkdir) out.push_back(Op{Op::Kind::Rmdir, it->path, {}});
    else if (it->kind == Op::Kind::Symlink) out.push_back(Op{Op::Kind::Unlink, it->path, {}});
  }
  return out;
}

Result<std::string> chooseUdc(const std::string& configured, const std::vector<std::string>& available) {
  auto list = [&available] {
    std::string out;
    for (const auto& a : available) out += (out.empty() ? "" : ", ") + a;
    return out;
  };
  if (!configured.empty()) {
    if (std::find(available.begin(), available.end(), configured) != available.end()) return configured;
    return makeError(Errc::NotFound, "UDC " + configured + " not found" + (available.empty() ? " (no UDC at all)" : " (have: " + list() + ")"));
  }
  if (available.empty()) return makeError(Errc::NotFound, "no USB device controller (UDC) found");
  if (available.size() > 1) return makeError(Errc::NotFound, "several UDCs (" + list() + "): choose one with [usb] udc");
  return available.front();
}

}  // namespace tetherd::usb
