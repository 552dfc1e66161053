#include "sip/message.h"

#include <gtest/gtest.h>

#include <string>

namespace msrpd::sip {
namespace {

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

TEST(SipReader, CompleteMessageGivesItsLength) {
  SipReader reader;
  auto r = reader.check(kInvite);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kInvite.size());
}

TEST(SipReader, FedOneByteAtATimeCompletesExactlyAtTheLastBodyByte) {
  SipReader reader;
  for (size_t n = 1; n < kInvite.size(); ++n) {
    auto r = reader.check(std::string_view(kInvite).substr(0, n));
    ASSERT_TRUE(r.ok()) << n;
    ASSERT_EQ(*r, 0u) << n;
  }
  auto r = reader.check(kInvite);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kInvite.size());
}

TEST(SipReader, BytesOfTheNextMessageAreNotCounted) {
  SipReader reader;
  std::string two = kInvite + kInvite;
  auto r = reader.check(two);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kInvite.size());
  reader.reset();
  auto second = reader.check(std::string_view(two).substr(*r));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, kInvite.size());
}

TEST(SipReader, CompactContentLength) {
  SipReader reader;
  std::string msg = "MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabcdef";
  auto r = reader.check(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, msg.size() - 3);
}

TEST(SipReader, ContentLengthNameIsCaseInsensitiveAndValueTrimmed) {
  SipReader reader;
  std::string msg = "MESSAGE sip:a@b SIP/2.0\r\ncontent-LENGTH :  2 \r\n\r\nab";
  auto r = reader.check(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, msg.size());
}

TEST(SipReader, MissingContentLengthMeansNoBody) {
  SipReader reader;
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\nNEXT";
  auto r = reader.check(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, msg.size() - 4);
}

TEST(SipReader, LeadingCrlfsBelongToTheMessage) {
  SipReader reader;
  std::string msg = "\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n";
  EXPECT_EQ(leading_crlf_length(msg), 4u);
  EXPECT_EQ(*reader.check(std::string_view(msg).substr(0, 4)), 0u);
  auto r = reader.check(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, msg.size());
}

TEST(SipReader, BadContentLengthIs400) {
  for (std::string_view value : {"abc", "", "-1", "1 2", "12345678901"}) {
    SipReader reader;
    std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: " + std::string(value) + "\r\n\r\n";
    auto r = reader.check(msg);
    ASSERT_FALSE(r.ok()) << value;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().message, "bad Content-Length");
  }
}

