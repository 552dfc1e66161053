// Frame writer: exact bytes (RFC 4975 §7.1, §7.2, §9; RFC 4976 §6.4.1).

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "frame_test_support.h"
#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"

namespace msrpd::msrp {
namespace {

constexpr std::string_view kSend =
    "MSRP 6aef SEND\r\n"
    "To-Path: msrps://relay.example.org:9000/kjfjan;tcp msrps://bob.example.net:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.org:7965/bar;tcp\r\n"
    "Success-Report: yes\r\n"
    "byte-range:  1-*/*\r\n"  // odd spelling and spacing must survive byte-for-byte
    "Message-ID: 87652\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hi\r\n"
    "-------6aef$\r\n";

TEST(FrameWriter, RelayedHeadPopsToPathIntoFromPathAndCopiesOtherHeaders) {
  FrameParser p;
  ASSERT_EQ(p.feed(kSend).event, Event::head);
  std::string out;
  ASSERT_TRUE(write_relayed_head(p.frame(), out));
  EXPECT_EQ(out,
            "MSRP 6aef SEND\r\n"
            "To-Path: msrps://bob.example.net:8145/foo;tcp\r\n"
            "From-Path: msrps://relay.example.org:9000/kjfjan;tcp msrps://alice.example.org:7965/bar;tcp\r\n"
            "Success-Report: yes\r\n"
            "byte-range:  1-*/*\r\n"
            "Message-ID: 87652\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n");
  EXPECT_EQ(relay_popped_uri(p.frame()), "msrps://relay.example.org:9000/kjfjan;tcp");
}

TEST(FrameWriter, RelayedHeadWithNewTransactionId) {
  FrameParser p;
  ASSERT_EQ(p.feed(kSend).event, Event::head);
  std::string out = "prefix|";
  ASSERT_TRUE(write_relayed_head(p.frame(), out, "Zx81kLmn0pQr2sT4"));
  EXPECT_TRUE(out.starts_with("prefix|MSRP Zx81kLmn0pQr2sT4 SEND\r\nTo-Path: msrps://bob"));
}

// RFC 4975 §7.1.1: a chunk the relay may interrupt carries range-end "*"; the line keeps its place.
TEST(FrameWriter, RelayedHeadWithByteRangeWritesItInPlaceOfTheSendersLine) {
  constexpr std::string_view kChunk =
      "MSRP chnk0001 SEND\r\n"
      "To-Path: msrp://relay:2855/r;tcp msrp://bob:9/b;tcp\r\n"
      "From-Path: msrp://alice:7/a;tcp\r\n"
      "Message-ID: m1\r\n"
      "Byte-Range: 1-70000/90000\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(kChunk).event, Event::head);
  std::string out;
  ASSERT_TRUE(write_relayed_head(p.frame(), out, "t2", ByteRange{1, std::nullopt, 90000}));
  EXPECT_EQ(out,
            "MSRP t2 SEND\r\n"
            "To-Path: msrp://bob:9/b;tcp\r\n"
            "From-Path: msrp://relay:2855/r;tcp msrp://alice:7/a;tcp\r\n"
            "Message-ID: m1\r\n"
            "Byte-Range: 1-*/90000\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n");
  out.clear();
  ASSERT_TRUE(write_relayed_head(p.frame(), out, "t3", ByteRange{1, 8192, std::nullopt}));
  EXPECT_NE(out.find("\r\nMessage-ID: m1\r\nByte-Range: 1-8192/*\r\nContent-Type"), std::string::npos) << out;
}

TEST(FrameWriter, RelayedHeadWithByteRangeAddsNoneWhenTheFrameHasNone) {
  constexpr std::string_view kChunk =
      "MSRP chnk0001 SEND\r\nTo-Path: msrp://relay:2855/r;tcp msrp://bob:9/b;tcp\r\nFrom-Path: "
      "msrp://alice:7/a;tcp\r\n"
      "Message-ID: m1\r\nContent-Type: text/plain\r\n\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(kChunk).event, Event::head);
  std::string with, without;
  ASSERT_TRUE(write_relayed_head(p.frame(), with, "t", ByteRange{1, std::nullopt, std::nullopt}));
  ASSERT_TRUE(write_relayed_head(p.frame(), without, "t"));
  EXPECT_EQ(with, without);
}

TEST(FrameWriter, RelayedResponseKeepsStatusAndCommentAndHasNoBlankLine) {
  std::string in =
      "MSRP 49fh 401 Unauthorized\r\n"
      "To-Path: msrps://relay.example.com:2855/ab;tcp msrps://alice.example.com:9892/98cjs;tcp\r\n"
      "From-Path: msrps://extra.example.com:2855/cd;tcp\r\n"
      "WWW-Authenticate: Digest realm=\"x\", qop=\"auth\", nonce=\"n\"\r\n"
      "-------49fh$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  std::string out;
  ASSERT_TRUE(write_relayed_head(p.frame(), out));
  EXPECT_EQ(out,
            "MSRP 49fh 401 Unauthorized\r\n"
            "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
            "From-Path: msrps://relay.example.com:2855/ab;tcp msrps://extra.example.com:2855/cd;tcp\r\n"
            "WWW-Authenticate: Digest realm=\"x\", qop=\"auth\", nonce=\"n\"\r\n");
}

TEST(FrameWriter, RelayedHeadWithSingleToPathUriIs400AndWritesNothing) {
  std::string in =
      "MSRP abcd SEND\r\nTo-Path: msrp://a.example.com:1/x;tcp\r\nFrom-Path: msrp://b.example.com:1/y;tcp\r\n"
      "-------abcd$\r\n";
  FrameParser p;
  ASSERT_EQ(p.feed(in).event, Event::head);
  std::string out;
  auto r = write_relayed_head(p.frame(), out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(out, "");
}

TEST(FrameWriter, RelayedFrameWithBodyAndEndLineParsesBack) {
  FrameParser p;
  std::string in(kSend);
  Step s = p.feed(in);
  std::string out;
  ASSERT_TRUE(write_relayed_head(p.frame(), out));
  std::string_view rest = std::string_view(in).substr(s.consumed);
  s = p.feed(rest);
  ASSERT_EQ(s.event, Event::body);
  out.append(s.body);
  rest.remove_prefix(s.consumed);
  s = p.feed(rest);
  ASSERT_EQ(s.event, Event::end);
  write_end_line(out, "6aef", s.flag, EndLine::after_body);
  auto t = testing::parse_whole(out);
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[1], "body Hi");
  EXPECT_EQ(t.events[2], "end $");
}

TEST(FrameWriter, EndLineAfterHeadersAndAfterBody) {
  std::string out;
  write_end_line(out, "a786hjs2", '$', EndLine::after_headers);
  EXPECT_EQ(out, "-------a786hjs2$\r\n");
  out.clear();
  write_end_line(out, "a786hjs2", '+', EndLine::after_body);
  EXPECT_EQ(out, "\r\n-------a786hjs2+\r\n");
}

TEST(FrameWriter, ResponseRfc4975Sec7_2) {
  std::string out;
  write_response(out, "a786hjs2", 200, "OK", "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
                 "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp");
  EXPECT_EQ(out,
            "MSRP a786hjs2 200 OK\r\n"
            "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
            "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
            "-------a786hjs2$\r\n");
}

TEST(FrameWriter, ResponseWithoutCommentAndWithExtraHeaders) {
  std::string out;
  write_response(out, "49fi", 423, "", "msrps://a.example.com:1/x;tcp msrps://b.example.com:2/y;tcp",
                 "msrps://r.example.com:2855/z;tcp", "Min-Expires: 300\r\n");
  EXPECT_EQ(out,
            "MSRP 49fi 423\r\n"
            "To-Path: msrps://a.example.com:1/x;tcp msrps://b.example.com:2/y;tcp\r\n"
            "From-Path: msrps://r.example.com:2855/z;tcp\r\n"
            "Min-Expires: 300\r\n"
            "-------49fi$\r\n");
}

TEST(FrameWriter, ReportRequestWithoutBody) {
  std::string out;
  ASSERT_TRUE(write_request(out, "dkei38sd", "REPORT", "msrp://alice.example.com:7777/iau39soe2843z;tcp",
                            "msrp://bob.example.com:8888/9di4eae923wzd;tcp",
                            "Message-ID: 12339sdqwer\r\nByte-Range: 1-106/106\r\nStatus: 000 200 OK\r\n",
                            ""));
  EXPECT_EQ(out,
            "MSRP dkei38sd REPORT\r\n"
            "To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
            "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
            "Message-ID: 12339sdqwer\r\n"
            "Byte-Range: 1-106/106\r\n"
            "Status: 000 200 OK\r\n"
            "-------dkei38sd$\r\n");
}

TEST(FrameWriter, SendRequestWithBody) {
  std::string out;
  ASSERT_TRUE(write_request(out, "abcd", "SEND", "msrp://b.example.com:1/x;tcp",
                            "msrp://a.example.com:1/y;tcp", "Message-ID: m1\r\nContent-Type: text/plain\r\n",
                            "hello", '+'));
  EXPECT_EQ(out,
            "MSRP abcd SEND\r\n"
            "To-Path: msrp://b.example.com:1/x;tcp\r\n"
            "From-Path: msrp://a.example.com:1/y;tcp\r\n"
            "Message-ID: m1\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n"
            "hello\r\n"
            "-------abcd+\r\n");
}

TEST(FrameWriter, SendRequestWithEmptyBodyKeepsTheBodySeparators) {
  std::string out;
  ASSERT_TRUE(write_request(out, "abcd", "SEND", "msrp://b.example.com:1/x;tcp",
                            "msrp://a.example.com:1/y;tcp",
                            "Byte-Range: 1-0/0\r\nContent-Type: text/plain\r\n", ""));
  EXPECT_TRUE(out.ends_with("Content-Type: text/plain\r\n\r\n\r\n-------abcd$\r\n"));
  auto t = testing::parse_whole(out);
  EXPECT_EQ(t.events.size(), 2u);
}

TEST(FrameWriter, BodyWithoutContentTypeIs400AndWritesNothing) {
  std::string out;
  auto r = write_request(out, "abcd", "SEND", "msrp://b.example.com:1/x;tcp", "msrp://a.example.com:1/y;tcp",
                         "Message-ID: m1\r\n", "hello");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(out, "");
}

TEST(FrameWriter, WritingIntoAWarmBufferDoesNotAllocate) {
  FrameParser p;
  ASSERT_EQ(p.feed(kSend).event, Event::head);
  std::string out;
  out.reserve(1024);
  const char* data = out.data();
  for (int i = 0; i < 100; ++i) {
    out.clear();
    ASSERT_TRUE(write_relayed_head(p.frame(), out));
    write_end_line(out, "6aef", '$', EndLine::after_body);
  }
  EXPECT_EQ(out.data(), data);
}

TEST(FrameWriter, TransactionIdsAreSixteenAlphanumericsAndDistinct) {
  TransactionIdGenerator gen;
  std::set<std::string> seen;
  TransactionIdGenerator::Buffer buf;
  for (int i = 0; i < 10000; ++i) {
    std::string_view id = gen.next(buf);
    ASSERT_EQ(id.size(), 16u);
    ASSERT_TRUE(is_ident(id));
    for (char c : id) ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << id;
    seen.insert(std::string(id));
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(FrameWriter, SeededTransactionIdGeneratorIsDeterministic) {
  TransactionIdGenerator a(42), b(42), c(43);
  std::string sa, sb, sc;
  a.append(sa);
  b.append(sb);
  c.append(sc);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

}  // namespace
}  // namespace msrpd::msrp
