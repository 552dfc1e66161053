// FrameParser past frame errors: method tokens as clients send them, and resynchronisation at the
// rejected frame's end-line (RFC 4975 §7.1: "-------" transaction-id flag CRLF ends every frame).
// Each test gives the exact steps; whole and byte-at-a-time feeds must agree.

#include <gtest/gtest.h>

#include <string>

#include "frame_test_support.h"
#include "msrp/frame_parser.h"

namespace msrpd::msrp {
namespace {

using testing::resync_bytewise;
using testing::resync_whole;
using testing::Transcript;

constexpr std::string_view kPaths =
    "To-Path: msrp://b.example.com:8888/9di4;tcp\r\n"
    "From-Path: msrp://a.example.com:7777/iau3;tcp\r\n";

std::string frame(std::string_view tid, std::string_view method, std::string_view extra = "") {
  return "MSRP " + std::string(tid) + " " + std::string(method) + "\r\n" + std::string(kPaths) +
         std::string(extra) + "-------" + std::string(tid) + "$\r\n";
}

std::string with_body(std::string_view tid, std::string_view method, std::string_view body, char flag = '$') {
  return "MSRP " + std::string(tid) + " " + std::string(method) + "\r\n" + std::string(kPaths) +
         "Content-Type: text/plain\r\n\r\n" + std::string(body) + "\r\n-------" + std::string(tid) + flag +
         "\r\n";
}

std::string head_of(const std::string& f) {
  size_t blank = f.find("\r\n\r\n");
  if (blank != std::string::npos) return f.substr(0, blank + 4);
  return f.substr(0, f.find("-------"));
}

// The transcript of a good body-less frame.
std::vector<std::string> good(const std::string& f) {
  return {"head " + head_of(f), "end $"};
}

Transcript expect(std::initializer_list<std::vector<std::string>> parts) {
  Transcript t;
  for (const auto& p : parts) t.events.insert(t.events.end(), p.begin(), p.end());
  return t;
}

void expect_both(const std::string& in, const Transcript& want, Limits limits = {}) {
  EXPECT_EQ(resync_whole(in, limits), want) << testing::describe(resync_whole(in, limits));
  EXPECT_EQ(resync_bytewise(in, limits), want) << testing::describe(resync_bytewise(in, limits));
}

// ---- method tokens ----

TEST(FrameResync, FileOffsetIsAnUnknownMethodNotAnError) {
  FrameParser p;
  std::string in = frame("abcd", "FILE_OFFSET");
  Step s = p.feed(in);
  ASSERT_EQ(s.event, Event::head);
  EXPECT_TRUE(p.frame().is_request());
  EXPECT_EQ(p.frame().method(), "FILE_OFFSET");
  EXPECT_EQ(p.frame().method_id(), Method::other);
}

TEST(FrameResync, MethodWithDigitsAndTokenCharactersIsAccepted) {
  for (std::string_view m : {"X1", "FILE-OFFSET", "A.B+C!~", "SEND2", "X_Y"}) {
    FrameParser p;
    std::string in = frame("abcd", m);
    ASSERT_EQ(p.feed(in).event, Event::head) << m;
    EXPECT_EQ(p.frame().method(), m);
    EXPECT_EQ(p.frame().method_id(), Method::other) << m;
  }
}

TEST(FrameResync, KnownMethodsKeepTheirIds) {
  FrameParser p;
  std::string in = frame("abcd", "REPORT");
  ASSERT_EQ(p.feed(in).event, Event::head);
  EXPECT_EQ(p.frame().method_id(), Method::report);
}

// ---- frame errors the stream is resynchronised past ----

TEST(FrameResync, MalformedHeaderIs400AndTheNextFrameIsParsed) {
  std::string bad = frame("bad1", "SEND", "Foo bar\r\n");
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, ErrorIsReportedBeforeTheEndLineArrives) {
  FrameParser p;
  std::string in = "MSRP abcd1234 SEND\r\n" + std::string(kPaths) + "Foo bar\r\n";
  Step s = p.feed(in);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_EQ(s.status, 400);
  EXPECT_FALSE(s.fatal);
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_TRUE(p.skipping());
  EXPECT_FALSE(p.failed());
  EXPECT_EQ(p.transaction_id(), "abcd1234");
  EXPECT_TRUE(p.current_is_request());
  EXPECT_EQ(p.current_method(), Method::send);
}

TEST(FrameResync, RejectedHeadIsKeptUntilItsEndLineThenConsumedWhole) {
  FrameParser p;
  std::string in = "MSRP abcd SEND\r\nFoo bar\r\n";
  ASSERT_EQ(p.feed(in).event, Event::error);
  // The head's end is not there yet: nothing consumed, so the caller still has the whole head.
  EXPECT_EQ(p.feed(in).event, Event::need_more);
  in += "-------abcd+\r\nMSRP";
  Step s = p.feed(in);
  ASSERT_EQ(s.event, Event::end);
  EXPECT_EQ(s.flag, '+');
  EXPECT_EQ(s.consumed, in.size() - 4);
  EXPECT_FALSE(p.skipping());
  EXPECT_EQ(p.feed(std::string_view(in).substr(s.consumed)).event, Event::need_more);
}

TEST(FrameResync, RejectedHeadWithABodyIsConsumedWholeThenTheBodyInPieces) {
  FrameParser p;
  std::string head = "MSRP abcd SEND\r\nFoo bar\r\nContent-Type: text/plain\r\n\r\n";
  std::string in = head + "body\r";
  ASSERT_EQ(p.feed(in).event, Event::error);
  Step s = p.feed(in);
  ASSERT_EQ(s.event, Event::skip);
  EXPECT_EQ(s.consumed, head.size());
  in.erase(0, s.consumed);
  s = p.feed(in);
  ASSERT_EQ(s.event, Event::skip);
  EXPECT_EQ(s.consumed, 4u);  // the CR could begin the end-line: held back
  in.erase(0, s.consumed);
  in += "\n-------abcd$\r\n";
  s = p.feed(in);
  ASSERT_EQ(s.event, Event::end);
  EXPECT_EQ(s.consumed, in.size());
}

TEST(FrameResync, MalformedHeaderInAFrameWithABodySkipsTheBody) {
  // The body holds a blank line, another frame's end-line and this one's with a wrong flag: data.
  std::string body = "a\r\n\r\nb\r\n-------wxyz$\r\nc\r\n-------bad1!\r\nd";
  std::string bad = "MSRP bad1 SEND\r\n" + std::string(kPaths) +
                    "1Foo: x\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n-------bad1$\r\n";
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, EndLineFlagOfTheRejectedFrameIsReported) {
  std::string bad = "MSRP bad1 SEND\r\n" + std::string(kPaths) + "Foo:bar\r\n-------bad1#\r\n";
  expect_both(bad, expect({{"error 400", "skip " + std::to_string(bad.size()), "end #"}}));
}

TEST(FrameResync, MissingPathsBeforeEndLineIsSkipped) {
  std::string bad = "MSRP bad1 SEND\r\n-------bad1$\r\n";
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, MalformedToPathListIsSkipped) {
  std::string bad =
      "MSRP bad1 SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp  msrp://b.example.com:1/y;tcp\r\n"
      "From-Path: msrp://c.example.com:1/z;tcp\r\n-------bad1$\r\n";
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, BodyWithoutContentTypeIsSkippedToItsEndLine) {
  std::string bad =
      "MSRP bad1 SEND\r\n" + std::string(kPaths) + "Message-ID: abcd\r\n\r\nhello\r\n-------bad1$\r\n";
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, MethodWithASpaceIsARequestAnswered400) {
  FrameParser p;
  std::string bad = frame("bad1", "FILE OFFSET");
  Step s = p.feed(bad);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_EQ(s.status, 400);
  EXPECT_FALSE(s.fatal);
  EXPECT_TRUE(p.current_is_request());
  EXPECT_EQ(p.current_method(), Method::other);
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, LowercaseMethodIsARequestAnswered400) {
  FrameParser p;
  std::string bad = frame("bad1", "send");
  EXPECT_EQ(p.feed(bad).status, 400);
  EXPECT_TRUE(p.current_is_request());
  EXPECT_TRUE(p.skipping());
}

TEST(FrameResync, MethodWithALowerCaseLetterIsARequestAnswered400) {
  FrameParser p;
  std::string bad = frame("bad1", "File_Offset");
  EXPECT_EQ(p.feed(bad).status, 400);
  EXPECT_TRUE(p.current_is_request());
  EXPECT_TRUE(p.skipping());
}

TEST(FrameResync, BrokenStatusCodeIsAResponse) {
  FrameParser p;
  std::string bad = "MSRP bad1 2000\r\n" + std::string(kPaths) + "-------bad1$\r\n";
  Step s = p.feed(bad);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_FALSE(s.fatal);
  EXPECT_FALSE(p.current_is_request());
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, ResponseWithControlCharacterInCommentIsSkipped) {
  FrameParser p;
  std::string bad = "MSRP bad1 200 O\x01K\r\n" + std::string(kPaths) + "-------bad1$\r\n";
  EXPECT_EQ(p.feed(bad).status, 400);
  EXPECT_FALSE(p.current_is_request());
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, ResponseWithABodyIsSkipped) {
  FrameParser p;
  std::string bad =
      "MSRP bad1 200 OK\r\n" + std::string(kPaths) + "Content-Type: text/plain\r\n\r\nx\r\n-------bad1$\r\n";
  EXPECT_EQ(p.feed(bad).status, 400);
  EXPECT_FALSE(p.current_is_request());
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}));
}

