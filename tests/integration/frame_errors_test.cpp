// Frame errors on a connection that carries other traffic (issue 12, item 3), against the real
// msrpd binary with etc/msrpd.cfg and the seed's Example 1.18: a method name as sipsimple sends it
// is routed (501), a malformed request is answered 400 and the connection's next frame is served,
// a malformed response is dropped, a REPORT over the non-SEND body limit gets no answer (RFC 4975
// §7.1.2); the stream resynchronises at the rejected frame's end-line (RFC 4975 §7.1). Only a
// stream that cannot be resynchronised is closed. Exact bytes on the wire.
#include <gtest/gtest.h>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;

class FrameErrors : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cfg_.write(source_path(GetParam()))) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", "2"})) << d_.log();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  // Sends `tid` from `from` through the relay to bob and checks both sides byte for byte: the
  // relay's 200 to the sender, the SEND relayed to bob.
  void expect_send_relayed(Client& from, const std::string& from_uri, Receiver& bob, const std::string& tid) {
    ASSERT_TRUE(
        from.send(client::make_send(tid, bob.use_path + " " + bob.uri, from_uri, "m" + tid, "Hello Bob!")));
    expect_send_answered_and_relayed(from, from_uri, bob, tid);
  }
  void expect_send_answered_and_relayed(Client& from, const std::string& from_uri, Receiver& bob,
                                        const std::string& tid) {
    auto ok = from.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->raw, "MSRP " + tid + " 200 OK\r\nTo-Path: " + from_uri + "\r\nFrom-Path: " + bob.use_path +
                           "\r\nMessage-ID: m" + tid + "\r\n-------" + tid + "$\r\n");
    auto got = bob.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(testing::forwarded_as(got->raw, tid),
              "MSRP " + tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " +
                  from_uri + "\r\nMessage-ID: m" + tid +
                  "\r\nContent-Type: text/plain\r\n\r\nHello Bob!\r\n-------" + tid + "$\r\n");
  }

  TestConfig cfg_;
  Msrpd d_;
};

INSTANTIATE_TEST_SUITE_P(Configs, FrameErrors,
                         ::testing::Values("etc/msrpd.cfg", "examples/kamailio-1.18.cfg"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.index == 0 ? "Default" : "Example18");
                         });

// sipsimple (Blink) sends FILE_OFFSET in every file transfer: RFC 4975 §9 other-method is
// 1*UPALPHA, but a token is what real clients send. The route answers it as any unknown method.
TEST_P(FrameErrors, FileOffsetGets501AndTheConnectionCarriesTheNextSend) {
  Receiver bob = auth_receiver(d_, "bob");
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(
      alice.send(client::make_request("fo000001", "FILE_OFFSET", d_.uri(), alice_uri, "Message-ID: f1\r\n")));
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP fo000001 501 Request-method-not-understood\r\nTo-Path: " + alice_uri +
                        "\r\nFrom-Path: " + d_.uri() + "\r\nMessage-ID: f1\r\n-------fo000001$\r\n");
  expect_send_relayed(alice, alice_uri, bob, "tx000002");
  EXPECT_EQ(cfg_.stat("msrp:parse_errors"), 0);
}

