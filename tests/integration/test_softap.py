"""The soft AP's acceptance in the namespace lab: tetherd runs the real hostapd (driver=wired
on the wlan0 veth: hostapd's 802.1X authenticator, the way to exercise the control path
without a radio) and a real wpa_supplicant -D wired station authenticates with EAP-MD5 from
a client namespace, then gets a lease from tetherd's dnsmasq. Real radios: the VM lab."""
import os
import shutil
import re
import signal
import subprocess
import time
import unittest

import support
from support import lab as L

LAB = None
WHOAMI = "http://%s/whoami" % L.WWW_NAME


def setUpModule():
    support.require_lab()
    support.require_binaries()
    for tool in ("hostapd", "wpa_supplicant", "hostapd_cli"):
        if not shutil.which(tool):
            raise AssertionError("%s is required (scripts/install-deps.sh installs it)" % tool)


def hostapd_pids():
    out = []
    for pid in LAB.app.pids():
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "hostapd":
                    out.append(pid)
        except OSError:
            pass
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read()
    except OSError:
        return ""


def state(ifname):
    for line in LAB.tetherctl("tether", "interface", "list").stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            return re.search(r"state=(\S+)", line).group(1)
    return None


def wait_state(ifname, want, timeout=10):
    L.wait_for(lambda: state(ifname) == want, timeout=timeout,
               what="%s %s (log:\n%s)" % (ifname, want, LAB.tetherd_log()[-3000:]))


def stations():
    """The station lines of `softap stations` (the final status line left out)."""
    out = LAB.tetherctl("softap", "stations", check=True).stdout
    return "\n".join(l for l in out.splitlines() if re.match(r"mac=[0-9a-f]{2}(:[0-9a-f]{2}){5} ", l))


