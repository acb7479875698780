#include "tether/system/policy_routing.h"

namespace tetherd {

namespace {
std::string tableName(uint32_t t) { return t == kMainTable ? "main" : std::to_string(t); }
}  // namespace

std::string TableRoute::str() const {
  if (family == 6) {
    std::string s = "-6 table " + tableName(table) + " ";
    s += dst6.length == 0 ? std::string("default") : dst6.str();
    if (gateway6 != Ipv6Address{}) s += " via " + gateway6.str();
    s += " dev " + ifname;
    if (metric != 0) s += " metric " + std::to_string(metric);
    return s;
  }
  std::string s = "table " + tableName(table) + " ";
  s += dst.length == 0 ? std::string("default") : dst.str();
  if (gateway.value != 0) s += " via " + gateway.str();
  s += " dev " + ifname;
  if (gateway.value == 0) s += " scope link";
  if (metric != 0) s += " metric " + std::to_string(metric);
  return s;
}

std::string PolicyRule::str() const {
  std::string s = (family == 6 ? "-6 " : "") + std::to_string(priority) + ":";
  if (iif.empty() && oif.empty()) s += " from all";
  if (uid) s += " uidrange " + std::to_string(*uid) + "-" + std::to_string(*uid);
  if (!iif.empty()) s += " iif " + iif;
  if (!oif.empty()) s += " oif " + oif;
  s += " lookup " + tableName(table);
  if (suppressDefault) s += " suppress_prefixlength 0";
  return s;
}

}  // namespace tetherd
