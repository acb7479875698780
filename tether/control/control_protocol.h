// The control socket's line protocol, modelled on Android netd:
//   request: "<seq> <command> <args...>\n"   args split on spaces; "..." quotes; \\ and \" escapes
//   reply:   "<code> <seq> <message>\n"      1xx list line, 2xx ok, 4xx failed, 5xx syntax/parameter
//   event:   "<code> <message>\n"            6xx, unsolicited, no seq
// Pure functions only: the server and tetherctl both use them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tetherd::control {

constexpr size_t kMaxLineLength = 4096;
constexpr size_t kMaxArgs = 32;

namespace code {
constexpr int InterfaceList = 110;
constexpr int TetherInterfaceList = 111;
constexpr int TetherDnsFwdTgtList = 112;
constexpr int TetheringStatsList = 114;
constexpr int UpstreamList = 116;
constexpr int StationList = 117;
constexpr int SettingList = 118;
constexpr int DoctorList = 119;
constexpr int ClientList = 120;
constexpr int CommandOkay = 200;
constexpr int StatusReport = 201;
constexpr int TetherStatus = 210;
constexpr int IpFwdStatus = 211;
constexpr int InterfaceGetCfg = 213;
constexpr int SoftapStatus = 214;
constexpr int TetheringStats = 221;
constexpr int OperationFailed = 400;
constexpr int ServiceStartFailed = 402;
constexpr int ServiceStopFailed = 403;
constexpr int CommandSyntaxError = 500;
constexpr int CommandParameterError = 501;
constexpr int InterfaceChange = 600;
constexpr int BandwidthControl = 601;  // netd's "limit alert"
constexpr int TetherStateChange = 610;
constexpr int UpstreamChange = 611;
constexpr int StationChange = 612;
constexpr int InterfaceClassActivity = 613;
constexpr int InterfaceAddressChange = 614;
}  // namespace code

struct Request {
  uint32_t seq = 0;
  std::string command;
  std::vector<std::string> args;
};

struct ParseResult {
  enum class Kind { Ok, Empty, Error } kind = Kind::Ok;
  Request request;    // valid when Ok; request.seq also set on Error when it could be read
  std::string error;  // the reason, when Error
};

// Parses one line without its terminator.
ParseResult parseRequest(std::string_view line);

// Quote one argument so that parseRequest gives it back unchanged.
std::string quoteArg(std::string_view arg);
// A reply field's value (`key=<value>`): as it is when it is printable ASCII without a space,
// '"' or '\' (and not empty); else in double quotes, with \" \\ \n \r \t and \xHH (other
// control bytes) escaped and any other byte (UTF-8 included) as it is:
//   tx_rate="520 mcs 11"  hostname="a \"b\"\nc"  ssid="café"
// ctl::splitFields reads it back (tetherctl --json).
std::string quoteValue(std::string_view value);
std::string formatRequest(uint32_t seq, const std::vector<std::string>& words);
// "" when formatRequest can carry these words, else why not: no quoting carries a control
// character (parseRequest refuses them, and a '\n' would end the request early and make the
// rest a request of its own), so a client refuses such words instead of sending them.
std::string requestWordsError(const std::vector<std::string>& words);

// Replies and events; control characters in the message are replaced so that a
// message is always exactly one line.
std::string formatReply(int code, uint32_t seq, std::string_view message);
std::string formatEvent(int code, std::string_view message);

struct Reply {
  int code = 0;
  std::optional<uint32_t> seq;  // absent for 6xx events
  std::string message;
  bool isEvent() const { return code >= 600 && code < 700; }
  bool isContinuation() const { return code >= 100 && code < 200; }
  bool isFinal() const { return code >= 200 && code < 600; }
};
std::optional<Reply> parseReply(std::string_view line);

}  // namespace tetherd::control