class SoftApTest(unittest.TestCase):
    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        eap = os.path.join(LAB.dir, "eap_users")
        with open(eap, "w") as f:
            f.write('"user1" MD5 "secret1"\n')
        self.sta = LAB.add_downstream("wlan0", client="sta")
        config = LAB.default_config() + "\n[softap]\ndriver = wired\neap_user_file = %s\n" % eap
        LAB.start_tetherd(config)
        wait_state("wlan0", "tethered")

    def teardown_lab(self):
        prefix = LAB.prefix
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        self.assertEqual(hostapd_pids(), [])  # SIGTERM stopped hostapd
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def connect_station(self):
        conf = os.path.join(LAB.dir, "wpa_sta.conf")
        with open(conf, "w") as f:
            f.write('ctrl_interface=%s/wpa\nap_scan=0\nnetwork={\n key_mgmt=IEEE8021X\n eap=MD5\n'
                    ' identity="user1"\n password="secret1"\n eapol_flags=0\n}\n' % LAB.dir)
        self.wpa = self.sta.popen(["wpa_supplicant", "-D", "wired", "-i", "eth0", "-c", conf], log_name="wpa.log")
        L.wait_for(lambda: self.sta.mac in stations(), timeout=10, what="station in softap stations")

    def test_status_reports_the_running_ap(self):
        out = LAB.tetherctl("softap", "status", check=True).stdout
        self.assertIn("interface=wlan0 hostapd=running enabled=yes state=ENABLED", out)
        self.assertEqual(len(hostapd_pids()), 1)
        conf = os.path.join(LAB.run_dir, "hostapd-wlan0.conf")
        self.assertEqual(os.stat(conf).st_mode & 0o777, 0o600)  # it holds the secret
        self.assertEqual(os.stat(os.path.join(LAB.state_dir, "softap.conf")).st_mode & 0o777, 0o600)
        self.assertEqual(stations(), "")

    def test_station_connects_gets_lease_and_is_deauthenticated(self):
        mon = LAB.app.popen([LAB.tetherctl_bin, "--socket", LAB.socket_path, "monitor"], log_name="monitor.log")
        time.sleep(0.2)
        self.connect_station()
        addr = self.sta.dhcp("dhclient")
        self.assertTrue(addr.startswith("192.168.43."), addr)
        L.wait_for(lambda: "ip=%s" % addr in stations(), what="lease joined with the station")
        line = [l for l in stations().splitlines() if l.startswith("mac=%s " % self.sta.mac)][0]
        self.assertRegex(line, r"connected=\d+s authorized=yes")
        fields = LAB.tetherctl("softap", "stations", json=True).json["lines"][0]["fields"]  # every field, whole
        self.assertEqual((fields["mac"], fields["ip"], fields["authorized"]), (self.sta.mac, addr, "yes"))
        self.assertEqual(self.sta.curl(WHOAMI).strip(), "203.0.113.2")
        LAB.tetherctl("softap", "deauth", self.sta.mac, check=True)

        def log():
            with open(os.path.join(LAB.dir, "monitor.log")) as f:
                return f.read()
        L.wait_for(lambda: "612 Station disconnected %s wlan0" % self.sta.mac in log(), what="disconnect event")
        self.assertNotIn(self.sta.mac, stations())
        self.assertIn("612 Station connected %s wlan0" % self.sta.mac, log())
        r = LAB.tetherctl("softap", "deauth", "zz:zz")
        self.assertEqual(r.returncode, 2)
        mon.terminate()

    def test_hostapd_killed_is_restarted_and_stations_resynced(self):
        self.connect_station()
        old = hostapd_pids()
        os.kill(old[0], signal.SIGKILL)
        L.wait_for(lambda: hostapd_pids() not in ([], old), timeout=5, what="hostapd restarted")
        wait_state("wlan0", "tethered")
        self.assertIn("restarts=1", LAB.tetherctl("softap", "status").stdout)
        # The new hostapd knows no station until the supplicant authenticates again (a wired
        # supplicant does not notice the restart by itself; a radio station re-associates).
        self.sta.run("wpa_cli", "-p", os.path.join(LAB.dir, "wpa"), "-i", "eth0", "reauthenticate")
        L.wait_for(lambda: self.sta.mac in stations(), timeout=15, what="station back after the restart")

    def test_event_burst_never_stalls_hostapd(self):
        ctrl = os.path.join(LAB.run_dir, "hostapd")
        # 150 DISABLE/ENABLE pairs: 300 events into tetherd's attached monitor socket.
        script = "for i in $(seq 150); do hostapd_cli -p %s -i wlan0 disable >/dev/null; " \
                 "hostapd_cli -p %s -i wlan0 enable >/dev/null; done" % (ctrl, ctrl)
        LAB.app.sh(script, timeout=120)
        t0 = time.monotonic()
        r = LAB.app.run("hostapd_cli", "-p", ctrl, "-i", "wlan0", "ping", timeout=5)
        self.assertIn("PONG", r.stdout)
        self.assertLess(time.monotonic() - t0, 1.0)
        wait_state("wlan0", "tethered")
        self.assertIn("state=ENABLED", LAB.tetherctl("softap", "status").stdout)

    def test_runtime_change_does_not_disturb_other_downstreams(self):
        phone = LAB.add_downstream("usb0", client="phone")
        wait_state("usb0", "tethered")
        phone.dhcp("udhcpc")
        usb_dnsmasq = [p for p in LAB.app.pids() if "--interface=usb0" in cmdline(p)]
        self.assertEqual(len(usb_dnsmasq), 1)
        LAB.tetherctl("softap", "set", "passphrase", "a-new-secret-9", check=True)
        LAB.tetherctl("softap", "set", "ssid", "Other", check=True)
        self.assertEqual(phone.curl(WHOAMI).strip(), "203.0.113.2")
        self.assertIn(usb_dnsmasq[0], LAB.app.pids())  # usb0's DHCP server untouched
        self.assertEqual(state("usb0"), "tethered")
        wait_state("wlan0", "tethered")

    def test_settings_are_validated_applied_and_kept(self):
        r = LAB.tetherctl("softap", "set", "passphrase", "1234567")
        self.assertEqual(r.returncode, 2)
        self.assertIn("passphrase", r.stderr)
        r = LAB.tetherctl("softap", "set", "ssid", "x" * 33)
        self.assertEqual(r.returncode, 2)
        self.assertIn("ssid", r.stderr)
        LAB.tetherctl("softap", "set", "ssid", "Cafe \"Lab\"", check=True)
        self.assertIn('ssid=Cafe "Lab"', LAB.tetherctl("softap", "get", "ssid").stdout)
        ctrl = os.path.join(LAB.run_dir, "hostapd")
        L.wait_for(lambda: "Cafe" in LAB.app.run("hostapd_cli", "-p", ctrl, "-i", "wlan0", "get_config",
                                                  check=False).stdout, what="hostapd re-read the SSID")
        wait_state("wlan0", "tethered")
        out = LAB.tetherctl("softap", "get").stdout
        self.assertIn("passphrase=********", out)
        LAB.tetherctl("softap", "block", "02:00:00:00:00:01", check=True)
        self.assertIn("02:00:00:00:00:01", LAB.tetherctl("softap", "blocked").stdout)
        # kept across a restart of tetherd
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
        with open(LAB.config_path) as f:
            LAB.start_tetherd(f.read())
        self.assertIn('ssid=Cafe "Lab"', LAB.tetherctl("softap", "get", "ssid").stdout)
        self.assertIn("02:00:00:00:00:01", LAB.tetherctl("softap", "blocked").stdout)


class SoftApFailureTest(unittest.TestCase):
    """hostapd cannot start: the Wi-Fi downstream fails with hostapd's own reason."""

    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(LAB.teardown)

    def test_startup_failure_reports_hostapds_reason(self):
        LAB.add_downstream("wlan0", client="sta")
        missing = os.path.join(LAB.dir, "no-such-eap-users")
        # hostapd keeps being restarted while wlan0 is Starting; the start timeout ends it
        # with hostapd's own reason.
        config = LAB.default_config().replace("[upstream]", "[tethering]\nstart_timeout = 3s\n\n[upstream]")
        LAB.start_tetherd(config + "\n[softap]\ndriver = wired\neap_user_file = %s\n" % missing)
        L.wait_for(lambda: state("wlan0") == "failed", timeout=10, what="wlan0 failed")
        line = [l for l in LAB.tetherctl("tether", "interface", "list").stdout.splitlines() if l.startswith("wlan0")][0]
        self.assertIn("hostapd exited", line)
        status = LAB.tetherctl("softap", "status").stdout
        self.assertIn("error=", status)
        self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0)
        self.assertEqual(hostapd_pids(), [])


if __name__ == "__main__":
    unittest.main()
