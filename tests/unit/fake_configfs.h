// A fake configfs for the USB gadget tests: real directories, files and symlinks in a
// temporary tree, with the kernel's part acted out on top of RealGadgetFs. mkdir of a gadget,
// a strings language, a configuration or a function creates the attribute files and default
// directories the kernel would; rmdir removes them again and refuses (ENOTEMPTY) while
// anything the user made is inside; writes replace the attribute's content; writing a UDC's
// name to UDC binds (the functions get interface names usb0, usb1, ... like u_ether gives
// them), "\n" unbinds. Every operation is logged with its path relative to usb_gadget/.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tether/radios/usb/usb_configfs.h"

namespace tetherd::testing {

class FakeConfigfs : public usb::RealGadgetFs {
 public:
  explicit FakeConfigfs(std::string base) : base_(std::move(base)) {
    std::filesystem::create_directories(gadgetRoot());
    std::filesystem::create_directories(udcDir());
  }

  std::string gadgetRoot() const { return base_ + "/config/usb_gadget"; }
  std::string udcDir() const { return base_ + "/class/udc"; }
  std::string machineIdPath() const { return base_ + "/machine-id"; }

  void addUdc(const std::string& name) { std::ofstream(udcDir() + "/" + name).flush(); }
  void setMachineId(const std::string& id) { std::ofstream(machineIdPath()) << id << "\n"; }

  std::vector<std::string> log;        // "mkdir tetherd", "write tetherd/UDC fake_udc.0", ...
  std::set<std::string> failWrites;     // relative paths whose writes fail with EIO
  std::map<std::string, std::string> boundTo;  // gadget -> UDC

  // The tree under usb_gadget/, one line per entry in name order: "d tetherd",
  // "f tetherd/idVendor=0x1d6b" (content without one trailing newline), "l a -> b".
  std::vector<std::string> tree() const {
    std::vector<std::string> out;
    walk(gadgetRoot(), "", out);
    return out;
  }

  Status mkdir(const std::string& path) override {
    const std::string r = rel(path);
    log.push_back("mkdir " + r);
    auto parts = split(r);
    std::vector<std::string> files, dirs;
    if (parts.size() == 1) {
      files = {"UDC", "bDeviceClass", "bDeviceProtocol", "bDeviceSubClass", "bMaxPacketSize0", "bcdDevice", "bcdUSB",
               "idProduct", "idVendor", "max_speed", "os_desc/b_vendor_code", "os_desc/qw_sign", "os_desc/use"};
      dirs = {"configs", "functions", "os_desc", "strings"};
    } else if (parts.size() == 3 && parts[1] == "strings") {
      files = {"manufacturer", "product", "serialnumber"};
    } else if (parts.size() == 3 && parts[1] == "configs") {
      files = {"MaxPower", "bmAttributes"};
      dirs = {"strings"};
    } else if (parts.size() == 5 && parts[1] == "configs" && parts[3] == "strings") {
      files = {"configuration"};
    } else if (parts.size() == 3 && parts[1] == "functions") {
      std::string type = parts[2].substr(0, parts[2].find('.'));
      if (type != "rndis" && type != "ncm" && type != "ecm") return systemError("mkdir " + path, ENOENT);
      files = {"dev_addr", "host_addr", "ifname", "qmult"};
      if (type == "rndis") {
        dirs = {"os_desc", "os_desc/interface.rndis"};
        files.insert(files.end(), {"os_desc/interface.rndis/compatible_id", "os_desc/interface.rndis/sub_compatible_id"});
      }
    } else {
      return systemError("mkdir " + path, EPERM);  // configfs: no directories elsewhere
    }
    if (auto st = RealGadgetFs::mkdir(path); !st) return st;
    for (const auto& d : dirs) ::mkdir((path + "/" + d).c_str(), 0755);
    for (const auto& f : files) std::ofstream(path + "/" + f).flush();
    if (parts.size() == 3 && parts[1] == "functions") put(path + "/ifname", "(unnamed net_device)\n");
    auto& def = defaults_[path];
    def = dirs;
    def.insert(def.end(), files.begin(), files.end());
    return {};
  }

