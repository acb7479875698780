#include "tether/radios/usb/usb_configfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "tether/base/log.h"

namespace tetherd::usb {

namespace {

Error fsError(const std::string& what, const std::string& path, int err) {
  Error e = systemError(what + " " + path, err);
  if (err == ENOENT) e.code = Errc::NotFound;
  return e;
}

std::string join(const std::string& root, const std::string& rel) { return root + "/" + rel; }

Status applyOne(GadgetFs& fs, const std::string& root, const Op& op) {
  const std::string path = join(root, op.path);
  switch (op.kind) {
    case Op::Kind::Mkdir: return fs.mkdir(path);
    case Op::Kind::Write: return fs.write(path, op.value);
    case Op::Kind::Symlink: return fs.symlink(join(root, op.value), path);
    case Op::Kind::Rmdir: return fs.rmdir(path);
    case Op::Kind::Unlink: return fs.unlink(path);
  }
  return makeError(Errc::InvalidArgument, "usb gadget: unknown operation");
}

std::string trimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RealGadgetFs

Status RealGadgetFs::mkdir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) return fsError("mkdir", path, errno);
  return {};
}

Status RealGadgetFs::rmdir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return fsError("rmdir", path, errno);
  return {};
}

Status RealGadgetFs::write(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fsError("write", path, errno);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return fsError("write", path, err);
  if (static_cast<size_t>(n) != value.size()) return makeError(Errc::SystemError, "write " + path + ": short write");
  return {};
}

Status RealGadgetFs::symlink(const std::string& target, const std::string& linkPath) {
  if (::symlink(target.c_str(), linkPath.c_str()) != 0) return fsError("symlink", linkPath, errno);
  return {};
}

Status RealGadgetFs::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return fsError("unlink", path, errno);
  return {};
}

Result<std::string> RealGadgetFs::read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fsError("read", path, errno);
  std::string out;
  char buf[4096];
  while (out.size() < 65536) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fsError("read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::vector<GadgetFs::Entry>> RealGadgetFs::list(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return fsError("list", dir, errno);
  std::vector<Entry> out;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) != 0) continue;  // gone meanwhile
    Entry entry;
    entry.name = name;
    entry.type = S_ISLNK(st.st_mode) ? Entry::Type::Symlink : S_ISDIR(st.st_mode) ? Entry::Type::Dir : Entry::Type::File;
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

bool RealGadgetFs::exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------------------------------
// Executor

Status applyOps(GadgetFs& fs, const std::string& root, const std::vector<Op>& ops) {
  for (size_t i = 0; i < ops.size(); ++i) {
    auto st = applyOne(fs, root, ops[i]);
    if (st) continue;
    std::vector<Op> done(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(i));
    if (auto undo = applyAll(fs, root, removalOps(done)); !undo)
      log::warning("usb gadget: undoing a failed set-up: ", undo.error().message);
    Error e = st.error();
    e.message = "usb gadget: " + e.message;
    return e;
  }
  return {};
}

Status applyAll(GadgetFs& fs, const std::string& root, const std::vector<Op>& ops) {
  Status first;
  for (const auto& op : ops) {
    auto st = applyOne(fs, root, op);
    if (!st && first) first = Error{st.error().code, "usb gadget: " + st.error().message};
  }
  return first;
}

Result<std::vector<Op>> existingGadgetRemovalOps(GadgetFs& fs, const std::string& root, const std::string& name) {
  if (auto st = checkGadgetName(name); !st) return st.error();
  std::vector<Op> ops;
  const std::string g = join(root, name);
  if (!fs.exists(g)) return ops;
  auto entries = [&fs, &g](const std::string& rel, GadgetFs::Entry::Type type) {
    std::vector<std::string> out;
    auto l = fs.list(g + "/" + rel);
    if (!l) return out;  // a missing default directory: nothing of ours in it
    for (const auto& e : *l)
      if (e.type == type) out.push_back(e.name);
    return out;
  };
  using T = GadgetFs::Entry::Type;
  if (auto udc = fs.read(g + "/UDC"); udc && !trimNewlines(*udc).empty()) ops.push_back(unbindOp(name));
  const auto configs = entries("configs", T::Dir);
  for (const auto& c : configs)
    for (const auto& l : entries("configs/" + c, T::Symlink)) ops.push_back(Op{Op::Kind::Unlink, name + "/configs/" + c + "/" + l, {}});
  for (const auto& l : entries("os_desc", T::Symlink)) ops.push_back(Op{Op::Kind::Unlink, name + "/os_desc/" + l, {}});
  for (const auto& c : configs) {
    for (const auto& s : entries("configs/" + c + "/strings", T::Dir))
      ops.push_back(Op{Op::Kind::Rmdir, name + "/configs/" + c + "/strings/" + s, {}});
    ops.push_back(Op{Op::Kind::Rmdir, name + "/configs/" + c, {}});
  }
  for (const auto& f : entries("functions", T::Dir)) ops.push_back(Op{Op::Kind::Rmdir, name + "/functions/" + f, {}});
  for (const auto& s : entries("strings", T::Dir)) ops.push_back(Op{Op::Kind::Rmdir, name + "/strings/" + s, {}});
  ops.push_back(Op{Op::Kind::Rmdir, name, {}});
  return ops;
}

Result<std::vector<std::string>> listUdcs(GadgetFs& fs, const std::string& udcDir) {
  std::vector<std::string> out;
  auto l = fs.list(udcDir);
  if (!l) {
    if (l.error().code == Errc::NotFound) return out;
    return l.error();
  }
  for (const auto& e : *l)
    if (checkUdcName(e.name)) out.push_back(e.name);
  return out;
}

}  // namespace tetherd::usb
