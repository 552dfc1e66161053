// The example frames of RFC 4975 and RFC 4976 (typed in here; long lines joined with single spaces as
// the RFCs' line-continuation convention asks), and the seed's example frame. Each is parsed whole,
// one byte at a time and split at every offset: all must give the same events and body bytes.

#include <gtest/gtest.h>

#include "frame_test_support.h"
#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"

namespace msrpd::msrp {
namespace {

using testing::parse_bytewise;
using testing::parse_split;
using testing::parse_whole;
using testing::Transcript;

void expect_split_invariant(std::string_view in) {
  Transcript whole = parse_whole(in);
  EXPECT_EQ(parse_bytewise(in), whole) << testing::describe(parse_bytewise(in));
  for (size_t at = 0; at <= in.size(); ++at) {
    ASSERT_EQ(parse_split(in, at), whole) << "split at " << at;
  }
}

// RFC 4975 §7.1.1 / §4: a SEND with a short body.
constexpr std::string_view kRfc4975Send =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "Message-ID: 87652491\r\n"
    "Byte-Range: 1-25/25\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hey Bob, are you there?\r\n"
    "-------a786hjs2$\r\n";

// RFC 4975 §7.2 / §4: the response to it.
constexpr std::string_view kRfc4975Response =
    "MSRP a786hjs2 200 OK\r\n"
    "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "-------a786hjs2$\r\n";

// RFC 4975 §7.1.2: a success REPORT.
constexpr std::string_view kRfc4975Report =
    "MSRP dkei38sd REPORT\r\n"
    "To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    "Message-ID: 12339sdqwer\r\n"
    "Byte-Range: 1-106/106\r\n"
    "Status: 000 200 OK\r\n"
    "-------dkei38sd$\r\n";

// RFC 4975 §5.1 / §8: an interrupted chunk ('+') followed by the rest of the message ('$').
constexpr std::string_view kRfc4975Chunks =
    "MSRP d93kswow SEND\r\n"
    "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
    "Message-ID: 12339sdqwer\r\n"
    "Success-Report: yes\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<html><body><p>Here is that important link...\r\n"
    "-------d93kswow+\r\n"
    "MSRP op2nc9a SEND\r\n"
    "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
    "Message-ID: 12339sdqwer\r\n"
    "Success-Report: yes\r\n"
    "Byte-Range: 47-*/*\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "</p></body></html>\r\n"
    "-------op2nc9a$\r\n";

// RFC 4976 §7.1: the first AUTH (no credentials), its 401, the AUTH with credentials and the 200
// with Use-Path and Expires.
constexpr std::string_view kRfc4976Auth =
    "MSRP 49fh AUTH\r\n"
    "To-Path: msrps://alice@intra.example.com;tcp\r\n"
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
    "-------49fh$\r\n";

constexpr std::string_view kRfc4976Unauthorized =
    "MSRP 49fh 401 Unauthorized\r\n"
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
    "From-Path: msrps://alice@intra.example.com;tcp\r\n"
    "WWW-Authenticate: Digest realm=\"intra.example.com\", qop=\"auth\", "
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\r\n"
    "-------49fh$\r\n";

constexpr std::string_view kRfc4976AuthWithCredentials =
    "MSRP 49fi AUTH\r\n"
    "To-Path: msrps://alice@intra.example.com;tcp\r\n"
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
    "Authorization: Digest username=\"Alice\", realm=\"intra.example.com\", "
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
    "response=\"6629fae49393a05397450978507c4ef1\"\r\n"
    "-------49fi$\r\n";

constexpr std::string_view kRfc4976AuthOk =
    "MSRP 49fi 200 OK\r\n"
    "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
    "From-Path: msrps://alice@intra.example.com;tcp\r\n"
    "Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"
    "Expires: 900\r\n"
    "Authentication-Info: qop=auth, rspauth=\"0a4f113b\", cnonce=\"0a4f113b\", nc=00000001\r\n"
    "-------49fi$\r\n";

// RFC 4976 §7.2: Alice's SEND through her relay intra and Bob's relay extra.
constexpr std::string_view kRfc4976Send =
    "MSRP 6aef SEND\r\n"
    "To-Path: msrps://intra.example.com:9000/jui787s2f;tcp msrps://extra.example.com:9000/mywdjw2;tcp "
    "msrps://bob.example.com:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
    "Message-ID: 87652\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hi Bob, I'm about to send you a photo.\r\n"
    "-------6aef$\r\n";

// Seed §8 (the msrp module's documentation): the example frame with three To-Path URIs.
constexpr std::string_view kSeedFrame =
    "MSRP 6aef SEND\r\n"
    "To-Path: msrps://a.example.org:9000/kjfjan;tcp msrps://b.example.net:9000/aeiug;tcp "
    "msrps://bob.example.net:8145/foo;tcp\r\n"
    "From-Path: msrps://alice.example.org:7965/bar;tcp\r\n"
    "Success-Report: yes\r\n"
    "Byte-Range: 1-*/*\r\n"
    "Message-ID: 87652\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hi Bob, I'm about to send you a photo.\r\n"
    "-------6aef$\r\n";

std::string head_of(std::string_view frame) {
  size_t blank = frame.find("\r\n\r\n");
  if (blank != std::string_view::npos) return std::string(frame.substr(0, blank + 4));
  return std::string(frame.substr(0, frame.find("-------")));
}

TEST(FrameRfcExamples, Rfc4975Sec7_1_1SendGivesHeadBodyEnd) {
  Transcript t = parse_whole(kRfc4975Send);
  EXPECT_EQ(t.events, (std::vector<std::string>{"head " + head_of(kRfc4975Send),
                                                "body Hey Bob, are you there?", "end $"}));
  FrameParser p;
  Step s = p.feed(kRfc4975Send);
  ASSERT_EQ(s.event, Event::head);
  const Frame& f = p.frame();
  EXPECT_TRUE(f.is_request());
  EXPECT_EQ(f.transaction_id(), "a786hjs2");
  EXPECT_EQ(f.method(), "SEND");
  EXPECT_EQ(f.method_id(), Method::send);
  EXPECT_TRUE(f.has_body());
  EXPECT_EQ(f.start_line(), "MSRP a786hjs2 SEND");
  ASSERT_EQ(f.to_path().size(), 1u);
  EXPECT_EQ(f.to_path()[0], "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp");
  ASSERT_EQ(f.from_path().size(), 1u);
  EXPECT_EQ(f.from_path()[0], "msrp://atlanta.example.com:7654/jshA7weztas;tcp");
  EXPECT_EQ(*f.message_id(), "87652491");
  EXPECT_EQ(**f.byte_range(), (ByteRange{1, 25, 25}));
  EXPECT_EQ(*f.content_type(), "text/plain");
  EXPECT_FALSE(*f.success_report());
  EXPECT_EQ(*f.failure_report(), FailureReport::yes);
  expect_split_invariant(kRfc4975Send);
}

TEST(FrameRfcExamples, Rfc4975Sec7_2ResponseHasNoBody) {
  Transcript t = parse_whole(kRfc4975Response);
  EXPECT_EQ(t.events, (std::vector<std::string>{"head " + head_of(kRfc4975Response), "end $"}));
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4975Response).event, Event::head);
  const Frame& f = p.frame();
  EXPECT_TRUE(f.is_response());
  EXPECT_EQ(f.status_code(), 200);
  EXPECT_EQ(f.comment(), "OK");
  EXPECT_FALSE(f.has_body());
  EXPECT_EQ(f.method(), "");
  expect_split_invariant(kRfc4975Response);
}

