// The seed's Example 1.17 (htable connection tracking) run as written, the SIP side of both
// examples (403 "No SIP Here" on the MSRP port), and `msrpd -c`.
#include <gtest/gtest.h>

#include <poll.h>

#include <fstream>

#include "forwarded.h"
#include "harness.h"

namespace msrpd::itest {
namespace {

using client::Client;

const std::string kExample17 = source_path("examples/kamailio-1.17.cfg");
const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");
const std::string kDefault = source_path("etc/msrpd.cfg");

// Reads one SIP message (up to the blank line; these replies have no body).
std::string read_sip(Client& c, int timeout_ms = 3000) {
  std::string got;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (got.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    ssize_t n = ::recv(c.fd(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(ConfigCheck, SeedExamplesAndDefaultConfigPass) {
  for (const auto& cfg : {kExample17, kExample18, kDefault}) {
    RunResult r = run_msrpd({"-c", "-f", cfg});
    EXPECT_EQ(r.code, 0) << cfg << ":\n" << r.output;
    EXPECT_NE(r.output.find("config file ok"), std::string::npos) << r.output;
  }
}

TEST(ConfigCheck, ExamplesWarnThatMiFifoIsNotProvided) {
  RunResult r = run_msrpd({"-c", "-f", kExample18});
  EXPECT_NE(r.output.find("mi_fifo"), std::string::npos) << r.output;
}

TEST(ConfigCheck, BrokenConfigIsRefusedWithFileLineColumn) {
  std::string path = "/tmp/msrpd-itest-broken.cfg";
  std::ofstream(path)
      << "#!KAMAILIO\nloadmodule \"msrp.so\"\nevent_route[msrp:frame-in] {\n  msrp_relay(;\n}\n";
  RunResult r = run_msrpd({"-c", "-f", path});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(path + ":4:"), std::string::npos) << r.output;
}

TEST(ConfigCheck, UnknownFunctionIsALoadTimeError) {
  std::string path = "/tmp/msrpd-itest-unknownfn.cfg";
  std::ofstream(path)
      << "#!KAMAILIO\nloadmodule \"msrp.so\"\nevent_route[msrp:frame-in] {\n  msrp_teleport();\n}\n";
  RunResult r = run_msrpd({"-c", "-f", path});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(path + ":4:3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("msrp_teleport"), std::string::npos) << r.output;
}

class Example17 : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.start(kExample17, {"-n", "2"})) << d_.log(); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }
  Msrpd d_;
};

TEST_F(Example17, AuthWithoutExpiresGets200WithTheScriptsUsePath) {
  Client c = d_.connect();
  auto a = client::authenticate(c, d_.uri(), my_uri(c, "bob"), "bob", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->challenge.code, 401);
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  // The script builds it: "msrp://127.0.0.1:5060/" + "s.$(pp).$(var(cnt)).$(RANDOM)" + ";tcp".
  std::string up = a->answer.header("Use-Path");
  EXPECT_EQ(up.rfind("msrp://127.0.0.1:5060/s.", 0), 0u) << up;
  EXPECT_EQ(up.substr(up.size() - 4), ";tcp");
  EXPECT_EQ(a->answer.header("Expires"), "3600");
}

// As the seed's script is written, an AUTH carrying Expires always gets 423 (docs/ explains).
TEST_F(Example17, AuthWithExpiresBelowMinimumGets423MinExpires) {
  Client c = d_.connect();
  auto a = client::authenticate(c, d_.uri(), my_uri(c, "bob"), "bob", "xyz123", 100);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 423) << a->answer.raw;
  EXPECT_EQ(a->answer.comment, "Interval Out-of-Bounds");
  EXPECT_EQ(a->answer.header("Min-Expires"), "1800");
}

TEST_F(Example17, AuthWithAnyOtherExpiresGets423MaxExpires) {
  Client c = d_.connect();
  auto a = client::authenticate(c, d_.uri(), my_uri(c, "bob"), "bob", "xyz123", 2000);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 423) << a->answer.raw;
  EXPECT_EQ(a->answer.header("Max-Expires"), "3600");
}

TEST_F(Example17, SendIsRelayedThroughTheHtableEntry) {
  Client bob = d_.connect();
  std::string bob_uri = my_uri(bob, "bob");
  auto a = client::authenticate(bob, d_.uri(), bob_uri, "bob", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  std::string relay = a->use_path.at(0);

  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(
      alice.send(client::make_send("h17send1", relay + " " + bob_uri, alice_uri, "m17", "via htable")));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto got = bob.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(testing::forwarded_as(got->raw, "h17send1"),
            "MSRP h17send1 SEND\r\nTo-Path: " + bob_uri + "\r\nFrom-Path: " + relay + " " + alice_uri +
                "\r\nMessage-ID: m17\r\nContent-Type: text/plain\r\n\r\nvia htable\r\n-------h17send1$\r\n");
}

TEST_F(Example17, SendToUnknownSessionGets481) {
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(alice.send(
      client::make_send("h17x481", d_.uri("s.9.9.9") + " msrp://127.0.0.1:9/b;tcp", alice_uri, "m", "x")));
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 481);
  EXPECT_EQ(f->comment, "Session-does-not-exist");
}

TEST_F(Example17, SipRequestOnTheMsrpPortGets403NoSipHere) {
  Client c = d_.connect();
  ASSERT_TRUE(
      c.send("OPTIONS sip:relay@127.0.0.1 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK776asdhds\r\n"
             "From: <sip:alice@127.0.0.1>;tag=1928301774\r\n"
             "To: <sip:relay@127.0.0.1>\r\n"
             "Call-ID: a84b4c76e66710\r\n"
             "CSeq: 63104 OPTIONS\r\n"
             "Content-Length: 0\r\n\r\n"));
  std::string reply = read_sip(c);
  EXPECT_EQ(reply.rfind("SIP/2.0 403 No SIP Here\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK776asdhds\r\n"), std::string::npos)
      << reply;
  EXPECT_NE(reply.find("Call-ID: a84b4c76e66710\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("CSeq: 63104 OPTIONS\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("To: <sip:relay@127.0.0.1>;tag="), std::string::npos) << reply;
}

TEST(Example18Sip, SipRequestOnTheMsrpPortGets403NoSipHere) {
  Msrpd d;
  ASSERT_TRUE(d.start(kExample18, {"-n", "1"})) << d.log();
  Client c = d.connect();
  ASSERT_TRUE(
      c.send("MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKm1\r\n"
             "From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: m1\r\n"
             "CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"));
  std::string reply = read_sip(c);
  EXPECT_EQ(reply.rfind("SIP/2.0 403 No SIP Here\r\n", 0), 0u) << reply;
}

TEST(DefaultConfig, RelaysOnItsOwnUsePath) {
  Msrpd d;
  ASSERT_TRUE(d.start(kDefault, {"-n", "2"})) << d.log();
  Client bob = d.connect();
  std::string bob_uri = my_uri(bob, "bob");
  auto a = client::authenticate(bob, d.uri(), bob_uri, "bob", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  // use_path_addr "127.0.0.1:2855" without a scheme: msrpd adds msrp://.
  EXPECT_EQ(a->use_path.at(0).rfind("msrp://127.0.0.1:2855/", 0), 0u) << a->answer.raw;
}

}  // namespace
}  // namespace msrpd::itest

namespace msrpd::itest {
namespace {

// sipmsg=1 (the default, seed §3.1 and §8): the route sees the frame as the seed's SIP request,
// so $ci, $hdr(CSeq) and $hdr(MSRP-First-Line) give the fixed prefix's values; sipmsg=0 does not.
std::string sipmsg_probe(int sipmsg) {
  std::string path = "/tmp/msrpd-itest-sipmsg" + std::to_string(sipmsg) + ".cfg";
  std::ofstream(path) << "#!KAMAILIO\nloadmodule \"msrp.so\"\nmodparam(\"msrp\", \"sipmsg\", " << sipmsg
                      << ")\nevent_route[msrp:frame-in] {\n"
                         "  msrp_reply(\"299\", \"$ci|$hdr(CSeq)|$hdr(MSRP-First-Line)|$rm\");\n}\n";
  Msrpd d;
  if (!d.start(path, {"-n", "1"})) return "msrpd did not start: " + d.log();
  Client c = d.connect();
  if (!c.send(client::make_request("probe001", "FOO", d.uri(), my_uri(c, "p")))) return "send failed";
  auto f = c.read_frame();
  return f ? f->comment : f.error().message;
}

TEST(SipMsg, OnTheRouteSeesTheSeedsSipView) {
  EXPECT_EQ(sipmsg_probe(1), "a|1 MSRP|MSRP probe001 FOO|MSRP");
}

TEST(SipMsg, OffGivesNoFakeSipHeaders) {
  EXPECT_EQ(sipmsg_probe(0), "<null>|<null>|MSRP probe001 FOO|MSRP");
}

}  // namespace
}  // namespace msrpd::itest

namespace msrpd::itest {
namespace {

// Issue 12 item 5: the route runs on the whole frame (up to modparam route_body_limit, 64 KB by
// default), so what it reads of a 10 KB SEND does not depend on how TCP cut the bytes.
TEST(WholeFrame, BodylenIsTheSameForOneWriteAndOneByteAtATime) {
  std::string path = "/tmp/msrpd-itest-bodylen.cfg";
  std::ofstream(path) << "#!KAMAILIO\nloadmodule \"msrp.so\"\nevent_route[msrp:frame-in] {\n"
                         "  msrp_reply(\"299\", \"$msrp(bodylen) $msrp(buflen)\");\n}\n";
  Msrpd d;
  ASSERT_TRUE(d.start(path, {"-n", "1"})) << d.log();
  std::string body(10000, 'x');
  std::string answers[2];
  for (int bytewise = 0; bytewise < 2; ++bytewise) {
    Client c = d.connect();
    std::string tid = bytewise ? "bytes001" : "whole001";
    std::string frame = client::make_send(tid, d.uri(), my_uri(c, "p"), "m1", body);
    if (bytewise) {
      for (char ch : frame) ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
    } else {
      ASSERT_TRUE(c.send(frame));
    }
    auto f = c.read_frame();
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->code, 299) << f->raw;
    answers[bytewise] = f->comment;
    // bodylen counts the CRLF before the end-line, as Kamailio does; buflen the whole frame.
    EXPECT_EQ(f->comment, "10002 " + std::to_string(frame.size())) << f->raw;
  }
  EXPECT_EQ(answers[0], answers[1]);
}

}  // namespace
}  // namespace msrpd::itest
