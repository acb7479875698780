#include "softap/hostapd/hostapd_protocol.h"

#include <gtest/gtest.h>

#include <random>

using namespace tetherd;
using namespace tetherd::softap;

namespace {

// Captured from hostapd 2.10 (driver=wired, a wpa_supplicant -D wired station authenticated).
const std::string kWiredStatus =
    "state=ENABLED\nphy=\nfreq=0\nnum_sta_non_erp=0\nnum_sta_no_short_slot_time=0\nnum_sta_no_short_preamble=0\n"
    "olbc=0\nnum_sta_ht_no_gf=0\nnum_sta_no_ht=0\nnum_sta_ht_20_mhz=0\nnum_sta_ht40_intolerant=0\nolbc_ht=0\n"
    "ht_op_mode=0x0\ncac_time_seconds=0\ncac_time_left_seconds=N/A\nchannel=0\nedmg_enable=0\nedmg_channel=0\n"
    "secondary_channel=0\nieee80211n=1\nieee80211ac=0\nieee80211ax=0\nbeacon_int=100\ndtim_period=2\n"
    "ht_caps_info=000c\nbss[0]=veth-ap\nbssid[0]=e6:3e:45:3a:c7:e2\nssid[0]=Caf\\xc3\\xa9 \\\"x\\\"=y\nnum_sta[0]=1\n";

const std::string kWiredSta =
    "62:b4:c1:97:0b:f5\nflags=[AUTHORIZED]\naid=0\ncapability=0x0\nlisten_interval=0\nsupported_rates=\n"
    "timeout_next=NULLFUNC POLL\ndot1xPaePortNumber=0\ndot1xPaePortProtocolVersion=2\ndot1xAuthPaeState=5\n"
    "dot1xAuthSessionId=7A0982BCFD5E52BD\ndot1xAuthSessionUserName=user1\nlast_eap_type_as=0 (unknown)\n"
    "last_eap_type_sta=4 (MD5)\n";

// The shape of an nl80211 station (fields as hostapd 2.10 prints them).
const std::string kWifiSta =
    "AA:BB:CC:DD:EE:01\nflags=[AUTH][ASSOC][AUTHORIZED][WMM][HT]\naid=1\ncapability=0x431\nlisten_interval=10\n"
    "supported_rates=82 84 8b 96 0c 12 18 24 30 48 60 6c\ntimeout_next=NULLFUNC POLL\n"
    "rx_packets=1200\ntx_packets=900\nrx_bytes=123456\ntx_bytes=18446744073709551615\ninactive_msec=40\n"
    "signal=-52\nrx_rate_info=650 mcs 7 shortGI\ntx_rate_info=720 mcs 7 shortGI\nconnected_time=125\n";

void noCrashOn(std::string_view bytes) {
  (void)parseStatus(bytes);
  (void)parseStaReply(bytes);
  (void)parseEvent(bytes);
  (void)parseMacList(bytes);
  (void)isOkReply(bytes);
  (void)isFailReply(bytes);
}

}  // namespace

// ---------------------------------------------------------------- STATUS

TEST(HostapdStatus, RealWiredSample) {
  auto st = parseStatus(kWiredStatus);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->state, "ENABLED");
  EXPECT_EQ(st->channel, 0);
  EXPECT_EQ(st->freq, 0);
  EXPECT_EQ(st->ssid, "Caf\\xc3\\xa9 \\\"x\\\"=y");  // hostapd's own escaping, kept as is
  EXPECT_EQ(st->numStations, 1);
  EXPECT_EQ(st->raw.at("bss[0]"), "veth-ap");
  EXPECT_EQ(st->raw.at("phy"), "");
  EXPECT_EQ(st->raw.at("cac_time_left_seconds"), "N/A");
}

TEST(HostapdStatus, RadioValues) {
  auto st = parseStatus("state=ENABLED\nfreq=2437\nchannel=6\nssid[0]=Home\nnum_sta[0]=2\n");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->freq, 2437);
  EXPECT_EQ(st->channel, 6);
  EXPECT_EQ(st->ssid, "Home");
  EXPECT_EQ(st->numStations, 2);
  auto un = parseStatus("state=UNINITIALIZED\n");
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(un->state, "UNINITIALIZED");
  EXPECT_EQ(un->numStations, 0);
  EXPECT_TRUE(parseStatus("state=DISABLED").ok());  // no final newline
}

