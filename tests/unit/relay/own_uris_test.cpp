// OwnUris: which URI authorities are this relay's (RFC 4976 §6.2).

#include "relay/own_uris.h"

#include <gtest/gtest.h>

namespace msrpd::relay {
namespace {

TEST(UriAuthority, HostPortDefaultPortAndIpv6) {
  std::string_view host;
  uint16_t port = 0;
  ASSERT_TRUE(uri_authority("msrp://127.0.0.1:5060/s1;tcp", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 5060);
  ASSERT_TRUE(uri_authority("msrps://Relay.Example.COM/s1;tcp", host, port));
  EXPECT_EQ(host, "Relay.Example.COM");
  EXPECT_EQ(port, 2855);  // RFC 4976 §8
  ASSERT_TRUE(uri_authority("msrp://user@[::1]:7000;tcp", host, port));
  EXPECT_EQ(host, "[::1]");
  EXPECT_EQ(port, 7000);
  EXPECT_FALSE(uri_authority("msrp://:7000/s;tcp", host, port));
  EXPECT_FALSE(uri_authority("msrp://h:0/s;tcp", host, port));
  EXPECT_FALSE(uri_authority("msrp://h:x/s;tcp", host, port));
  EXPECT_FALSE(uri_authority("no-scheme", host, port));
}

TEST(UriSession, BetweenTheSlashAndTheFirstSemicolon) {
  EXPECT_EQ(uri_session("msrp://127.0.0.1:5060/abc123;tcp"), "abc123");
  EXPECT_EQ(uri_session("msrp://127.0.0.1:5060;tcp"), "");
  EXPECT_EQ(uri_session("msrp://h/s"), "s");
}

TEST(OwnUris, ListenAddressesNamesAndPorts) {
  OwnUris own;
  own.add_listen("192.0.2.7", 2855);
  own.add_listen("192.0.2.7", 2856);
  own.add_name("relay.example.net");         // every listen port
  own.add_name("msrp://198.51.100.1:9000");  // use_path_addr form
  EXPECT_TRUE(own.is_own_uri("msrp://192.0.2.7:2855/s;tcp", "192.0.2.7"));
  EXPECT_TRUE(own.is_own_uri("msrps://192.0.2.7:2856;tcp", "192.0.2.7"));
  EXPECT_FALSE(own.is_own_uri("msrp://192.0.2.7:2857/s;tcp", "192.0.2.7"));
  EXPECT_TRUE(own.is_own_uri("msrp://RELAY.example.net/s;tcp", {}));  // 2855, any case
  EXPECT_TRUE(own.is_own_uri("msrp://relay.example.net:2856/s;tcp", {}));
  EXPECT_FALSE(own.is_own_uri("msrp://relay.example.net:9000/s;tcp", {}));
  EXPECT_TRUE(own.is_own_uri("msrp://198.51.100.1:9000/s;tcp", {}));
  EXPECT_FALSE(own.is_own_uri("msrp://198.51.100.1:2855/s;tcp", {}));
  EXPECT_FALSE(own.is_own_uri("msrp://localhost:2855/s;tcp", {}));  // not a loopback listen
}

TEST(OwnUris, WildcardListenMatchesTheArrivalAddressAndLoopbackIsLocalhost) {
  OwnUris own;
  own.add_listen("0.0.0.0", 2855);
  own.add_listen("::1", 7000);
  EXPECT_TRUE(own.is_own_uri("msrp://203.0.113.9:2855/s;tcp", "203.0.113.9"));
  EXPECT_FALSE(own.is_own_uri("msrp://203.0.113.9:2855/s;tcp", "203.0.113.10"));
  EXPECT_TRUE(own.is_own_uri("msrp://localhost:2855/s;tcp", {}));
  EXPECT_TRUE(own.is_own_uri("msrp://[::1]:7000/s;tcp", {}));
  EXPECT_TRUE(own.is_own_uri("msrp://localhost:7000/s;tcp", {}));
  EXPECT_FALSE(own.is_own_uri("msrp://[::1]:2856/s;tcp", {}));
}

TEST(OwnUris, NamesTheRouteHandsOutAreLearned) {
  OwnUris own;
  own.add_listen("127.0.0.1", 40000);
  EXPECT_FALSE(own.is_own("127.0.0.1", 5060, {}));
  EXPECT_TRUE(own.learn("127.0.0.1", 5060));
  EXPECT_FALSE(own.learn("127.0.0.1", 5060));  // once
  EXPECT_TRUE(own.is_own_uri("msrp://127.0.0.1:5060/s.1.2;tcp", {}));
  EXPECT_FALSE(own.learn("127.0.0.1", 40000));  // already a listen address
}

}  // namespace
}  // namespace msrpd::relay