// A malformed request between two good ones, in one write: 400 for it (RFC 4975 §7.2), its body
// skipped up to its end-line, and the frames around it served as if it were not there.
TEST_P(FrameErrors, MalformedRequestMidStreamGets400AndTheNextFrameWorks) {
  Receiver bob = auth_receiver(d_, "bob");
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  std::string to = bob.use_path + " " + bob.uri;
  // "Foo bar" is no header (RFC 4975 §9: hname ":" SP hval); the body holds a blank line and
  // another transaction's end-line, which are data.
  std::string bad = "MSRP bad00001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + alice_uri +
                    "\r\nMessage-ID: mbad\r\nFoo bar\r\nContent-Type: text/plain\r\n\r\n"
                    "not\r\n\r\nrelayed\r\n-------tx000003$\r\n!\r\n-------bad00001$\r\n";
  ASSERT_TRUE(alice.send(client::make_send("tx000001", to, alice_uri, "mtx000001", "Hello Bob!") + bad +
                         client::make_send("tx000003", to, alice_uri, "mtx000003", "Hello Bob!")));
  expect_send_answered_and_relayed(alice, alice_uri, bob, "tx000001");
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  // RFC 4975 §7.2: To-Path = the first From-Path URI (a SEND), From-Path = the first To-Path URI.
  EXPECT_EQ(f->raw, "MSRP bad00001 400 Bad Request\r\nTo-Path: " + alice_uri +
                        "\r\nFrom-Path: " + bob.use_path + "\r\n-------bad00001$\r\n");
  expect_send_answered_and_relayed(alice, alice_uri, bob, "tx000003");
  EXPECT_FALSE(bob.c.read_frame(300)) << "the rejected frame must not be relayed";
  EXPECT_NE(d_.log().find("refused (bad_frame): 400 malformed header line (answered) from msrp://127.0.0.1:"),
            std::string::npos);
  EXPECT_EQ(cfg_.stat_when("msrp:parse_errors", 1), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_dropped"), 0);
  EXPECT_EQ(cfg_.stat("msrp:parse_closes"), 0);
}

// A malformed response (RFC 4975 §7.2) answers nothing the relay could match: dropped, counted, and
// the connection that sent it keeps carrying frames both ways.
TEST_P(FrameErrors, MalformedResponseIsDroppedAndTheConnectionKeepsServing) {
  Receiver bob = auth_receiver(d_, "bob");
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  std::string to = bob.use_path + " " + bob.uri;
  ASSERT_TRUE(alice.send(client::make_send("tx000001", to, alice_uri, "mtx000001", "Hello Bob!")));
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  std::string tid(testing::transaction_id_of(got->raw));
  // Its status code has four digits (RFC 4975 §9: 3DIGIT).
  ASSERT_TRUE(bob.c.send("MSRP " + tid + " 2000 OK\r\nTo-Path: " + bob.use_path +
                         "\r\nFrom-Path: " + bob.uri + "\r\n-------" + tid + "$\r\n"));
  // The connection still takes bob's requests...
  ASSERT_TRUE(bob.c.send(client::make_request("fo000002", "FILE_OFFSET", d_.uri(), bob.uri)));
  auto f = bob.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP fo000002 501 Request-method-not-understood\r\nTo-Path: " + bob.uri +
                        "\r\nFrom-Path: " + d_.uri() + "\r\n-------fo000002$\r\n");
  // ...and still delivers frames to bob.
  expect_send_relayed(alice, alice_uri, bob, "tx000003");
  EXPECT_FALSE(alice.read_frame(300)) << "nothing of the malformed response reaches the sender";
  EXPECT_EQ(cfg_.stat_when("msrp:parse_dropped", 1), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_errors"), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_closes"), 0);
}

// RFC 4975 §7.1: a non-SEND body is at most 10 KB; §7.1.2: a REPORT is never answered, not even
// with 413. It is dropped and the next frame on the connection is served.
TEST_P(FrameErrors, ReportWithA20KBBodyGetsNoAnswerAndTheNextFrameWorks) {
  Receiver bob = auth_receiver(d_, "bob");
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  std::string report = "MSRP rep00001 REPORT\r\nTo-Path: " + d_.uri() + "\r\nFrom-Path: " + alice_uri +
                       "\r\nMessage-ID: m1\r\nByte-Range: 1-20480/20480\r\nStatus: 000 200 OK\r\n"
                       "Content-Type: text/plain\r\n\r\n" +
                       std::string(20480, 'r') + "\r\n-------rep00001$\r\n";
  ASSERT_TRUE(alice.send(report + client::make_send("tx000002", bob.use_path + " " + bob.uri, alice_uri,
                                                    "mtx000002", "Hello Bob!")));
  // The first answer on the connection is the SEND's 200: none for the REPORT.
  expect_send_answered_and_relayed(alice, alice_uri, bob, "tx000002");
  EXPECT_FALSE(alice.read_frame(300)) << "RFC 4975 §7.1.2: a REPORT is never answered";
  EXPECT_EQ(cfg_.stat_when("msrp:parse_dropped", 1), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_errors"), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_closes"), 0);
}

// No end-line within reach: a broken head that has not ended after max_head (64 KB) bytes. The
// request is answered with the paths it had, then the stream is closed.
TEST_P(FrameErrors, BrokenHeadWithoutAnEndLineWithinReachIsAnsweredThenClosed) {
  Client alice = d_.connect();
  std::string alice_uri = my_uri(alice, "alice");
  ASSERT_TRUE(alice.send("MSRP bad00001 SEND\r\nTo-Path: " + d_.uri() + "\r\nFrom-Path: " + alice_uri +
                         "\r\nFoo bar\r\n"));
  // Answered once the head is over (its blank line or end-line), or when it cannot be any more.
  EXPECT_FALSE(alice.read_frame(300));
  ASSERT_TRUE(alice.send(std::string(70 * 1024, 'x')));
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP bad00001 400 Bad Request\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + d_.uri() +
                        "\r\n-------bad00001$\r\n");
  EXPECT_TRUE(alice.wait_closed(3000));
  EXPECT_EQ(cfg_.stat_when("msrp:parse_closes", 1), 1);
  EXPECT_EQ(cfg_.stat("msrp:parse_errors"), 1);
}

// A stream that does not begin as MSRP cannot be resynchronised: closed without an answer.
TEST_P(FrameErrors, GarbageStartLineClosesTheConnection) {
  Client c = d_.connect();
  ASSERT_TRUE(c.send("MSRP x SEND\r\nTo-Path: " + d_.uri() + "\r\n\r\n"));
  EXPECT_TRUE(c.wait_closed(3000));
  EXPECT_EQ(cfg_.stat_when("msrp:parse_closes", 1), 1);
}

}  // namespace
}  // namespace msrpd::itest
