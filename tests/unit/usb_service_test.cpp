// UsbGadgetService against a fake configfs (a temporary tree acting like the kernel's), and
// the ECM carrier quirk against FakeNetlink.
#include "tether/radios/usb/usb_service.h"

#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_configfs.h"
#include "fakes.h"
#include "tether/control/usb_commands.h"

using namespace tetherd;
using namespace tetherd::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const char* kMachineId = "4f1c0a3cd3a94c0e8f3b0b6f2a9d7e11";

class UsbServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tetherd-usb-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    cfs = std::make_unique<FakeConfigfs>(dir);
    cfs->setMachineId(kMachineId);
    config = defaultConfig();
    config.usbGadget = "rndis+ncm";
  }
  void TearDown() override {
    service.reset();
    cfs.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  UsbPaths paths() const {
    UsbPaths p;
    p.configfs = cfs->gadgetRoot();
    p.udcDir = cfs->udcDir();
    p.machineId = cfs->machineIdPath();
    p.bootId = dir + "/no-boot-id";
    return p;
  }

  UsbGadgetService& make() {
    UsbTiming t;
    t.udcRetry = 20ms;
    t.carrierGrace = 30ms;
    service = std::make_unique<UsbGadgetService>(io, netlink, *cfs, config, paths(), t);
    return *service;
  }

  bool runUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.restart();
      io.run_one_for(10ms);
    }
    return true;
  }

  // Lets the loop run for a while (for "nothing happens" checks).
  void runFor(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  std::vector<std::string> logSince(size_t from) const {
    return std::vector<std::string>(cfs->log.begin() + static_cast<std::ptrdiff_t>(from), cfs->log.end());
  }

  std::string dir;
  std::unique_ptr<FakeConfigfs> cfs;
  Config config;
  asio::io_context io;
  FakeNetlink netlink;
  std::unique_ptr<UsbGadgetService> service;
};

