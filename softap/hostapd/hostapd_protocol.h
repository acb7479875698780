// Pure parsers for hostapd's control-interface (wpa_ctrl) datagrams and the MAC deny-list file.
// Every parser is bounded (datagrams of at most 4096 bytes), never throws, and treats its input
// as untrusted bytes. MAC addresses come out validated and lower-cased.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd::softap {

constexpr size_t kMaxCtrlDatagram = 4096;

// STATUS reply: "key=value\n" lines. state= is required (ENABLED, DISABLED, UNINITIALIZED, ...).
// ssid and numStations come from the first BSS ("ssid[0]", "num_sta[0]"); every line is kept in raw.
struct HostapdStatus {
  std::string state;
  int channel = 0;
  int freq = 0;
  std::string ssid;  // as hostapd prints it (non-printable bytes escaped by hostapd)
  int numStations = 0;
  std::map<std::string, std::string> raw;
};
Result<HostapdStatus> parseStatus(std::string_view reply);

// One station (reply to STA-FIRST / STA-NEXT <mac> / STA <mac>).
struct Station {
  std::string mac;                 // lower case
  std::vector<std::string> flags;  // "[AUTH][ASSOC][AUTHORIZED]" -> AUTH, ASSOC, AUTHORIZED
  long connectedTimeSec = -1;      // -1 = not reported
  std::optional<int> signalDbm;
  std::optional<uint64_t> rxBytes, txBytes;
  std::optional<uint64_t> rxPackets, txPackets;
  std::optional<std::string> rxRate, txRate;  // rx_rate_info / tx_rate_info as printed (100 kbit/s units + details)
  std::map<std::string, std::string> raw;     // every key=value line
  bool authorized() const;                    // flags contain AUTHORIZED
};
enum class StaReplyKind { Station, NoMore, Failed };
struct StaReply {
  StaReplyKind kind = StaReplyKind::NoMore;
  Station station;  // filled for kind == Station
};
// Zero-byte datagram = NoMore (end of the STA-FIRST/STA-NEXT walk); "FAIL\n" = Failed (unknown
// MAC); otherwise the first line must be a MAC, followed by key=value lines. Lines without '='
// are ignored; a malformed value of a known key (flags, signal, connected_time, rx/tx_bytes, rx/tx_packets)
// and anything whose first line is not a MAC is InvalidArgument.
Result<StaReply> parseStaReply(std::string_view datagram);

// An unsolicited event: "<3>AP-STA-CONNECTED aa:bb:cc:dd:ee:ff", "<3>AP-ENABLED " (hostapd
// sends a trailing space), "<3>CTRL-EVENT-TERMINATING". An "IFNAME=<if> " prefix (global
// control interface) is accepted after "<N>" and also before it. name is the first word,
// text everything after the level (and prefix) with trailing whitespace removed, mac the
// station address of AP-STA-CONNECTED/-DISCONNECTED (lower case). Not an event -> nullopt.
struct HostapdEvent {
  enum class Type { StaConnected, StaDisconnected, ApEnabled, ApDisabled, Terminating, Other } type = Type::Other;
  int level = 0;
  std::string mac;
  std::string name;
  std::string text;
};
std::optional<HostapdEvent> parseEvent(std::string_view datagram);

// "OK" / "FAIL" replies (with or without the trailing newline; "FAIL-<reason>" is a failure too).
bool isOkReply(std::string_view reply);
bool isFailReply(std::string_view reply);

// The deny_mac_file: one MAC per line, '#' starts a comment, blank lines ignored. Returns the
// MACs lower-cased, duplicates dropped, in file order. Errors name the line. At most 1 MiB.
Result<std::vector<std::string>> parseMacList(std::string_view text);
// The file text: a comment line, then one lower-case MAC per line. Entries that are not MAC
// addresses are left out (validate with normalizeMac first); duplicates are dropped.
std::string formatMacList(const std::vector<std::string>& macs);

}  // namespace tetherd::softap
