#include "sip/sniff.h"

#include <gtest/gtest.h>

#include <string>

namespace msrpd::sip {
namespace {

constexpr std::string_view kMsrp = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://h:1/s;tcp\r\n";
constexpr std::string_view kInvite = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: x\r\n";
constexpr std::string_view kStatus = "SIP/2.0 200 OK\r\nVia: x\r\n";

TEST(Sniff, EmptyInputNeedsMore) {
  EXPECT_EQ(sniff(""), Protocol::need_more);
}

TEST(Sniff, MsrpPrefixIsMsrp) {
  EXPECT_EQ(sniff(kMsrp), Protocol::msrp);
  EXPECT_EQ(sniff("MSRP "), Protocol::msrp);
}

TEST(Sniff, EveryShorterPrefixOfMsrpNeedsMore) {
  for (size_t n = 1; n < 5; ++n) EXPECT_EQ(sniff(kMsrp.substr(0, n)), Protocol::need_more) << n;
}

TEST(Sniff, MsrpIsCaseSensitive) {
  EXPECT_EQ(sniff("msrp a786hjs2 SEND\r\n"), Protocol::garbage);
}

TEST(Sniff, SipRequestLineIsSip) {
  EXPECT_EQ(sniff(kInvite), Protocol::sip);
}

TEST(Sniff, SipRequestIsKnownOnlyWithItsWholeFirstLine) {
  size_t line_end = kInvite.find("\r\n") + 2;
  for (size_t n = 1; n < line_end; ++n) EXPECT_EQ(sniff(kInvite.substr(0, n)), Protocol::need_more) << n;
  EXPECT_EQ(sniff(kInvite.substr(0, line_end)), Protocol::sip);
}

TEST(Sniff, SipStatusLineIsSip) {
  EXPECT_EQ(sniff(kStatus), Protocol::sip);
}

TEST(Sniff, SipStatusIsKnownOnlyWithItsWholeFirstLine) {
  size_t line_end = kStatus.find("\r\n") + 2;
  for (size_t n = 1; n < line_end; ++n) EXPECT_EQ(sniff(kStatus.substr(0, n)), Protocol::need_more) << n;
  EXPECT_EQ(sniff(kStatus.substr(0, line_end)), Protocol::sip);
}

TEST(Sniff, SipVersionIsCaseInsensitive) {
  EXPECT_EQ(sniff("OPTIONS sip:a@b sip/2.0\r\n"), Protocol::sip);
  EXPECT_EQ(sniff("sip/2.0 404 Not Found\r\n"), Protocol::sip);
}

TEST(Sniff, MsrpMethodSipRequestIsMsrp) {
  // Kamailio's rule: a first line starting with "MSRP " is MSRP.
  EXPECT_EQ(sniff("MSRP sip:a@127.0.0.1 SIP/2.0\r\n"), Protocol::msrp);
}

TEST(Sniff, GarbageIsGarbage) {
  EXPECT_EQ(sniff("GET / HTTP/1.1\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff("\x16\x03\x01\x02\x00"), Protocol::garbage);
  EXPECT_EQ(sniff("\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff(" INVITE"), Protocol::garbage);
  EXPECT_EQ(sniff("INVITE  sip:a SIP/2.0\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff("INVITE sip:a SIP/2.1\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff("INVITE sip:a SIP/2.0\n"), Protocol::garbage);
  EXPECT_EQ(sniff("SIP/2.0 20 OK\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff("SIP/2.0 200OK\r\n"), Protocol::garbage);
  EXPECT_EQ(sniff("SIP/2.0 200 OK\rX"), Protocol::garbage);
}

TEST(Sniff, GarbageIsKnownEarly) {
  EXPECT_EQ(sniff("G"), Protocol::need_more);  // may be a method
  EXPECT_EQ(sniff("GET / H"), Protocol::garbage);
  EXPECT_EQ(sniff("<"), Protocol::garbage);
}

TEST(Sniff, OverlongUndecidedFirstLineIsGarbage) {
  std::string line = "INVITE sip:" + std::string(kMaxSniffBytes, 'a');
  EXPECT_EQ(sniff(line), Protocol::garbage);
  EXPECT_EQ(sniff(std::string_view(line).substr(0, kMaxSniffBytes - 1)), Protocol::need_more);
}

}  // namespace
}  // namespace msrpd::sip