TEST(HostapdStatus, Refused) {
  auto err = [](std::string_view text) {
    auto r = parseStatus(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    }
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(err(""), "STATUS reply: no state= line");
  EXPECT_EQ(err("channel=6\n"), "STATUS reply: no state= line");
  EXPECT_EQ(err("FAIL\n"), "STATUS reply: line 1 is not key=value");
  EXPECT_EQ(err("UNKNOWN COMMAND\n"), "STATUS reply: line 1 is not key=value");
  EXPECT_EQ(err("state=ENABLED\nchannel=six\n"), "STATUS reply: channel: not a number");
  EXPECT_EQ(err("state=ENABLED\nnum_sta[0]=99999999999999999999\n"), "STATUS reply: num_sta[0]: not a number");
  EXPECT_EQ(err(std::string("state=EN\0ABLED\n", 15)), "STATUS reply: contains a NUL byte");
  EXPECT_EQ(err("state=ENABLED\nstate_trunc"), "STATUS reply: line 2 is not key=value");  // truncated
  EXPECT_EQ(err("state=ENABLED\n" + std::string(4096, 'x')), "STATUS reply: longer than 4096 bytes");
}

// ---------------------------------------------------------------- STA-FIRST / STA-NEXT

TEST(HostapdSta, WifiStationWithFlagsAndSignal) {
  auto r = parseStaReply(kWifiSta);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->kind, StaReplyKind::Station);
  const Station& s = r->station;
  EXPECT_EQ(s.mac, "aa:bb:cc:dd:ee:01");
  EXPECT_EQ(s.flags, (std::vector<std::string>{"AUTH", "ASSOC", "AUTHORIZED", "WMM", "HT"}));
  EXPECT_TRUE(s.authorized());
  EXPECT_EQ(s.connectedTimeSec, 125);
  EXPECT_EQ(s.signalDbm, -52);
  EXPECT_EQ(s.rxBytes, 123456u);
  EXPECT_EQ(s.txBytes, 18446744073709551615u);
  EXPECT_EQ(s.rxRate, "650 mcs 7 shortGI");
  EXPECT_EQ(s.txRate, "720 mcs 7 shortGI");
  EXPECT_EQ(s.raw.at("aid"), "1");
  EXPECT_EQ(s.raw.at("timeout_next"), "NULLFUNC POLL");
}

TEST(HostapdSta, RealWiredStation) {
  auto r = parseStaReply(kWiredSta);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->kind, StaReplyKind::Station);
  const Station& s = r->station;
  EXPECT_EQ(s.mac, "62:b4:c1:97:0b:f5");
  EXPECT_EQ(s.flags, (std::vector<std::string>{"AUTHORIZED"}));
  EXPECT_TRUE(s.authorized());
  EXPECT_EQ(s.connectedTimeSec, -1);
  EXPECT_FALSE(s.signalDbm);
  EXPECT_FALSE(s.rxBytes);
  EXPECT_FALSE(s.rxRate);
  EXPECT_EQ(s.raw.at("dot1xAuthSessionUserName"), "user1");
  EXPECT_EQ(s.raw.at("last_eap_type_sta"), "4 (MD5)");
}

