// The "sipmsg" view of an MSRP frame, against the example of the seed's §8 (Usage). The seed shows
// To-Path folded with "\" for the page width; the real header is one line with single spaces.
#include "sip/frame_view.h"

#include <gtest/gtest.h>

#include <string>

namespace msrpd::sip {
namespace {

const std::string kFrameHead =
    "MSRP 6aef SEND\r\n"
    "To-Path: msrps://a.example.org:9000/kjfjan;tcp msrps://b.example.net:9000/aeiug;tcp "
    "msrps://bob.example.net:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.org:7965/bar;tcp\r\n"
    "Success-Report: yes\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Message-ID: 87652\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n";

const std::string kSeedSipRequest =
    "MSRP sip:a@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa\r\n"
    "From: <b@127.0.0.1>;tag=a\r\n"
    "To: <a@127.0.0.1>\r\n"
    "Call-ID: a\r\n"
    "CSeq: 1 MSRP\r\n"
    "Content-Length: 0\r\n"
    "MSRP-First-Line: MSRP 6aef SEND\r\n"
    "To-Path: msrps://a.example.org:9000/kjfjan;tcp msrps://b.example.net:9000/aeiug;tcp "
    "msrps://bob.example.net:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.org:7965/bar;tcp\r\n"
    "Success-Report: yes\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Message-ID: 87652\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n";

TEST(SipMsg, SeedExampleGivesTheSeedRequestExactly) {
  std::string out;
  build_sipmsg(kFrameHead, out);
  EXPECT_EQ(out, kSeedSipRequest);
}

TEST(SipMsg, HeadWithoutBlankLineGetsOne) {
  std::string out;
  build_sipmsg(kFrameHead.substr(0, kFrameHead.size() - 2), out);
  EXPECT_EQ(out, kSeedSipRequest);
}

TEST(SipMsg, BodilessFrameHeadEndsWithBlankLine) {
  std::string out;
  build_sipmsg("MSRP a1b2 SEND\r\nTo-Path: msrp://h:1/s;tcp\r\nFrom-Path: msrp://g:2/t;tcp\r\n", out);
  EXPECT_EQ(out, std::string(kSipMsgPrefix) +
                     "MSRP a1b2 SEND\r\nTo-Path: msrp://h:1/s;tcp\r\nFrom-Path: msrp://g:2/t;tcp\r\n\r\n");
}

TEST(SipMsg, BufferIsReusedWithoutLeftovers) {
  std::string out;
  build_sipmsg(kFrameHead, out);
  build_sipmsg("MSRP x SEND\r\nTo-Path: a\r\nFrom-Path: b\r\n", out);
  EXPECT_EQ(out, std::string(kSipMsgPrefix) + "MSRP x SEND\r\nTo-Path: a\r\nFrom-Path: b\r\n\r\n");
}

TEST(FrameSipView, HeadersOfTheSipViewAreFound) {
  FrameSipView view;
  ASSERT_TRUE(view.build(kFrameHead).ok());
  EXPECT_EQ(view.text(), kSeedSipRequest);
  EXPECT_TRUE(view.message().is_request());
  EXPECT_EQ(view.message().method(), "MSRP");
  EXPECT_EQ(view.message().request_uri(), "sip:a@127.0.0.1");
  EXPECT_EQ(view.header("MSRP-First-Line"), "MSRP 6aef SEND");
  EXPECT_EQ(view.header("to-path"),
            "msrps://a.example.org:9000/kjfjan;tcp msrps://b.example.net:9000/aeiug;tcp "
            "msrps://bob.example.net:8145/foo;tcp");
  EXPECT_EQ(view.header("From-Path"), "msrps://alice.example.org:7965/bar;tcp");
  EXPECT_EQ(view.header("Message-ID"), "87652");
  EXPECT_EQ(view.header("Call-ID"), "a");
  EXPECT_EQ(view.header("i"), "a");
  EXPECT_EQ(view.header("To"), "<a@127.0.0.1>");
  EXPECT_EQ(view.header("Content-Length"), "0");
  EXPECT_EQ(view.header("Use-Path"), "");
  EXPECT_EQ(view.message().body(), "");
}

TEST(FrameSipView, OnlyTheHeadOfAHugeFrameIsUsed) {
  // Kamailio gives no view from 11239 bytes on; msrpd gives one whatever the frame's size, since it
  // is built from the head only.
  std::string huge = kFrameHead + std::string(1 << 20, 'x') + "\r\n-------6aef$\r\n";
  std::string_view head = std::string_view(huge).substr(0, huge.find("\r\n\r\n") + 4);
  FrameSipView view;
  ASSERT_TRUE(view.build(head).ok());
  EXPECT_EQ(view.text(), kSeedSipRequest);
  EXPECT_EQ(view.header("Byte-Range"), "1-*/*");
}

TEST(FrameSipView, ReusedForTheNextFrame) {
  FrameSipView view;
  ASSERT_TRUE(view.build(kFrameHead).ok());
  ASSERT_TRUE(
      view.build("MSRP r1 200 OK\r\nTo-Path: msrp://a:1/x;tcp\r\nFrom-Path: msrp://b:2/y;tcp\r\n").ok());
  EXPECT_EQ(view.header("MSRP-First-Line"), "MSRP r1 200 OK");
  EXPECT_EQ(view.header("Message-ID"), "");
  EXPECT_EQ(view.header("To-Path"), "msrp://a:1/x;tcp");
}

TEST(FrameSipView, HeadWithALineWithoutColonIsAnError) {
  FrameSipView view;
  auto r = view.build("MSRP r1 SEND\r\nTo-Path msrp://a:1/x;tcp\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
}

}  // namespace
}  // namespace msrpd::sip

namespace msrpd::sip {
namespace {

TEST(SipMsgFixedHeader, GivesTheValuesOfTheSeedsFixedPrefix) {
  EXPECT_EQ(sipmsg_fixed_header("Call-ID"), "a");
  EXPECT_EQ(sipmsg_fixed_header("call-id"), "a");
  EXPECT_EQ(sipmsg_fixed_header("i"), "a");  // compact form
  EXPECT_EQ(sipmsg_fixed_header("CSeq"), "1 MSRP");
  EXPECT_EQ(sipmsg_fixed_header("Via"), "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa");
  EXPECT_EQ(sipmsg_fixed_header("From"), "<b@127.0.0.1>;tag=a");
  EXPECT_EQ(sipmsg_fixed_header("To"), "<a@127.0.0.1>");
  EXPECT_EQ(sipmsg_fixed_header("Content-Length"), "0");
  EXPECT_FALSE(sipmsg_fixed_header("To-Path").has_value());
  EXPECT_FALSE(sipmsg_fixed_header("Message-ID").has_value());
}

TEST(SipMsgFixedHeader, MatchesWhatTheBuiltViewSays) {
  FrameSipView v;
  ASSERT_TRUE(v.build("MSRP abcd SEND\r\nTo-Path: msrp://a:1/x;tcp\r\nFrom-Path: msrp://b:2/y;tcp\r\n"));
  for (std::string_view name : {"Via", "From", "To", "Call-ID", "CSeq", "Content-Length"}) {
    EXPECT_EQ(sipmsg_fixed_header(name), v.header(name)) << name;
  }
}

}  // namespace
}  // namespace msrpd::sip