TEST(FrameRfcExamples, Rfc4975Sec7_1_2ReportCarriesStatus) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4975Report).event, Event::head);
  const Frame& f = p.frame();
  EXPECT_EQ(f.method_id(), Method::report);
  auto st = f.report_status();
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ((*st)->ns, 0);
  EXPECT_EQ((*st)->code, 200);
  EXPECT_EQ((*st)->comment, "OK");
  EXPECT_EQ(**f.byte_range(), (ByteRange{1, 106, 106}));
  EXPECT_EQ(parse_whole(kRfc4975Report).events,
            (std::vector<std::string>{"head " + head_of(kRfc4975Report), "end $"}));
  expect_split_invariant(kRfc4975Report);
}

TEST(FrameRfcExamples, Rfc4975Sec5_1InterruptedChunkThenLastChunkPipelined) {
  Transcript t = parse_whole(kRfc4975Chunks);
  ASSERT_EQ(t.events.size(), 6u) << testing::describe(t);
  EXPECT_EQ(t.events[1], "body <html><body><p>Here is that important link...");
  EXPECT_EQ(t.events[2], "end +");
  EXPECT_EQ(t.events[4], "body </p></body></html>");
  EXPECT_EQ(t.events[5], "end $");
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4975Chunks).event, Event::head);
  EXPECT_TRUE(*p.frame().success_report());
  EXPECT_EQ(**p.frame().byte_range(), (ByteRange{1, std::nullopt, std::nullopt}));
  expect_split_invariant(kRfc4975Chunks);
}

TEST(FrameRfcExamples, Rfc4976Sec7_1AuthWithoutCredentials) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4976Auth).event, Event::head);
  EXPECT_EQ(p.frame().method_id(), Method::auth);
  EXPECT_EQ(p.frame().to_path()[0], "msrps://alice@intra.example.com;tcp");
  EXPECT_FALSE(p.frame().authorization().has_value());
  expect_split_invariant(kRfc4976Auth);
}