TEST_F(UsbServiceTest, StartCreatesTheGadgetAndBindsTheOnlyUdc) {
  cfs->addUdc("fake_udc.0");
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  auto v = usb.status();
  EXPECT_EQ(v.state, UsbGadgetService::State::Bound);
  EXPECT_EQ(v.udc, "fake_udc.0");
  EXPECT_EQ(describeUsb(v),
            "gadget=tetherd functions=rndis+ncm state=bound udc=fake_udc.0 vendor=0x1d6b product=0x0104 "
            "interfaces=rndis:usb0,ncm:usb1 carrier_bounces=0");
  // The operations applied are exactly the builder's, then the bind.
  auto built = gadgetSettingsFrom(config, kMachineId);
  ASSERT_TRUE(built);
  auto ops = usb::gadgetOps(*built);
  ASSERT_TRUE(ops);
  std::vector<std::string> expected;
  for (const auto& op : *ops) expected.push_back(op.str());
  expected.push_back("write tetherd/UDC fake_udc.0");
  EXPECT_EQ(cfs->log, expected);
  EXPECT_EQ(usb.setupOps(), *ops);

  const auto& a = built->addrs;
  EXPECT_EQ(cfs->tree(), (std::vector<std::string>{
                             "d tetherd",
                             "f tetherd/UDC=fake_udc.0",
                             "f tetherd/bDeviceClass=0xef",
                             "f tetherd/bDeviceProtocol=0x01",
                             "f tetherd/bDeviceSubClass=0x02",
                             "f tetherd/bMaxPacketSize0=",
                             "f tetherd/bcdDevice=0x0100",
                             "f tetherd/bcdUSB=0x0200",
                             "d tetherd/configs",
                             "d tetherd/configs/c.1",
                             "f tetherd/configs/c.1/MaxPower=250",
                             "f tetherd/configs/c.1/bmAttributes=",
                             "l tetherd/configs/c.1/rndis.usb0 -> tetherd/functions/rndis.usb0",
                             "d tetherd/configs/c.1/strings",
                             "d tetherd/configs/c.1/strings/0x409",
                             "f tetherd/configs/c.1/strings/0x409/configuration=RNDIS",
                             "d tetherd/configs/c.2",
                             "f tetherd/configs/c.2/MaxPower=250",
                             "f tetherd/configs/c.2/bmAttributes=",
                             "l tetherd/configs/c.2/ncm.usb1 -> tetherd/functions/ncm.usb1",
                             "d tetherd/configs/c.2/strings",
                             "d tetherd/configs/c.2/strings/0x409",
                             "f tetherd/configs/c.2/strings/0x409/configuration=NCM",
                             "d tetherd/functions",
                             "d tetherd/functions/ncm.usb1",
                             "f tetherd/functions/ncm.usb1/dev_addr=" + a[1].dev,
                             "f tetherd/functions/ncm.usb1/host_addr=" + a[1].host,
                             "f tetherd/functions/ncm.usb1/ifname=usb1",
                             "f tetherd/functions/ncm.usb1/qmult=",
                             "d tetherd/functions/rndis.usb0",
                             "f tetherd/functions/rndis.usb0/dev_addr=" + a[0].dev,
                             "f tetherd/functions/rndis.usb0/host_addr=" + a[0].host,
                             "f tetherd/functions/rndis.usb0/ifname=usb0",
                             "d tetherd/functions/rndis.usb0/os_desc",
                             "d tetherd/functions/rndis.usb0/os_desc/interface.rndis",
                             "f tetherd/functions/rndis.usb0/os_desc/interface.rndis/compatible_id=RNDIS",
                             "f tetherd/functions/rndis.usb0/os_desc/interface.rndis/sub_compatible_id=5162001",
                             "f tetherd/functions/rndis.usb0/qmult=",
                             "f tetherd/idProduct=0x0104",
                             "f tetherd/idVendor=0x1d6b",
                             "f tetherd/max_speed=",
                             "d tetherd/os_desc",
                             "f tetherd/os_desc/b_vendor_code=0xcd",
                             "l tetherd/os_desc/c.1 -> tetherd/configs/c.1",
                             "f tetherd/os_desc/qw_sign=MSFT100",
                             "f tetherd/os_desc/use=1",
                             "d tetherd/strings",
                             "d tetherd/strings/0x409",
                             "f tetherd/strings/0x409/manufacturer=tetherd",
                             "f tetherd/strings/0x409/product=tetherd USB tethering",
                             "f tetherd/strings/0x409/serialnumber=" + usb::deriveSerial(kMachineId),
                         }));
  // Derived from the machine id: the same after a restart, not the machine id itself.
  EXPECT_EQ(a[0].host, usb::deriveMac(kMachineId, "tetherd/0/host"));
  EXPECT_NE(a[0].host, a[1].host);
}

TEST_F(UsbServiceTest, StopUnbindsAndRemovesInReverseOrder) {
  cfs->addUdc("fake_udc.0");
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  size_t mark = cfs->log.size();
  usb.stop();
  EXPECT_EQ(logSince(mark), (std::vector<std::string>{
                                "write tetherd/UDC \\n",
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
  EXPECT_TRUE(cfs->tree().empty());
  EXPECT_TRUE(cfs->boundTo.empty());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Off);
}

TEST_F(UsbServiceTest, APreviousRunsGadgetIsRemovedFirstWhateverItWas) {
  cfs->addUdc("fake_udc.0");
  config.usbGadget = "ecm";
  config.usbVendorId = 0x1234;
  make();
  ASSERT_TRUE(service->start());
  ASSERT_EQ(service->status().state, UsbGadgetService::State::Bound);
  service.reset();  // a crash: nothing removed
  ASSERT_FALSE(cfs->tree().empty());

  config = defaultConfig();
  config.usbGadget = "rndis+ncm";
  size_t mark = cfs->log.size();
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  auto log = logSince(mark);
  std::vector<std::string> removal(log.begin(), log.begin() + 8);
  EXPECT_EQ(removal, (std::vector<std::string>{
                         "write tetherd/UDC \\n",
                         "unlink tetherd/configs/c.1/ecm.usb0",
                         "rmdir tetherd/configs/c.1/strings/0x409",
                         "rmdir tetherd/configs/c.1",
                         "rmdir tetherd/functions/ecm.usb0",
                         "rmdir tetherd/strings/0x409",
                         "rmdir tetherd",
                         "mkdir tetherd",
                     }));
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Bound);
  auto tree = cfs->tree();
  EXPECT_NE(std::find(tree.begin(), tree.end(), "f tetherd/idVendor=0x1d6b"), tree.end());
  EXPECT_EQ(std::find(tree.begin(), tree.end(), "d tetherd/functions/ecm.usb0"), tree.end());
  usb.stop();
  EXPECT_TRUE(cfs->tree().empty());
}

TEST_F(UsbServiceTest, GadgetNoneOnlyRemovesALeftover) {
  cfs->addUdc("fake_udc.0");
  config.usbGadget = "ncm";
  make();
  ASSERT_TRUE(service->start());
  service.reset();  // crash
  config.usbGadget = "none";
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  EXPECT_TRUE(cfs->tree().empty());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Off);
  EXPECT_EQ(describeUsb(usb.status()),
            "gadget=tetherd functions=none state=off udc=none vendor=0x1d6b product=0x0104 interfaces=none "
            "carrier_bounces=0");
  size_t mark = cfs->log.size();
  usb.stop();
  EXPECT_EQ(cfs->log.size(), mark);
}

