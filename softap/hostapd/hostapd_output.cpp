// Pure reading of hostapd's stdout (hostapd_output.h).
#include "softap/hostapd/hostapd_output.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "tether/base/ip.h"

namespace tetherd::softap {

namespace {

bool startsWith(std::string_view v, std::string_view prefix) { return v.substr(0, prefix.size()) == prefix; }

// "wlan0: rest" -> "rest" when the first word is an interface name followed by ": ".
std::string_view withoutIfname(std::string_view v) {
  auto colon = v.find(": ");
  if (colon == std::string_view::npos || colon == 0) return v;
  if (!validIfname(v.substr(0, colon))) return v;
  return v.substr(colon + 2);
}

bool hasIfnamePrefix(std::string_view v) { return withoutIfname(v).size() != v.size(); }

std::string_view firstWord(std::string_view v) { return v.substr(0, v.find(' ')); }

// The value of "key=value" among the space-separated words of v ("" when absent).
std::string_view wordValue(std::string_view v, std::string_view key) {
  size_t pos = 0;
  while (pos < v.size()) {
    size_t end = v.find(' ', pos);
    std::string_view word = v.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (word.size() > key.size() && startsWith(word, key) && word[key.size()] == '=') return word.substr(key.size() + 1);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

}  // namespace

const char* authFailureText(AuthFailure::Cause cause) {
  switch (cause) {
    case AuthFailure::Cause::PskMismatch:
      return "wrong passphrase (WPA2-PSK 4-way handshake failed)";
    case AuthFailure::Cause::SaeMismatch:
      return "wrong password (WPA3-SAE confirm mismatch)";
  }
  return "authentication failed";
}

std::optional<AuthFailure> parseAuthFailure(std::string_view line) {
  if (line.size() > 512) return std::nullopt;
  std::string_view v = withoutIfname(line);
  constexpr std::string_view kPsk = "AP-STA-POSSIBLE-PSK-MISMATCH ";
  constexpr std::string_view kReply = "authentication reply: STA=";
  if (startsWith(v, kPsk)) {
    auto mac = normalizeMac(firstWord(v.substr(kPsk.size())));
    if (!mac) return std::nullopt;
    return AuthFailure{*mac, AuthFailure::Cause::PskMismatch};
  }
  if (startsWith(v, kReply)) {
    auto mac = normalizeMac(firstWord(v.substr(kReply.size())));
    if (!mac) return std::nullopt;
    const auto resp = wordValue(v, "resp");
    if (wordValue(v, "auth_alg") != "3" || wordValue(v, "auth_transaction") != "2") return std::nullopt;
    if (resp != "15" && resp != "1") return std::nullopt;
    return AuthFailure{*mac, AuthFailure::Cause::SaeMismatch};
  }
  return std::nullopt;
}

bool hostapdLineWorthLogging(std::string_view line) {
  if (line.size() > 4096 || parseAuthFailure(line)) return false;
  std::string lower(line);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  constexpr std::array<std::string_view, 8> kTrouble = {"fail",    "error",  "could not", "invalid",
                                                        "blocked", "unable", "cannot",    "not allowed"};
  for (auto word : kTrouble)
    if (lower.find(word) != std::string::npos) return true;
  if (!hasIfnamePrefix(line)) return false;
  std::string_view rest = withoutIfname(line);
  if (startsWith(rest, "interface state ")) return true;
  // Its control events, as it also prints them: an upper-case name ("EAPOL-4WAY-HS-COMPLETED",
  // not the debug "WPA: EAPOL-Key MIC using HMAC-SHA1").
  constexpr std::array<std::string_view, 6> kEvents = {"AP-", "CTRL-EVENT-", "EAPOL-", "DFS-", "ACS-", "WPS-"};
  const std::string_view event = firstWord(rest);
  const bool upper = std::all_of(event.begin(), event.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (upper && std::any_of(kEvents.begin(), kEvents.end(), [event](std::string_view p) { return startsWith(event, p); }))
    return true;
  // "STA <mac> <module>: <text>": hostapd's per-station log, of which without -d (level info)
  // only these milestones are printed.
  if (!startsWith(rest, "STA ")) return false;
  auto colon = rest.find(": ");
  if (colon == std::string_view::npos) return false;
  std::string_view text = rest.substr(colon + 2);
  constexpr std::array<std::string_view, 7> kMilestones = {
      "associated", "disassociated", "deauthenticated", "authenticated", "pairwise key handshake completed",
      "group key handshake completed", "starting accounting session"};
  return std::any_of(kMilestones.begin(), kMilestones.end(), [text](std::string_view p) { return startsWith(text, p); });
}

}  // namespace tetherd::softap
