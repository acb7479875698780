// `softap stations`: every field key=value, values quoted by control::quoteValue, and
// tetherctl --json (ctl::splitFields) reading each value back whole — exact text, hostile
// values included (quotes, backslashes, newlines, control bytes, UTF-8).
#include <gtest/gtest.h>

#include "softap/control/softap_commands.h"
#include "tether/control/control_protocol.h"
#include "tether/control/ctl_client.h"

using namespace tetherd;
using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(QuoteValue, PlainWordsStayQuotedOthersAreEscaped) {
  EXPECT_EQ(control::quoteValue("aa:bb:cc:dd:ee:ff"), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(control::quoteValue("-40dBm"), "-40dBm");
  EXPECT_EQ(control::quoteValue(""), "\"\"");
  EXPECT_EQ(control::quoteValue("520 mcs 11"), "\"520 mcs 11\"");
  EXPECT_EQ(control::quoteValue("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(control::quoteValue("C:\\phone"), "\"C:\\\\phone\"");
  EXPECT_EQ(control::quoteValue("x\ny\rz\tw"), "\"x\\ny\\rz\\tw\"");
  EXPECT_EQ(control::quoteValue(std::string("n\0l\x1b\x7f", 5)), "\"n\\x00l\\x1b\\x7f\"");
  EXPECT_EQ(control::quoteValue("café"), "\"café\"");  // UTF-8 kept as it is, quoted
  EXPECT_EQ(control::quoteValue("k=v"), "k=v");        // splitFields splits at the first '='
}

TEST(QuoteValue, SplitFieldsReadsEveryValueBackWhole) {
  const std::vector<std::string> hostile = {"",          "plain",        "520 mcs 11",       "a\"b",  "\\",     "\\\"",
                                            "x\ny",      "tab\there",    std::string("\0\x01\x7f", 3), "café",  "\"",    "a=b c=d",
                                            "end\\",     "\xff\xfe bad utf-8"};
  for (const auto& v : hostile) {
    const std::string line = "k=" + control::quoteValue(v) + " next=1";
    EXPECT_EQ(ctl::splitFields(line), (Fields{{"k", v}, {"next", "1"}})) << line;
    // What the daemon sends is one line without control bytes (formatReply keeps it so).
    for (unsigned char c : control::quoteValue(v)) EXPECT_FALSE(c < 0x20 || c == 0x7f) << line;
  }
  // Unquoted words and words without '=' as before; an unterminated quote runs to the end.
  EXPECT_EQ(ctl::splitFields("usb0 eth0 rx_bytes=1 =x tx=\"a b"), (Fields{{"rx_bytes", "1"}, {"tx", "a b"}}));
  EXPECT_EQ(ctl::splitFields("error=Busy cause=\"xtables lock held\""), (Fields{{"error", "Busy"}, {"cause", "xtables lock held"}}));
}

TEST(SoftapStations, EveryFieldIsKeyValue) {
  softap::StationView s;
  s.mac = "02:00:00:00:01:00";
  EXPECT_EQ(softap::describeStation(s), "mac=02:00:00:00:01:00 ip=none hostname=none connected=unknown authorized=no");
  s.ip = "192.168.43.10";
  s.hostname = "phone";
  s.connectedSec = 12;
  s.authorized = true;
  s.signalDbm = -40;
  s.rxBytes = 1200;
  s.txBytes = 3400;
  s.rxRate = "650 vhtmcs 7 vhtnss 2 shortGI";
  s.txRate = "520 mcs 11";
  const std::string line = softap::describeStation(s);
  EXPECT_EQ(line,
            "mac=02:00:00:00:01:00 ip=192.168.43.10 hostname=phone connected=12s authorized=yes signal=-40dBm rx_bytes=1200 "
            "tx_bytes=3400 rx_rate=\"650 vhtmcs 7 vhtnss 2 shortGI\" tx_rate=\"520 mcs 11\"");
  EXPECT_EQ(ctl::splitFields(line), (Fields{{"mac", "02:00:00:00:01:00"},
                                            {"ip", "192.168.43.10"},
                                            {"hostname", "phone"},
                                            {"connected", "12s"},
                                            {"authorized", "yes"},
                                            {"signal", "-40dBm"},
                                            {"rx_bytes", "1200"},
                                            {"tx_bytes", "3400"},
                                            {"rx_rate", "650 vhtmcs 7 vhtnss 2 shortGI"},
                                            {"tx_rate", "520 mcs 11"}}));
}

TEST(SoftapStations, HostileValuesStayOneFieldEach) {
  softap::StationView s;
  s.mac = "02:00:00:00:01:00";
  s.hostname = "evil\" tx_rate=\"1\nx\\ café";
  s.txRate = "1 mcs 0\r";
  const std::string line = softap::describeStation(s);
  EXPECT_EQ(line,
            "mac=02:00:00:00:01:00 ip=none hostname=\"evil\\\" tx_rate=\\\"1\\nx\\\\ café\" connected=unknown authorized=no "
            "tx_rate=\"1 mcs 0\\r\"");
  EXPECT_EQ(ctl::splitFields(line), (Fields{{"mac", "02:00:00:00:01:00"},
                                            {"ip", "none"},
                                            {"hostname", s.hostname},
                                            {"connected", "unknown"},
                                            {"authorized", "no"},
                                            {"tx_rate", "1 mcs 0\r"}}));
  // --json carries them whole.
  ctl::Outcome o;
  o.final = control::Reply{200, 1, "softap stations listed"};
  o.lines = {control::Reply{117, 1, line}};
  const std::string json = ctl::outcomeToJson(o);
  EXPECT_NE(json.find(R"("hostname":"evil\" tx_rate=\"1\nx\\ café")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("tx_rate":"1 mcs 0\r")"), std::string::npos) << json;
}
