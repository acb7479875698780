// The USB gadget as data: settings validation and the exact configfs operations.
#include "tether/radios/usb/usb_gadget.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace tetherd;
using namespace tetherd::usb;

namespace {

GadgetSettings rndisNcm() {
  GadgetSettings s;
  s.functions = {Function::Rndis, Function::Ncm};
  s.serial = "0123456789ABCDEF";
  s.addrs = {{"02:00:00:00:01:01", "02:00:00:00:01:02"}, {"02:00:00:00:02:01", "02:00:00:00:02:02"}};
  return s;
}

std::vector<std::string> strs(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.str());
  return out;
}

TEST(UsbGadgetTest, RndisPlusNcmGivesTheExactOperations) {
  auto ops = gadgetOps(rndisNcm());
  ASSERT_TRUE(ops) << ops.error().message;
  EXPECT_EQ(strs(*ops), (std::vector<std::string>{
                            "mkdir tetherd",
                            "write tetherd/idVendor 0x1d6b",
                            "write tetherd/idProduct 0x0104",
                            "write tetherd/bcdDevice 0x0100",
                            "write tetherd/bcdUSB 0x0200",
                            "write tetherd/bDeviceClass 0xef",
                            "write tetherd/bDeviceSubClass 0x02",
                            "write tetherd/bDeviceProtocol 0x01",
                            "mkdir tetherd/strings/0x409",
                            "write tetherd/strings/0x409/manufacturer tetherd",
                            "write tetherd/strings/0x409/product tetherd USB tethering",
                            "write tetherd/strings/0x409/serialnumber 0123456789ABCDEF",
                            "write tetherd/os_desc/use 1",
                            "write tetherd/os_desc/b_vendor_code 0xcd",
                            "write tetherd/os_desc/qw_sign MSFT100",
                            "mkdir tetherd/functions/rndis.usb0",
                            "write tetherd/functions/rndis.usb0/host_addr 02:00:00:00:01:01",
                            "write tetherd/functions/rndis.usb0/dev_addr 02:00:00:00:01:02",
                            "write tetherd/functions/rndis.usb0/os_desc/interface.rndis/compatible_id RNDIS",
                            "write tetherd/functions/rndis.usb0/os_desc/interface.rndis/sub_compatible_id 5162001",
                            "mkdir tetherd/functions/ncm.usb1",
                            "write tetherd/functions/ncm.usb1/host_addr 02:00:00:00:02:01",
                            "write tetherd/functions/ncm.usb1/dev_addr 02:00:00:00:02:02",
                            "mkdir tetherd/configs/c.1",
                            "write tetherd/configs/c.1/MaxPower 250",
                            "mkdir tetherd/configs/c.1/strings/0x409",
                            "write tetherd/configs/c.1/strings/0x409/configuration RNDIS",
                            "symlink tetherd/functions/rndis.usb0 tetherd/configs/c.1/rndis.usb0",
                            "symlink tetherd/configs/c.1 tetherd/os_desc/c.1",
                            "mkdir tetherd/configs/c.2",
                            "write tetherd/configs/c.2/MaxPower 250",
                            "mkdir tetherd/configs/c.2/strings/0x409",
                            "write tetherd/configs/c.2/strings/0x409/configuration NCM",
                            "symlink tetherd/functions/ncm.usb1 tetherd/configs/c.2/ncm.usb1",
                        }));
  EXPECT_EQ(bindOp("tetherd", "dummy_udc.0").str(), "write tetherd/UDC dummy_udc.0");
  EXPECT_EQ(unbindOp("tetherd").str(), "write tetherd/UDC \\n");
  EXPECT_EQ(unbindOp("tetherd").value, "\n");
}

TEST(UsbGadgetTest, RemovalIsTheReverseOfCreation) {
  auto ops = gadgetOps(rndisNcm());
  ASSERT_TRUE(ops);
  EXPECT_EQ(strs(removalOps(*ops)), (std::vector<std::string>{
                                        "unlink tetherd/configs/c.2/ncm.usb1",
                                        "rmdir tetherd/configs/c.2/strings/0x409",
                                        "rmdir tetherd/configs/c.2",
                                        "unlink tetherd/os_desc/c.1",
                                        "unlink tetherd/configs/c.1/rndis.usb0",
                                        "rmdir tetherd/configs/c.1/strings/0x409",
                                        "rmdir tetherd/configs/c.1",
                                        "rmdir tetherd/functions/ncm.usb1",
                                        "rmdir tetherd/functions/rndis.usb0",
                                        "rmdir tetherd/strings/0x409",
                                        "rmdir tetherd",
                                    }));
}

TEST(UsbGadgetTest, EcmAloneHasNoMicrosoftDescriptors) {
  GadgetSettings s;
  s.name = "g1";
  s.functions = {Function::Ecm};
  s.vendorId = 0x18d1;
  s.productId = 0x4ee3;
  s.serial = "X";
  s.addrs = {{"02:00:00:00:00:01", "02:00:00:00:00:02"}};
  auto ops = gadgetOps(s);
  ASSERT_TRUE(ops) << ops.error().message;
  for (const auto& op : *ops) EXPECT_EQ(op.path.find("os_desc"), std::string::npos) << op.str();
  auto text = strs(*ops);
  EXPECT_EQ(text[1], "write g1/idVendor 0x18d1");
  EXPECT_EQ(text[2], "write g1/idProduct 0x4ee3");
  EXPECT_EQ(text.back(), "symlink g1/functions/ecm.usb0 g1/configs/c.1/ecm.usb0");
  EXPECT_EQ(functionDir(s, 0), "g1/functions/ecm.usb0");
}