TEST(FrameResync, TooManyHeadersIsSkipped) {
  Limits l;
  l.max_headers = 3;
  std::string bad = frame("bad1", "SEND", "A: 1\r\nB: 2\r\n");
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}),
              l);
}

TEST(FrameResync, LineOverMaxLineIsSkipped) {
  Limits l;
  l.max_line = 120;
  std::string bad = frame("bad1", "SEND", "X-Pad: " + std::string(200, 'p') + "\r\n");
  std::string next = frame("good", "SEND");
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}),
              l);
}

// RFC 4975 §7.1: a non-SEND body is limited; past the limit the rest of the frame is skipped.
TEST(FrameResync, ReportBodyOverTheLimitIs413AndTheNextFrameIsParsed) {
  std::string report = with_body("rep1", "REPORT", std::string(20480, 'r'));
  std::string next = frame("good", "SEND");
  // Fed whole, the parser sees the end-line first: no body piece is handed out.
  size_t head = head_of(report).size();
  EXPECT_EQ(resync_whole(report + next), expect({{"head " + head_of(report), "error 413",
                                                  "skip " + std::to_string(report.size() - head), "end $"},
                                                 good(next)}));
  // Byte by byte, 10240 bytes of body were handed out before the limit was crossed.
  Transcript t = resync_bytewise(report + next);
  EXPECT_EQ(t, expect({{"head " + head_of(report), "body " + std::string(10240, 'r'), "error 413",
                        "skip " + std::to_string(report.size() - head - 10240), "end $"},
                       good(next)}));
}