TEST(HostapdSta, NotAuthorizedAndEmptyFlags) {
  auto r = parseStaReply("02:00:00:00:00:01\nflags=[AUTH][ASSOC]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->station.authorized());
  // Seen for a wired station before EAP finished: "flags=" with nothing.
  r = parseStaReply("da:c9:9d:94:30:6d\nflags=\naid=0\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->station.flags.empty());
  EXPECT_FALSE(r->station.authorized());
  r = parseStaReply("02:00:00:00:00:01\n");  // MAC only
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->station.mac, "02:00:00:00:00:01");
}

TEST(HostapdSta, ZeroByteIsNoMoreAndFailIsFailed) {
  auto r = parseStaReply("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, StaReplyKind::NoMore);
  r = parseStaReply("FAIL\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, StaReplyKind::Failed);
  r = parseStaReply("FAIL");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, StaReplyKind::Failed);
}

TEST(HostapdSta, TruncatedAndGarbage) {
  auto err = [](std::string_view text) {
    auto r = parseStaReply(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    }
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(err("62:b4:c1"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err("62:b4:c1:97:0b:f5:00\nflags=\n"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err("UNKNOWN COMMAND\n"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err("hello world"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err("\n"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nflags=[AUTH][ASS"), "STA reply: flags: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nflags=AUTH\n"), "STA reply: flags: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nflags=[]\n"), "STA reply: flags: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nsignal=-\n"), "STA reply: signal: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nsignal=-40dBm\n"), "STA reply: signal: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nconnected_time=-5\n"), "STA reply: connected_time: malformed value");
  EXPECT_EQ(err("aa:bb:cc:dd:ee:ff\nrx_bytes=18446744073709551616\n"), "STA reply: rx_bytes: malformed value");
  EXPECT_EQ(err(std::string("aa:bb:cc:dd:ee:ff\naid=\0\n", 23)), "STA reply: contains a NUL byte");
  EXPECT_EQ(err("\x01\x02\xff\xfe binary"), "STA reply: first line is not a MAC address");
  EXPECT_EQ(err(kWiredSta + std::string(4096, 'x')), "STA reply: longer than 4096 bytes");
  // A reply cut in the middle of an unknown line still gives the station.
  auto r = parseStaReply("aa:bb:cc:dd:ee:ff\nflags=[AUTH]\ndot1xAuthSess");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->station.flags, (std::vector<std::string>{"AUTH"}));
}

// ---------------------------------------------------------------- events

TEST(HostapdEvents, StationEvents) {
  auto e = parseEvent("<3>AP-STA-CONNECTED 62:b4:c1:97:0b:f5");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::StaConnected);
  EXPECT_EQ(e->level, 3);
  EXPECT_EQ(e->mac, "62:b4:c1:97:0b:f5");
  EXPECT_EQ(e->name, "AP-STA-CONNECTED");
  EXPECT_EQ(e->text, "AP-STA-CONNECTED 62:b4:c1:97:0b:f5");

  e = parseEvent("<3>AP-STA-DISCONNECTED AA:BB:CC:DD:EE:FF");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::StaDisconnected);
  EXPECT_EQ(e->mac, "aa:bb:cc:dd:ee:ff");

  e = parseEvent("<3>AP-STA-CONNECTED 02:00:00:00:00:01 keyid=guest");  // extra attributes
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::StaConnected);
  EXPECT_EQ(e->mac, "02:00:00:00:00:01");

  e = parseEvent("<3>AP-STA-CONNECTED not-a-mac");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Other);
  EXPECT_EQ(e->mac, "");
  e = parseEvent("<3>AP-STA-CONNECTED");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Other);
}

TEST(HostapdEvents, ApStateEventsWithTrailingSpace) {
  auto e = parseEvent("<3>AP-ENABLED ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::ApEnabled);
  EXPECT_EQ(e->name, "AP-ENABLED");
  EXPECT_EQ(e->text, "AP-ENABLED");
  e = parseEvent("<3>AP-DISABLED ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::ApDisabled);
  e = parseEvent("<3>AP-ENABLED");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::ApEnabled);
  e = parseEvent("<3>CTRL-EVENT-TERMINATING ");  // as hostapd 2.10 sent it on SIGTERM
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Terminating);
  e = parseEvent("<3>CTRL-EVENT-TERMINATING");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Terminating);
}

TEST(HostapdEvents, IfnamePrefix) {
  // hostapd 2.10's global control interface (-g) puts the prefix before the level.
  auto e = parseEvent("IFNAME=veth-ap <3>AP-ENABLED ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::ApEnabled);
  EXPECT_EQ(e->level, 3);
  EXPECT_EQ(e->text, "AP-ENABLED");
  e = parseEvent("<3>IFNAME=wlan0 AP-STA-CONNECTED 02:00:00:00:00:01");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::StaConnected);
  EXPECT_EQ(e->mac, "02:00:00:00:00:01");
  EXPECT_EQ(e->name, "AP-STA-CONNECTED");
  e = parseEvent("<3>IFNAME=wlan0 CTRL-EVENT-TERMINATING ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Terminating);
  EXPECT_FALSE(parseEvent("IFNAME=wlan0<3>AP-ENABLED "));
  EXPECT_FALSE(parseEvent("<3>IFNAME=wlan0"));
  EXPECT_FALSE(parseEvent("<3>IFNAME=a/b AP-ENABLED "));
}

TEST(HostapdEvents, UnknownEventsAreOther) {
  auto e = parseEvent("<3>CTRL-EVENT-EAP-SUCCESS 62:b4:c1:97:0b:f5");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, HostapdEvent::Type::Other);
  EXPECT_EQ(e->name, "CTRL-EVENT-EAP-SUCCESS");
  EXPECT_EQ(e->mac, "");
  e = parseEvent("<3>CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=4");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "CTRL-EVENT-EAP-PROPOSED-METHOD");
  EXPECT_EQ(e->text, "CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=4");
  e = parseEvent("<2>ACS-COMPLETED freq=2437 channel=6");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, 2);
  EXPECT_EQ(e->type, HostapdEvent::Type::Other);
  e = parseEvent("<10>X");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, 10);
}

