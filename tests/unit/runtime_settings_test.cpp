// The web page's persisted settings (config/runtime_settings.h): a fragment of the
// configuration file's syntax in state_dir/web-settings, applied over tetherd.conf with the
// file's own checks.
#include "config/runtime_settings.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "tether/base/files.h"

using namespace tetherd;
using namespace tetherd::testing;

TEST(RuntimeSettings, RoundTripAndRefuseOtherKeys) {
  RuntimeSettings s{{"upstream.priority", "wwan0 eth0"}, {"dhcp.lease_time", "600"}};
  auto text = serializeRuntimeSettings(s);
  auto back = parseRuntimeSettings(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(parseRuntimeSettings("[daemon]\nstate_dir = /tmp\n")) << "only the page's keys";
  EXPECT_FALSE(parseRuntimeSettings("[dhcp]\nlease_time = 600\nlease_time = 700\n"));
  auto c = applyRuntimeSettings(defaultConfig(), s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->upstreamPriority, (std::vector<std::string>{"wwan0", "eth0"}));
  EXPECT_EQ(c->leaseTimeSec, 600);
  EXPECT_FALSE(applyRuntimeSettings(defaultConfig(), {{"dhcp.lease_time", "1"}}));
  EXPECT_FALSE(applyRuntimeSettings(defaultConfig(), {{"daemon.state_dir", "/tmp"}}));
  EXPECT_FALSE(applyRuntimeSettings(defaultConfig(), {{"dhcp.lease_time", "600\n[daemon]\nstate_dir = /x"}}));
}

TEST(RuntimeSettings, SerializedAsTheConfigurationFileWouldHoldThem) {
  EXPECT_EQ(serializeRuntimeSettings({{"dhcp.range_last_host", "99"}, {"dhcp.lease_time", "7200"},
                                      {"tethering.auto_tether", "usb wifi"}}),
            "# Set on tetherd's web page; applied over tetherd.conf. Remove to go back to it.\n"
            "[dhcp]\nlease_time = 7200\nrange_last_host = 99\n"
            "[tethering]\nauto_tether = usb wifi\n");
}

// A change is checked as a whole: a range whose two ends are each fine but not together is
// refused; one that moves past its old end is accepted. The error names the key.
TEST(RuntimeSettings, ChangeIsCheckedWholeAndTheErrorNamesTheKey) {
  Config running = defaultConfig();
  running.rangeFirstHost = 200;
  running.rangeLastHost = 210;
  // 200-210 -> 220-230: the first end alone (220-210) would be refused, the change is fine.
  auto c = applyRuntimeSettings(running, {{"dhcp.range_first_host", "220"}, {"dhcp.range_last_host", "230"}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->rangeFirstHost, 220);
  EXPECT_EQ(c->rangeLastHost, 230);

  auto bad = applyRuntimeSettings(running, {{"dhcp.range_first_host", "205"}, {"dhcp.range_last_host", "201"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "web-settings:0: [dhcp] range_first_host is greater than range_last_host");
  bad = applyRuntimeSettings(running, {{"dhcp.lease_time", "1h"}, {"dhcp.range_last_host", "70000"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "web-settings:4: key 'range_last_host' in [dhcp]: must be between 2 and 65000");
  bad = applyRuntimeSettings(running, {{"dhcp.range_last_host", "300"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "web-settings: [dhcp] range_last_host 300 does not fit in subnet 192.168.42.0/24");
}

TEST(RuntimeSettings, SavedPrivatelyAndAppliedAtTheNextLoad) {
  auto dir = freshTestDir("runtime-settings");
  Config c = testConfig(dir, {"eth0"});
  ASSERT_TRUE(saveRuntimeSettings(c.stateDir, {{"dhcp.lease_time", "7200"}}));
  struct stat st {};
  ASSERT_EQ(::stat(runtimeSettingsPath(c.stateDir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = loadRuntimeSettings(c.stateDir);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, (RuntimeSettings{{"dhcp.lease_time", "7200"}}));
  EXPECT_EQ(withRuntimeSettings(c).leaseTimeSec, 7200);

  // A file that no longer fits the configuration is left out whole: the file's values win.
  std::ofstream(runtimeSettingsPath(c.stateDir)) << "[dhcp]\nlease_time = 7200\nrange_last_host = 60000\n";
  Config kept = withRuntimeSettings(c);
  EXPECT_EQ(kept.leaseTimeSec, 3600);
  EXPECT_EQ(kept.rangeLastHost, 250);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(*loadRuntimeSettings(c.stateDir), RuntimeSettings{}) << "no file: nothing";
}