TEST(SipReader, ConflictingContentLengthsAre400) {
  SipReader reader;
  auto r = reader.check("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message, "conflicting Content-Length headers");
}

TEST(SipReader, HeaderBlockOverTheBoundIs413) {
  SipReader reader(64);
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nSubject: " + std::string(40, 'x');
  auto r = reader.check(msg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().message, "SIP header block too large");
}

TEST(SipReader, HeaderBlockAtTheBoundIsAccepted) {
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n";
  SipReader reader(msg.size());
  auto r = reader.check(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, msg.size());
  SipReader smaller(msg.size() - 1);
  EXPECT_FALSE(smaller.check(msg).ok());
}

TEST(SipReader, DefaultHeaderBoundIs64K) {
  SipReader reader;
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nSubject: " + std::string(kMaxSipHeaderBytes, 'x');
  auto r = reader.check(msg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 413);
}

TEST(SipReader, BodyOverTheBoundIs413) {
  SipReader reader(kMaxSipHeaderBytes, 10);
  auto r = reader.check("MESSAGE sip:a@b SIP/2.0\r\nl: 11\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().message, "SIP body too large");
}

TEST(SipMessage, ParsesRequestLineHeadersAndBody) {
  SipMessage m;
  ASSERT_TRUE(m.parse(kInvite).ok());
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri(), "sip:bob@biloxi.example.com");
  EXPECT_EQ(m.start_line(), "INVITE sip:bob@biloxi.example.com SIP/2.0");
  ASSERT_EQ(m.headers().size(), 7u);
  EXPECT_EQ(m.headers()[0].name, "Via");
  EXPECT_EQ(m.headers()[0].value, "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9");
  EXPECT_EQ(m.header("call-id"), "3848276298220188511@atlanta.example.com");
  EXPECT_EQ(m.header("CSEQ"), "1 INVITE");
  EXPECT_EQ(m.body(), "hello");
  EXPECT_EQ(m.find("Contact"), nullptr);
  EXPECT_EQ(m.header("Contact"), "");
}

TEST(SipMessage, ParsesStatusLine) {
  SipMessage m;
  ASSERT_TRUE(m.parse("SIP/2.0 486 Busy Here\r\nVia: x\r\n\r\n").ok());
  EXPECT_FALSE(m.is_request());
  EXPECT_EQ(m.status(), 486);
  EXPECT_EQ(m.reason(), "Busy Here");
  EXPECT_EQ(m.header("Via"), "x");
}

TEST(SipMessage, CompactNamesMapToFullNames) {
  SipMessage m;
  ASSERT_TRUE(m.parse("MESSAGE sip:a@b SIP/2.0\r\n"
                      "v: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
                      "f: <sip:a@b>;tag=1\r\n"
                      "t: <sip:c@d>\r\n"
                      "i: cid\r\n"
                      "m: <sip:a@1.2.3.4>\r\n"
                      "L: 0\r\n"
                      "\r\n")
                  .ok());
  const char* full[] = {"Via", "From", "To", "Call-ID", "Contact", "Content-Length"};
  const char* raw[] = {"v", "f", "t", "i", "m", "L"};
  ASSERT_EQ(m.headers().size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(m.headers()[i].name, full[i]);
    EXPECT_EQ(m.headers()[i].raw_name, raw[i]);
  }
  EXPECT_EQ(m.header("Call-ID"), "cid");
  EXPECT_EQ(m.header("i"), "cid");
  EXPECT_EQ(m.header("via"), "SIP/2.0/TCP h;branch=z9hG4bK1");
  EXPECT_EQ(m.header("Content-Length"), "0");
}

TEST(SipMessage, FoldedHeaderValueSpansItsLines) {
  SipMessage m;
  ASSERT_TRUE(m.parse("OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n two\r\nTo: x\r\n\r\n").ok());
  EXPECT_EQ(m.header("Subject"), "one\r\n two");
  EXPECT_EQ(m.header("To"), "x");
}

TEST(SipMessage, FirstOfRepeatedHeadersIsFound) {
  SipMessage m;
  ASSERT_TRUE(m.parse("OPTIONS sip:a@b SIP/2.0\r\nVia: one\r\nVia: two\r\n\r\n").ok());
  EXPECT_EQ(m.header("Via"), "one");
  EXPECT_EQ(m.headers().size(), 2u);
}

TEST(SipMessage, BodyIsCutAtContentLength) {
  SipMessage m;
  ASSERT_TRUE(m.parse("MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nabcd").ok());
  EXPECT_EQ(m.body(), "ab");
}

TEST(SipMessage, ReusedForAnotherMessage) {
  SipMessage m;
  ASSERT_TRUE(m.parse(kInvite).ok());
  ASSERT_TRUE(m.parse("SIP/2.0 100 Trying\r\n\r\n").ok());
  EXPECT_FALSE(m.is_request());
  EXPECT_EQ(m.method(), "");
  EXPECT_TRUE(m.headers().empty());
}

TEST(SipMessage, RejectsMalformed) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"OPTIONS sip:a@b SIP/2.0", "missing CRLF after start line"},
      {"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n", "missing blank line after headers"},
      {"OPTIONS sip:a@b HTTP/1.1\r\n\r\n", "bad SIP version"},
      {"OPTIONS\r\n\r\n", "bad request line"},
      {"OPTIONS  SIP/2.0\r\n\r\n", "bad request line"},
      {"OP<TIONS sip:a SIP/2.0\r\n\r\n", "bad method"},
      {"SIP/2.0 2x0 OK\r\n\r\n", "bad status code"},
      {"SIP/2.0 099 Low\r\n\r\n", "bad status code"},
      {"OPTIONS sip:a@b SIP/2.0\r\nVia x\r\n\r\n", "missing ':' in header at 25"},
      {"OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n", "empty header name at 25"},
      {"OPTIONS sip:a@b SIP/2.0\r\nV a: x\r\n\r\n", "bad header name at 25"},
      {"OPTIONS sip:a@b SIP/2.0\r\n x\r\n\r\n", "continuation line before any header at 25"},
  };
  for (const Case& c : cases) {
    SipMessage m;
    auto r = m.parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().message, c.message) << c.text;
  }
}

}  // namespace
}  // namespace msrpd::sip
