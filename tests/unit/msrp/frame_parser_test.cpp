// FrameParser behaviour: streaming, hold-back at the end of the input, pipelining, header access.

#include <gtest/gtest.h>

#include <string>

#include "frame_test_support.h"
#include "msrp/frame_parser.h"

namespace msrpd::msrp {
namespace {

using testing::Driver;
using testing::parse_bytewise;
using testing::parse_whole;

constexpr std::string_view kPaths =
    "To-Path: msrp://b.example.com:8888/9di4;tcp\r\n"
    "From-Path: msrp://a.example.com:7777/iau3;tcp\r\n";

std::string send(std::string_view tid, std::string_view body, char flag = '$') {
  return "MSRP " + std::string(tid) + " SEND\r\n" + std::string(kPaths) + "Content-Type: text/plain\r\n\r\n" +
         std::string(body) + "\r\n-------" + std::string(tid) + flag + "\r\n";
}

TEST(FrameParser, HeadConsumesUpToAndIncludingTheBlankLine) {
  std::string in = send("abcd", "hello");
  FrameParser p;
  Step s = p.feed(in);
  ASSERT_EQ(s.event, Event::head);
  EXPECT_EQ(s.consumed, in.find("\r\n\r\n") + 4);
  EXPECT_TRUE(p.frame().head().ends_with("Content-Type: text/plain\r\n\r\n"));
  s = p.feed(std::string_view(in).substr(s.consumed));
  EXPECT_EQ(s.event, Event::body);
  EXPECT_EQ(s.body, "hello");
}

TEST(FrameParser, BodyExcludesTheCrlfBeforeTheEndLine) {
  EXPECT_EQ(parse_whole(send("abcd", "line1\r\nline2")).events[1], "body line1\r\nline2");
}

TEST(FrameParser, ForeignEndLineInsideBodyIsData) {
  std::string body = "before\r\n-------wxyz$\r\nafter";
  auto t = parse_whole(send("abcd", body));
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[1], "body " + body);
}

TEST(FrameParser, EndLineWhoseIdOnlyStartsWithOursIsData) {
  std::string body = "x\r\n-------abcde$\r\ny";
  auto t = parse_whole(send("abcd", body));
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[1], "body " + body);
  EXPECT_EQ(parse_bytewise(send("abcd", body)), t);
}

TEST(FrameParser, OwnEndLineWithBadFlagInsideBodyIsData) {
  std::string body = "x\r\n-------abcd!\r\ny";
  EXPECT_EQ(parse_whole(send("abcd", body)).events[1], "body " + body);
}

TEST(FrameParser, EmptyBodyGivesNoBodyEvent) {
  auto t = parse_whole(send("abcd", ""));
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1], "end $");
}

TEST(FrameParser, ContinuationFlagsArePassedThrough) {
  EXPECT_EQ(parse_whole(send("abcd", "x", '+')).events[2], "end +");
  EXPECT_EQ(parse_whole(send("abcd", "x", '#')).events[2], "end #");
}

TEST(FrameParser, PossibleEndLineAtTheEndOfInputIsHeldBack) {
  std::string in = send("abcd", "hello");
  FrameParser p;
  Step s = p.feed(in);
  std::string body_part = "hello\r\n-----";  // could be the start of "\r\n-------abcd$\r\n"
  s = p.feed(body_part);
  ASSERT_EQ(s.event, Event::body);
  EXPECT_EQ(s.body, "hello");
  EXPECT_EQ(s.consumed, 5u);
  s = p.feed("\r\n-----");
  EXPECT_EQ(s.event, Event::need_more);
  EXPECT_EQ(s.consumed, 0u);
  s = p.feed("\r\n-------abcd$\r");
  EXPECT_EQ(s.event, Event::need_more);
  s = p.feed("\r\n-------abcd$\r\n");
  EXPECT_EQ(s.event, Event::end);
  EXPECT_EQ(s.consumed, 16u);
  EXPECT_EQ(s.flag, '$');
}

TEST(FrameParser, HeldBackBytesThatTurnOutNotToBeTheEndLineAreBody) {
  std::string in = send("abcd", "hello");
  FrameParser p;
  Step s = p.feed(in);
  s = p.feed("\r\n---x");
  ASSERT_EQ(s.event, Event::body);
  EXPECT_EQ(s.body, "\r\n---x");
  s = p.feed("\r");
  EXPECT_EQ(s.event, Event::need_more);
  s = p.feed("\r\r");  // the held-back CR again, and a new one
  ASSERT_EQ(s.event, Event::body);
  EXPECT_EQ(s.body, "\r");  // the second CR may still start the end-line
  s = p.feed("\ry");
  ASSERT_EQ(s.event, Event::body);
  EXPECT_EQ(s.body, "\ry");
}

TEST(FrameParser, BodyPiecesNeverExceedTheInputAndPendingStaysSmall) {
  std::string body(1 << 20, 'b');
  for (size_t i = 100; i < body.size(); i += 1000) body[i] = '\r';
  std::string in = send("abcd1234", body);
  Driver d;
  size_t max_pending = 0;
  for (size_t off = 0; off < in.size(); off += 16384) {
    d.push(std::string_view(in).substr(off, 16384));
    max_pending = std::max(max_pending, d.pending());
  }
  ASSERT_EQ(d.transcript().events.size(), 3u);
  EXPECT_EQ(d.transcript().events[1].size(), 5 + body.size());
  EXPECT_EQ(d.transcript().events[1].substr(5), body);
  // Only a possible end-line prefix (< 9 + 8 + 3 bytes) may wait after the head.
  EXPECT_LT(max_pending, 16384u);
}

