#include "tether/system/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "tether/base/files.h"
#include "tether/base/log.h"

namespace tetherd {

namespace {
bool validKey(const std::string& key) {
  if (key.empty() || key.find("..") != std::string::npos || key.front() == '/') return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '/' || c == '-' || c == '.';
  });
}
}  // namespace

Result<std::string> ProcSysctl::read(const std::string& key) {
  if (!validKey(key)) return makeError(Errc::InvalidArgument, "bad sysctl key '" + key + "'");
  std::ifstream in(root_ + "/" + key);
  if (!in) return systemError("read sysctl " + key, errno);
  std::string v;
  std::getline(in, v);
  return v;
}

Status ProcSysctl::write(const std::string& key, const std::string& value) {
  if (!validKey(key)) return makeError(Errc::InvalidArgument, "bad sysctl key '" + key + "'");
  std::string path = root_ + "/" + key;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return systemError("open sysctl " + key, errno);
  std::string line = value + "\n";
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) return systemError("write sysctl " + key + "=" + value, err);
  return {};
}

static const char* kIpForward = "net/ipv4/ip_forward";

Result<bool> IpForwarding::kernelValue() {
  auto v = sysctl_.read(kIpForward);
  if (!v) return v.error();
  return *v != "0";
}

Status IpForwarding::enable(const std::string& requester) {
  if (std::find(requesters_.begin(), requesters_.end(), requester) != requesters_.end()) return {};
  if (requesters_.empty()) {
    auto cur = sysctl_.read(kIpForward);
    if (!cur) return makeError(Errc::EnableForwardingError, cur.error().message);
    original_ = *cur;
    if (auto st = writeFileAtomic(stateFile_, original_ + "\n", 0644); !st)
      return makeError(Errc::EnableForwardingError, st.error().message);
    if (auto st = sysctl_.write(kIpForward, "1"); !st) {
      ::unlink(stateFile_.c_str());
      return makeError(Errc::EnableForwardingError, st.error().message);
    }
    log::info("ip forwarding enabled (was ", original_, ") for ", requester);
  }
  requesters_.push_back(requester);
  return {};
}

Status IpForwarding::disable(const std::string& requester) {
  auto it = std::find(requesters_.begin(), requesters_.end(), requester);
  if (it == requesters_.end())
    return makeError(Errc::NotFound, "'" + requester + "' has not requested forwarding");
  requesters_.erase(it);
  if (!requesters_.empty()) return {};
  if (auto st = sysctl_.write(kIpForward, original_.empty() ? "0" : original_); !st) {
    requesters_.push_back(requester);
    return makeError(Errc::DisableForwardingError, st.error().message);
  }
  ::unlink(stateFile_.c_str());
  log::info("ip forwarding restored to ", original_);
  return {};
}

Status IpForwarding::recoverFromPreviousRun() {
  auto saved = readFile(stateFile_, 64);
  if (!saved) return {};  // nothing left behind
  std::string v = *saved;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  if (v != "0" && v != "1") {
    ::unlink(stateFile_.c_str());
    return makeError(Errc::InvalidArgument, stateFile_ + ": unexpected content, ignored");
  }
  if (auto st = sysctl_.write(kIpForward, v); !st) return st;
  ::unlink(stateFile_.c_str());
  log::notice("restored ip_forward=", v, " left changed by a previous run");
  return {};
}

}  // namespace tetherd
