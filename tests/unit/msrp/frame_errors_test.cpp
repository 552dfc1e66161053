// One test per malformed-input path of FrameParser, each asserting the exact MSRP status (RFC 4975
// §9 syntax → 400; limits → 413 or 400; RFC 4975 §7.1 non-SEND body limit → 413).

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

std::string request(std::string_view start, std::string_view extra = "",
                    std::string_view tail = "-------abcd$\r\n") {
  return std::string(start) + "\r\n" + std::string(kPaths) + std::string(extra) + std::string(tail);
}

TEST(FrameErrors, NotMsrpIsRejectedAtTheFirstByte) {
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\n"), 400);
}
TEST(FrameErrors, NotMsrpIsRejectedBeforeTheLineEnds) {
  EXPECT_EQ(error_status("GE"), 400);
}
TEST(FrameErrors, LowercaseMsrpKeywordIs400) {
  EXPECT_EQ(error_status(request("msrp abcd SEND")), 400);
}
TEST(FrameErrors, TransactionIdShorterThan4Is400) {
  EXPECT_EQ(error_status(request("MSRP abc SEND")), 400);
}
TEST(FrameErrors, TransactionIdLongerThan32Is400) {
  EXPECT_EQ(error_status(request("MSRP " + std::string(33, 'a') + " SEND")), 400);
}
TEST(FrameErrors, TransactionIdOf32IsAccepted) {
  std::string tid(32, 'a');
  EXPECT_EQ(error_status(request("MSRP " + tid + " SEND", "", "-------" + tid + "$\r\n")), 0);
}
TEST(FrameErrors, TransactionIdStartingWithPunctuationIs400) {
  EXPECT_EQ(error_status(request("MSRP .abcd SEND")), 400);
}
TEST(FrameErrors, TransactionIdWithUnderscoreIs400) {
  EXPECT_EQ(error_status(request("MSRP ab_cd SEND")), 400);
}
TEST(FrameErrors, LowercaseMethodIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd send")), 400);
}
TEST(FrameErrors, MissingMethodIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd")), 400);
}
TEST(FrameErrors, EmptyMethodIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd ")), 400);
}
TEST(FrameErrors, TwoDigitStatusIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd 20 OK")), 400);
}
TEST(FrameErrors, FourDigitStatusIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd 2000")), 400);
}
TEST(FrameErrors, StatusWithoutSpaceBeforeCommentIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd 200OK")), 400);
}
TEST(FrameErrors, BareLfInStartLineIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\n"), 400);
}
TEST(FrameErrors, BareLfInHeaderIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nTo-Path: msrp://b.example.com:1/x;tcp\n"), 400);
}
TEST(FrameErrors, BareCrInsideHeaderValueIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Message-ID: ab\rcd\r\n")), 400);
}
TEST(FrameErrors, ControlCharacterInHeaderValueIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", std::string("Message-ID: ab\0cd\r\n", 19))), 400);
}
TEST(FrameErrors, FromPathFirstIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nFrom-Path: msrp://a.example.com:1/x;tcp\r\n"), 400);
}
TEST(FrameErrors, OtherHeaderBeforeFromPathIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp\r\nMessage-ID: abcd\r\n"),
            400);
}
TEST(FrameErrors, RepeatedToPathIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "To-Path: msrp://c.example.com:1/x;tcp\r\n")), 400);
}
TEST(FrameErrors, RepeatedFromPathIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "From-Path: msrp://c.example.com:1/x;tcp\r\n")), 400);
}
TEST(FrameErrors, MissingPathsBeforeEndLineIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\n-------abcd$\r\n"), 400);
}
TEST(FrameErrors, MissingFromPathBeforeEndLineIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp\r\n-------abcd$\r\n"), 400);
}
TEST(FrameErrors, EmptyUriInToPathIs400) {
  EXPECT_EQ(
      error_status("MSRP abcd SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp  msrp://b.example.com:1/y;tcp\r\n"
                   "From-Path: msrp://c.example.com:1/z;tcp\r\n-------abcd$\r\n"),
      400);
}
TEST(FrameErrors, TrailingSpaceInFromPathIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp\r\n"
                         "From-Path: msrp://c.example.com:1/z;tcp \r\n-------abcd$\r\n"),
            400);
}
TEST(FrameErrors, EmptyToPathIs400) {
  EXPECT_EQ(error_status("MSRP abcd SEND\r\nTo-Path: \r\nFrom-Path: msrp://c.example.com:1/z;tcp\r\n"), 400);
}
TEST(FrameErrors, HeaderWithoutColonIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Foo bar\r\n")), 400);
}
TEST(FrameErrors, HeaderWithoutSpaceAfterColonIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Foo:bar\r\n")), 400);
}
TEST(FrameErrors, HeaderEndingAtColonIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Foo:\r\n")), 400);
}
TEST(FrameErrors, HeaderNameWithSpaceIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Foo Bar: x\r\n")), 400);
}
TEST(FrameErrors, HeaderNameStartingWithDigitIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "1Foo: x\r\n")), 400);
}
TEST(FrameErrors, ResponseWithBodyIs400) {
  EXPECT_EQ(error_status("MSRP abcd 200 OK\r\n" + std::string(kPaths) +
                         "Content-Type: text/plain\r\n\r\nx\r\n"
                         "-------abcd$\r\n"),
            400);
}
TEST(FrameErrors, BodyWithoutContentTypeIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Message-ID: abcd\r\n", "\r\nhello\r\n-------abcd$\r\n")),
            400);
}
TEST(FrameErrors, BodyWithContentTypeNotLastIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Content-Type: text/plain\r\nMessage-ID: abcd\r\n",
                                 "\r\nhello\r\n-------abcd$\r\n")),
            400);
}
TEST(FrameErrors, EndLineWithForeignTransactionIdAfterHeadersIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "", "-------wxyz$\r\n")), 400);
}
TEST(FrameErrors, EndLineWithBadFlagAfterHeadersIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "", "-------abcd!\r\n")), 400);
}
TEST(FrameErrors, EndLineWithTrailingBytesAfterHeadersIs400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "", "-------abcd$x\r\n")), 400);
}
TEST(FrameErrors, BytesBeforeNextStartLineAre400) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND") + "\r\nMSRP efgh SEND\r\n"), 400);
}

