#include "tether/system/nl80211.h"

#include <linux/nl80211.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <functional>
#include <memory>

#include "tether/base/files.h"
#include "tether/base/ip.h"

namespace tetherd {

namespace {

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

// A generic netlink socket and one nl80211 message with `cmd` (and `flags`) to fill.
struct Request {
  std::unique_ptr<nl_sock, SockDeleter> sk;
  std::unique_ptr<nl_msg, MsgDeleter> msg;
};
Result<Request> nl80211Message(uint8_t cmd, int flags, const std::string& what) {
  Request r{std::unique_ptr<nl_sock, SockDeleter>(nl_socket_alloc()), nullptr};
  if (!r.sk) return makeError(Errc::SystemError, what + ": out of memory");
  if (int e = genl_connect(r.sk.get()); e < 0) return makeError(Errc::SystemError, what + ": genl_connect: " + nl_geterror(e));
  int family = genl_ctrl_resolve(r.sk.get(), "nl80211");
  if (family < 0) return makeError(Errc::Unsupported, what + ": no nl80211 in this kernel (" + nl_geterror(family) + ")");
  r.msg.reset(nlmsg_alloc());
  if (!r.msg || !genlmsg_put(r.msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, 0))
    return makeError(Errc::SystemError, what + ": out of memory");
  return r;
}

// One request, acknowledged: 0 or a negative libnl error.
Status nlRequest(uint8_t cmd, const std::string& what, const std::function<int(nl_msg*)>& fill) {
  auto r = nl80211Message(cmd, 0, what);
  if (!r) return r.error();
  auto& sk = r->sk;
  if (fill(r->msg.get()) < 0) return makeError(Errc::SystemError, what + ": message too large");
  if (int e = nl_send_auto(sk.get(), r->msg.get()); e < 0) return makeError(Errc::SystemError, what + ": send: " + nl_geterror(e));
  int e = nl_wait_for_ack(sk.get());
  if (e >= 0) return {};
  std::string reason = nl_geterror(e);
  if (e == -NLE_BUSY || e == -NLE_OPNOTSUPP)
    return makeError(Errc::Unsupported, what + ": the radio refused (" + reason +
                                            "): its interface combinations do not allow it (iw phy shows them)");
  if (e == -NLE_EXIST) return makeError(Errc::AlreadyExists, what + ": " + reason);
  return makeError(Errc::SystemError, what + ": " + reason);
}

// The attributes of one GET_WIPHY dump message, into `out` (a split dump spreads them over
// several messages for the same wiphy).
void takeWiphyAttrs(nlattr** tb, WiphyModes& out) {
  auto types = [](nlattr* nested, std::set<int>& into) {
    nlattr* t;
    int rem;
    nla_for_each_nested(t, nested, rem) into.insert(nla_type(t));
  };
  if (tb[NL80211_ATTR_SUPPORTED_IFTYPES]) types(tb[NL80211_ATTR_SUPPORTED_IFTYPES], out.supported);
  if (tb[NL80211_ATTR_SOFTWARE_IFTYPES]) types(tb[NL80211_ATTR_SOFTWARE_IFTYPES], out.software);
  if (!tb[NL80211_ATTR_INTERFACE_COMBINATIONS]) return;
  nlattr* comb;
  int rem;
  nla_for_each_nested(comb, tb[NL80211_ATTR_INTERFACE_COMBINATIONS], rem) {
    nlattr* tc[NUM_NL80211_IFACE_COMB] = {};
    if (nla_parse_nested(tc, MAX_NL80211_IFACE_COMB, comb, nullptr) < 0 || !tc[NL80211_IFACE_COMB_LIMITS] ||
        !tc[NL80211_IFACE_COMB_MAXNUM])
      continue;
    IfaceCombination c;
    c.maxTotal = nla_get_u32(tc[NL80211_IFACE_COMB_MAXNUM]);
    c.channels = tc[NL80211_IFACE_COMB_NUM_CHANNELS] ? nla_get_u32(tc[NL80211_IFACE_COMB_NUM_CHANNELS]) : 1;
    nlattr* lim;
    int lrem;
    nla_for_each_nested(lim, tc[NL80211_IFACE_COMB_LIMITS], lrem) {
      nlattr* tl[NUM_NL80211_IFACE_LIMIT] = {};
      if (nla_parse_nested(tl, MAX_NL80211_IFACE_LIMIT, lim, nullptr) < 0 || !tl[NL80211_IFACE_LIMIT_MAX] ||
          !tl[NL80211_IFACE_LIMIT_TYPES])
        continue;
      IfaceLimit l;
      l.max = nla_get_u32(tl[NL80211_IFACE_LIMIT_MAX]);
      types(tl[NL80211_IFACE_LIMIT_TYPES], l.types);
      c.limits.push_back(std::move(l));
    }
    out.combinations.push_back(std::move(c));
  }
}

bool parseMac(const std::string& s, unsigned char out[6]) {
  unsigned v[6];
  char tail;
  if (s.size() != 17 || std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<unsigned char>(v[i]);
  return true;
}

}  // namespace

Result<int> wiphyOf(const std::string& ifname) {
  if (!validIfname(ifname)) return makeError(Errc::InvalidArgument, "'" + ifname + "' is not an interface name");
  auto text = readFile("/sys/class/net/" + ifname + "/phy80211/index", 32);
  if (!text) return makeError(Errc::NotFound, ifname + " is not a Wi-Fi interface (no phy80211)");
  int index = -1;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), index);
  if (ec != std::errc() || index < 0) return makeError(Errc::SystemError, ifname + ": unreadable phy80211/index");
  return index;
}

