// Control-socket lines (tether/control_protocol.h): what a client sends the daemon
// (parseRequest), what the daemon sends tetherctl (parseReply, then ctl::outcomeToJson for
// --json), and the words tetherctl turns into a request (formatRequest; the input split on NUL).
// Properties:
//  - a parsed request has at most kMaxArgs arguments and no control character but tab;
//  - formatRequest(seq, {command, args...}) parses back to the same request (when the
//    formatted line fits in kMaxLineLength: quoting may lengthen it);
//  - a parsed reply, formatted again with formatReply/formatEvent, parses back to the same
//    code and seq, and the message with control characters replaced; as JSON it is valid JSON;
//  - words formatted by formatRequest arrive as exactly those words, on one line, unless the
//    client refuses them (requestWordsError).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_check.h"
#include "tether/control/control_protocol.h"
#include "tether/control/ctl_client.h"

using namespace tetherd::control;

namespace {

bool hasControl(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  return false;
}

void checkRequest(std::string_view line) {
  ParseResult r = parseRequest(line);
  if (r.kind == ParseResult::Kind::Error) {
    FUZZ_CHECK(!r.error.empty());
    return;
  }
  if (r.kind == ParseResult::Kind::Empty) return;
  const Request& q = r.request;
  FUZZ_CHECK(q.args.size() <= kMaxArgs);
  FUZZ_CHECK(!hasControl(q.command));
  for (const auto& a : q.args) FUZZ_CHECK(!hasControl(a));

  std::vector<std::string> words{q.command};
  words.insert(words.end(), q.args.begin(), q.args.end());
  std::string again = formatRequest(q.seq, words);
  FUZZ_CHECK(!again.empty() && again.back() == '\n');
  again.pop_back();
  if (again.size() > kMaxLineLength) return;
  ParseResult r2 = parseRequest(again);
  FUZZ_CHECK(r2.kind == ParseResult::Kind::Ok);
  FUZZ_CHECK(r2.request.seq == q.seq);
  FUZZ_CHECK(r2.request.command == q.command);
  FUZZ_CHECK(r2.request.args == q.args);
}

std::string sanitized(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  return out;
}

void checkReply(std::string_view line) {
  auto r = parseReply(line);
  if (!r) return;
  FUZZ_CHECK(r->code >= 100 && r->code <= 999);
  FUZZ_CHECK(r->isEvent() != r->seq.has_value());
  std::string again = r->isEvent() ? formatEvent(r->code, r->message) : formatReply(r->code, *r->seq, r->message);
  FUZZ_CHECK(!again.empty() && again.back() == '\n');
  FUZZ_CHECK(again.find('\n') == again.size() - 1);  // always exactly one line
  again.pop_back();
  auto r2 = parseReply(again);
  FUZZ_CHECK(r2.has_value());
  FUZZ_CHECK(r2->code == r->code);
  FUZZ_CHECK(r2->seq == r->seq);
  FUZZ_CHECK(r2->message == sanitized(r->message));

  // tetherctl --json: any reply (bytes from the daemon, e.g. an SSID or a cause) gives valid JSON.
  for (const auto& [k, v] : tetherd::ctl::splitFields(r->message)) {
    FUZZ_CHECK(!k.empty() && k.find(' ') == std::string::npos && k.find('=') == std::string::npos);
    // A value written back with quoteValue reads back whole.
    FUZZ_CHECK((tetherd::ctl::splitFields("k=" + tetherd::control::quoteValue(v)) ==
                std::vector<std::pair<std::string, std::string>>{{"k", v}}));
  }
  tetherd::ctl::Outcome outcome;
  outcome.lines = {*r};
  outcome.final = *r;
  std::string json = tetherd::ctl::outcomeToJson(outcome);
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!parsed.is_discarded());
  FUZZ_CHECK(parsed["code"] == r->code);
  FUZZ_CHECK(parsed["lines"].size() == 1);
}

// tetherctl's side: the words of its command line (argv: any bytes but NUL) formatted as a
// request must reach the daemon as exactly those words, on one line, or be refused by the
// client (requestWordsError: control characters, which no quoting carries).
void checkWords(std::string_view input) {
  std::vector<std::string> words;
  size_t pos = 0;
  for (;;) {
    size_t nul = input.find('\0', pos);
    words.emplace_back(input.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos));
    if (nul == std::string_view::npos) break;
    pos = nul + 1;
  }
  if (!requestWordsError(words).empty()) {  // refused by the client, never sent
    bool control = false;
    for (const auto& w : words) control = control || hasControl(w);
    FUZZ_CHECK(control);
    return;
  }
  std::string line = formatRequest(7, words);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  line.pop_back();
  if (line.size() > kMaxLineLength || words.size() > kMaxArgs + 1) return;  // the daemon refuses it, with seq 7
  ParseResult r = parseRequest(line);
  FUZZ_CHECK(r.kind == ParseResult::Kind::Ok);
  FUZZ_CHECK(r.request.seq == 7);
  FUZZ_CHECK(r.request.command == words[0]);
  FUZZ_CHECK(r.request.args == std::vector<std::string>(words.begin() + 1, words.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  checkRequest(line);
  checkReply(line);
  checkWords(line);
  return 0;
}
