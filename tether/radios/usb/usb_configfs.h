// Applying configfs operations (tether/usb_gadget.h) to a directory tree: the real
// /sys/kernel/config/usb_gadget, or a temporary tree in tests. Short synchronous file
// operations, like sysctl writes.
#pragma once

#include <string>
#include <vector>

#include "tether/base/result.h"
#include "tether/radios/usb/usb_gadget.h"

namespace tetherd::usb {

// The file operations the executor needs, on absolute paths. RealGadgetFs makes the system
// calls; tests derive from it to act like the kernel's configfs (which creates a gadget's
// attribute files and default directories itself on mkdir, and removes them on rmdir).
// Errors name the operation, the path and the cause ("write /x/UDC: Device or resource busy").
class GadgetFs {
 public:
  struct Entry {
    enum class Type { File, Dir, Symlink } type = Type::File;
    std::string name;
  };
  virtual ~GadgetFs() = default;
  virtual Status mkdir(const std::string& path) = 0;
  virtual Status rmdir(const std::string& path) = 0;
  // One write(2) of the whole value to an existing attribute (never creates a file).
  virtual Status write(const std::string& path, const std::string& value) = 0;
  virtual Status symlink(const std::string& target, const std::string& linkPath) = 0;
  virtual Status unlink(const std::string& path) = 0;
  virtual Result<std::string> read(const std::string& path) = 0;   // Errc::NotFound when missing
  virtual Result<std::vector<Entry>> list(const std::string& dir) = 0;  // sorted by name; NotFound
  virtual bool exists(const std::string& path) = 0;                // lstat
};

class RealGadgetFs : public GadgetFs {
 public:
  Status mkdir(const std::string& path) override;
  Status rmdir(const std::string& path) override;
  Status write(const std::string& path, const std::string& value) override;
  Status symlink(const std::string& target, const std::string& linkPath) override;
  Status unlink(const std::string& path) override;
  Result<std::string> read(const std::string& path) override;
  Result<std::vector<Entry>> list(const std::string& dir) override;
  bool exists(const std::string& path) override;
};

// Applies ops in order under `root` (relative op paths; symlink targets become absolute).
// On a failure the completed steps are undone (removalOps of them, errors ignored) and the
// failing operation is named: "usb gadget: write <root>/tetherd/UDC: No such device".
Status applyOps(GadgetFs& fs, const std::string& root, const std::vector<Op>& ops);
// Applies every op even when some fail (removal): the first error is returned.
Status applyAll(GadgetFs& fs, const std::string& root, const std::vector<Op>& ops);

// The operations that remove whatever gadget `name` exists under root, read from the tree
// (a previous run's, perhaps with other settings): unbind when bound, then the
// configurations' function links, the os_desc links, the configurations' strings and
// themselves, the functions, the gadget's strings, the gadget. Empty when there is none.
Result<std::vector<Op>> existingGadgetRemovalOps(GadgetFs& fs, const std::string& root, const std::string& name);

// The UDC names in udcDir (/sys/class/udc); a missing directory gives none.
Result<std::vector<std::string>> listUdcs(GadgetFs& fs, const std::string& udcDir);

}  // namespace tetherd::usb
