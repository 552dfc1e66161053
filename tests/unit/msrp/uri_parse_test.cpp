#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "msrp/uri.h"

namespace msrpd::msrp {
namespace {

Uri parse_ok(std::string_view text) {
  auto r = parse_uri(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Uri{};
}

TEST(UriParse, RfcExampleWithPortSessionAndTransport) {
  Uri u = parse_ok("msrp://atlanta.example.com:7654/jshA7weztas;tcp");
  EXPECT_FALSE(u.secure);
  EXPECT_EQ(u.scheme, "msrp");
  EXPECT_FALSE(u.has_userinfo);
  EXPECT_EQ(u.host, "atlanta.example.com");
  EXPECT_EQ(u.host_kind, HostKind::name);
  EXPECT_TRUE(u.has_port);
  EXPECT_EQ(u.port, 7654);
  EXPECT_TRUE(u.has_session);
  EXPECT_EQ(u.session_id, "jshA7weztas");
  EXPECT_EQ(u.transport, "tcp");
  EXPECT_TRUE(u.params().empty());
  EXPECT_FALSE(u.ip_without_port());
}

TEST(UriParse, SecureSchemeSetsSecure) {
  Uri u = parse_ok("msrps://bob.example.com:8888/9di4ea;tcp");
  EXPECT_TRUE(u.secure);
  EXPECT_EQ(u.scheme, "msrps");
  EXPECT_EQ(u.host, "bob.example.com");
  EXPECT_EQ(u.port, 8888);
  EXPECT_EQ(u.session_id, "9di4ea");
}

TEST(UriParse, RelayUriWithoutPortOrSession) {
  Uri u = parse_ok("msrps://relay.example.com;tcp");
  EXPECT_TRUE(u.secure);
  EXPECT_EQ(u.host, "relay.example.com");
  EXPECT_FALSE(u.has_port);
  EXPECT_EQ(u.port, 0);
  EXPECT_FALSE(u.has_session);
  EXPECT_EQ(u.session_id, "");
  EXPECT_EQ(u.transport, "tcp");
  EXPECT_FALSE(u.ip_without_port());
}

TEST(UriParse, Ipv6LiteralHostWithoutBrackets) {
  Uri u = parse_ok("msrp://[2001:db8::1]:2855/s1;tcp");
  EXPECT_EQ(u.host, "2001:db8::1");
  EXPECT_EQ(u.host_kind, HostKind::ipv6);
  EXPECT_EQ(u.ip[0], 0x20);
  EXPECT_EQ(u.ip[1], 0x01);
  EXPECT_EQ(u.ip[15], 0x01);
  EXPECT_EQ(u.port, 2855);
  EXPECT_EQ(u.session_id, "s1");
}

TEST(UriParse, Ipv4HostIsAnAddress) {
  Uri u = parse_ok("msrp://192.0.2.10:2855/abc;tcp");
  EXPECT_EQ(u.host_kind, HostKind::ipv4);
  EXPECT_EQ(u.ip[0], 192);
  EXPECT_EQ(u.ip[3], 10);
}

TEST(UriParse, NonDottedQuadIsAName) {
  EXPECT_EQ(parse_ok("msrp://192.0.2.256:1;tcp").host_kind, HostKind::name);
  EXPECT_EQ(parse_ok("msrp://192.0.2:1;tcp").host_kind, HostKind::name);
  EXPECT_EQ(parse_ok("msrp://192.0.2.01:1;tcp").host_kind, HostKind::name);
}

TEST(UriParse, NumericIpWithoutPortIsAcceptedButFlagged) {
  EXPECT_TRUE(parse_ok("msrp://192.0.2.1/abc;tcp").ip_without_port());
  EXPECT_TRUE(parse_ok("msrps://[::1];tcp").ip_without_port());
  EXPECT_FALSE(parse_ok("msrps://[::1]:1;tcp").ip_without_port());
}

TEST(UriParse, UserinfoIsSeparated) {
  Uri u = parse_ok("msrps://alice@atlanta.example.com:7654/a;tcp");
  EXPECT_TRUE(u.has_userinfo);
  EXPECT_EQ(u.userinfo, "alice");
  EXPECT_EQ(u.host, "atlanta.example.com");
}

TEST(UriParse, UserinfoMayHoldSubDelimsAndPercentEncoding) {
  Uri u = parse_ok("msrp://al%41ice;x=1@h.example:1/a;tcp");
  EXPECT_EQ(u.userinfo, "al%41ice;x=1");
  EXPECT_EQ(u.host, "h.example");
  EXPECT_EQ(u.transport, "tcp");
}

TEST(UriParse, SchemeIsCaseInsensitive) {
  Uri u = parse_ok("MSRPS://Host.Example:9/x;TCP");
  EXPECT_TRUE(u.secure);
  EXPECT_EQ(u.scheme, "MSRPS");
  EXPECT_EQ(u.host, "Host.Example");
  EXPECT_EQ(u.transport, "TCP");
}

TEST(UriParse, SessionIdAllowsPlusEqualsSlash) {
  EXPECT_EQ(parse_ok("msrp://h:1/a+b=c/d.e_f~g-h;tcp").session_id, "a+b=c/d.e_f~g-h");
}

TEST(UriParse, OtherTransportAndParameters) {
  Uri u = parse_ok("msrp://h:1/s;ws;foo=bar;baz");
  EXPECT_EQ(u.transport, "ws");
  EXPECT_EQ(u.params_text, "foo=bar;baz");
  std::vector<std::string> seen;
  for (const UriParam& p : u.params())
    seen.push_back(std::string(p.name) + (p.has_value ? "=" + std::string(p.value) : std::string("!")));
  EXPECT_EQ(seen, (std::vector<std::string>{"foo=bar", "baz!"}));
  auto foo = u.params().find("FOO");
  ASSERT_TRUE(foo.has_value());
  EXPECT_EQ(foo->value, "bar");
  EXPECT_FALSE(u.params().find("qux").has_value());
}

TEST(UriParse, LargestPortAccepted) {
  EXPECT_EQ(parse_ok("msrp://h:65535;tcp").port, 65535);
}

TEST(UriParse, ViewsPointIntoTheInput) {
  std::string text = "msrp://h.example:1/sess;tcp";
  Uri u = parse_ok(text);
  EXPECT_EQ(u.host.data(), text.data() + 7);
  EXPECT_EQ(u.session_id.data(), text.data() + 19);
}

struct BadUri {
  const char* text;
  const char* message;
};

class UriParseRejects : public ::testing::TestWithParam<BadUri> {};

TEST_P(UriParseRejects, With400AndMessage) {
  auto r = parse_uri(GetParam().text);
  ASSERT_FALSE(r.ok()) << GetParam().text;
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, UriParseRejects,
    ::testing::Values(BadUri{"", "bad scheme: want msrp:// or msrps://"},
                      BadUri{"sip:a@b;tcp", "bad scheme: want msrp:// or msrps://"},
                      BadUri{"msrp:/h:1;tcp", "bad scheme: want msrp:// or msrps://"},
                      BadUri{"msrpx://h:1;tcp", "bad scheme: want msrp:// or msrps://"},
                      BadUri{"msrp://h.example:7654/abc", "missing ;transport"},
                      BadUri{"msrp://h.example", "missing ;transport"},
                      BadUri{"msrp://h:1/s;", "empty transport at 13"},
                      BadUri{"msrp://h:1/s;t-p", "bad character '-' in transport at 14"},
                      BadUri{"msrp://;tcp", "empty host"}, BadUri{"msrp://:80;tcp", "empty host"},
                      BadUri{"msrp://alice@;tcp", "empty host"},
                      BadUri{"msrp://h:65536;tcp", "port out of range at 9"},
                      BadUri{"msrp://h:0;tcp", "port out of range at 9"},
                      BadUri{"msrp://h:99999999999999;tcp", "port out of range at 9"},
                      BadUri{"msrp://h:;tcp", "empty port at 9"},
                      BadUri{"msrp://h:8a;tcp", "bad character 'a' in port at 10"},
                      BadUri{"msrp://h:1/;tcp", "empty session-id at 11"},
                      BadUri{"msrp://h:1/ab?cd;tcp", "bad character '?' in session-id at 13"},
                      BadUri{"msrp://host:12/a b;tcp", "bad character '\\x20' in session-id at 16"},
                      BadUri{"msrp://alice:secret@h:1;tcp", "password not allowed in userinfo at 12"},
                      BadUri{"msrp://al[ce@h:1;tcp", "bad character '[' in userinfo at 9"},
                      BadUri{"msrp://a%4@h:1;tcp", "bad character '%' in userinfo at 8"},
                      BadUri{"msrp://h<st:1;tcp", "bad character '<' in host at 8"},
                      BadUri{"msrp://h%zz:1;tcp", "bad character '%' in host at 8"},
                      BadUri{"msrp://[::1:1;tcp", "unterminated IPv6 literal at 7"},
                      BadUri{"msrp://[]:1;tcp", "empty host"},
                      BadUri{"msrp://[1.2.3.4]:1;tcp", "bad IPv6 address '1.2.3.4' at 7"},
                      BadUri{"msrp://[fe80::1%25eth0]:1;tcp", "bad IPv6 address 'fe80::1%25eth0' at 7"},
                      BadUri{"msrp://[::1]x:1;tcp", "bad character 'x' in host at 12"},
                      BadUri{"msrp://h:1/s;tcp;", "empty parameter at 17"},
                      BadUri{"msrp://h:1/s;tcp;;a", "empty parameter at 17"},
                      BadUri{"msrp://h:1/s;tcp;a=", "empty parameter value at 19"},
                      BadUri{"msrp://h:1/s;tcp;a=b=c", "bad character '=' in parameter value at 20"},
                      BadUri{"msrp://h:1/s;tcp;a\"b", "bad character '\"' in parameter at 18"},
                      BadUri{"msrp://h:1/s;tcp\r\n", "bad character '\\x0d' in transport at 16"}));

}  // namespace
}  // namespace msrpd::msrp