TEST(FrameResync, ReportOverTheLimitIsKnownAsAReport) {
  FrameParser p;
  std::string report = with_body("rep1", "REPORT", std::string(20480, 'r'));
  Step s = p.feed(report);
  ASSERT_EQ(s.event, Event::head);
  s = p.feed(std::string_view(report).substr(s.consumed));
  EXPECT_EQ(s.event, Event::error);
  EXPECT_EQ(s.status, 413);
  EXPECT_FALSE(s.fatal);
  EXPECT_TRUE(p.current_is_request());
  EXPECT_EQ(p.current_method(), Method::report);
}

TEST(FrameResync, BrokenHeadEndingExactlyAtMaxHeadIsSkipped) {
  std::string bad = frame("bad1", "SEND", "Foo bar\r\n");
  std::string next = frame("good", "SEND");
  Limits l;
  l.max_head = bad.size();  // the end-line's LF is the head's last allowed byte
  expect_both(bad + next, expect({{"error 400", "skip " + std::to_string(bad.size()), "end $"}, good(next)}),
              l);
}

// ---- streams that cannot be resynchronised ----

TEST(FrameResync, BrokenHeadWithoutAnEndWithinMaxHeadIsFatal) {
  std::string bad = frame("bad1", "SEND", "Foo bar\r\n");
  Limits l;
  l.max_head = bad.size() - 1;
  expect_both(bad + frame("good", "SEND"), expect({{"error 400", "error 400 fatal"}}), l);
}

