"""Bluetooth PAN NAP in the namespace lab: tetherd talks to BlueZ's D-Bus API, played by
python3-dbusmock's bluez5 template on a private bus (dbus-daemon in the lab; tetherd finds it
through DBUS_SYSTEM_BUS_ADDRESS). The template's adapter has no org.bluez.NetworkServer1, so
the tests add it with the mock's AddMethods: the calls are then recorded and read back with
GetCalls. Properties are read back with busctl; Properties.Set calls are also in the mock's
log. A real BlueZ with real controllers: the VM lab."""
import json
import os
import re
import shutil
import signal
import subprocess
import unittest

import support
from support import lab as L

LAB = None
# Debian's own interpreter, which has python3-dbusmock (CTest may run another python).
MOCK_PYTHON = "/usr/bin/python3"
ADAPTER = "/org/bluez/hci0"
ADAPTER_IFACE = "org.bluez.Adapter1"
NAP_IFACE = "org.bluez.NetworkServer1"
WHOAMI = "http://%s/whoami" % L.WWW_NAME
ETH0_ADDR = "203.0.113.2"


def setUpModule():
    support.require_lab()
    support.require_binaries()
    problems = []
    for tool in ("dbus-daemon", "busctl"):
        if not shutil.which(tool):
            problems.append("%s (Debian package dbus / systemd)" % tool)
    r = subprocess.run([MOCK_PYTHON, "-c", "import dbusmock"], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append("python3-dbusmock for %s (%s)" % (MOCK_PYTHON, r.stderr.strip().splitlines()[-1:]))
    if problems:
        raise RuntimeError("the Bluetooth tests need: %s (scripts/install-deps.sh installs them)" % ", ".join(problems))


class PrivateBus:
    """A dbus-daemon of the lab's own (in the appliance namespace, socket in the lab dir) and
    a BlueZ mock on it. Both are lab processes: the lab's teardown kills them."""

    def __init__(self, lab):
        self.lab = lab
        self.path = os.path.join(lab.dir, "system_bus_socket")
        self.address = "unix:path=" + self.path
        self.daemon = None
        self.mock = None
        self.mock_log = os.path.join(lab.dir, "bluez-mock-calls.log")

    def start(self):
        self.daemon = self.lab.app.popen("dbus-daemon", "--session", "--nofork", "--nopidfile",
                                         "--address=" + self.address, log_name="dbus-daemon.log")
        L.wait_for(lambda: self.busctl("list", check=False).returncode == 0, what="the private bus")
        return self

    def start_bluez(self):
        self.mock = self.lab.app.popen(MOCK_PYTHON, "-m", "dbusmock", "--system", "--template", "bluez5",
                                       "-l", self.mock_log, env={"DBUS_SYSTEM_BUS_ADDRESS": self.address},
                                       log_name="bluez-mock.log")
        L.wait_for(lambda: self.owner("org.bluez"), what="org.bluez on the private bus")

    def stop_bluez(self):
        self.mock.terminate()
        self.mock.wait(5)
        L.wait_for(lambda: not self.owner("org.bluez"), what="org.bluez gone")

    def owner(self, name):
        r = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                        "GetNameOwner", "s", name, check=False, json_out=True)
        return r.json["data"][0] if r.returncode == 0 else None

    def busctl(self, *args, check=True, json_out=False):
        cmd = ["busctl", "--address=" + self.address, "--no-pager"]
        if json_out:
            cmd.append("--json=short")
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise AssertionError("busctl %s: %s" % (" ".join(args), r.stderr.strip()))
        r.json = json.loads(r.stdout) if json_out and r.returncode == 0 and r.stdout.strip() else None
        return r

    def add_adapter(self, with_nap=True):
        self.busctl("call", "org.bluez", "/", "org.bluez.Mock", "AddAdapter", "ss", "hci0", "lab-bt")
        if with_nap:
            self.add_network_server()

    def add_network_server(self):
        # BlueZ's NAP server interface, which the bluez5 template leaves out: recorded calls.
        self.busctl("call", "org.bluez", ADAPTER, "org.freedesktop.DBus.Mock", "AddMethods", "sa(ssss)",
                    NAP_IFACE, "2", "Register", "ss", "", "", "Unregister", "s", "", "")

    def calls(self, path=ADAPTER):
        """[(method, [args...]), ...] recorded by the mock object since it was made."""
        r = self.busctl("call", "org.bluez", path, "org.freedesktop.DBus.Mock", "GetCalls", json_out=True)
        return [(c[1], [a["data"] for a in c[2]]) for c in r.json["data"][0]]

    def prop(self, name):
        r = self.busctl("get-property", "org.bluez", ADAPTER, ADAPTER_IFACE, name, json_out=True)
        return r.json["data"]

    def logged(self):
        try:
            with open(self.mock_log) as f:
                return f.read()
        except OSError:
            return ""