TEST(FrameRfcExamples, Rfc4976Sec7_1UnauthorizedCarriesWwwAuthenticate) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4976Unauthorized).event, Event::head);
  EXPECT_EQ(p.frame().status_code(), 401);
  EXPECT_EQ(p.frame().comment(), "Unauthorized");
  EXPECT_EQ(*p.frame().www_authenticate(),
            "Digest realm=\"intra.example.com\", qop=\"auth\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"");
  expect_split_invariant(kRfc4976Unauthorized);
}

TEST(FrameRfcExamples, Rfc4976Sec7_1AuthWithAuthorization) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4976AuthWithCredentials).event, Event::head);
  ASSERT_TRUE(p.frame().authorization().has_value());
  EXPECT_TRUE(p.frame().authorization()->starts_with("Digest username=\"Alice\""));
  expect_split_invariant(kRfc4976AuthWithCredentials);
}

TEST(FrameRfcExamples, Rfc4976Sec7_1OkCarriesUsePathAndExpires) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4976AuthOk).event, Event::head);
  const Frame& f = p.frame();
  std::vector<std::string_view> use_path;
  ASSERT_TRUE(*f.use_path(use_path));
  EXPECT_EQ(use_path, (std::vector<std::string_view>{"msrps://intra.example.com:9000/jui787s2f;tcp"}));
  EXPECT_EQ(**f.expires(), 900u);
  EXPECT_EQ(*f.authentication_info(), "qop=auth, rspauth=\"0a4f113b\", cnonce=\"0a4f113b\", nc=00000001");
  expect_split_invariant(kRfc4976AuthOk);
}

TEST(FrameRfcExamples, Rfc4976Sec7_2RelayedSendRewritesPaths) {
  FrameParser p;
  ASSERT_EQ(p.feed(kRfc4976Send).event, Event::head);
  const Frame& f = p.frame();
  EXPECT_EQ(relay_popped_uri(f), "msrps://intra.example.com:9000/jui787s2f;tcp");
  std::string out;
  ASSERT_TRUE(write_relayed_head(f, out, "juh76"));
  EXPECT_EQ(
      out,
      "MSRP juh76 SEND\r\n"
      "To-Path: msrps://extra.example.com:9000/mywdjw2;tcp msrps://bob.example.com:8145/foo;tcp\r\n"
      "From-Path: msrps://intra.example.com:9000/jui787s2f;tcp msrps://alice.example.com:9892/98cjs;tcp\r\n"
      "Message-ID: 87652\r\n"
      "Byte-Range: 1-*/*\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n");
  expect_split_invariant(kRfc4976Send);
}

TEST(FrameRfcExamples, SeedSec8FrameHasThreeToPathUris) {
  FrameParser p;
  ASSERT_EQ(p.feed(kSeedFrame).event, Event::head);
  const Frame& f = p.frame();
  EXPECT_EQ(f.transaction_id(), "6aef");
  ASSERT_EQ(f.to_path().size(), 3u);
  EXPECT_EQ(f.to_path()[0], "msrps://a.example.org:9000/kjfjan;tcp");
  EXPECT_EQ(f.to_path()[1], "msrps://b.example.net:9000/aeiug;tcp");
  EXPECT_EQ(f.to_path()[2], "msrps://bob.example.net:8145/foo;tcp");
  EXPECT_EQ(f.from_path()[0], "msrps://alice.example.org:7965/bar;tcp");
  EXPECT_TRUE(*f.success_report());
  EXPECT_EQ(*f.message_id(), "87652");
  EXPECT_EQ(parse_whole(kSeedFrame).events,
            (std::vector<std::string>{"head " + head_of(kSeedFrame),
                                      "body Hi Bob, I'm about to send you a photo.", "end $"}));
  expect_split_invariant(kSeedFrame);
}

TEST(FrameRfcExamples, AllExamplesPipelinedInOneStreamSplitAnywhere) {
  std::string all;
  for (auto f :
       {kRfc4975Send, kRfc4975Response, kRfc4975Report, kRfc4975Chunks, kRfc4976Auth, kRfc4976Unauthorized,
        kRfc4976AuthWithCredentials, kRfc4976AuthOk, kRfc4976Send, kSeedFrame}) {
    all += f;
  }
  Transcript t = parse_whole(all);
  EXPECT_EQ(t.events.size(), 27u) << testing::describe(t);
  for (const auto& e : t.events) EXPECT_FALSE(e.starts_with("error")) << e;
  expect_split_invariant(all);
}

}  // namespace
}  // namespace msrpd::msrp