Limits small_limits() {
  Limits l;
  l.max_head = 256;
  l.max_line = 120;
  l.max_headers = 4;
  return l;
}

TEST(FrameErrors, HeadOverMaxHeadIs413) {
  std::string extra;
  for (int i = 0; i < 2; ++i) extra += "X-Pad: " + std::string(80, 'p') + "\r\n";
  EXPECT_EQ(error_status(request("MSRP abcd SEND", extra), small_limits()), 413);
}
TEST(FrameErrors, HeadOverMaxHeadWithoutNewlineIs413EvenInOneHugeFeed) {
  Limits l;
  l.max_head = 64;
  l.max_line = 1000;
  EXPECT_EQ(error_status("MSRP abcd SEND" + std::string(500, 'x'), l), 413);
}
TEST(FrameErrors, LineOverMaxLineIs400) {
  EXPECT_EQ(
      error_status(request("MSRP abcd SEND", "X-Pad: " + std::string(120, 'p') + "\r\n"), small_limits()),
      400);
}
TEST(FrameErrors, UnterminatedLineOverMaxLineIs400WithoutWaitingForCrlf) {
  EXPECT_EQ(error_status("MSRP abcd SEND" + std::string(200, 'x'), small_limits()), 400);
}
TEST(FrameErrors, MoreThanMaxHeadersIs400) {
  std::string extra = "A: 1\r\nB: 2\r\nC: 3\r\n";
  EXPECT_EQ(error_status(request("MSRP abcd SEND", extra), small_limits()), 400);
}
TEST(FrameErrors, MaxHeadersExactlyIsAccepted) {
  std::string extra = "A: 1\r\nB: 2\r\n";
  EXPECT_EQ(error_status(request("MSRP abcd SEND", extra), small_limits()), 0);
}

std::string report_with_body(size_t n) {
  return request("MSRP abcd REPORT", "Content-Type: text/plain\r\n",
                 "\r\n" + std::string(n, 'r') + "\r\n-------abcd$\r\n");
}

TEST(FrameErrors, NonSendBodyOver10240Is413) {
  EXPECT_EQ(error_status(report_with_body(10241)), 413);
}
TEST(FrameErrors, NonSendBodyOf10240IsAccepted) {
  EXPECT_EQ(error_status(report_with_body(10240)), 0);
}
TEST(FrameErrors, NonSendBodyOver10240FedBytewiseIs413) {
  auto t = testing::parse_bytewise(report_with_body(10241));
  EXPECT_EQ(t.events.back(), "error 413");
}
TEST(FrameErrors, SendBodyOver10240IsAccepted) {
  EXPECT_EQ(error_status(request("MSRP abcd SEND", "Content-Type: text/plain\r\n",
                                 "\r\n" + std::string(20000, 's') + "\r\n-------abcd$\r\n")),
            0);
}

TEST(FrameErrors, ErrorRepeatsUntilReset) {
  FrameParser p;
  std::string in = "HELLO\r\n";
  Step s = p.feed(in);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_EQ(s.status, 400);
  EXPECT_FALSE(s.message.empty());
  s = p.feed(in);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_TRUE(p.failed());
  p.reset();
  EXPECT_FALSE(p.failed());
  std::string ok = request("MSRP abcd SEND");
  EXPECT_EQ(p.feed(ok).event, Event::head);
}

TEST(FrameErrors, TransactionIdOfFailedRequestIsKnownForTheReply) {
  FrameParser p;
  std::string in = "MSRP abcd1234 SEND\r\nFrom-Path: msrp://a.example.com:1/x;tcp\r\n";
  EXPECT_EQ(p.feed(in).status, 400);
  EXPECT_EQ(p.transaction_id(), "abcd1234");
  EXPECT_TRUE(p.current_is_request());
}

}  // namespace
}  // namespace msrpd::msrp
