#include "sip/reply.h"

#include <gtest/gtest.h>

#include <string>

namespace msrpd::sip {
namespace {

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK77ef4c2312983.1\r\n"
    "v: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    "Max-Forwards: 69\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

SipMessage parsed(const std::string& text) {
  SipMessage m;
  auto r = m.parse(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return m;
}

TEST(BuildReply, WritesTheExactStatelessResponse) {
  SipMessage req = parsed(kInvite);
  std::string tag = reply_to_tag(req);
  std::string out;
  ASSERT_TRUE(build_reply(req, 403, "Forbidden", out).ok());
  EXPECT_EQ(out,
            "SIP/2.0 403 Forbidden\r\n"
            "Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK77ef4c2312983.1\r\n"
            "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
            "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
            "To: Bob <sip:bob@biloxi.example.com>;tag=" +
                tag +
                "\r\n"
                "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
                "CSeq: 1 INVITE\r\n"
                "Server: msrpd\r\n"
                "Content-Length: 0\r\n"
                "\r\n");
}

TEST(BuildReply, TagIsSixteenHexDigitsFixedForTheRequest) {
  SipMessage req = parsed(kInvite);
  // A pinned value: the tag must not change between releases, or retransmissions across a
  // restart would get a different one.
  EXPECT_EQ(reply_to_tag(req), "9542d65aff5ff035");
}

TEST(BuildReply, RetransmissionGetsTheSameTag) {
  SipMessage a = parsed(kInvite);
  SipMessage b = parsed(kInvite);
  EXPECT_EQ(reply_to_tag(a), reply_to_tag(b));
}

TEST(BuildReply, OtherBranchGetsAnotherTag) {
  std::string other = kInvite;
  other.replace(other.find("z9hG4bK77ef4c"), 13, "z9hG4bK00000x");
  EXPECT_NE(reply_to_tag(parsed(kInvite)), reply_to_tag(parsed(other)));
}

TEST(BuildReply, OtherCSeqGetsAnotherTag) {
  std::string other = kInvite;
  other.replace(other.find("CSeq: 1 INVITE"), 14, "CSeq: 2 INVITE");
  EXPECT_NE(reply_to_tag(parsed(kInvite)), reply_to_tag(parsed(other)));
}

TEST(BuildReply, ExistingToTagIsKept) {
  std::string text = kInvite;
  text.replace(text.find("To: Bob <sip:bob@biloxi.example.com>"), 36,
               "To: Bob <sip:bob@biloxi.example.com>;TAG=abc");
  std::string out;
  ASSERT_TRUE(build_reply(parsed(text), 200, "OK", out).ok());
  EXPECT_NE(out.find("\r\nTo: Bob <sip:bob@biloxi.example.com>;TAG=abc\r\nCall-ID:"), std::string::npos);
}

TEST(BuildReply, CompactHeadersAreWrittenInFull) {
  std::string out;
  ASSERT_TRUE(build_reply(parsed("MESSAGE sip:a@b SIP/2.0\r\n"
                                 "v: SIP/2.0/TCP h:5060;branch=z9hG4bK1\r\n"
                                 "f: <sip:a@b>;tag=1\r\n"
                                 "t: <sip:c@d>;tag=2\r\n"
                                 "i: cid\r\n"
                                 "CSeq: 7 MESSAGE\r\n"
                                 "l: 0\r\n"
                                 "\r\n"),
                          488, "Not Acceptable Here", out)
                  .ok());
  EXPECT_EQ(out,
            "SIP/2.0 488 Not Acceptable Here\r\n"
            "Via: SIP/2.0/TCP h:5060;branch=z9hG4bK1\r\n"
            "From: <sip:a@b>;tag=1\r\n"
            "To: <sip:c@d>;tag=2\r\n"
            "Call-ID: cid\r\n"
            "CSeq: 7 MESSAGE\r\n"
            "Server: msrpd\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(BuildReply, ClearsTheBufferFirst) {
  std::string out = "old";
  ASSERT_TRUE(build_reply(parsed(kInvite), 100, "Trying", out).ok());
  EXPECT_EQ(out.rfind("SIP/2.0 100 Trying\r\n", 0), 0u);
}

TEST(BuildReply, RefusesWhatCannotBeAnswered) {
  std::string out;
  EXPECT_EQ(build_reply(parsed("SIP/2.0 200 OK\r\nVia: x\r\n\r\n"), 200, "OK", out).error().message,
            "cannot reply to a SIP response");
  std::string ack = kInvite;
  ack.replace(0, 6, "ACK");
  EXPECT_EQ(build_reply(parsed(ack), 200, "OK", out).error().message, "no reply to ACK");
  EXPECT_EQ(build_reply(parsed(kInvite), 99, "x", out).error().message, "reply code out of range 100..699");
  EXPECT_EQ(build_reply(parsed(kInvite), 700, "x", out).error().message, "reply code out of range 100..699");
  EXPECT_EQ(build_reply(parsed(kInvite), 200, "O\r\nK", out).error().message, "CR or LF in reply reason");
  for (std::string_view name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    std::string text = kInvite;
    // Rename every header of that name so that it is no longer found.
    for (size_t pos = 0; (pos = text.find("\n" + std::string(name) + ":", pos)) != std::string::npos;)
      text[pos + 1] = 'X';
    if (name == "Via") text.replace(text.find("\nv:"), 3, "\nX:");
    auto r = build_reply(parsed(text), 200, "OK", out);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().message, "request without " + std::string(name));
  }
}

TEST(HasTagParam, FindsTagOnlyInHeaderParameters) {
  EXPECT_TRUE(has_tag_param("<sip:a@b>;tag=1"));
  EXPECT_TRUE(has_tag_param("\"A\" <sip:a@b> ; Tag = 1"));
  EXPECT_TRUE(has_tag_param("sip:a@b;tag=1"));
  EXPECT_FALSE(has_tag_param("<sip:a@b;tag=1>"));
  EXPECT_FALSE(has_tag_param("\"x;tag=1\" <sip:a@b>"));
  EXPECT_FALSE(has_tag_param("<sip:a@b>;tagx=1"));
  EXPECT_FALSE(has_tag_param("sip:a@b"));
}

}  // namespace
}  // namespace msrpd::sip
