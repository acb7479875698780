"""The USB tethering gadget as the daemon wires it, in the namespace lab. The gadget itself
(configfs operations, bind/unbind, removal, the ECM carrier quirk) is proven against a fake
configfs by the unit tests and on dummy_hcd in the VM lab. Here: the `usb` commands, and that
a gadget which cannot be made is reported while tethering goes on. Inside the lab's
namespaces (`ip netns exec` mounts a fresh sysfs) configfs is never mounted, so that failure
is the same on every machine and no real gadget is ever created by these tests."""
import signal
import unittest

import support
from support import lab as L

LAB = None


def setUpModule():
    support.require_lab()
    support.require_binaries()


def usb_status():
    r = LAB.tetherctl("usb", "status")
    return r.stdout.strip() if r.returncode == 0 else "(exit %d: %s)" % (r.returncode, r.stderr.strip())


class UsbGadgetDaemonTest(unittest.TestCase):
    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)

    def teardown_lab(self):
        prefix = LAB.prefix
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def stop(self):
        rc = LAB.stop_tetherd(signal.SIGTERM)
        self.assertEqual(rc, 0, LAB.tetherd_log()[-3000:])

    def test_gadget_none_is_off(self):
        LAB.start_tetherd()
        self.assertEqual(usb_status(), "gadget=tetherd functions=none state=off udc=none vendor=0x1d6b "
                                       "product=0x0104 interfaces=none carrier_bounces=0")
        r = LAB.tetherctl("usb", "bind")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no gadget to bind (state off)", r.stderr)
        self.assertEqual(LAB.tetherctl("usb", "frobnicate").returncode, 2)
        self.assertIn("enabled=no adapter=hci0 bridge=bt-pan", LAB.tetherctl("bluetooth", "status", check=True).stdout)
        self.stop()

    def test_a_gadget_that_cannot_be_made_is_reported_and_tethering_goes_on(self):
        probe = LAB.app.run("sh", "-c", "test -e /sys/kernel/config/usb_gadget", check=False)
        self.assertNotEqual(probe.returncode, 0, "configfs is mounted inside the lab: this test would make a real gadget")
        LAB.start_tetherd(LAB.default_config() + "\n[usb]\ngadget = rndis+ncm\nudc = dummy_udc.0\n")
        st = usb_status()
        self.assertTrue(st.startswith("gadget=tetherd functions=rndis+ncm state=failed udc=none"), st)
        self.assertIn('error="usb gadget: /sys/kernel/config/usb_gadget does not exist (configfs not mounted', st)
        self.assertIn("USB tethering gadget not set up", LAB.tetherd_log())
        # Other downstreams are tethered as ever (here a veth named like a gadget's interface).
        phone = LAB.add_downstream("usb0", client="phone")
        L.wait_for(lambda: "state=tethered" in LAB.tetherctl("tether", "interface", "list").stdout,
                   what="usb0 tethered")
        self.assertTrue(phone.dhcp("udhcpc", timeout=10).startswith("192.168.42."))
        self.stop()


if __name__ == "__main__":
    unittest.main()
