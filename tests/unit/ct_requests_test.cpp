// ctnetlink's requests and IPv6 entries (issue 13: the flows masqueraded by nat66 to the old
// upstream's IPv6 address are removed at a switch, like IPv4's): the dump and delete requests
// byte for byte, and an entry as the kernel sends it.
#include "tether/system/ct_requests.h"

#include <gtest/gtest.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <string>
#include <vector>

using namespace tetherd;

namespace {

// A UDP flow fd00:1::1.40000 -> fd00:2::9.53 source-NATed (nft `snat to fd00:1::77`), as the
// kernel 6.18 dumps it: IPCTNL_MSG_CT_NEW, AF_INET6, CTA_TUPLE_ORIG, CTA_TUPLE_REPLY (to
// fd00:1::77), CTA_STATUS, CTA_MARK, CTA_ID, CTA_USE, CTA_TIMEOUT; no CTA_ZONE.
const char kNated6[] =
    "d40000000001220001000000642200000a0000004c0001802c00018014000300fd000001000000000000000000000001"
    "14000400fd0000020000000000000000000000091c0002800500010011000000060002009c40000006000300003500"
    "004c0002802c00018014000300fd00000200000000000000000000000914000400fd0000010000000000000000000000"
    "771c00028005000100110000000600020000350000060003009c4000000800030000000198080008000000000008000c"
    "00eddc8ff408000b0000000002080007000000001e";

std::vector<uint32_t> bytes(const std::string& hex) {
  std::vector<uint32_t> buf((hex.size() / 2 + 3) / 4);
  auto* b = reinterpret_cast<unsigned char*>(buf.data());
  for (size_t i = 0; i + 1 < hex.size(); i += 2) b[i / 2] = static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return buf;
}

nlmsghdr* hdr(std::vector<uint32_t>& buf) { return reinterpret_cast<nlmsghdr*>(buf.data()); }

std::string hexOf(nl_msg* m) {
  const nlmsghdr* h = nlmsg_hdr(m);
  const auto* p = reinterpret_cast<const unsigned char*>(h);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint32_t i = 0; i < h->nlmsg_len; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

Ipv6Address A(const char* s) { return *Ipv6Address::parse(s); }

TEST(CtRequests, DumpOfOneFamily) {
  // nlmsghdr: 20 bytes, IPCTNL_MSG_CT_GET of subsystem CTNETLINK (0x0101), NLM_F_DUMP (0x300);
  // seq and port are filled in when sent. nfgenmsg: the family, NFNETLINK_V0, res_id 0.
  EXPECT_EQ(hexOf(ctnl::dumpRequest(AF_INET6).get()), "14000000010100030000000000000000" "0a000000");
  EXPECT_EQ(hexOf(ctnl::dumpRequest(AF_INET).get()), "14000000010100030000000000000000" "02000000");
}

TEST(CtRequests, AnIpv6EntryAsTheKernelSendsIt) {
  auto buf = bytes(kNated6);
  ASSERT_EQ(hdr(buf)->nlmsg_len, 0xd4u);
  auto e = ctnl::parseEntry6(hdr(buf));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, (CtEntry6{A("fd00:1::1"), A("fd00:2::9"), A("fd00:2::9"), A("fd00:1::77"), 17}));
  EXPECT_TRUE(natedTo6(*e, A("fd00:1::77")));
  EXPECT_FALSE(natedTo6(*e, A("fd00:1::1")));  // its source: not NATed to it
  CtEntry6 own = *e;
  own.origSrc = own.replyDst;  // the appliance's own flow from that address: left alone
  EXPECT_FALSE(natedTo6(own, A("fd00:1::77")));
}

TEST(CtRequests, TheDeleteOfADumpedEntryIsItsOriginalTuple) {
  auto buf = bytes(kNated6);
  auto m = ctnl::deleteRequest(hdr(buf));
  ASSERT_TRUE(m);
  // IPCTNL_MSG_CT_DELETE (0x0102) with NLM_F_ACK, AF_INET6, then CTA_TUPLE_ORIG exactly as dumped.
  EXPECT_EQ(hexOf(m.get()), "60000000020104000000000000000000" "0a000000"
                            "4c0001802c00018014000300fd00000100000000000000000000000114000400fd000002"
                            "0000000000000000000000091c0002800500010011000000060002009c400000060003000035"
                            "0000");
}

TEST(CtRequests, AnythingElseIsRefused) {
  auto v4 = bytes(kNated6);
  reinterpret_cast<unsigned char*>(v4.data())[16] = AF_INET;  // an IPv4 entry: no IPv6 tuple
  EXPECT_FALSE(ctnl::parseEntry6(hdr(v4)));
  auto expect = bytes(kNated6);
  hdr(expect)->nlmsg_type = (2 << 8) | 0;  // NFNL_SUBSYS_CTNETLINK_EXP: an expectation
  EXPECT_FALSE(ctnl::parseEntry6(hdr(expect)));
  EXPECT_FALSE(ctnl::deleteRequest(hdr(expect)));
  auto cut = bytes(kNated6);
  hdr(cut)->nlmsg_len = 16 + 4 + 0x30;  // the original tuple cut short
  EXPECT_FALSE(ctnl::parseEntry6(hdr(cut)));
  auto empty = bytes("14000000000102000100000064220000" "0a000000");
  hdr(empty)->nlmsg_len = 20;  // an entry without attributes
  EXPECT_FALSE(ctnl::parseEntry6(hdr(empty)));
  EXPECT_FALSE(ctnl::deleteRequest(hdr(empty)));
}

}  // namespace