def bt_status():
    r = LAB.tetherctl("bluetooth", "status")
    return r.stdout.strip() if r.returncode == 0 else "(exit %d: %s)" % (r.returncode, r.stderr.strip())


def downstream(ifname):
    for line in LAB.tetherctl("tether", "interface", "list").stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            return line
    return None


def is_bridge(ifname):
    links = LAB.app.ip_json("-d", "link", "show")
    return any(l["ifname"] == ifname and l.get("linkinfo", {}).get("info_kind") == "bridge" for l in links)


class BluetoothNapTest(unittest.TestCase):
    """Each test: a fresh lab, a private bus, tetherd with [bluetooth] enabled."""

    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)
        self.bus = PrivateBus(LAB).start()

    def teardown_lab(self):
        prefix = LAB.prefix
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def start_tetherd(self, address=None, extra=""):
        config = LAB.default_config() + (
            "\n[bluetooth]\nenabled = yes\nadapter = hci0\nbridge = bt-pan\ndiscoverable = yes\npairable = no\n"
            "alias = \"tetherd lab\"\n" + extra)
        LAB.start_tetherd(config, env={"DBUS_SYSTEM_BUS_ADDRESS": address or self.bus.address})

    def wait_registered(self, count):
        L.wait_for(lambda: self.bus.calls().count(("Register", ["nap", "bt-pan"])) == count and
                   "nap=registered registrations=%d" % count in bt_status(),
                   timeout=10, what="Register(nap, bt-pan) #%d (status: %s; log:\n%s)" % (
                       count, bt_status(), LAB.tetherd_log()[-2000:]))

    def stop_tetherd_and_check_cleanup(self):
        rc = LAB.stop_tetherd(signal.SIGTERM)
        self.assertEqual(rc, 0, LAB.tetherd_log()[-3000:])
        self.assertIn(("Unregister", ["nap"]), self.bus.calls())
        self.assertFalse(LAB.app.has_link("bt-pan"), "the bridge outlived tetherd")

    def test_nap_registered_on_the_adapter_bridge_tethered_and_removed_at_stop(self):
        self.bus.start_bluez()
        self.start_tetherd()
        # The bridge is there at once and tethered like any Bluetooth downstream.
        self.assertTrue(is_bridge("bt-pan"))
        L.wait_for(lambda: "state=tethered" in (downstream("bt-pan") or ""), what="bt-pan tethered")
        self.assertEqual(LAB.app.addresses("bt-pan"), ["192.168.44.1/24"])
        want = (r"^enabled=yes adapter=hci0 bridge=bt-pan bridge_present=yes bus=connected "
                r"bluez=:\S+ nap=unregistered registrations=0")
        L.wait_for(lambda: re.match(want, bt_status()), what="connected to BlueZ, no adapter: %s" % bt_status())

        # The adapter appears (InterfacesAdded); the template's adapter lacks NetworkServer1,
        # so the first Register fails and is retried once the interface is there.
        self.bus.add_adapter(with_nap=False)
        L.wait_for(lambda: "NetworkServer1.Register(nap, bt-pan)" in bt_status(), what="a failed Register reported")
        self.bus.add_network_server()
        self.wait_registered(1)
        self.assertNotIn("error=", bt_status())

        # The adapter as configured: powered, discoverable for good, not pairable, the alias.
        self.assertIn("Set %s %s.Powered True" % (ADAPTER, ADAPTER_IFACE), self.bus.logged())
        self.assertIs(self.bus.prop("Powered"), True)
        self.assertIs(self.bus.prop("Discoverable"), True)
        self.assertEqual(self.bus.prop("DiscoverableTimeout"), 0)
        self.assertIs(self.bus.prop("Pairable"), False)
        self.assertEqual(self.bus.prop("Alias"), "tetherd lab")
        sets = re.findall(r"Set /org/bluez/hci0 org\.bluez\.Adapter1\.(\w+)", self.bus.logged())
        self.assertEqual(sets[:5], ["Powered", "Alias", "Pairable", "DiscoverableTimeout", "Discoverable"])

        # What BlueZ does for a connected phone: a bnep port in the bridge. The phone gets a
        # lease from tetherd's dnsmasq on bt-pan and reaches the internet through NAT.
        phone = LAB.add_downstream("bnep0", client="phone")
        LAB.app.ip("link", "set", "bnep0", "master", "bt-pan", "up")
        addr = phone.dhcp("udhcpc", timeout=10)
        self.assertTrue(addr.startswith("192.168.44."), addr)
        self.assertEqual(phone.curl(WHOAMI, timeout=3).strip(), ETH0_ADDR)
        self.assertIsNone(downstream("bnep0"))  # the port is BlueZ's, not a downstream

        self.stop_tetherd_and_check_cleanup()

    def test_bluez_restart_registers_again(self):
        self.bus.start_bluez()
        self.bus.add_adapter()
        self.start_tetherd()  # BlueZ and the adapter already there: registered at start
        self.wait_registered(1)
        first = self.bus.owner("org.bluez")

        self.bus.stop_bluez()
        L.wait_for(lambda: "bluez=absent nap=unregistered" in bt_status(), what="BlueZ gone: %s" % bt_status())
        self.assertIn('error="BlueZ is not running"', bt_status())
        self.assertTrue(is_bridge("bt-pan"))  # the bridge stays, tethered
        self.assertIn("state=tethered", downstream("bt-pan") or "")

        self.bus.start_bluez()
        self.assertNotEqual(self.bus.owner("org.bluez"), first)
        self.bus.add_adapter()
        # The new BlueZ's adapter object records its own calls: one Register again.
        L.wait_for(lambda: ("Register", ["nap", "bt-pan"]) in self.bus.calls() and
                   "nap=registered registrations=2" in bt_status(),
                   timeout=10, what="registered again (status: %s)" % bt_status())
        self.stop_tetherd_and_check_cleanup()

    def test_system_bus_missing_at_start_is_waited_for(self):
        late = PrivateBus(LAB)
        late.path = os.path.join(LAB.dir, "late_bus_socket")
        late.address = "unix:path=" + late.path
        self.start_tetherd(address=late.address)
        L.wait_for(lambda: "bus=disconnected" in bt_status() and "connect to the system bus" in bt_status(),
                   what="the missing bus reported: %s" % bt_status())
        L.wait_for(lambda: "state=tethered" in (downstream("bt-pan") or ""), what="bt-pan tethered without BlueZ")
        late.start()
        self.bus = late
        late.start_bluez()
        late.add_adapter()
        self.wait_registered(1)
        self.stop_tetherd_and_check_cleanup()

    def test_stop_without_bluez_still_removes_the_bridge(self):
        self.start_tetherd()
        L.wait_for(lambda: "bus=connected bluez=absent" in bt_status(), what="connected, no BlueZ: %s" % bt_status())
        self.assertTrue(is_bridge("bt-pan"))
        rc = LAB.stop_tetherd(signal.SIGTERM)
        self.assertEqual(rc, 0, LAB.tetherd_log()[-3000:])
        self.assertFalse(LAB.app.has_link("bt-pan"))


if __name__ == "__main__":
    unittest.main()
