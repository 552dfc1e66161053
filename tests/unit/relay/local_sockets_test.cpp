// msrp_set_dst's sock at run time (issue 12 item 13): which listen socket it names, with the ports
// actually bound, and the connection reuse that must come from its address.

#include <gtest/gtest.h>

#include "relay/address_index.h"
#include "relay/engine.h"
#include "relay/local_sockets.h"

namespace msrpd::relay {
namespace {

std::string found(const LocalSockets& s, std::string_view sock) {
  auto name = SockName::parse(sock);
  if (!name) return "bad: " + name.error().message;
  LocalSockets::IpText buf;
  auto ip = s.find(*name, buf);
  return ip ? std::string(*ip) : "none";
}

TEST(LocalSockets, ASockNamesAListenSocketWithItsBoundPort) {
  LocalSockets s;
  // Port 0 in the config (an ephemeral port): the one bound counts.
  s.assign({{"tcp", "127.0.0.1", 0, {}}, {"tls", "::1", 5061, {}}}, {40000, 5061});
  EXPECT_EQ(found(s, "tcp:127.0.0.1:40000"), "127.0.0.1");
  EXPECT_EQ(found(s, "tcp:127.0.0.1:40001"), "none");
  EXPECT_EQ(found(s, "tls:127.0.0.1:40000"), "none");
  // The address as the kernel writes it (inet_ntop), whatever form the sock used.
  EXPECT_EQ(found(s, "tls:[0:0:0:0:0:0:0:1]:5061"), "::1");
  EXPECT_EQ(found(s, "tcp:[::1]:5061"), "none");
  EXPECT_EQ(s.describe(), "tcp:127.0.0.1:40000, tls:[::1]:5061");
}

TEST(LocalSockets, AWildcardListenAddressStandsForEveryAddressOfItsFamily) {
  LocalSockets s;
  s.assign({{"tcp", "0.0.0.0", 5060, {}}}, {5060});
  EXPECT_EQ(found(s, "tcp:127.0.0.2:5060"), "127.0.0.2");
  EXPECT_EQ(found(s, "tcp:[::1]:5060"), "none");
  EXPECT_EQ(found(s, "tcp:127.0.0.2:5061"), "none");
}

TEST(AddressIndexLocal, AConnectionFromAnotherLocalAddressIsNotFoundForASock) {
  AddressIndex index;
  index.add(false, "10.0.0.1", 2855, 7, "127.0.0.1");
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855), 7u);
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.1"), 7u);
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.2"), 0u);
  index.add(false, "10.0.0.1", 2855, 9, "127.0.0.2");
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.1"), 7u);
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.2"), 9u);
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855), 9u);  // the newest, without a sock
  index.remove(false, "10.0.0.1", 2855, 7, "127.0.0.1");
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.1"), 0u);
  EXPECT_EQ(index.find(false, "10.0.0.1", 2855, "127.0.0.2"), 9u);
}

}  // namespace
}  // namespace msrpd::relay
