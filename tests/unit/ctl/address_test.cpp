// Control addresses as Kamailio's ctl writes them; IPv6 hosts are kept without brackets and printed
// with them (RFC 3986 §3.2.2).

#include "ctl/address.h"

#include <gtest/gtest.h>

namespace msrpd::ctl {
namespace {

TEST(CtlAddress, TcpAddressesWithAndWithoutPort) {
  auto a = parse_ctl_address("tcp:127.0.0.1:2050");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, CtlAddress::Kind::Tcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2050);
  EXPECT_EQ(a->to_string(), "tcp:127.0.0.1:2050");
  auto b = parse_ctl_address("localhost");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, kDefaultCtlPort);
  auto any = parse_ctl_address("127.0.0.1:0");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->port, 0);
}

TEST(CtlAddress, Ipv6HostsLoseTheirBracketsAndGetThemBackWhenPrinted) {
  auto a = parse_ctl_address("tcp:[::1]:2050");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 2050);
  EXPECT_EQ(a->to_string(), "tcp:[::1]:2050");
  auto b = parse_ctl_address("tcp:[::1]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, kDefaultCtlPort);
  auto bare = parse_ctl_address("tcp:::1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "::1");
  EXPECT_EQ(bare->port, kDefaultCtlPort);
}

TEST(CtlAddress, MalformedTcpAddressesAreRefused) {
  EXPECT_FALSE(parse_ctl_address("tcp:"));
  EXPECT_FALSE(parse_ctl_address("tcp:host:"));
  EXPECT_FALSE(parse_ctl_address("tcp:host:x"));
  EXPECT_FALSE(parse_ctl_address("tcp:host:65536"));
  EXPECT_FALSE(parse_ctl_address("tcp:[::1"));
  EXPECT_FALSE(parse_ctl_address("tcp:[::1]x"));
  EXPECT_FALSE(parse_ctl_address("tcp:[]:80"));
}

TEST(CtlAddress, UnixAddresses) {
  auto a = parse_ctl_address("unix:/tmp/ctl");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, CtlAddress::Kind::Unix);
  EXPECT_EQ(a->path, "/tmp/ctl");
  EXPECT_EQ(a->to_string(), "unix:/tmp/ctl");
}

}  // namespace
}  // namespace msrpd::ctl
