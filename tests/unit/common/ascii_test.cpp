#include "common/ascii.h"

#include <gtest/gtest.h>

#include "common/host_port.h"

namespace msrpd {
namespace {

TEST(Ascii, CompareIgnoringCase) {
  EXPECT_TRUE(ascii::iequals("To-Path", "to-path"));
  EXPECT_FALSE(ascii::iequals("To-Path", "To-Pat"));
  EXPECT_TRUE(ascii::istarts_with("Byte-Range: 1-5/5", "byte-range:"));
  EXPECT_TRUE(ascii::iends_with("a.example.INVALID", ".invalid"));
}

TEST(Ascii, CopiesInOneCase) {
  EXPECT_EQ(ascii::to_lower("Linux-X86_64"), "linux-x86_64");
  EXPECT_EQ(ascii::to_upper("msrp_relayed\xc3\xa9"), "MSRP_RELAYED\xc3\xa9");
}

TEST(Ascii, TrimsBlanks) {
  EXPECT_EQ(ascii::trim(" \t a b \t"), "a b");
  EXPECT_EQ(ascii::trim(" a\r\n"), "a\r\n");
  EXPECT_EQ(ascii::trim_space(" a\r\n"), "a");
}

TEST(Ascii, ParsesDigitsAndRefusesOverflow) {
  uint16_t p = 0;
  EXPECT_TRUE(ascii::parse_uint(std::string_view("65535"), p));
  EXPECT_EQ(p, 65535);
  EXPECT_FALSE(ascii::parse_uint(std::string_view("65536"), p));
  EXPECT_FALSE(ascii::parse_uint(std::string_view(""), p));
  EXPECT_FALSE(ascii::parse_uint(std::string_view("1a"), p));
  uint64_t u = 0;
  EXPECT_TRUE(ascii::parse_uint(std::string_view("18446744073709551615"), u));
  EXPECT_FALSE(ascii::parse_uint(std::string_view("18446744073709551616"), u));
}

TEST(Ascii, MsrpTokenIsRfc4975Section9) {
  // token = 1*(%x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E)
  for (int c = 0; c < 256; ++c) {
    bool rfc = c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2E ||
               (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x5E && c <= 0x7E);
    EXPECT_EQ(ascii::kMsrpToken(static_cast<char>(c)), rfc) << c;
  }
  EXPECT_TRUE(ascii::kMsrpToken.all_of("X-A&B{|}^#$"));
  EXPECT_FALSE(ascii::kSipToken.all_of("X-A&B"));
  EXPECT_FALSE(ascii::kMsrpToken.all_of(""));
}

TEST(HostPort, ParsesNamesAddressesAndBrackets) {
  auto a = HostPort::parse("relay.example.com:2855");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "relay.example.com");
  EXPECT_EQ(a->port, 2855);
  auto b = HostPort::parse("[::1]:2856");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->str(), "[::1]:2856");
  auto c = HostPort::parse("::1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_FALSE(c->port_given);
  EXPECT_EQ(c->str(), "[::1]");
  EXPECT_FALSE(HostPort::parse("[::1"));
  EXPECT_FALSE(HostPort::parse("host:0"));
  auto any = HostPort::parse("[::1]:0", true);
  ASSERT_TRUE(any);
  EXPECT_EQ(*any, (HostPort{"::1", 0, true}));
  EXPECT_FALSE(HostPort::parse("host:99999"));
  EXPECT_FALSE(HostPort::parse(":5"));
}

TEST(HostPort, AppendsBracketsOnce) {
  std::string s;
  append_host(s, "::1");
  s.push_back(' ');
  append_host(s, "[::1]");
  s.push_back(' ');
  append_host(s, "10.0.0.1");
  EXPECT_EQ(s, "[::1] [::1] 10.0.0.1");
  EXPECT_EQ(strip_brackets("[::1]"), "::1");
  EXPECT_EQ(strip_brackets("::1"), "::1");
}

}  // namespace
}  // namespace msrpd
