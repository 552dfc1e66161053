// The text a relay originates, exact bytes: REPORTs (RFC 4975 §7.1.2, RFC 4976 §7.3), the 200 to an
// AUTH (RFC 4976 §5.1, §7.1: Use-Path, Expires, Authentication-Info) and the 423 bounds (§6.3).

#include <gtest/gtest.h>

#include <string>

#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"

namespace msrpd::msrp {
namespace {

constexpr std::string_view kAlice = "msrp://alice.example.com:9999/alicesess;tcp";
constexpr std::string_view kRelay = "msrp://127.0.0.1:2855/s1;tcp";

TEST(FrameWriterRelayText, ReportCarriesMessageIdByteRangeAndStatusWithReasonPhrase) {
  ReportStatus r;
  r.message_id = "msg0001";
  r.range_start = 1;
  r.range_end = 5;
  r.total = 5;
  r.code = 415;
  std::string out;
  write_report(out, "rep00001", kAlice, kRelay, r);
  EXPECT_EQ(out,
            "MSRP rep00001 REPORT\r\n"
            "To-Path: msrp://alice.example.com:9999/alicesess;tcp\r\n"
            "From-Path: msrp://127.0.0.1:2855/s1;tcp\r\n"
            "Message-ID: msg0001\r\n"
            "Byte-Range: 1-5/5\r\n"
            "Status: 000 415 Unsupported Media Type\r\n"
            "-------rep00001$\r\n");
  FrameParser p;
  EXPECT_EQ(p.feed(out).event, Event::head);
}

TEST(FrameWriterRelayText, ReportWithoutMessageIdWithUnknownTotalAndOwnComment) {
  ReportStatus r;
  r.range_start = 11;
  r.range_end = 10;  // nothing received from byte 11 on
  r.code = 408;
  r.comment = "no response";
  std::string out;
  write_report(out, "rep00002", kAlice, kRelay, r);
  EXPECT_EQ(out,
            "MSRP rep00002 REPORT\r\n"
            "To-Path: msrp://alice.example.com:9999/alicesess;tcp\r\n"
            "From-Path: msrp://127.0.0.1:2855/s1;tcp\r\n"
            "Byte-Range: 11-10/*\r\n"
            "Status: 000 408 no response\r\n"
            "-------rep00002$\r\n");
}

TEST(FrameWriterRelayText, ReportWithUnregisteredCodeHasNoComment) {
  ReportStatus r;
  r.range_end = 1;
  r.total = 1;
  r.code = 499;
  std::string out;
  write_report(out, "rep00003", kAlice, kRelay, r);
  EXPECT_EQ(out,
            "MSRP rep00003 REPORT\r\nTo-Path: msrp://alice.example.com:9999/alicesess;tcp\r\n"
            "From-Path: msrp://127.0.0.1:2855/s1;tcp\r\nByte-Range: 1-1/1\r\nStatus: 000 499\r\n"
            "-------rep00003$\r\n");
}

TEST(FrameWriterRelayText, HeaderLinesUseTheCanonicalNames) {
  std::string out;
  write_header(out, HeaderId::expires, uint64_t{3600});
  write_header(out, HeaderId::min_expires, uint64_t{60});
  write_header(out, HeaderId::max_expires, uint64_t{4294967295});
  write_header(out, HeaderId::authentication_info, "qop=auth, rspauth=\"ab\", cnonce=\"c\", nc=00000001");
  EXPECT_EQ(out,
            "Expires: 3600\r\nMin-Expires: 60\r\nMax-Expires: 4294967295\r\n"
            "Authentication-Info: qop=auth, rspauth=\"ab\", cnonce=\"c\", nc=00000001\r\n");
}

TEST(FrameWriterRelayText, UsePathWithConfiguredAddressDropsItsScheme) {
  std::string out;
  write_use_path(out, false, "msrp://127.0.0.1:5060", "10.0.0.1", 2855, "sess1");
  write_use_path(out, true, "MSRPS://relay.example.com:2856", "10.0.0.1", 2855, "sess2");
  write_use_path(out, false, "relay.example.com:2855", "10.0.0.1", 2855, "sess3");
  EXPECT_EQ(out,
            "Use-Path: msrp://127.0.0.1:5060/sess1;tcp\r\n"
            "Use-Path: msrps://relay.example.com:2856/sess2;tcp\r\n"
            "Use-Path: msrp://relay.example.com:2855/sess3;tcp\r\n");
}

TEST(FrameWriterRelayText, UsePathWithoutConfiguredAddressUsesTheLocalOneBracketingIpv6) {
  std::string out;
  write_use_path(out, false, "", "192.0.2.1", 2855, "sess1");
  write_use_path(out, true, "", "2001:db8::1", 2856, "sess2");
  EXPECT_EQ(out,
            "Use-Path: msrp://192.0.2.1:2855/sess1;tcp\r\n"
            "Use-Path: msrps://[2001:db8::1]:2856/sess2;tcp\r\n");
}

}  // namespace
}  // namespace msrpd::msrp