TEST(HostapdEvents, NotEvents) {
  for (std::string_view s : {"", "OK\n", "PONG\n", "FAIL\n", "AP-ENABLED ", "<", "<3", "<>AP-ENABLED", "<x>AP-ENABLED",
                             "<3>", "<3>   ", "<123>AP-ENABLED", " <3>AP-ENABLED", "state=ENABLED\n"})
    EXPECT_FALSE(parseEvent(s)) << s;
  EXPECT_FALSE(parseEvent("<3>AP-ENABLED " + std::string(4096, ' ')));
}

// ---------------------------------------------------------------- OK / FAIL

TEST(HostapdReplies, OkAndFail) {
  EXPECT_TRUE(isOkReply("OK\n"));
  EXPECT_TRUE(isOkReply("OK"));
  EXPECT_FALSE(isOkReply("OK\nOK\n"));
  EXPECT_FALSE(isOkReply("FAIL\n"));
  EXPECT_FALSE(isOkReply(""));
  EXPECT_TRUE(isFailReply("FAIL\n"));
  EXPECT_TRUE(isFailReply("FAIL"));
  EXPECT_TRUE(isFailReply("FAIL-BUSY\n"));
  EXPECT_FALSE(isFailReply("FAILED\n"));
  EXPECT_FALSE(isFailReply("FAIL-X\nmore\n"));
  EXPECT_FALSE(isFailReply("OK\n"));
  EXPECT_FALSE(isFailReply("UNKNOWN COMMAND\n"));
  EXPECT_FALSE(isFailReply(""));
}

// ---------------------------------------------------------------- deny list

TEST(HostapdMacList, ParseAndFormat) {
  auto r = parseMacList("# denied\n\nAA:BB:CC:DD:EE:01\n  02:00:00:00:00:02  # guest\r\naa:bb:cc:dd:ee:01\n#x\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"aa:bb:cc:dd:ee:01", "02:00:00:00:00:02"}));
  std::string text = formatMacList(*r);
  EXPECT_EQ(text, "# Stations denied by the tetherd soft AP (one MAC per line).\naa:bb:cc:dd:ee:01\n02:00:00:00:00:02\n");
  auto back = parseMacList(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *r);
  EXPECT_EQ(formatMacList({"AA:BB:CC:DD:EE:FF", "junk", "aa:bb:cc:dd:ee:ff", "x\n02:00:00:00:00:01"}),
            "# Stations denied by the tetherd soft AP (one MAC per line).\naa:bb:cc:dd:ee:ff\n");
  EXPECT_EQ(formatMacList({}), "# Stations denied by the tetherd soft AP (one MAC per line).\n");
  auto empty = parseMacList("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HostapdMacList, ErrorsNameTheLine) {
  auto r = parseMacList("aa:bb:cc:dd:ee:01\n\naa:bb:cc:dd:ee\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_EQ(r.error().message, "MAC list: line 3: not a MAC address");
  r = parseMacList("aa:bb:cc:dd:ee:01 5\n");  // hostapd's VLAN column is not ours
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "MAC list: line 1: not a MAC address");
  r = parseMacList(std::string(1024 * 1024 + 1, '#'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "MAC list: larger than 1 MiB");
}

// ---------------------------------------------------------------- robustness

TEST(HostapdRobustness, RandomAndTruncatedInputNeverCrash) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 300, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    noCrashOn(s);
    auto r = parseStaReply(s);
    if (!s.empty() && s != "FAIL" && s != "FAIL\n") {
      EXPECT_FALSE(r.ok() && r->kind != StaReplyKind::Station);
    }
  }
  // Every prefix of the real samples (what a short read would give).
  for (const std::string* sample : {&kWiredStatus, &kWiredSta, &kWifiSta}) {
    for (size_t n = 0; n <= sample->size(); ++n) noCrashOn(std::string_view(*sample).substr(0, n));
  }
  for (std::string_view ev : {"<3>AP-STA-CONNECTED 62:b4:c1:97:0b:f5", "IFNAME=veth-ap <3>AP-ENABLED "}) {
    for (size_t n = 0; n <= ev.size(); ++n) noCrashOn(ev.substr(0, n));
  }
  noCrashOn(std::string(4096, '\n'));
  noCrashOn(std::string(4097, '='));
  noCrashOn(std::string(4096, '['));
}
