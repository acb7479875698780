// BluetoothPan's readers and interpretation of the D-Bus messages it gets
// (tether/radios/bluetooth/bluez_messages.h), on real sd_bus_message objects built here.
#include "tether/radios/bluetooth/bluez_messages.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tether/system/sd_bus_loop.h"

using namespace tetherd;
using namespace tetherd::bluez;

namespace {

// A bus that never connects to anything: enough to create, seal and read messages.
class BluezMessages : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
    peer = fds[1];
    ASSERT_GE(sd_bus_new(&bus), 0);
    ASSERT_GE(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
    ASSERT_GE(sd_bus_start(bus), 0);
  }
  void TearDown() override {
    if (m) sd_bus_message_unref(m);
    // Never flush: the peer never answers the auth handshake, and a flush waits for it (90 s).
    sd_bus_close(bus);
    sd_bus_unref(bus);
    close(peer);
  }
  // A signal whose body is appended by `fill`, from `sender`, sealed and ready to read.
  template <typename Fill>
  sd_bus_message* signal(const char* sender, Fill fill) {
    EXPECT_GE(sd_bus_message_new_signal(bus, &m, "/", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved"), 0);
    fill(m);
    if (sender) {
      EXPECT_GE(sd_bus_message_set_sender(m, sender), 0);
    }
    EXPECT_GE(sd_bus_message_seal(m, 1, 0), 0);
    EXPECT_GE(sd_bus_message_rewind(m, 1), 0);
    return m;
  }
  sd_bus* bus = nullptr;
  sd_bus_message* m = nullptr;
  int peer = -1;
};

}  // namespace

TEST_F(BluezMessages, NameOwnerChanged) {
  auto s = readNameOwnerChanged(signal(nullptr, [](sd_bus_message* x) { sd_bus_message_append(x, "sss", "org.bluez", "", ":1.7"); }));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (NameOwnerChanged{"org.bluez", "", ":1.7"}));
  EXPECT_EQ(interpretOwnerChange(*s), Change::BluezAppeared);
  EXPECT_EQ(interpretOwnerChange({"org.bluez", ":1.7", ""}), Change::BluezLeft);
  EXPECT_EQ(interpretOwnerChange({"org.bluez.x", "", ":1.7"}), Change::None);
}

TEST_F(BluezMessages, WrongSignaturesAreIgnored) {
  EXPECT_FALSE(readNameOwnerChanged(signal(nullptr, [](sd_bus_message* x) { sd_bus_message_append(x, "ss", "org.bluez", ""); })));
  sd_bus_message_unref(m);
  m = nullptr;
  EXPECT_FALSE(readNameOwner(signal(nullptr, [](sd_bus_message* x) { sd_bus_message_append(x, "u", 5u); })));
  sd_bus_message_unref(m);
  m = nullptr;
  EXPECT_FALSE(readNameOwner(signal(nullptr, [](sd_bus_message* x) { sd_bus_message_append(x, "s", ""); })))
      << "an empty owner is no owner";
  sd_bus_message_unref(m);
  m = nullptr;
  EXPECT_FALSE(readInterfacesSignal(
      signal(":1.7", [](sd_bus_message* x) { sd_bus_message_append(x, "oo", "/org/bluez/hci0", "/x"); }), true));
}

TEST_F(BluezMessages, InterfacesRemoved) {
  auto s = readInterfacesSignal(signal(":1.7",
                                       [](sd_bus_message* x) {
                                         sd_bus_message_append(x, "oas", "/org/bluez/hci0", 2, "org.bluez.NetworkServer1",
                                                               "org.bluez.Adapter1");
                                       }),
                                true);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (InterfacesSignal{":1.7", "/org/bluez/hci0", {"org.bluez.NetworkServer1", "org.bluez.Adapter1"}}));
  EXPECT_EQ(interpretInterfaces(*s, true, ":1.7", "/org/bluez/hci0"), Change::AdapterGone);
  EXPECT_EQ(interpretInterfaces(*s, true, ":1.8", "/org/bluez/hci0"), Change::None) << "not from BlueZ";
  EXPECT_EQ(interpretInterfaces(*s, true, "", "/org/bluez/hci0"), Change::None) << "no BlueZ yet";
  EXPECT_EQ(interpretInterfaces(*s, true, ":1.7", "/org/bluez/hci1"), Change::None) << "another adapter";
  EXPECT_EQ(interpretInterfaces(*s, false, ":1.7", "/org/bluez/hci0"), Change::AdapterAppeared);
  s->interfaces = {"org.bluez.NetworkServer1"};
  EXPECT_EQ(interpretInterfaces(*s, true, ":1.7", "/org/bluez/hci0"), Change::None) << "the adapter stays";
}

TEST_F(BluezMessages, InterfacesAddedReadsOnlyThePath) {
  auto s = readInterfacesSignal(signal(nullptr,
                                       [](sd_bus_message* x) {
                                         sd_bus_message_append(x, "oa{sa{sv}}", "/org/bluez/hci0", 1, "org.bluez.Adapter1", 1,
                                                               "Powered", "b", 1);
                                       }),
                                false);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (InterfacesSignal{"", "/org/bluez/hci0", {}}));
  EXPECT_EQ(interpretInterfaces(*s, false, ":1.7", "/org/bluez/hci0"), Change::None) << "no sender: not BlueZ";
}

TEST(BluezSetupErrors, Classified) {
  sd_bus_error exists{"org.bluez.Error.AlreadyExists", "Already Exists", 0};
  sd_bus_error unknown{"org.freedesktop.DBus.Error.UnknownObject", "no such object", 0};
  EXPECT_EQ(classifySetupError(exists, 2, 3), SetupError::AlreadyRegistered);
  EXPECT_EQ(classifySetupError(exists, 0, 3), SetupError::Failed);
  EXPECT_EQ(classifySetupError(unknown, 0, 3), SetupError::NoAdapter);
  EXPECT_EQ(classifySetupError(unknown, 1, 3), SetupError::Failed);
}

// busErrorText (tether/system/sd_bus_loop.h) shows BlueZ's error replies in the log and in
// `bluetooth status`. Found by bluez_fuzzer's properties (run on the old function: the control
// byte in 14 executions, the cut in about 54 000): control bytes other than \n \r \t (an
// escape sequence, for one) went through to the log and the status line, and a message longer
// than 160 bytes was cut inside a UTF-8 character (invalid UTF-8 in what is shown).
TEST(BusErrorText, OneLineOfValidUtf8) {
  std::string message = std::string(159, 'a') + "\xc3\xa9" + "tail";  // 'é' across byte 160
  sd_bus_error e{"org.bluez.Error.Failed", message.c_str(), 0};
  EXPECT_EQ(busErrorText(&e), "org.bluez.Error.Failed: " + std::string(159, 'a') + "...");
  sd_bus_error esc{"org.bluez.Error.Failed", "bad\x1b[2J\x7fthing\nnext\tline", 0};
  EXPECT_EQ(busErrorText(&esc), "org.bluez.Error.Failed: bad [2J thing next line");
  sd_bus_error shortOne{"org.bluez.Error.NotReady", "Resource Not Ready", 0};
  EXPECT_EQ(busErrorText(&shortOne), "org.bluez.Error.NotReady: Resource Not Ready");
}
