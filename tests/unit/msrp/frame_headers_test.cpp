// Typed header values (RFC 4975 §9, RFC 4976 §4) and header names.

#include <gtest/gtest.h>

#include "msrp/frame_parser.h"
#include "msrp/headers.h"

namespace msrpd::msrp {
namespace {

TEST(FrameHeaders, HeaderIdsMatchCaseInsensitively) {
  EXPECT_EQ(header_id("To-Path"), HeaderId::to_path);
  EXPECT_EQ(header_id("to-path"), HeaderId::to_path);
  EXPECT_EQ(header_id("FROM-PATH"), HeaderId::from_path);
  EXPECT_EQ(header_id("Message-Id"), HeaderId::message_id);
  EXPECT_EQ(header_id("byte-range"), HeaderId::byte_range);
  EXPECT_EQ(header_id("Success-Report"), HeaderId::success_report);
  EXPECT_EQ(header_id("Failure-Report"), HeaderId::failure_report);
  EXPECT_EQ(header_id("Status"), HeaderId::status);
  EXPECT_EQ(header_id("Content-Type"), HeaderId::content_type);
  EXPECT_EQ(header_id("Expires"), HeaderId::expires);
  EXPECT_EQ(header_id("Min-Expires"), HeaderId::min_expires);
  EXPECT_EQ(header_id("Max-Expires"), HeaderId::max_expires);
  EXPECT_EQ(header_id("Use-Path"), HeaderId::use_path);
  EXPECT_EQ(header_id("WWW-Authenticate"), HeaderId::www_authenticate);
  EXPECT_EQ(header_id("Authorization"), HeaderId::authorization);
  EXPECT_EQ(header_id("Authentication-Info"), HeaderId::authentication_info);
  EXPECT_EQ(header_id("To-Pat"), HeaderId::other);
  EXPECT_EQ(header_id("Xo-Path"), HeaderId::other);
  EXPECT_EQ(header_id(""), HeaderId::other);
  for (int i = 0; i < kKnownHeaderCount; ++i) {
    auto id = static_cast<HeaderId>(i);
    EXPECT_EQ(header_id(header_name(id)), id) << header_name(id);
  }
}

TEST(FrameHeaders, ByteRangeWithKnownValues) {
  EXPECT_EQ(*parse_byte_range("1-25/25"), (ByteRange{1, 25, 25}));
  EXPECT_EQ(*parse_byte_range("47-100/200"), (ByteRange{47, 100, 200}));
}
TEST(FrameHeaders, ByteRangeWithUnknownEndAndTotal) {
  EXPECT_EQ(*parse_byte_range("1-*/*"), (ByteRange{1, std::nullopt, std::nullopt}));
  EXPECT_EQ(*parse_byte_range("3-*/9"), (ByteRange{3, std::nullopt, 9}));
}
TEST(FrameHeaders, ByteRangeOfEmptyMessage) {
  EXPECT_EQ(*parse_byte_range("1-0/0"), (ByteRange{1, 0, 0}));
}
TEST(FrameHeaders, MalformedByteRangesAre400) {
  for (std::string_view v : {"", "1-2", "1/2", "0-1/1", "a-1/1", "1-b/2", "1-2/c", "5-2/9", "1-9/5", "*-1/1",
                             "1--2/3", "99999999999999999999-1/1"}) {
    auto r = parse_byte_range(v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.error().status, 400) << v;
  }
}
TEST(FrameHeaders, ReportFlags) {
  EXPECT_TRUE(*parse_success_report("yes"));
  EXPECT_FALSE(*parse_success_report("no"));
  EXPECT_EQ(parse_success_report("partial").error().status, 400);
  EXPECT_EQ(*parse_failure_report("yes"), FailureReport::yes);
  EXPECT_EQ(*parse_failure_report("no"), FailureReport::no);
  EXPECT_EQ(*parse_failure_report("partial"), FailureReport::partial);
  EXPECT_EQ(parse_failure_report("YES").error().status, 400);
}
TEST(FrameHeaders, StatusHeader) {
  auto s = parse_status_header("000 408 Request Timeout");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ns, 0);
  EXPECT_EQ(s->code, 408);
  EXPECT_EQ(s->comment, "Request Timeout");
  auto bare = parse_status_header("000 200");
  EXPECT_EQ(bare->code, 200);
  EXPECT_EQ(bare->comment, "");
  for (std::string_view v : {"200", "000 20", "000-200", "000 2000", "00a 200", "000 200x"}) {
    EXPECT_EQ(parse_status_header(v).error().status, 400) << v;
  }
}
TEST(FrameHeaders, DeltaSeconds) {
  EXPECT_EQ(*parse_delta_seconds("900"), 900u);
  EXPECT_EQ(*parse_delta_seconds("4294967295"), 4294967295u);
  EXPECT_EQ(parse_delta_seconds("4294967296").error().status, 400);
  EXPECT_EQ(parse_delta_seconds("").error().status, 400);
  EXPECT_EQ(parse_delta_seconds("-1").error().status, 400);
}
TEST(FrameHeaders, UriListSplitsOnSingleSpaces) {
  std::vector<std::string_view> out;
  ASSERT_TRUE(split_uri_list("a b c", out));
  EXPECT_EQ(out, (std::vector<std::string_view>{"a", "b", "c"}));
  out.clear();
  EXPECT_EQ(split_uri_list("a  b", out).error().status, 400);
  EXPECT_EQ(split_uri_list(" a", out).error().status, 400);
  EXPECT_EQ(split_uri_list("", out).error().status, 400);
}
TEST(FrameHeaders, Idents) {
  EXPECT_TRUE(is_ident("abcd"));
  EXPECT_TRUE(is_ident("a.-+%="));
  EXPECT_TRUE(is_ident(std::string(32, 'z')));
  EXPECT_FALSE(is_ident("abc"));
  EXPECT_FALSE(is_ident(std::string(33, 'z')));
  EXPECT_FALSE(is_ident("-abc"));
  EXPECT_FALSE(is_ident("ab/c"));
}

// The Frame accessors: defaults for absent headers and 400 for malformed values.
class FrameTyped : public ::testing::Test {
 protected:
  const Frame& parse(std::string extra) {
    in_ =
        "MSRP abcd SEND\r\nTo-Path: msrp://b.example.com:1/x;tcp\r\nFrom-Path: "
        "msrp://a.example.com:1/y;tcp\r\n" +
        extra + "-------abcd$\r\n";
    Step s = p_.feed(in_);
    EXPECT_EQ(s.event, Event::head);
    return p_.frame();
  }
  FrameParser p_;
  std::string in_;
};

TEST_F(FrameTyped, AbsentReportHeadersGiveRfcDefaults) {
  const Frame& f = parse("");
  EXPECT_FALSE(*f.success_report());
  EXPECT_EQ(*f.failure_report(), FailureReport::yes);
  EXPECT_FALSE(f.byte_range()->has_value());
  EXPECT_FALSE(f.report_status()->has_value());
  EXPECT_FALSE(f.expires()->has_value());
  EXPECT_EQ(f.message_id().error().status, 400);
  std::vector<std::string_view> up;
  EXPECT_FALSE(*f.use_path(up));
}
TEST_F(FrameTyped, MalformedValuesAre400) {
  const Frame& f = parse(
      "Message-ID: ab\r\nByte-Range: x\r\nSuccess-Report: maybe\r\nFailure-Report: always\r\nStatus: 200\r\n"
      "Expires: soon\r\nMin-Expires: -1\r\nMax-Expires: 1e9\r\nUse-Path: a  b\r\n");
  EXPECT_EQ(f.message_id().error().status, 400);
  EXPECT_EQ(f.byte_range().error().status, 400);
  EXPECT_EQ(f.success_report().error().status, 400);
  EXPECT_EQ(f.failure_report().error().status, 400);
  EXPECT_EQ(f.report_status().error().status, 400);
  EXPECT_EQ(f.expires().error().status, 400);
  EXPECT_EQ(f.min_expires().error().status, 400);
  EXPECT_EQ(f.max_expires().error().status, 400);
  std::vector<std::string_view> up;
  EXPECT_EQ(f.use_path(up).error().status, 400);
}
TEST_F(FrameTyped, ExpiryHeadersAndUsePath) {
  const Frame& f = parse(
      "Expires: 600\r\nMin-Expires: 60\r\nMax-Expires: 3600\r\n"
      "Use-Path: msrps://r1.example.com:2855/s1;tcp msrps://r2.example.com:2855/s2;tcp\r\n");
  EXPECT_EQ(**f.expires(), 600u);
  EXPECT_EQ(**f.min_expires(), 60u);
  EXPECT_EQ(**f.max_expires(), 3600u);
  std::vector<std::string_view> up;
  ASSERT_TRUE(*f.use_path(up));
  EXPECT_EQ(up, (std::vector<std::string_view>{"msrps://r1.example.com:2855/s1;tcp",
                                               "msrps://r2.example.com:2855/s2;tcp"}));
}
TEST_F(FrameTyped, FailureReportPartialAndSuccessReportYes) {
  const Frame& f = parse("Success-Report: yes\r\nFailure-Report: partial\r\n");
  EXPECT_TRUE(*f.success_report());
  EXPECT_EQ(*f.failure_report(), FailureReport::partial);
}

}  // namespace
}  // namespace msrpd::msrp