Status createApInterface(const std::string& stationIf, const std::string& apIf, const std::string& mac) {
  const std::string what = "create " + apIf + " (AP) on " + stationIf + "'s radio";
  auto phy = wiphyOf(stationIf);
  if (!phy) return makeError(phy.error().code, what + ": " + phy.error().message);
  if (!plainIfname(apIf)) return makeError(Errc::InvalidArgument, what + ": not a plain interface name");
  unsigned char addr[6];
  if (!parseMac(mac, addr)) return makeError(Errc::InvalidArgument, what + ": '" + mac + "' is not a MAC address");
  return nlRequest(NL80211_CMD_NEW_INTERFACE, what, [&](nl_msg* m) {
    int e = nla_put_u32(m, NL80211_ATTR_WIPHY, static_cast<uint32_t>(*phy));
    if (e >= 0) e = nla_put_string(m, NL80211_ATTR_IFNAME, apIf.c_str());
    if (e >= 0) e = nla_put_u32(m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_AP);
    if (e >= 0) e = nla_put(m, NL80211_ATTR_MAC, 6, addr);
    return e;
  });
}

Result<WiphyModes> wiphyModes(int wiphy) {
  const std::string what = "radio phy#" + std::to_string(wiphy) + "'s interface modes";
  auto r = nl80211Message(NL80211_CMD_GET_WIPHY, NLM_F_DUMP, what);
  if (!r) return r.error();
  auto& sk = r->sk;
  auto& msg = r->msg;
  if (nla_put_flag(msg.get(), NL80211_ATTR_SPLIT_WIPHY_DUMP) < 0 ||
      nla_put_u32(msg.get(), NL80211_ATTR_WIPHY, static_cast<uint32_t>(wiphy)) < 0)
    return makeError(Errc::SystemError, what + ": out of memory");
  struct State {
    int wiphy;
    bool seen = false;
    WiphyModes modes;
  } state{wiphy, false, {}};
  auto onValid = [](nl_msg* m, void* arg) -> int {
    auto* st = static_cast<State*>(arg);
    nlattr* tb[NL80211_ATTR_MAX + 1] = {};
    if (genlmsg_parse(nlmsg_hdr(m), 0, tb, NL80211_ATTR_MAX, nullptr) < 0 || !tb[NL80211_ATTR_WIPHY] ||
        static_cast<int>(nla_get_u32(tb[NL80211_ATTR_WIPHY])) != st->wiphy)
      return NL_SKIP;
    st->seen = true;
    takeWiphyAttrs(tb, st->modes);
    return NL_OK;
  };
  nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, onValid, &state);
  if (int e = nl_send_auto(sk.get(), msg.get()); e < 0) return makeError(Errc::SystemError, what + ": send: " + nl_geterror(e));
  if (int e = nl_recvmsgs_default(sk.get()); e < 0) return makeError(Errc::SystemError, what + ": " + nl_geterror(e));
  if (!state.seen) return makeError(Errc::NotFound, what + ": no such radio");
  return state.modes;
}

Status deleteWifiInterface(const std::string& ifname) {
  if (!validIfname(ifname)) return makeError(Errc::InvalidArgument, "'" + ifname + "' is not an interface name");
  unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return {};
  return nlRequest(NL80211_CMD_DEL_INTERFACE, "delete " + ifname, [&](nl_msg* m) { return nla_put_u32(m, NL80211_ATTR_IFINDEX, index); });
}

}  // namespace tetherd
