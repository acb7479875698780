"""An upstream switch removes the conntrack entries of flows NATed to the old upstream's address
(issue 13: clients reconnect at once instead of hanging). A long-lived UDP flow from a client
is NATed to wwan0's address; eth0 comes back and tethering falls back to it while wwan0 stays
up (the kernel's masquerade notifiers remove nothing then): the flow's entry with wwan0's
address is gone and its next packets are NATed to eth0's."""
import re
import signal
import unittest

import support
from support import lab as L

LAB = None
PORT = 40123
SENDER = ("import socket, time\n"
          "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
          "s.bind(('', %d))\n"
          "for _ in range(1200):\n"
          "    s.sendto(b'ping', ('%s', 9999))\n"
          "    time.sleep(0.05)\n" % (PORT, L.INET_WWW))


def setUpModule():
    support.require_lab()
    support.require_binaries()


def state(ifname):
    for line in LAB.tetherctl("tether", "interface", "list").stdout.splitlines():
        if line.split(" ", 1)[0] == ifname:
            m = re.search(r"state=(\S+)", line)
            return m.group(1) if m else None
    return None


def flow_nat_addresses():
    """The address each conntrack entry of the client's UDP flow is NATed to (its reply's dst)."""
    out = []
    for line in LAB.app.run("cat", "/proc/net/nf_conntrack").stdout.splitlines():
        if " udp " not in line or "sport=%d " % PORT not in line:
            continue
        dsts = re.findall(r"\bdst=(\S+)", line)
        if len(dsts) == 2:
            out.append(dsts[1])
    return sorted(out)


class UpstreamConntrackTest(unittest.TestCase):

    def setUp(self):
        global LAB
        LAB = L.Lab().start()
        self.addCleanup(self.teardown_lab)

    def teardown_lab(self):
        prefix = LAB.prefix
        if LAB.tetherd is not None and LAB.tetherd.poll() is None:
            self.assertEqual(LAB.stop_tetherd(signal.SIGTERM), 0, LAB.tetherd_log()[-3000:])
        LAB.teardown()
        self.assertEqual(L.leftovers(prefix), [])

    def test_switch_removes_the_flows_nated_to_the_old_upstream(self):
        LAB.set_uplink("eth0", False)  # wwan0 is the upstream to begin with
        LAB.start_tetherd(LAB.default_config(("eth0", "wwan0")))
        c = LAB.add_downstream("usb0", client="phone")
        L.wait_for(lambda: state("usb0") == "tethered", timeout=10,
                   what="usb0 tethered (log:\n%s)" % LAB.tetherd_log()[-3000:])
        c.dhcp("dhclient", timeout=10)
        c.popen("python3", "-c", SENDER, log_name="udp-sender.log")
        L.wait_for(lambda: flow_nat_addresses() == [L.APP_WWAN0], timeout=5,
                   what="the UDP flow NATed to wwan0's address: %s" % flow_nat_addresses())
        LAB.set_uplink("eth0", True)  # fall-back to eth0; wwan0 stays up
        L.wait_for(lambda: flow_nat_addresses() == [L.APP_ETH0], timeout=3,
                   what="the flow NATed to eth0's address only: %s (log:\n%s)" % (
                       flow_nat_addresses(), LAB.tetherd_log()[-2000:]))
        self.assertIn("removed 1 flow(s) NATed to %s (wwan0)" % L.APP_WWAN0, LAB.tetherd_log())


if __name__ == "__main__":
    unittest.main()