TEST(FrameParser, PipelinedFramesInOneInput) {
  std::string in = send("aaaa", "one") + send("bbbb", "two") + send("cccc", "three");
  auto t = parse_whole(in);
  ASSERT_EQ(t.events.size(), 9u);
  EXPECT_EQ(t.events[1], "body one");
  EXPECT_EQ(t.events[4], "body two");
  EXPECT_EQ(t.events[7], "body three");
  EXPECT_EQ(parse_bytewise(in), t);
}

TEST(FrameParser, InputMayMoveBetweenFeeds) {
  std::string in = send("abcd", "hello");
  FrameParser p;
  std::string first = in.substr(0, 30);
  EXPECT_EQ(p.feed(first).event, Event::need_more);
  std::string moved = in;  // another buffer holding the same unconsumed bytes plus the rest
  Step s = p.feed(moved);
  ASSERT_EQ(s.event, Event::head);
  EXPECT_EQ(p.frame().transaction_id().data(), moved.data() + 5);
  EXPECT_EQ(p.frame().to_path()[0], "msrp://b.example.com:8888/9di4;tcp");
}

TEST(FrameParser, HeaderNamesAreCaseInsensitive) {
  std::string in =
      "MSRP abcd SEND\r\nto-path: msrp://b.example.com:1/x;tcp\r\nFROM-PATH: msrp://a.example.com:1/y;tcp\r\n"
      "message-id: m1234\r\ncontent-TYPE: text/plain\r\n\r\nhi\r\n-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  const Frame& f = p.frame();
  EXPECT_EQ(*f.message_id(), "m1234");
  EXPECT_EQ(*f.header("Message-Id"), "m1234");
  EXPECT_EQ(f.headers()[2].id, HeaderId::message_id);
  EXPECT_EQ(f.headers()[2].name, "message-id");
  EXPECT_TRUE(f.has_body());
}

TEST(FrameParser, UnknownHeadersAreKeptAndFoundByName) {
  std::string in =
      "MSRP abcd SEND\r\n" + std::string(kPaths) + "X-Custom: v1\r\nX-Custom: v2\r\n-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  const Frame& f = p.frame();
  ASSERT_EQ(f.headers().size(), 4u);
  EXPECT_EQ(f.headers()[2].id, HeaderId::other);
  EXPECT_EQ(f.headers()[2].line, "X-Custom: v1\r\n");
  EXPECT_EQ(*f.header("x-custom"), "v1");
  EXPECT_FALSE(f.header("X-Missing").has_value());
  EXPECT_FALSE(f.has(HeaderId::message_id));
  EXPECT_EQ(f.find(HeaderId::to_path), &f.headers()[0]);
}

TEST(FrameParser, FirstOfRepeatedKnownHeaderWins) {
  std::string in = "MSRP abcd SEND\r\n" + std::string(kPaths) +
                   "Message-ID: first\r\nMessage-ID: second\r\n"
                   "-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  EXPECT_EQ(*p.frame().message_id(), "first");
}

TEST(FrameParser, UnknownMethodIsOther) {
  std::string in = "MSRP abcd FOO\r\n" + std::string(kPaths) + "-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  EXPECT_EQ(p.frame().method_id(), Method::other);
  EXPECT_EQ(p.frame().method(), "FOO");
}

TEST(FrameParser, NicknameMethodIsRecognised) {
  std::string in = "MSRP abcd NICKNAME\r\n" + std::string(kPaths) + "-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  EXPECT_EQ(p.frame().method_id(), Method::nickname);
}

TEST(FrameParser, ResponseWithoutCommentAndWithSpacedComment) {
  FrameParser p;
  std::string a = "MSRP abcd 481\r\n" + std::string(kPaths) + "-------abcd$\r\n";
  ASSERT_EQ(p.feed(a).event, Event::head);
  EXPECT_EQ(p.frame().status_code(), 481);
  EXPECT_EQ(p.frame().comment(), "");
  p.reset();
  std::string b = "MSRP abcd 403 Not allowed here\r\n" + std::string(kPaths) + "-------abcd$\r\n";
  ASSERT_EQ(p.feed(b).event, Event::head);
  EXPECT_EQ(p.frame().status_code(), 403);
  EXPECT_EQ(p.frame().comment(), "Not allowed here");
}

TEST(FrameParser, ContentTypeWithoutBodyIsAccepted) {
  std::string in =
      "MSRP abcd SEND\r\n" + std::string(kPaths) + "Content-Type: text/plain\r\n-------abcd$\r\n";
  auto t = parse_whole(in);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1], "end $");
}

TEST(FrameParser, EndAfterBodylessHeadConsumesTheEndLine) {
  std::string in = "MSRP abcd SEND\r\n" + std::string(kPaths) + "-------abcd+\r\n";
  FrameParser p;
  Step s = p.feed(in);
  ASSERT_EQ(s.event, Event::head);
  EXPECT_EQ(s.consumed, in.size() - 14);
  EXPECT_FALSE(p.frame().has_body());
  s = p.feed(std::string_view(in).substr(s.consumed));
  EXPECT_EQ(s.event, Event::end);
  EXPECT_EQ(s.consumed, 14u);
  EXPECT_EQ(s.flag, '+');
}

TEST(FrameParser, OneByteFeedingOfALargeHeadIsLinear) {
  // 60 KB of headers fed one byte at a time: a rescan per feed would be ~1.8e9 byte visits.
  std::string extra;
  while (extra.size() < 60000) extra += "X-Pad: " + std::string(100, 'p') + "\r\n";
  Limits l;
  l.max_headers = 1000;
  std::string in = "MSRP abcd SEND\r\n" + std::string(kPaths) + extra + "-------abcd$\r\n";
  auto t = parse_bytewise(in, l);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1], "end $");
}

}  // namespace
}  // namespace msrpd::msrp