TEST_F(UsbServiceTest, WithoutAUdcItWaitsAndBindsWhenOneAppears) {
  auto& usb = make();
  ASSERT_TRUE(usb.start());  // not an error: the controller may come later
  auto v = usb.status();
  EXPECT_EQ(v.state, UsbGadgetService::State::WaitingForUdc);
  EXPECT_EQ(v.error, "no USB device controller (UDC) found");
  EXPECT_FALSE(cfs->tree().empty());  // the gadget is ready, unbound
  cfs->addUdc("fake_udc.0");
  ASSERT_TRUE(runUntil([&] { return usb.status().state == UsbGadgetService::State::Bound; }));
  EXPECT_EQ(usb.status().udc, "fake_udc.0");
  EXPECT_EQ(usb.status().error, "");
}

TEST_F(UsbServiceTest, SeveralUdcsNeedOneNamedInTheConfig) {
  cfs->addUdc("fake_udc.0");
  cfs->addUdc("fake_udc.1");
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::WaitingForUdc);
  EXPECT_NE(usb.status().error.find("several UDCs (fake_udc.0, fake_udc.1)"), std::string::npos);
  usb.stop();

  config.usbUdc = "fake_udc.1";
  auto& named = make();
  ASSERT_TRUE(named.start());
  EXPECT_EQ(named.status().state, UsbGadgetService::State::Bound);
  EXPECT_EQ(cfs->boundTo["tetherd"], "fake_udc.1");
}

TEST_F(UsbServiceTest, ABusyUdcIsRetried) {
  cfs->addUdc("fake_udc.0");
  cfs->boundTo["someone-else"] = "fake_udc.0";
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::WaitingForUdc);
  EXPECT_NE(usb.status().error.find("Device or resource busy"), std::string::npos) << usb.status().error;
  cfs->boundTo.clear();
  ASSERT_TRUE(runUntil([&] { return usb.status().state == UsbGadgetService::State::Bound; }));
}

TEST_F(UsbServiceTest, AFailedSetUpLeavesNothingBehind) {
  cfs->addUdc("fake_udc.0");
  cfs->failWrites.insert("tetherd/functions/ncm.usb1/dev_addr");
  auto& usb = make();
  auto st = usb.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("usb gadget: write " + cfs->gadgetRoot() + "/tetherd/functions/ncm.usb1/dev_addr"),
            std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("Input/output error"), std::string::npos);
  EXPECT_TRUE(cfs->tree().empty());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Failed);
  EXPECT_NE(describeUsb(usb.status()).find(" error=\"usb gadget: write "), std::string::npos);
}

TEST_F(UsbServiceTest, NoConfigfsIsAClearError) {
  std::filesystem::remove_all(cfs->gadgetRoot());
  auto& usb = make();
  auto st = usb.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::Unsupported);
  EXPECT_NE(st.error().message.find("does not exist (configfs not mounted"), std::string::npos);
}

