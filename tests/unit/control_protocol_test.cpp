#include "tether/control/control_protocol.h"

#include <gtest/gtest.h>

using namespace tetherd::control;
using Kind = ParseResult::Kind;

TEST(ControlProtocol, ParsesSimpleCommand) {
  auto r = parseRequest("7 tether interface add usb0");
  ASSERT_EQ(r.kind, Kind::Ok);
  EXPECT_EQ(r.request.seq, 7u);
  EXPECT_EQ(r.request.command, "tether");
  EXPECT_EQ(r.request.args, (std::vector<std::string>{"interface", "add", "usb0"}));
}

TEST(ControlProtocol, QuotesKeepSpacesAndEscapes) {
  auto r = parseRequest(R"(3 softap set ssid "My \"Cafe\" \\ AP")");
  ASSERT_EQ(r.kind, Kind::Ok) << r.error;
  EXPECT_EQ(r.request.args.back(), R"(My "Cafe" \ AP)");
  auto empty = parseRequest(R"(4 set "")");
  ASSERT_EQ(empty.kind, Kind::Ok);
  EXPECT_EQ(empty.request.args, std::vector<std::string>{""});
}

TEST(ControlProtocol, CollapsesRepeatedSpacesAndTrailingCr) {
  auto r = parseRequest("1   ping   \r");
  ASSERT_EQ(r.kind, Kind::Ok);
  EXPECT_EQ(r.request.command, "ping");
  EXPECT_TRUE(r.request.args.empty());
}

TEST(ControlProtocol, EmptyLinesAreEmpty) {
  EXPECT_EQ(parseRequest("").kind, Kind::Empty);
  EXPECT_EQ(parseRequest("   ").kind, Kind::Empty);
}

TEST(ControlProtocol, UnclosedQuoteIsAnErrorWithSeq) {
  auto r = parseRequest(R"(9 softap set ssid "oops)");
  ASSERT_EQ(r.kind, Kind::Error);
  EXPECT_EQ(r.error, "Unclosed quotes error");
  EXPECT_EQ(r.request.seq, 9u);
}

TEST(ControlProtocol, BadEscapeIsAnError) {
  auto r = parseRequest(R"(2 a \n)");
  ASSERT_EQ(r.kind, Kind::Error);
  EXPECT_EQ(r.request.seq, 2u);
}

TEST(ControlProtocol, SequenceNumberMustBeNumeric) {
  for (const char* bad : {"ping", "x1 ping", "-1 ping", "1234567890 ping", "4294967296 ping"}) {
    auto r = parseRequest(bad);
    EXPECT_EQ(r.kind, Kind::Error) << bad;
    EXPECT_EQ(r.error, "Invalid sequence number") << bad;
  }
  auto missing = parseRequest("5");
  EXPECT_EQ(missing.kind, Kind::Error);
  EXPECT_EQ(missing.error, "Missing command");
}

TEST(ControlProtocol, OverLongLineRefused) {
  std::string line = "1 ping " + std::string(kMaxLineLength, 'a');
  auto r = parseRequest(line);
  ASSERT_EQ(r.kind, Kind::Error);
  EXPECT_EQ(r.error, "Command too long");
}

TEST(ControlProtocol, TooManyArgsRefused) {
  std::string line = "1 cmd";
  for (size_t i = 0; i < kMaxArgs + 1; ++i) line += " a";
  auto r = parseRequest(line);
  ASSERT_EQ(r.kind, Kind::Error);
  EXPECT_EQ(r.request.seq, 1u);
}

TEST(ControlProtocol, BinaryJunkRefused) {
  std::string junk = "1 ping \x01\x02\xff\x7f";
  auto r = parseRequest(junk);
  ASSERT_EQ(r.kind, Kind::Error);
  EXPECT_EQ(r.error, "Invalid character in command");
  EXPECT_EQ(r.request.seq, 1u);  // the client can still match the refusal to its request
  std::string esc = "\x1b[2J";
  EXPECT_EQ(parseRequest(esc).kind, Kind::Error);
}

TEST(ControlProtocol, Utf8ArgumentsPass) {
  auto r = parseRequest("1 softap set ssid \"Caf\xc3\xa9\"");
  ASSERT_EQ(r.kind, Kind::Ok);
  EXPECT_EQ(r.request.args.back(), "Caf\xc3\xa9");
}

TEST(ControlProtocol, QuoteArgRoundTrips) {
  std::vector<std::string> words{"softap", "set", "ssid", R"(a "b" \c)", "", "plain"};
  std::string line = formatRequest(42, words);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  auto r = parseRequest(line);
  ASSERT_EQ(r.kind, Kind::Ok);
  EXPECT_EQ(r.request.seq, 42u);
  EXPECT_EQ(r.request.command, "softap");
  EXPECT_EQ(r.request.args, (std::vector<std::string>{"set", "ssid", R"(a "b" \c)", "", "plain"}));
}

// Found by tests/fuzz/control_fuzzer (input "1   ping   \r" as one word): formatRequest cannot
// carry a control character, and a word with '\n' (tetherctl's argv) ended the request early and
// made the rest a request of its own. requestWordsError names such words; the client refuses them.
TEST(ControlProtocol, WordsWithControlCharactersCannotBeFormatted) {
  std::vector<std::string> smuggling{"softap", "set", "ssid", "x\n2 tether stop"};
  std::string line = formatRequest(1, smuggling);
  EXPECT_NE(line.find('\n'), line.size() - 1);  // what used to be sent: two requests
  EXPECT_EQ(requestWordsError(smuggling), "word 4 contains a control character (newline, NUL, ...)");
  EXPECT_NE(requestWordsError({"1   ping   \r"}), "");
  EXPECT_NE(requestWordsError({"ping", std::string("a\0b", 3)}), "");
  EXPECT_NE(requestWordsError({"ping", "\x7f"}), "");
  // Everything else round-trips: tabs, quotes, backslashes, UTF-8, empty words.
  std::vector<std::string> fine{"softap", "set", "ssid", "tab\there", "\"q\" \\", "Caf\xc3\xa9", ""};
  EXPECT_EQ(requestWordsError(fine), "");
  line = formatRequest(3, fine);
  line.pop_back();
  auto r = parseRequest(line);
  ASSERT_EQ(r.kind, Kind::Ok) << r.error;
  EXPECT_EQ(r.request.command, "softap");
  EXPECT_EQ(r.request.args, std::vector<std::string>(fine.begin() + 1, fine.end()));
}

TEST(ControlProtocol, RepliesAreOneLine) {
  EXPECT_EQ(formatReply(200, 3, "pong"), "200 3 pong\n");
  EXPECT_EQ(formatReply(400, 3, "bad\nline\r"), "400 3 bad line \n");
  EXPECT_EQ(formatEvent(600, "Iface added usb0"), "600 Iface added usb0\n");
}

TEST(ControlProtocol, ParsesReplies) {
  auto r = parseReply("210 12 Tethering started");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 210);
  EXPECT_EQ(*r->seq, 12u);
  EXPECT_EQ(r->message, "Tethering started");
  auto e = parseReply("600 Iface linkstate usb0 up");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->isEvent());
  EXPECT_FALSE(e->seq);
  EXPECT_FALSE(parseReply("xx 1 a"));
  EXPECT_FALSE(parseReply("2000 1 a"));
  EXPECT_FALSE(parseReply("200 x a"));
}