TEST(FrameResync, MalformedEndLineIsFatalOnceMaxHeadIsSeen) {
  Limits l;
  l.max_head = 256;
  std::string in = "MSRP bad1 SEND\r\n" + std::string(kPaths) + "-------bad1!\r\n" + std::string(300, 'x');
  expect_both(in, expect({{"error 400", "error 400 fatal"}}), l);
}

TEST(FrameResync, BrokenHeadWaitsForItsEndWithinMaxHead) {
  Limits l;
  l.max_head = 256;
  std::string in = "MSRP bad1 SEND\r\n" + std::string(kPaths) + "-------bad1!\r\n" + std::string(100, 'x');
  Transcript t = resync_whole(in, l);
  EXPECT_EQ(t, expect({{"error 400"}})) << testing::describe(t);
}

TEST(FrameResync, NotMsrpIsFatal) {
  expect_both("HELLO\r\n" + frame("good", "SEND"), expect({{"error 400 fatal"}}));
}

TEST(FrameResync, MalformedTransactionIdIsFatal) {
  expect_both(frame("x", "SEND") + frame("good", "SEND"), expect({{"error 400 fatal"}}));
}

TEST(FrameResync, StartLineWithoutMethodIsFatal) {
  expect_both("MSRP abcd\r\n" + std::string(kPaths) + "-------abcd$\r\n", expect({{"error 400 fatal"}}));
}

TEST(FrameResync, BareLfIsFatal) {
  expect_both("MSRP abcd SEND\r\nTo-Path: msrp://b.example.com:1/x;tcp\n-------abcd$\r\n",
              expect({{"error 400 fatal"}}));
}

TEST(FrameResync, HeadOverMaxHeadIs413Fatal) {
  Limits l;
  l.max_head = 256;
  std::string in = frame("bad1", "SEND", "X-Pad: " + std::string(300, 'p') + "\r\n");
  expect_both(in, expect({{"error 413 fatal"}}), l);
}

TEST(FrameResync, FatalErrorRepeatsUntilReset) {
  FrameParser p;
  std::string in = "HELLO\r\n";
  EXPECT_TRUE(p.feed(in).fatal);
  Step s = p.feed(in);
  EXPECT_EQ(s.event, Event::error);
  EXPECT_TRUE(s.fatal);
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.skipping());
}

TEST(FrameResync, SeveralBrokenFramesInARowAreEachSkipped) {
  std::string a = frame("bad1", "SEND", "Foo bar\r\n");
  std::string b = "MSRP bad2 20 OK\r\n" + std::string(kPaths) + "-------bad2$\r\n";
  std::string c = frame("good", "FILE_OFFSET");
  expect_both(a + b + c, expect({{"error 400", "skip " + std::to_string(a.size()), "end $"},
                                 {"error 400", "skip " + std::to_string(b.size()), "end $"},
                                 good(c)}));
}

}  // namespace
}  // namespace msrpd::msrp
