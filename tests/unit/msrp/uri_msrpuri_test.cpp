// The Kamailio {msrpuri.key} view (research/kamailio-msrp.md §3).
#include <gtest/gtest.h>

#include <string>

#include "msrp/uri.h"

namespace msrpd::msrp {
namespace {

std::string key(std::string_view uri, std::string_view name) {
  auto k = msrpuri_key(name);
  EXPECT_TRUE(k.has_value()) << name;
  auto parts = split_msrpuri(uri);
  EXPECT_TRUE(parts.ok()) << uri;
  if (!k || !parts.ok()) return "<error>";
  return std::string(msrpuri_get(*parts, *k));
}

TEST(MsrpUri, KeysOfAFullUri) {
  const char* u = "msrps://alice:x@atlanta.example.com:7654/jshA7weztas;tcp";
  EXPECT_EQ(key(u, "scheme"), "msrps");
  EXPECT_EQ(key(u, "userinfo"), "alice:x");
  EXPECT_EQ(key(u, "user"), "alice");
  EXPECT_EQ(key(u, "host"), "atlanta.example.com");
  EXPECT_EQ(key(u, "port"), "7654");
  EXPECT_EQ(key(u, "session"), "jshA7weztas");
  EXPECT_EQ(key(u, "proto"), "tcp");
  EXPECT_EQ(key(u, "params"), "");
}

TEST(MsrpUri, KeyNamesAreCaseInsensitive) {
  EXPECT_EQ(msrpuri_key("HOST"), MsrpUriKey::host);
  EXPECT_EQ(msrpuri_key("Session"), MsrpUriKey::session);
  EXPECT_EQ(msrpuri_key("scheme"), MsrpUriKey::scheme);
  EXPECT_FALSE(msrpuri_key("transport").has_value());
  EXPECT_FALSE(msrpuri_key("").has_value());
}

TEST(MsrpUri, UserStopsAtColon) {
  EXPECT_EQ(key("msrp://bob:pw@h:1/s;tcp", "user"), "bob");
  EXPECT_EQ(key("msrp://bob:pw@h:1/s;tcp", "userinfo"), "bob:pw");
}

TEST(MsrpUri, AtAfterFirstSemicolonIsNotUserinfoButStillStartsTheHost) {
  EXPECT_EQ(key("msrp://h:1/s;tcp;x=a@b", "userinfo"), "");
  EXPECT_EQ(key("msrp://h:1/s;tcp;x=a@b", "user"), "");
  EXPECT_EQ(key("msrp://h:1/s;tcp;x=a@b", "host"), "b");
}

TEST(MsrpUri, PortIsReadLikeStr2sint) {
  EXPECT_EQ(key("msrp://h:12ab/s;tcp", "port"), "12ab");
  EXPECT_EQ(key("msrp://h:+80/s;tcp", "port"), "+80");
  EXPECT_EQ(key("msrp://h:/s;tcp", "port"), "");
  EXPECT_EQ(key("msrp://h:/s;tcp", "session"), "s");
}

TEST(MsrpUri, PartsAreCutAtTheFirstColonSlashSemicolon) {
  EXPECT_EQ(key("msrp://h/a:1;tcp", "host"), "h/a");
  EXPECT_EQ(key("msrp://h/a:1;tcp", "port"), "1");
  EXPECT_EQ(key("msrp://h/a:1;tcp", "session"), "");
  EXPECT_EQ(key("msrp://h:1/a/b;tcp", "session"), "a/b");
  // The '/' is searched before the ';', wherever they are.
  EXPECT_EQ(key("msrp://h:1;tcp/x", "port"), "1;tcp");
  EXPECT_EQ(key("msrp://h:1;tcp/x", "session"), "x");
  EXPECT_EQ(key("msrp://h:1;tcp/x", "params"), "");
}

TEST(MsrpUri, LastPartIsTrimmed) {
  EXPECT_EQ(key("msrp://h:1/s;tcp \r\n", "proto"), "tcp");
  EXPECT_EQ(key("msrp://h:1/s;tcp \r\n", "params"), "");
  EXPECT_EQ(key("msrp://h:1/s ", "session"), "s");
}

TEST(MsrpUri, SchemeKeptAsWritten) {
  EXPECT_EQ(key("MSRP://h:1/s;tcp", "scheme"), "MSRP");
}

TEST(MsrpUri, Ipv6HostKeepsBrackets) {
  EXPECT_EQ(key("msrp://[2001:db8::1]:2855/s1;tcp", "host"), "[2001:db8::1]");
  EXPECT_EQ(key("msrp://[2001:db8::1]:2855/s1;tcp", "port"), "2855");
}

TEST(MsrpUri, MissingPartsAreEmpty) {
  const char* u = "msrps://relay.example.com;tcp";
  EXPECT_EQ(key(u, "user"), "");
  EXPECT_EQ(key(u, "userinfo"), "");
  EXPECT_EQ(key(u, "port"), "");
  EXPECT_EQ(key(u, "session"), "");
  EXPECT_EQ(key(u, "host"), "relay.example.com");
}

TEST(MsrpUri, NoTransportIsAccepted) {
  EXPECT_EQ(key("msrp://h.example:99/abc", "session"), "abc");
  EXPECT_EQ(key("msrp://h.example:99/abc", "proto"), "");
}

TEST(MsrpUri, TcpAloneGivesEmptyParams) {
  EXPECT_EQ(key("msrp://h:1/s;tcp", "proto"), "tcp");
  EXPECT_EQ(key("msrp://h:1/s;tcp", "params"), "");
}

TEST(MsrpUri, TcpWithMoreParamsKeepsTcpInParams) {
  EXPECT_EQ(key("msrp://h:1/s;tcp;x=y", "proto"), "tcp");
  EXPECT_EQ(key("msrp://h:1/s;tcp;x=y", "params"), "tcp;x=y");
}

TEST(MsrpUri, WsIsAProto) {
  EXPECT_EQ(key("msrp://h:1/s;ws", "proto"), "ws");
  EXPECT_EQ(key("msrp://h:1/s;ws", "params"), "");
  EXPECT_EQ(key("msrp://h:1/s;ws;x=y", "proto"), "ws");
  EXPECT_EQ(key("msrp://h:1/s;ws;x=y", "params"), "ws;x=y");
}

TEST(MsrpUri, LongerParamsBeginningWithTcpOrWsKeepThemWhole) {
  EXPECT_EQ(key("msrp://h:1/s;tcpx", "proto"), "tcp");
  EXPECT_EQ(key("msrp://h:1/s;tcpx", "params"), "tcpx");
  EXPECT_EQ(key("msrp://h:1/s;WSS", "proto"), "WS");
  EXPECT_EQ(key("msrp://h:1/s;WSS", "params"), "WSS");
}

TEST(MsrpUri, OtherFirstParamIsProtoAndRestIsParams) {
  EXPECT_EQ(key("msrp://h:1/s;sctp;x=y;z", "proto"), "sctp");
  EXPECT_EQ(key("msrp://h:1/s;sctp;x=y;z", "params"), "x=y;z");
  EXPECT_EQ(key("msrp://h:1/s;sctp", "params"), "");
}

TEST(MsrpUri, RejectsWhatKamailioRejects) {
  for (std::string_view bad : {"msrp://", "sip:a@b.example;tcp", "msrp://h:0/s;tcp", "msrp://h:65536/s;tcp",
                               "msrp://h:x/s;tcp", "msrp://h:-1/s;tcp", "msrp://a@", "msrp://h:1/",
                               "msrp://h:1/s;", "msrp://h:", "msrp://:1/s;tcp", "msrp://u@:1/s;tcp"}) {
    auto r = split_msrpuri(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().status, 400);
    }
  }
}

}  // namespace
}  // namespace msrpd::msrp
