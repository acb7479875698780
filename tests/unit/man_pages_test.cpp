// tetherd.conf(5) (docs/man/tetherd.conf.5.scd) describes every section and key the config
// parser accepts (config_keys::sectionTable(), the table the parser walks), each under its own
// "# [section]" heading, so the page cannot drift from the parser silently; and the keys it
// lists for [upstream.<if>] are ones the parser knows.
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "config/config_keys.h"

using namespace tetherd;

namespace {

std::string page() {
  std::ifstream in(std::string(TETHERD_SOURCE_DIR) + "/docs/man/tetherd.conf.5.scd");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text under "# <heading>" up to the next heading; "" when there is no such heading.
std::string sectionText(const std::string& text, const std::string& heading) {
  const std::string h = "\n# " + heading + "\n";
  const auto at = text.find(h);
  if (at == std::string::npos) return "";
  const auto end = text.find("\n# ", at + h.size());
  return text.substr(at + h.size(), end == std::string::npos ? std::string::npos : end - at - h.size());
}

}  // namespace

TEST(ManPages, EveryConfigKeyIsInTetherdConf5UnderItsSection) {
  const std::string text = page();
  ASSERT_FALSE(text.empty());
  size_t keys = 0;
  for (const auto& [section, table] : config_keys::sectionTable()) {
    const std::string body = sectionText(text, "[" + section + "]");
    EXPECT_FALSE(body.empty()) << "tetherd.conf(5) has no \"# [" << section << "]\" section";
    for (const auto& [key, setter] : table) {
      ++keys;
      EXPECT_NE(body.find("*" + key + "*"), std::string::npos)
          << "tetherd.conf(5) does not describe [" << section << "] " << key;
    }
  }
  EXPECT_GT(keys, 40u);
}

TEST(ManPages, TheUpstreamInterfaceKeysInTetherdConf5AreKnown) {
  const std::string body = sectionText(page(), "[upstream._IF_]");
  ASSERT_FALSE(body.empty());
  const std::regex keyLine(R"(^\*([a-z_]+)\* =)");
  size_t n = 0;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, keyLine)) continue;
    ++n;
    Config c;
    bool known = false;
    config_keys::setUpstreamKey(c, "eth0", m[1], "", known);
    EXPECT_TRUE(known) << "tetherd.conf(5) lists [upstream.<if>] " << m[1] << ", which the parser does not know";
  }
  EXPECT_GE(n, 1u);
  Config c;
  bool known = false;
  config_keys::setUpstreamKey(c, "eth0", "dns", "", known);
  ASSERT_TRUE(known);
  EXPECT_NE(body.find("*dns*"), std::string::npos);
}
