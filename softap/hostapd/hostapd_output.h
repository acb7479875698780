// Pure reading of what hostapd prints on stdout. tetherd runs hostapd with -d (debug) because
// hostapd 2.10 reports a failed SAE authentication nowhere else: no control-interface event,
// only its debug lines "SAE: Confirm mismatch" (no MAC) and then "authentication reply:
// STA=<mac> auth_alg=3 auth_transaction=2 resp=1 (IE len=0) (dbg=auth-sae)" (seen in the VM lab).
// So the output is sorted: the few lines that say something to a person are logged, a failed
// authentication is recognised (and logged once by the service, as its own line), the rest is
// debug.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tetherd::softap {

// A station that failed to authenticate, and why.
struct AuthFailure {
  enum class Cause {
    PskMismatch,  // WPA2-PSK: the 4-way handshake's MIC did not verify (AP-STA-POSSIBLE-PSK-MISMATCH)
    SaeMismatch,  // WPA3-SAE: the station's Confirm did not verify (its password differs)
  };
  std::string mac;  // lower case
  Cause cause = Cause::PskMismatch;
};

// "wrong passphrase (WPA2-PSK 4-way handshake failed)", "wrong password (WPA3-SAE confirm
// mismatch)".
const char* authFailureText(AuthFailure::Cause cause);

// One line of hostapd's stdout (with or without an "<ifname>: " prefix), or the text of a
// control-interface event ("AP-STA-POSSIBLE-PSK-MISMATCH <mac>", level prefix removed):
//   "[wlan0: ]AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:01:00"            -> PskMismatch
//   "authentication reply: STA=02:00:00:00:01:00 auth_alg=3 auth_transaction=2 resp=1 ..."
//                                                                          -> SaeMismatch
// (auth_alg 3 = SAE, transaction 2 = Confirm refused: resp 1 = unspecified failure, what
// hostapd 2.10 answers a mismatching Confirm; 15 = challenge failure, what later versions
// answer). A Confirm too short to parse is refused with 1 too and reads the same. Anything
// else, or a malformed MAC: nullopt.
std::optional<AuthFailure> parseAuthFailure(std::string_view line);

// Whether a line of hostapd -d output belongs in tetherd's log at info level: the events and
// per-station lines hostapd prints for its interface ("wlan0: AP-ENABLED", "wlan0: STA <mac>
// IEEE 802.11: associated", "wlan0: interface state COUNTRY_UPDATE->ENABLED") and anything that
// reads as an error (failed, error, could not, invalid, rfkill, busy, ...). Not the lines
// parseAuthFailure recognises (the service logs those itself, once), not the rest of the
// debug output.
bool hostapdLineWorthLogging(std::string_view line);

}  // namespace tetherd::softap