TEST(UsbGadgetTest, ParseFunctions) {
  EXPECT_TRUE(parseFunctions("none")->empty());
  EXPECT_EQ(*parseFunctions("rndis+ncm"), (std::vector<Function>{Function::Rndis, Function::Ncm}));
  EXPECT_EQ(*parseFunctions("ncm+ecm"), (std::vector<Function>{Function::Ncm, Function::Ecm}));
  EXPECT_EQ(functionsText(*parseFunctions("rndis+ncm+ecm")), "rndis+ncm+ecm");
  EXPECT_EQ(functionsText({}), "none");
  for (const char* bad : {"ncm+rndis", "ncm+ncm", "rndis+", "+ncm", "acm", "NCM", "ncm ecm"}) {
    auto f = parseFunctions(bad);
    EXPECT_FALSE(f) << bad;
    if (!f) {
      EXPECT_EQ(f.error().code, Errc::InvalidArgument);
    }
  }
  EXPECT_NE(parseFunctions("ncm+rndis").error().message.find("rndis must come first"), std::string::npos);
}

TEST(UsbGadgetTest, StringsAreValidated) {
  EXPECT_TRUE(checkUsbString("product", "Pi Zero (tetherd) #1"));
  EXPECT_FALSE(checkUsbString("product", ""));
  EXPECT_FALSE(checkUsbString("product", std::string(127, 'a')));
  EXPECT_TRUE(checkUsbString("product", std::string(126, 'a')));
  EXPECT_FALSE(checkUsbString("product", "a/b"));
  EXPECT_FALSE(checkUsbString("product", "a\nb"));
  EXPECT_FALSE(checkUsbString("product", "caf\xc3\xa9"));
  EXPECT_EQ(checkUsbString("serial", "a/b").error().message, "serial: '/' is not allowed");

  auto s = rndisNcm();
  s.serial = "bad\x01";
  EXPECT_NE(gadgetOps(s).error().message.find("serial:"), std::string::npos);
  s = rndisNcm();
  s.name = "..";
  EXPECT_FALSE(gadgetOps(s));
  s = rndisNcm();
  s.name = "a/b";
  EXPECT_FALSE(gadgetOps(s));
  s = rndisNcm();
  s.addrs.pop_back();
  EXPECT_FALSE(gadgetOps(s));
  s = rndisNcm();
  s.addrs[1].dev = s.addrs[0].host;
  EXPECT_NE(gadgetOps(s).error().message.find("used twice"), std::string::npos);
  s = rndisNcm();
  s.addrs[0].host = "01:00:5e:00:00:01";
  EXPECT_NE(gadgetOps(s).error().message.find("multicast"), std::string::npos);
  s = rndisNcm();
  s.functions = {};
  s.addrs = {};
  EXPECT_FALSE(gadgetOps(s));
  EXPECT_TRUE(checkUdcName("dummy_udc.0"));
  EXPECT_TRUE(checkUdcName("fe980000.usb"));
  EXPECT_FALSE(checkUdcName("a b"));
  EXPECT_FALSE(checkUdcName("../x"));
  EXPECT_FALSE(checkUdcName(""));
}

TEST(UsbGadgetTest, DerivedValuesAreStableLocalUnicastAndDistinct) {
  const std::string id = "4f1c0a3cd3a94c0e8f3b0b6f2a9d7e11";
  std::string host = deriveMac(id, "tetherd/0/host");
  EXPECT_EQ(host, deriveMac(id, "tetherd/0/host"));  // stable
  EXPECT_NE(host, deriveMac(id, "tetherd/0/dev"));
  EXPECT_NE(host, deriveMac("another-machine", "tetherd/0/host"));
  EXPECT_TRUE(checkUnicastMac("m", host));
  unsigned first = std::stoul(host.substr(0, 2), nullptr, 16);
  EXPECT_EQ(first & 0x03u, 0x02u);  // locally administered, unicast
  std::string serial = deriveSerial(id);
  EXPECT_EQ(serial.size(), 16u);
  EXPECT_EQ(serial, deriveSerial(id));
  EXPECT_EQ(serial.find(id.substr(0, 8)), std::string::npos);  // the machine id does not leak
  EXPECT_TRUE(checkUsbString("serial", serial));
  EXPECT_EQ(offsetMac("02:00:00:00:00:ff", 1), "02:00:00:00:01:00");
  EXPECT_EQ(offsetMac("02:00:00:00:00:10", 0), "02:00:00:00:00:10");
}

TEST(UsbGadgetTest, ChooseUdc) {
  EXPECT_EQ(*chooseUdc("", {"dummy_udc.0"}), "dummy_udc.0");
  EXPECT_EQ(*chooseUdc("dummy_udc.1", {"dummy_udc.0", "dummy_udc.1"}), "dummy_udc.1");
  auto none = chooseUdc("", {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::NotFound);
  EXPECT_NE(chooseUdc("", {"a", "b"}).error().message.find("several UDCs (a, b)"), std::string::npos);
  EXPECT_NE(chooseUdc("c", {"a", "b"}).error().message.find("UDC c not found (have: a, b)"), std::string::npos);
}

}  // namespace
