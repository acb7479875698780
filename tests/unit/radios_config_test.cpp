// The [usb] and [bluetooth] sections of the configuration file.
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "config/config.h"

using namespace tetherd;

namespace {

Result<Config> parse(const std::string& text) { return parseConfig(text, "t.conf"); }

std::string errorOf(const std::string& text) {
  auto c = parse(text);
  return c ? std::string("(accepted)") : c.error().message;
}

TEST(RadiosConfigTest, Defaults) {
  Config c = defaultConfig();
  EXPECT_EQ(c.usbGadget, "none");
  EXPECT_EQ(c.usbUdc, "");
  EXPECT_EQ(c.usbVendorId, 0x1d6b);
  EXPECT_EQ(c.usbProductId, 0x0104);
  EXPECT_EQ(c.usbGadgetName, "tetherd");
  EXPECT_FALSE(c.bluetoothEnabled);
  EXPECT_EQ(c.bluetoothAdapter, "hci0");
  EXPECT_EQ(c.bluetoothBridge, "bt-pan");
  EXPECT_FALSE(c.bluetoothDiscoverable.has_value());
  EXPECT_FALSE(c.bluetoothPairable.has_value());
}

TEST(RadiosConfigTest, TheShippedExampleHasTheDefaults) {
  auto c = loadConfigFile(TETHERD_SOURCE_DIR "/config/tetherd.conf.example");
  ASSERT_TRUE(c) << c.error().message;
  Config d = defaultConfig();
  EXPECT_EQ(std::tie(c->usbGadget, c->usbUdc, c->usbVendorId, c->usbProductId, c->usbManufacturer, c->usbProduct,
                     c->usbSerial, c->usbGadgetName, c->usbHostAddr, c->usbDevAddr),
            std::tie(d.usbGadget, d.usbUdc, d.usbVendorId, d.usbProductId, d.usbManufacturer, d.usbProduct, d.usbSerial,
                     d.usbGadgetName, d.usbHostAddr, d.usbDevAddr));
  EXPECT_EQ(std::tie(c->bluetoothEnabled, c->bluetoothAdapter, c->bluetoothBridge, c->bluetoothDiscoverable,
                     c->bluetoothPairable, c->bluetoothAlias),
            std::tie(d.bluetoothEnabled, d.bluetoothAdapter, d.bluetoothBridge, d.bluetoothDiscoverable,
                     d.bluetoothPairable, d.bluetoothAlias));
}

TEST(RadiosConfigTest, UsbSection) {
  auto c = parse(
      "[usb]\ngadget = rndis+ncm\nudc = dummy_udc.0\nvendor_id = 0x18D1\nproduct_id = 4ee3\n"
      "manufacturer = \"ACME \"\nproduct = Pocket router\nserial = ABC-123\ngadget_name = g1\n"
      "host_addr = 02:AA:00:00:00:01\ndev_addr = 02:bb:00:00:00:01\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->usbGadget, "rndis+ncm");
  EXPECT_EQ(c->usbUdc, "dummy_udc.0");
  EXPECT_EQ(c->usbVendorId, 0x18d1);
  EXPECT_EQ(c->usbProductId, 0x4ee3);
  EXPECT_EQ(c->usbManufacturer, "ACME ");
  EXPECT_EQ(c->usbProduct, "Pocket router");
  EXPECT_EQ(c->usbSerial, "ABC-123");
  EXPECT_EQ(c->usbGadgetName, "g1");
  EXPECT_EQ(c->usbHostAddr, "02:aa:00:00:00:01");
  EXPECT_EQ(c->usbDevAddr, "02:bb:00:00:00:01");
}

TEST(RadiosConfigTest, UsbRefusals) {
  EXPECT_EQ(errorOf("[usb]\ngadget = ncm+rndis\n"),
            "t.conf:2: key 'gadget' in [usb]: rndis must come first (Windows only uses the first configuration), e.g. rndis+ncm");
  EXPECT_NE(errorOf("[usb]\ngadget = acm\n").find("'acm' is not rndis, ncm or ecm"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nvendor_id = 0x12345\n").find("not a 16-bit hexadecimal number"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nvendor_id = 0\n").find("0 is not a vendor"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nproduct = a/b\n").find("product: '/' is not allowed"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nmanufacturer = " + std::string(127, 'x') + "\n").find("longer than 126"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nserial = caf\xc3\xa9\n").find("printable ASCII"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\ngadget_name = ../x\n").find("gadget name"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nudc = a/b\n").find("udc:"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nhost_addr = 03:00:00:00:00:01\ndev_addr = 02:00:00:00:00:01\n").find("multicast"),
            std::string::npos);
  EXPECT_NE(errorOf("[usb]\nhost_addr = 02:00:00:00:00:01\n").find("set together"), std::string::npos);
  EXPECT_NE(errorOf("[usb]\nhost_addr = 02:00:00:00:00:01\ndev_addr = 02:00:00:00:00:01\n").find("the same"),
            std::string::npos);
}

TEST(RadiosConfigTest, BluetoothSection) {
  auto c = parse("[bluetooth]\nenabled = yes\nadapter = hci1\nbridge = pan0\ndiscoverable = yes\npairable = no\nalias = My NAP\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->bluetoothEnabled);
  EXPECT_EQ(c->bluetoothAdapter, "hci1");
  EXPECT_EQ(c->bluetoothBridge, "pan0");
  EXPECT_EQ(c->bluetoothDiscoverable, std::optional<bool>(true));
  EXPECT_EQ(c->bluetoothPairable, std::optional<bool>(false));
  EXPECT_EQ(c->bluetoothAlias, "My NAP");
  auto unchanged = parse("[bluetooth]\ndiscoverable = unchanged\n");
  ASSERT_TRUE(unchanged);
  EXPECT_FALSE(unchanged->bluetoothDiscoverable.has_value());

  EXPECT_NE(errorOf("[bluetooth]\nadapter = hci/0\n").find("not an adapter name"), std::string::npos);
  EXPECT_NE(errorOf("[bluetooth]\nbridge = way-too-long-bridge-name\n").find("not a valid interface name"),
            std::string::npos);
  EXPECT_NE(errorOf("[bluetooth]\npairable = maybe\n").find("not yes, no or unchanged"), std::string::npos);
  // A bridge the Bluetooth pattern does not match would never be tethered: refused.
  EXPECT_EQ(errorOf("[bluetooth]\nenabled = yes\nbridge = br0\n"),
            "t.conf:0: [bluetooth] bridge br0 does not match [tethering] bluetooth_pattern: it would not be tethered");
  EXPECT_TRUE(parse("[tethering]\nbluetooth_pattern = br\\d+\n[bluetooth]\nenabled = yes\nbridge = br0\n"));
  EXPECT_TRUE(parse("[bluetooth]\nenabled = no\nbridge = br0\n"));
}

}  // namespace
