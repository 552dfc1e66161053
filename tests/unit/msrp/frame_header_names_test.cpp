// Header names are RFC 4975 §9 hname = ALPHA *token, with MSRP's own token (it allows "# $ & ^ { | }",
// which RFC 3261's token does not). RFC 4975 §12: a header the relay does not know is ignored and
// kept, not refused.

#include <gtest/gtest.h>

#include <string>

#include "frame_test_support.h"
#include "msrp/frame_parser.h"

namespace msrpd::msrp {
namespace {

using testing::error_status;

constexpr std::string_view kPaths =
    "To-Path: msrp://b.example.com:8888/9di4;tcp\r\n"
    "From-Path: msrp://a.example.com:7777/iau3;tcp\r\n";

std::string send_with(std::string_view header_lines) {
  return "MSRP abcd SEND\r\n" + std::string(kPaths) + std::string(header_lines) + "-------abcd$\r\n";
}

TEST(FrameHeaderNames, MsrpOnlyTokenCharactersAreAcceptedAsUnknownHeaders) {
  const std::string bytes = send_with("X-A&B: 1\r\nX-{|}^#$: v\r\n");
  FrameParser p;
  Step s = p.feed(bytes);
  ASSERT_EQ(s.event, Event::head) << s.message;
  const Frame& f = p.frame();
  ASSERT_EQ(f.headers().size(), 4u);
  const Header& a = f.headers()[2];
  EXPECT_EQ(a.id, HeaderId::other);
  EXPECT_EQ(a.name, "X-A&B");
  EXPECT_EQ(a.value, "1");
  EXPECT_EQ(a.line, "X-A&B: 1\r\n");
  const Header& b = f.headers()[3];
  EXPECT_EQ(b.id, HeaderId::other);
  EXPECT_EQ(b.name, "X-{|}^#$");
  EXPECT_EQ(b.value, "v");
  EXPECT_EQ(b.line, "X-{|}^#$: v\r\n");
  EXPECT_EQ(f.header("x-a&b"), "1");
  EXPECT_EQ(p.feed(std::string_view(bytes).substr(s.consumed)).event, Event::end);
}

TEST(FrameHeaderNames, EveryMsrpTokenCharacterIsAcceptedInAName) {
  // RFC 4975 §9: token = 1*(%x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E)
  EXPECT_EQ(error_status(send_with("X!#$%&'*+-.^_`{|}~09AZaz: v\r\n")), 0);
}

TEST(FrameHeaderNames, NameWithQuoteIs400) {
  EXPECT_EQ(error_status(send_with("X-A\"B: 1\r\n")), 400);
}
TEST(FrameHeaderNames, NameWithParenthesisIs400) {
  EXPECT_EQ(error_status(send_with("X-A(B: 1\r\n")), 400);
}
TEST(FrameHeaderNames, NameWithAtSignIs400) {
  EXPECT_EQ(error_status(send_with("X-A@B: 1\r\n")), 400);
}
TEST(FrameHeaderNames, NameWithSpaceIs400) {
  EXPECT_EQ(error_status(send_with("X-A B: 1\r\n")), 400);
}
TEST(FrameHeaderNames, NameStartingWithTokenCharacterOtherThanALetterIs400) {
  EXPECT_EQ(error_status(send_with("&X: 1\r\n")), 400);
}

}  // namespace
}  // namespace msrpd::msrp