TEST_F(UsbServiceTest, WithoutMachineIdTheBootIdIsUsedAndConfiguredValuesWin) {
  std::filesystem::remove(cfs->machineIdPath());
  cfs->addUdc("fake_udc.0");
  config.usbHostAddr = "02:aa:00:00:00:10";
  config.usbDevAddr = "02:bb:00:00:00:10";
  config.usbSerial = "SERIAL-1";
  auto p = paths();
  {
    std::ofstream(dir + "/boot-id") << "0c4e1f3a-0000-4000-8000-000000000001\n";
  }
  p.bootId = dir + "/boot-id";
  service = std::make_unique<UsbGadgetService>(io, netlink, *cfs, config, p);
  ASSERT_TRUE(service->start());
  auto tree = cfs->tree();
  for (const char* want : {"f tetherd/functions/rndis.usb0/host_addr=02:aa:00:00:00:10",
                           "f tetherd/functions/rndis.usb0/dev_addr=02:bb:00:00:00:10",
                           "f tetherd/functions/ncm.usb1/host_addr=02:aa:00:00:00:11",
                           "f tetherd/functions/ncm.usb1/dev_addr=02:bb:00:00:00:11",
                           "f tetherd/strings/0x409/serialnumber=SERIAL-1"})
    EXPECT_NE(std::find(tree.begin(), tree.end(), want), tree.end()) << want;
  service->stop();
}

TEST_F(UsbServiceTest, UnbindAndBindAsACableReplug) {
  cfs->addUdc("fake_udc.0");
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  ASSERT_TRUE(usb.unbind());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Unbound);
  EXPECT_TRUE(cfs->boundTo.empty());
  EXPECT_EQ(usb.unbind().error().code, Errc::NotFound);
  ASSERT_TRUE(usb.bind());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Bound);
  EXPECT_EQ(usb.bind().error().code, Errc::AlreadyExists);
  // The interfaces keep their names across rebinds.
  EXPECT_EQ(describeUsb(usb.status()).find("interfaces=rndis:usb0,ncm:usb1") != std::string::npos, true);
}

TEST_F(UsbServiceTest, ReconfigureRemakesTheGadgetOnlyWhenUsbSettingsChange) {
  cfs->addUdc("fake_udc.0");
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  size_t mark = cfs->log.size();
  Config same = config;
  same.logLevel = log::Level::Debug;
  usb.reconfigure(same);
  EXPECT_EQ(cfs->log.size(), mark);
  Config other = config;
  other.usbProduct = "Other";
  usb.reconfigure(other);
  auto tree = cfs->tree();
  EXPECT_NE(std::find(tree.begin(), tree.end(), "f tetherd/strings/0x409/product=Other"), tree.end());
  EXPECT_EQ(usb.status().state, UsbGadgetService::State::Bound);
}

// ---------------------------------------------------------------------------------------
// ECM carrier quirk

TEST_F(UsbServiceTest, EcmInterfaceUpWithoutCarrierIsBouncedOnceThroughTheService) {
  cfs->addUdc("fake_udc.0");
  config.usbGadget = "ecm";
  auto& usb = make();
  ASSERT_TRUE(usb.start());
  // The gadget-side usb0 appears; the manager brings it up; the host never gives carrier.
  auto& l = netlink.addLink("usb0", true);
  l.lowerUp = false;
  usb.onNetEvent(NetEvent{NetEvent::Type::LinkChanged, l, {}, {}});
  ASSERT_TRUE(runUntil([&] { return netlink.ops.size() >= 2; }));
  EXPECT_EQ(netlink.ops, (std::vector<std::string>{"down usb0", "up usb0"}));
  EXPECT_EQ(usb.status().carrierBounces, 1);
  runFor(150ms);  // once only
  EXPECT_EQ(netlink.ops.size(), 2u);
}

