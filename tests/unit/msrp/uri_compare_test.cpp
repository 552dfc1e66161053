#include <gtest/gtest.h>

#include <string>

#include "msrp/uri.h"

namespace msrpd::msrp {
namespace {

Uri must_parse(std::string_view text) {
  auto r = parse_uri(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Uri{};
}

// Checks equivalence both ways, so that each rule of RFC 4975 §6.1 is symmetric.
void expect_same(std::string_view a, std::string_view b, bool same) {
  Uri ua = must_parse(a), ub = must_parse(b);
  EXPECT_EQ(same_uri(ua, ub), same) << a << " vs " << b;
  EXPECT_EQ(same_uri(ub, ua), same) << b << " vs " << a;
}

TEST(UriCompare, IdenticalUrisAreSame) {
  expect_same("msrp://atlanta.example.com:7654/jshA7weztas;tcp",
              "msrp://atlanta.example.com:7654/jshA7weztas;tcp", true);
}

TEST(UriCompare, SchemeIsCaseInsensitive) {
  expect_same("MSRP://h.example:1/s;tcp", "msrp://h.example:1/s;tcp", true);
  expect_same("MsRpS://h.example:1/s;tcp", "msrps://h.example:1/s;tcp", true);
}

TEST(UriCompare, MsrpNeverEqualsMsrps) {
  expect_same("msrp://h.example:1/s;tcp", "msrps://h.example:1/s;tcp", false);
}

TEST(UriCompare, HostIsCaseInsensitive) {
  expect_same("msrp://Atlanta.EXAMPLE.com:1/s;tcp", "msrp://atlanta.example.com:1/s;tcp", true);
}

TEST(UriCompare, HostIsComparedAfterPercentDecoding) {
  expect_same("msrp://%61tlanta.example.com:1/s;tcp", "msrp://Atlanta.example.com:1/s;tcp", true);
}

TEST(UriCompare, DifferentHostsDiffer) {
  expect_same("msrp://a.example.com:1/s;tcp", "msrp://b.example.com:1/s;tcp", false);
  expect_same("msrp://a.example.com:1/s;tcp", "msrp://a.example.co:1/s;tcp", false);
}

TEST(UriCompare, Ipv6ComparedByValue) {
  expect_same("msrp://[::1]:2855/s;tcp", "msrp://[0:0:0:0:0:0:0:1]:2855/s;tcp", true);
  expect_same("msrp://[2001:DB8::1]:2855/s;tcp", "msrp://[2001:db8:0::1]:2855/s;tcp", true);
  expect_same("msrp://[::1]:2855/s;tcp", "msrp://[::2]:2855/s;tcp", false);
}

TEST(UriCompare, Ipv4ComparedByValue) {
  expect_same("msrp://192.0.2.1:2855/s;tcp", "msrp://192.0.2.1:2855/s;tcp", true);
  expect_same("msrp://192.0.2.1:2855/s;tcp", "msrp://192.0.2.2:2855/s;tcp", false);
}

TEST(UriCompare, AddressNeverEqualsName) {
  expect_same("msrp://127.0.0.1:2855/s;tcp", "msrp://localhost:2855/s;tcp", false);
  expect_same("msrp://[::ffff:127.0.0.1]:2855/s;tcp", "msrp://127.0.0.1:2855/s;tcp", false);
}

TEST(UriCompare, UserinfoIsIgnored) {
  expect_same("msrp://alice@h.example:1/s;tcp", "msrp://h.example:1/s;tcp", true);
  expect_same("msrp://alice@h.example:1/s;tcp", "msrp://bob@h.example:1/s;tcp", true);
}

TEST(UriCompare, PortMustMatch) {
  expect_same("msrp://h.example:1/s;tcp", "msrp://h.example:2/s;tcp", false);
  expect_same("msrp://h.example:0002/s;tcp", "msrp://h.example:2/s;tcp", true);
}

TEST(UriCompare, PortNeverEqualsNoPort) {
  expect_same("msrps://relay.example.com:2855;tcp", "msrps://relay.example.com;tcp", false);
}

TEST(UriCompare, SessionIdIsCaseSensitive) {
  expect_same("msrp://h.example:1/abc;tcp", "msrp://h.example:1/ABC;tcp", false);
  expect_same("msrp://h.example:1/abc;tcp", "msrp://h.example:1/abc;tcp", true);
}

TEST(UriCompare, NoSessionNeverEqualsSomeSession) {
  expect_same("msrp://h.example:1;tcp", "msrp://h.example:1/s;tcp", false);
}

TEST(UriCompare, TransportIsCaseInsensitive) {
  expect_same("msrp://h.example:1/s;TCP", "msrp://h.example:1/s;tcp", true);
}

TEST(UriCompare, DifferentTransportsDiffer) {
  expect_same("msrp://h.example:1/s;tcp", "msrp://h.example:1/s;ws", false);
}

TEST(UriCompare, OtherParametersAreIgnored) {
  expect_same("msrp://h.example:1/s;tcp;x=1", "msrp://h.example:1/s;tcp", true);
}

TEST(UriFormat, RoundTripsCanonicalUris) {
  for (std::string_view text : {
           "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
           "msrps://bob.example.com:8888/9di4ea;tcp",
           "msrps://relay.example.com;tcp",
           "msrp://[2001:db8::1]:2855/s1;tcp",
           "msrps://alice@atlanta.example.com:7654/a+b=c/d;tcp",
           "msrp://192.0.2.1:2855/s;ws;foo=bar;baz",
           "msrp://@h.example:1;tcp",
       }) {
    EXPECT_EQ(to_string(must_parse(text)), text);
  }
}

TEST(UriFormat, LowerCasesSchemeAndDropsLeadingZerosOfPort) {
  EXPECT_EQ(to_string(must_parse("MSRPS://H.example:0080/S;TCP")), "msrps://H.example:80/S;TCP");
}

TEST(UriFormat, AppendsToTheBuffer) {
  std::string out = "To-Path: ";
  format_uri(must_parse("msrp://h.example:1/s;tcp"), out);
  EXPECT_EQ(out, "To-Path: msrp://h.example:1/s;tcp");
}

}  // namespace
}  // namespace msrpd::msrp