  Status rmdir(const std::string& path) override {
    log.push_back("rmdir " + rel(path));
    auto it = defaults_.find(path);
    std::set<std::string> defaults;
    if (it != defaults_.end()) defaults.insert(it->second.begin(), it->second.end());
    // Anything in it (at any depth) that the kernel did not make: the user's, still there.
    for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
      std::string r = e.path().string().substr(path.size() + 1);
      if (!defaults.count(r)) return systemError("rmdir " + path, ENOTEMPTY);
    }
    std::filesystem::remove_all(path);
    defaults_.erase(path);
    return {};
  }

  Status write(const std::string& path, const std::string& value) override {
    const std::string r = rel(path);
    log.push_back("write " + r + " " + (value == "\n" ? std::string("\\n") : value));
    if (failWrites.count(r)) return systemError("write " + path, EIO);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return systemError("write " + path, ENOENT);
    auto parts = split(r);
    if (parts.size() == 2 && parts[1] == "UDC") return writeUdc(parts[0], path, value);
    put(path, value);
    return {};
  }

  Status symlink(const std::string& target, const std::string& linkPath) override {
    log.push_back("symlink " + rel(target) + " " + rel(linkPath));
    return RealGadgetFs::symlink(target, linkPath);
  }

  Status unlink(const std::string& path) override {
    log.push_back("unlink " + rel(path));
    return RealGadgetFs::unlink(path);
  }

 private:
  Status writeUdc(const std::string& gadget, const std::string& path, const std::string& value) {
    std::string name = value;
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (name.empty()) {
      boundTo.erase(gadget);
      put(path, "");
      return {};
    }
    if (!std::filesystem::exists(udcDir() + "/" + name)) return systemError("write " + path, ENODEV);
    for (const auto& [g, u] : boundTo)
      if (u == name || g == gadget) return systemError("write " + path, EBUSY);
    boundTo[gadget] = name;
    put(path, name + "\n");
    // u_ether names the network functions when they are first bound.
    const std::string functions = gadgetRoot() + "/" + gadget + "/functions";
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(functions)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return index(a) < index(b); });
    for (const auto& n : names) {
      std::string ifnamePath = functions + "/" + n + "/ifname";
      if (read(ifnamePath).value() == "(unnamed net_device)\n") put(ifnamePath, "usb" + std::to_string(nextIf_++) + "\n");
    }
    return {};
  }

  static std::string index(const std::string& function) { return function.substr(function.find('.') + 1); }

  static void put(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::trunc | std::ios::binary);
    out << content;
  }

  static std::vector<std::string> split(const std::string& r) {
    std::vector<std::string> out;
    std::stringstream in(r);
    for (std::string p; std::getline(in, p, '/');) out.push_back(p);
    return out;
  }

  std::string rel(const std::string& path) const {
    const std::string root = gadgetRoot() + "/";
    return path.rfind(root, 0) == 0 ? path.substr(root.size()) : path;
  }

  void walk(const std::string& dir, const std::string& prefix, std::vector<std::string>& out) const {
    std::vector<std::filesystem::directory_entry> entries;
    for (const auto& e : std::filesystem::directory_iterator(dir)) entries.push_back(e);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
    for (const auto& e : entries) {
      const std::string name = prefix + e.path().filename().string();
      if (e.is_symlink()) {
        out.push_back("l " + name + " -> " + rel(std::filesystem::read_symlink(e.path()).string()));
      } else if (e.is_directory()) {
        out.push_back("d " + name);
        walk(e.path().string(), name + "/", out);
      } else {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        std::string content = s.str();
        if (!content.empty() && content.back() == '\n') content.pop_back();
        out.push_back("f " + name + "=" + content);
      }
    }
  }

  std::string base_;
  std::map<std::string, std::vector<std::string>> defaults_;  // dir -> what the kernel made in it
  int nextIf_ = 0;
};

}  // namespace tetherd::testing
