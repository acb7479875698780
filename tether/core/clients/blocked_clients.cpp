#include "tether/core/clients/blocked_clients.h"

#include "tether/base/ip.h"

namespace tetherd {

namespace {

std::string quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 32)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  return out + (text.size() > 32 ? "...'" : "'");
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

BlockedClientsFile parseBlockedClients(std::string_view text, size_t maxMacs) {
  BlockedClientsFile out;
  int n = 0;
  while (!text.empty()) {
    ++n;
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto mac = normalizeMac(line);
    if (!mac) {
      out.bad.push_back({n, quoted(line) + " is not a MAC address"});
    } else if (isMulticastMac(*mac)) {
      out.bad.push_back({n, *mac + " is a multicast address, not a client"});
    } else if (!out.macs.count(*mac) && out.macs.size() >= maxMacs) {
      out.bad.push_back({n, *mac + ": more than " + std::to_string(maxMacs) + " blocked clients"});
    } else {
      out.macs.insert(*mac);
    }
  }
  return out;
}

std::string formatBlockedClients(const std::set<std::string>& macs) {
  std::string text;
  for (const auto& mac : macs) text += mac + "\n";
  return text;
}

}  // namespace tetherd