TEST_F(UsbServiceTest, NcmAndRndisAreNeverBounced) {
  cfs->addUdc("fake_udc.0");
  auto& usb = make();  // rndis+ncm
  ASSERT_TRUE(usb.start());
  for (const char* n : {"usb0", "usb1"}) {
    auto& l = netlink.addLink(n, true);
    l.lowerUp = false;
    usb.onNetEvent(NetEvent{NetEvent::Type::LinkAdded, l, {}, {}});
  }
  runFor(150ms);
  EXPECT_TRUE(netlink.ops.empty());
}

class EcmQuirkTest : public ::testing::Test {
 protected:
  bool runUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.restart();
      io.run_one_for(10ms);
    }
    return true;
  }
  void runFor(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  void event(NetEvent::Type t, bool adminUp, bool lowerUp) {
    auto& l = link();
    l.adminUp = adminUp;
    l.lowerUp = lowerUp;
    quirk.onNetEvent(NetEvent{t, l, {}, {}});
  }
  LinkInfo& link() {
    for (auto& l : netlink.linkList)
      if (l.name == "usb0") return l;
    return netlink.addLink("usb0", false);
  }

  asio::io_context io;
  FakeNetlink netlink;
  EcmCarrierQuirk quirk{io, netlink, 30ms};
};

TEST_F(EcmQuirkTest, CarrierInTimeMeansNoBounce) {
  quirk.watch({"usb0"});
  event(NetEvent::Type::LinkAdded, true, false);
  event(NetEvent::Type::LinkChanged, true, true);
  runFor(120ms);
  EXPECT_TRUE(netlink.ops.empty());
  EXPECT_EQ(quirk.bounces(), 0);
}

TEST_F(EcmQuirkTest, ADownInterfaceIsLeftAlone) {
  quirk.watch({"usb0"});
  event(NetEvent::Type::LinkAdded, false, false);  // not tethered (yet): not ours to bring up
  runFor(120ms);
  EXPECT_TRUE(netlink.ops.empty());
  event(NetEvent::Type::LinkChanged, true, false);  // tethered now, still no carrier
  ASSERT_TRUE(runUntil([&] { return quirk.bounces() == 1; }));
  EXPECT_EQ(netlink.ops, (std::vector<std::string>{"down usb0", "up usb0"}));
}

TEST_F(EcmQuirkTest, AfterTheBindTheExistingLinkIsCheckedWithoutAnyEvent) {
  event(NetEvent::Type::LinkAdded, true, false);  // usb0 was there before this bind (rebind)
  quirk.watch({"usb0"});
  ASSERT_TRUE(runUntil([&] { return quirk.bounces() == 1; }));
}

TEST_F(EcmQuirkTest, EachLossOfCarrierMayBeBouncedOnceAgain) {
  quirk.watch({"usb0"});
  event(NetEvent::Type::LinkAdded, true, false);
  ASSERT_TRUE(runUntil([&] { return quirk.bounces() == 1; }));
  // The bounce's own events: down, then up without carrier: no second bounce.
  event(NetEvent::Type::LinkChanged, false, false);
  event(NetEvent::Type::LinkChanged, true, false);
  runFor(120ms);
  EXPECT_EQ(quirk.bounces(), 1);
  // Carrier came (host enumerated), then the cable was pulled and plugged in again.
  event(NetEvent::Type::LinkChanged, true, true);
  event(NetEvent::Type::LinkChanged, true, false);
  ASSERT_TRUE(runUntil([&] { return quirk.bounces() == 2; }));
  EXPECT_EQ(netlink.ops, (std::vector<std::string>{"down usb0", "up usb0", "down usb0", "up usb0"}));
  // Unbound: nothing watched any more.
  quirk.clear();
  event(NetEvent::Type::LinkChanged, true, true);
  event(NetEvent::Type::LinkChanged, true, false);
  runFor(120ms);
  EXPECT_EQ(quirk.bounces(), 2);
}

TEST_F(EcmQuirkTest, ARemovedInterfaceIsNotBounced) {
  quirk.watch({"usb0"});
  event(NetEvent::Type::LinkAdded, true, false);
  auto l = link();
  netlink.linkList.clear();
  quirk.onNetEvent(NetEvent{NetEvent::Type::LinkRemoved, l, {}, {}});
  runFor(120ms);
  EXPECT_TRUE(netlink.ops.empty());
}

}  // namespace
