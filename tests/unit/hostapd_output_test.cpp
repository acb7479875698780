// hostapd's stdout, read by softap/hostapd/hostapd_output.h: failed authentications and which
// lines of hostapd -d output tetherd logs. Lines as hostapd 2.10 prints them.
#include "softap/hostapd/hostapd_output.h"

#include <gtest/gtest.h>

using namespace tetherd::softap;

namespace {

TEST(HostapdOutput, SaeConfirmMismatchFromTheAuthReply) {
  // hostapd 2.10, after "SAE: Confirm mismatch" (VM lab, a station with a wrong sae_password).
  auto f = parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2 resp=1 (IE len=0) (dbg=auth-sae)");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->mac, "02:00:00:00:01:00");
  EXPECT_EQ(f->cause, AuthFailure::Cause::SaeMismatch);
  EXPECT_STREQ(authFailureText(f->cause), "wrong password (WPA3-SAE confirm mismatch)");
  // Later hostapd answers with 15 (challenge failure); the MAC comes out lower case.
  f = parseAuthFailure("authentication reply: STA=AA:BB:CC:DD:EE:0F auth_alg=3 auth_transaction=2 resp=15 (IE len=0)");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->mac, "aa:bb:cc:dd:ee:0f");
}

TEST(HostapdOutput, OtherAuthRepliesAreNoFailure) {
  // A successful Confirm, a Commit answered (success, anti-clogging token, unknown group),
  // open system authentication refused (a blocked station): none is a wrong password.
  EXPECT_FALSE(parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2 resp=0 (IE len=34) (dbg=sae-send-confirm)"));
  EXPECT_FALSE(parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=1 resp=0 (IE len=98) (dbg=sae-send-commit)"));
  EXPECT_FALSE(parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=1 resp=76 (IE len=34) (dbg=auth-sae)"));
  EXPECT_FALSE(parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=1 resp=77 (IE len=2) (dbg=auth-sae)"));
  EXPECT_FALSE(parseAuthFailure(
      "authentication reply: STA=02:00:00:00:01:00 auth_alg=0 auth_transaction=2 resp=1 (IE len=0) (dbg=handle-auth)"));
  EXPECT_FALSE(parseAuthFailure("authentication reply: STA=not-a-mac auth_alg=3 auth_transaction=2 resp=15"));
  EXPECT_FALSE(parseAuthFailure("authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2"));
  EXPECT_FALSE(parseAuthFailure("authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2 resp=150"));
  EXPECT_FALSE(parseAuthFailure("SAE: Confirm mismatch"));
  EXPECT_FALSE(parseAuthFailure(""));
}

TEST(HostapdOutput, PskMismatchFromStdoutAndFromTheControlEvent) {
  for (const char* line : {"wlan0: AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:01:00",
                           "AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:01:00"}) {
    auto f = parseAuthFailure(line);
    ASSERT_TRUE(f) << line;
    EXPECT_EQ(f->mac, "02:00:00:00:01:00");
    EXPECT_EQ(f->cause, AuthFailure::Cause::PskMismatch);
  }
  EXPECT_STREQ(authFailureText(AuthFailure::Cause::PskMismatch), "wrong passphrase (WPA2-PSK 4-way handshake failed)");
  EXPECT_FALSE(parseAuthFailure("wlan0: AP-STA-POSSIBLE-PSK-MISMATCH"));
  EXPECT_FALSE(parseAuthFailure("wlan0: AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:01"));
  EXPECT_FALSE(parseAuthFailure("wlan0: AP-STA-CONNECTED 02:00:00:00:01:00"));
}

TEST(HostapdOutput, LoggedLines) {
  // hostapd's own events and station lines for its interface, and errors.
  for (const char* line : {"wlan0: interface state COUNTRY_UPDATE->ENABLED", "wlan0: AP-ENABLED",
                           "wlan0: AP-STA-CONNECTED 02:00:00:00:01:00", "wlan0: CTRL-EVENT-TERMINATING",
                           "wlan0: STA 02:00:00:00:01:00 IEEE 802.11: associated (aid 1)",
                           "wlan0: STA 02:00:00:00:01:00 IEEE 802.11: authenticated",
                           "wlan0: STA 02:00:00:00:01:00 WPA: pairwise key handshake completed (RSN)",
                           "wlan0: EAPOL-4WAY-HS-COMPLETED 02:00:00:00:01:00",
                           "Could not set channel for kernel driver", "nl80211: Failed to set beacon parameters",
                           "Line 12: invalid line 'x'", "rfkill: WLAN soft blocked",
                           "Interface initialization failed"}) {
    EXPECT_TRUE(hostapdLineWorthLogging(line)) << line;
  }
  // Debug chatter, and the failures the service reports itself (once, as its own line).
  for (const char* line :
       {"nl80211: Drv Event 19 (NL80211_CMD_NEW_STATION) received for wlan0", "RSN: added PMKSA cache entry",
        "SAE: Confirm mismatch", "wlan0: Event RX_MGMT (19) received",
        "wlan0: STA 02:00:00:00:01:00 WPA: sending 1/4 msg of 4-Way Handshake",
        "wlan0: STA 02:00:00:00:01:00 MLME: MLME-AUTHENTICATE.indication(02:00:00:00:01:00, OPEN_SYSTEM)",
        "HT: STA 02:00:00:00:01:00 HT Capabilities Info: 0x107e", "rfkill: initial event: idx=0 type=1 op=0 soft=0 hard=0",
        "WPA: EAPOL-Key MIC using HMAC-SHA1", "WPA: EAPOL-Key TX status for STA 02:00:00:00:01:00 ack=1",
        "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2 resp=15 (IE len=0) (dbg=auth-sae)",
        "wlan0: AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:01:00", "Configuration file: /run/tetherd/hostapd-wlan0.conf",
        ""}) {
    EXPECT_FALSE(hostapdLineWorthLogging(line)) << line;
  }
}

}  // namespace
