#include "tether/control/ctl_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace tetherd::ctl {

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Status Client::connect(const std::string& socketPath, int timeoutMs) {
  timeoutMs_ = timeoutMs;
  sockaddr_un addr{};
  if (socketPath.size() >= sizeof addr.sun_path) return makeError(Errc::InvalidArgument, "socket path too long");
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return systemError("socket", errno);
  addr.sun_family = AF_UNIX;
  socketPath.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return systemError("cannot connect to tetherd at " + socketPath, errno);
  return {};
}

Result<std::string> Client::readLine() {
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeoutMs_);
    if (r == 0) return makeError(Errc::Timeout, "no answer from tetherd within " + std::to_string(timeoutMs_) + " ms");
    if (r < 0) {
      if (errno == EINTR) continue;
      return systemError("poll", errno);
    }
    char chunk[4096];
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("read", errno);
    }
    if (n == 0) return makeError(Errc::ServiceUnavail, "tetherd closed the connection");
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

Result<Outcome> Client::call(const std::vector<std::string>& words) {
  const uint32_t seq = 1;
  if (auto why = control::requestWordsError(words); !why.empty()) return makeError(Errc::InvalidArgument, why);
  std::string req = control::formatRequest(seq, words);
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("send", errno);
    }
    off += static_cast<size_t>(n);
  }
  Outcome out;
  for (;;) {
    auto line = readLine();
    if (!line) return line.error();
    auto reply = control::parseReply(*line);
    if (!reply) return makeError(Errc::SystemError, "malformed reply from tetherd: " + line->substr(0, 80));
    if (reply->isEvent() || reply->seq != seq) continue;
    if (reply->isContinuation()) {
      out.lines.push_back(std::move(*reply));
      continue;
    }
    out.final = std::move(*reply);
    return out;
  }
}

Status Client::monitor(const std::function<void(const control::Reply&)>& onEvent) {
  timeoutMs_ = -1;
  for (;;) {
    auto line = readLine();
    if (!line) return line.error();
    auto reply = control::parseReply(*line);
    if (reply && reply->isEvent()) onEvent(*reply);
  }
}

std::vector<std::pair<std::string, std::string>> splitFields(const std::string& message) {
  std::vector<std::pair<std::string, std::string>> out;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  size_t i = 0;
  while (i < message.size()) {
    while (i < message.size() && message[i] == ' ') ++i;
    size_t start = i;
    while (i < message.size() && message[i] != ' ' && message[i] != '=') ++i;
    if (i >= message.size() || message[i] != '=' || i == start) {  // a word without '=': skipped
      while (i < message.size() && message[i] != ' ') ++i;
      continue;
    }
    std::string key = message.substr(start, i - start), value;
    ++i;
    if (i < message.size() && message[i] == '"') {  // quoteValue's quoting (control_protocol.h)
      for (++i; i < message.size() && message[i] != '"'; ++i) {
        if (message[i] != '\\' || i + 1 >= message.size()) {
          value += message[i];
          continue;
        }
        const char e = message[++i];
        if (e == 'n') value += '\n';
        else if (e == 'r') value += '\r';
        else if (e == 't') value += '\t';
        else if (e == 'x' && i + 2 < message.size() && hex(message[i + 1]) >= 0 && hex(message[i + 2]) >= 0) {
          value += static_cast<char>(hex(message[i + 1]) * 16 + hex(message[i + 2]));
          i += 2;
        } else value += e;
      }
      ++i;  // the closing quote
    } else {
      while (i < message.size() && message[i] != ' ') value += message[i++];
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

namespace {
nlohmann::json replyJson(const control::Reply& r) {
  nlohmann::json j;
  j["code"] = r.code;
  j["message"] = r.message;
  auto fields = splitFields(r.message);
  if (!fields.empty()) {
    nlohmann::json f = nlohmann::json::object();
    for (auto& [k, v] : fields) f[k] = v;
    j["fields"] = f;
  }
  return j;
}
}  // namespace

std::string outcomeToJson(const Outcome& o) {
  nlohmann::json j = replyJson(o.final);
  j["ok"] = o.final.code >= 200 && o.final.code < 300;
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.lines) lines.push_back(replyJson(l));
  j["lines"] = lines;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int exitStatusFor(const control::Reply& final) {
  if (final.code >= 200 && final.code < 300) return 0;
  if (final.code >= 500 && final.code < 600) return 2;
  return 1;
}

}  // namespace tetherd::ctl
