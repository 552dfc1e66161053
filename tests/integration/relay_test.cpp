// The relay end to end: the real msrpd binary on loopback running the seed's Example 1.18 route,
// driven by MSRP clients over TCP. Exact bytes on the wire. The protocol behaviours (Route18) are
// checked on both forms of the route: the config language (examples/kamailio-1.18.cfg) and Lua
// (examples/kemi/, cfgengine "lua"); streaming and load (Relay18) on the first.
#include <gtest/gtest.h>

#include <poll.h>

#include <cerrno>
#include <optional>
#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;
using client::ReceivedFrame;

const std::string kExample18 = source_path("examples/kamailio-1.18.cfg");

class Relay18Fixture : public ::testing::Test {
 protected:
  void start(const std::string& cfg) { ASSERT_TRUE(d_.start(cfg, {"-n", "2"})) << d_.log(); }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  Receiver auth_receiver(const std::string& name = "bob") { return itest::auth_receiver(d_, name); }

  Msrpd d_;
};

class Relay18 : public Relay18Fixture {
 protected:
  void SetUp() override { start(kExample18); }
};

// The same route as a config-language script or as Lua: the same bytes on the wire.
class Route18 : public Relay18Fixture, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { start(source_path(GetParam())); }
};
INSTANTIATE_TEST_SUITE_P(Forms, Route18,
                         ::testing::Values("examples/kamailio-1.18.cfg",
                                           "examples/kemi/kamailio-1.18-lua.cfg"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.index == 0 ? "Config" : "Lua");
                         });

TEST_P(Route18, AuthWithoutCredentialsIsChallengedWith401) {
  Client c = d_.connect();
  std::string me = "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/alice;tcp";
  ASSERT_TRUE(c.send(client::make_request("a1b2c3d4", "AUTH", d_.uri(), me)));
  auto f = c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 401);
  EXPECT_EQ(f->comment, "Unauthorized");
  EXPECT_EQ(f->tid, "a1b2c3d4");
  // RFC 4975 §7.2: a non-SEND request's response goes to the whole From-Path; From-Path = the relay.
  EXPECT_EQ(f->header("To-Path"), me);
  EXPECT_EQ(f->header("From-Path"), d_.uri());
  std::string www = f->header("WWW-Authenticate");
  EXPECT_EQ(www.rfind("Digest ", 0), 0u) << www;
  EXPECT_EQ(client::digest_param(www, "realm"), "myrealm");
  EXPECT_EQ(client::digest_param(www, "qop"), "auth");
  EXPECT_FALSE(client::digest_param(www, "nonce").empty());
  EXPECT_EQ(f->flag, '$');
}

TEST_P(Route18, AuthWithDigestGets200WithUsePathAndExpires) {
  Client c = d_.connect();
  std::string me = "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/alice;tcp";
  auto a = client::authenticate(c, d_.uri(), me, "alice", "xyz123");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->challenge.code, 401);
  ASSERT_EQ(a->answer.code, 200) << a->answer.raw;
  EXPECT_EQ(a->answer.comment, "OK");
  // use_path_addr "msrp://127.0.0.1:5060" (the seed's value) is taken with its scheme, not doubled.
  std::string up = a->answer.header("Use-Path");
  ASSERT_EQ(up.rfind("msrp://127.0.0.1:5060/", 0), 0u) << up;
  std::string session = up.substr(22, up.size() - 22 - 4);
  EXPECT_EQ(up.substr(up.size() - 4), ";tcp");
  EXPECT_GE(session.size(), 14u) << "session id must carry at least 80 random bits: " << session;
  EXPECT_EQ(a->answer.header("Expires"), "3600");
  EXPECT_TRUE(a->answer.has_header("Authentication-Info")) << a->answer.raw;
}

TEST_P(Route18, AuthWithWrongPasswordNeverGets200) {
  Client c = d_.connect();
  std::string me = "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/mallory;tcp";
  auto a = client::authenticate(c, d_.uri(), me, "mallory", "wrong");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->answer.code, 401) << a->answer.raw;
}

TEST_P(Route18, SendIsRelayedToTheAuthedReceiverWithRewrittenPaths) {
  Receiver bob = auth_receiver();
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  std::string frame =
      client::make_send("tx0001", bob.use_path + " " + bob.uri, alice_uri, "msg1", "Hello Bob!");
  ASSERT_TRUE(alice.send(frame));

  // The sender gets the relay's 200: To-Path = first From-Path URI, From-Path = the relay's URI.
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, "MSRP tx0001 200 OK\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + bob.use_path +
                         "\r\nMessage-ID: msg1\r\n-------tx0001$\r\n");

  // The receiver gets the SEND with the relay's URI moved from To-Path to From-Path.
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  // RFC 4976 §6.4: with a transaction id of the relay's.
  EXPECT_EQ(testing::forwarded_as(got->raw, "tx0001"),
            "MSRP tx0001 SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " + alice_uri +
                "\r\nMessage-ID: msg1\r\nContent-Type: text/plain\r\n\r\nHello Bob!\r\n"
                "-------tx0001$\r\n");

  // The receiver's 200 goes to the relay (the first From-Path URI) and stops there.
  ASSERT_TRUE(bob.c.send(client::make_response(std::string(testing::transaction_id_of(got->raw)), 200, "OK",
                                               bob.use_path, bob.uri)));
  auto extra = alice.read_frame(500);
  EXPECT_FALSE(extra) << "the receiver's 200 must be consumed by the relay: " << extra->raw;
}

TEST_P(Route18, SendToUnknownSessionGets481) {
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  ASSERT_TRUE(alice.send(client::make_send("tx481a", d_.uri("nosuchsession") + " msrp://127.0.0.1:9/bob;tcp",
                                           alice_uri, "m481", "hi")));
  auto f = alice.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP tx481a 481 Session-does-not-exist\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " +
                        d_.uri("nosuchsession") + "\r\nMessage-ID: m481\r\n-------tx481a$\r\n");
}

TEST_P(Route18, UnknownMethodGets501) {
  Client c = d_.connect();
  std::string me = "msrp://127.0.0.1:" + std::to_string(c.local_port()) + "/alice;tcp";
  ASSERT_TRUE(c.send(client::make_request("tx501a", "FOO", d_.uri(), me)));
  auto f = c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, "MSRP tx501a 501 Request-method-not-understood\r\nTo-Path: " + me +
                        "\r\nFrom-Path: " + d_.uri() + "\r\n-------tx501a$\r\n");
}

TEST_P(Route18, ReportIsRelayedAndNotAnswered) {
  Receiver bob = auth_receiver();
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  std::string report =
      client::make_request("rep001", "REPORT", bob.use_path + " " + bob.uri, alice_uri,
                           "Message-ID: msg9\r\nByte-Range: 1-10/10\r\nStatus: 000 200 OK\r\n");
  ASSERT_TRUE(alice.send(report));
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(testing::forwarded_as(got->raw, "rep001"),
            "MSRP rep001 REPORT\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " + alice_uri +
                "\r\nMessage-ID: msg9\r\nByte-Range: 1-10/10\r\nStatus: 000 200 OK\r\n"
                "-------rep001$\r\n");
  auto none = alice.read_frame(500);
  EXPECT_FALSE(none) << "RFC 4975 §7.1.2: a REPORT is never answered: " << none->raw;
}

TEST_P(Route18, MalformedFrameGets400AndOthersKeepBeingServed) {
  Client bad = d_.connect();
  // From-Path before To-Path: RFC 4975 §9 wants To-Path first.
  ASSERT_TRUE(bad.send("MSRP bad00001 SEND\r\nFrom-Path: msrp://127.0.0.1:9/a;tcp\r\nTo-Path: " + d_.uri() +
                       "\r\nMessage-ID: x\r\n-------bad00001$\r\n"));
  auto f = bad.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->code, 400);
  EXPECT_EQ(f->tid, "bad00001");
  // Issue 12: the stream resynchronises at the frame's end-line (RFC 4975 §7.1); the connection
  // stays and serves its next frame (it was closed before).
  std::string bad_uri = "msrp://127.0.0.1:" + std::to_string(bad.local_port()) + "/a;tcp";
  ASSERT_TRUE(bad.send(client::make_request("bad00002", "FOO", d_.uri(), bad_uri)));
  auto again = bad.read_frame();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->code, 501);

  Client good = d_.connect();
  std::string me = "msrp://127.0.0.1:" + std::to_string(good.local_port()) + "/ok;tcp";
  ASSERT_TRUE(good.send(client::make_request("good0001", "FOO", d_.uri(), me)));
  auto g = good.read_frame();
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->code, 501);
}

TEST_P(Route18, GarbageThatIsNotMsrpClosesTheConnection) {
  Client bad = d_.connect();
  ASSERT_TRUE(bad.send("GARBAGE\r\n\r\n"));
  EXPECT_TRUE(bad.wait_closed(3000));
}

// Chunks of several sizes relayed byte-exact, sent in pieces.
class Relay18Chunks : public Relay18, public ::testing::WithParamInterface<size_t> {};

TEST_P(Relay18Chunks, BodyIsRelayedByteExact) {
  Receiver bob = auth_receiver();
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  std::string body(GetParam(), '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>("abcdefghij\r\n-#$+"[i % 17]);
  std::string frame = client::make_send("chunk001", bob.use_path + " " + bob.uri, alice_uri, "big1", body,
                                        "application/octet-stream", '$', "Byte-Range: 1-*/*\r\n");
  std::thread sender([&] { EXPECT_TRUE(alice.send(frame, 30000)); });
  auto got = bob.c.read_frame(30000);
  sender.join();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->body.size(), body.size());
  EXPECT_TRUE(got->body == body);
  EXPECT_EQ(got->flag, '$');
  auto ok = alice.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
}

INSTANTIATE_TEST_SUITE_P(Sizes, Relay18Chunks, ::testing::Values(1, 14 * 1024, 64 * 1024, 1024 * 1024));

// A sender that stops in the middle of a chunk does not hold up the receiver's other frames: the
// relay ends the chunk with '+' at once, lets the waiting frame through, and the message goes on
// in a new chunk of the relay's; a message ended without more body ends in an empty chunk.
// Issue 12 item 4 (RFC 4975 §5.4, RFC 4976 §6.4.2): another relay that connected to msrpd and
// relays a client's SEND gets the traffic going back over that same connection, not a new one
// to its listen address (AG msrprelay answers those with 481).
TEST_F(Relay18, ARelayThatConnectedGetsTheWayBackOnItsOwnConnection) {
  Receiver bob = auth_receiver();
  ASSERT_FALSE(bob.use_path.empty());
  itest::Listener relay_port;  // where "the other relay" listens: msrpd must not connect here
  ASSERT_TRUE(relay_port.ok());
  Client relay = d_.connect();  // the other relay's connection to msrpd
  std::string relay_uri = "msrp://127.0.0.1:" + std::to_string(relay_port.port()) + "/r1session;tcp";
  std::string alice_uri = "msrp://alice.example.net:9/alice;tcp";
  ASSERT_TRUE(relay.send(client::make_send("fromr101", bob.use_path + " " + bob.uri,
                                           relay_uri + " " + alice_uri, "m-r1", "hello bob")));
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->header("From-Path"), bob.use_path + " " + relay_uri + " " + alice_uri);
  // Bob answers along the path he got: back through msrpd, then the other relay.
  ASSERT_TRUE(bob.c.send(client::make_send("back0001", bob.use_path + " " + relay_uri + " " + alice_uri,
                                           bob.uri, "m-back", "hi alice")));
  auto ok = bob.c.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200) << ok->raw;
  // The relay's 200 to its SEND, then Bob's SEND on the same connection.
  std::optional<client::ReceivedFrame> back;
  for (int i = 0; i < 3 && !back; ++i) {
    auto f = relay.read_frame(3000);
    ASSERT_TRUE(f) << f.error().message;
    if (f->method == "SEND") back = *f;
  }
  ASSERT_TRUE(back);
  EXPECT_EQ(testing::forwarded_as(back->raw, "back0001"),
            "MSRP back0001 SEND\r\nTo-Path: " + relay_uri + " " + alice_uri +
                "\r\nFrom-Path: " + bob.use_path + " " + bob.uri +
                "\r\nMessage-ID: m-back\r\nContent-Type: text/plain\r\n\r\nhi alice\r\n-------back0001$\r\n");
  EXPECT_FALSE(relay_port.accepted_within(300)) << "msrpd opened a second connection to the relay";
}

// Issue 12 item 1 (RFC 4976 §6.4.1): the 200 means the chunk was received. The route answers a
// 5 MB single chunk when its first 64 KB are in; the 200 leaves when its end-line has arrived,
// while the body streams on to the receiver.
TEST_F(Relay18, The200ToA5MbChunkLeavesAfterItsEndLine) {
  Receiver bob = auth_receiver();
  ASSERT_FALSE(bob.use_path.empty());
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  const size_t n = 5 * 1024 * 1024;
  std::string frame =
      client::make_send("big5mb01", bob.use_path + " " + bob.uri, alice_uri, "m-5mb", std::string(n, 'z'));
  size_t end_line = frame.rfind("-------big5mb01$");
  ASSERT_NE(end_line, std::string::npos);
  size_t received = 0;
  std::thread reader([&bob, &received] {
    // The receiver takes the chunk as it streams (it does not answer: the relay's own 200 is
    // what this test watches).
    auto f = bob.c.read_frame(20000);
    if (f) received = f->body.size();
  });
  ASSERT_TRUE(alice.send(std::string_view(frame).substr(0, end_line)));
  auto early = alice.read_frame(500);
  EXPECT_FALSE(early) << "a 200 before the end-line: " << early->raw;
  ASSERT_TRUE(alice.send(std::string_view(frame).substr(end_line)));
  auto ok = alice.read_frame(5000);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, "MSRP big5mb01 200 OK\r\nTo-Path: " + alice_uri + "\r\nFrom-Path: " + bob.use_path +
                         "\r\nMessage-ID: m-5mb\r\n-------big5mb01$\r\n");
  reader.join();
  EXPECT_EQ(received, n);
}

TEST_F(Relay18, AStalledChunkMakesWayAtOnceAndTheMessageEndsInAnEmptyChunk) {
  Receiver bob = auth_receiver();
  ASSERT_FALSE(bob.use_path.empty());
  std::string to = bob.use_path + " " + bob.uri;
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  // Longer than the route's bound (route_body_limit, 64 KB: shorter frames are routed whole, once
  // their end-line is in), so the relay routes and streams it before it ends.
  const size_t n = 67000;
  const std::string range = std::to_string(n);
  std::string head = "MSRP stall001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + alice_uri +
                     "\r\nMessage-ID: m-stall\r\nByte-Range: 1-" + range + "/" + range +
                     "\r\nContent-Type: text/plain\r\n\r\n";
  ASSERT_TRUE(alice.send(head + std::string(n, 'a')));  // no end-line: alice stalls here
  // Routed once 64 KB are in; the route's 200 waits for the end-line (RFC 4976 §6.4.1).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the bytes are on their way

  Client carol = d_.connect();
  std::string carol_uri = "msrp://127.0.0.1:" + std::to_string(carol.local_port()) + "/carol;tcp";
  ASSERT_TRUE(carol.send(client::make_send("small001", to, carol_uri, "m-small", "hi")));

  std::string from = bob.use_path + " " + alice_uri;
  auto first = bob.c.read_frame(2000);
  ASSERT_TRUE(first) << "the stalled chunk was not ended: " << first.error().message;
  // RFC 4975 §7.1.1: a chunk the relay may interrupt says range-end "*" (not the sender's 67000).
  EXPECT_EQ(testing::forwarded_as(first->raw, "stall001"),
            "MSRP stall001 SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + from +
                "\r\nMessage-ID: m-stall\r\nByte-Range: 1-*/" + range +
                "\r\nContent-Type: text/plain\r\n\r\n" + std::string(n, 'a') + "\r\n-------stall001+\r\n");
  auto small = bob.c.read_frame(2000);
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_TRUE(testing::forwarded_as(small->raw, "small001").starts_with("MSRP small001 SEND\r\n"))
      << small->raw;
  EXPECT_EQ(small->body, "hi");

  ASSERT_TRUE(alice.send("\r\n-------stall001$\r\n"));  // the message ends, without more body
  auto ok = alice.read_frame(3000);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->code, 200);
  auto last = bob.c.read_frame(2000);
  ASSERT_TRUE(last) << last.error().message;
  ASSERT_NE(last->tid, "stall001");  // a transaction of the relay's
  ASSERT_NE(last->tid, first->tid);  // and a new one
  EXPECT_EQ(last->raw, "MSRP " + last->tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + from +
                           "\r\nByte-Range: " + std::to_string(n + 1) + "-" + range + "/" + range +
                           "\r\nMessage-ID: m-stall\r\nContent-Type: "
                           "text/plain\r\n\r\n\r\n-------" +
                           last->tid + "$\r\n");
  EXPECT_EQ(last->flag, '$');
  EXPECT_EQ(last->body, "");
}

// RFC 4975 §7.1.1: a chunk the relay may interrupt carries range-end "*", so the chunk it ends
// early with '+' claims no byte it does not carry; the rest of the message follows from the next
// byte, and the total stays the sender's.
TEST_F(Relay18, AnInterruptedChunksByteRangeMatchesWhatItCarries) {
  Receiver bob = auth_receiver();
  ASSERT_FALSE(bob.use_path.empty());
  std::string to = bob.use_path + " " + bob.uri;
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  const size_t total = 100000, sent_first = 67000;  // past route_body_limit: routed, then streamed
  std::string body(total, 'b');
  for (size_t i = 0; i < total; ++i) body[i] = static_cast<char>('a' + i % 23);
  std::string head =
      "MSRP intr0001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + alice_uri +
      "\r\nMessage-ID: m-intr\r\nByte-Range: 1-100000/100000\r\nContent-Type: text/plain\r\n\r\n";
  ASSERT_TRUE(alice.send(head + body.substr(0, sent_first)));  // and alice stalls
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Client carol = d_.connect();
  std::string carol_uri = "msrp://127.0.0.1:" + std::to_string(carol.local_port()) + "/carol;tcp";
  ASSERT_TRUE(carol.send(client::make_send("small002", to, carol_uri, "m-small", "hi")));

  std::string from = bob.use_path + " " + alice_uri;
  auto first = bob.c.read_frame(2000);
  ASSERT_TRUE(first) << "the stalled chunk was not interrupted: " << first.error().message;
  EXPECT_EQ(testing::forwarded_as(first->raw, "intr0001"),
            "MSRP intr0001 SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + from +
                "\r\nMessage-ID: m-intr\r\nByte-Range: 1-*/100000\r\nContent-Type: text/plain\r\n\r\n" +
                body.substr(0, sent_first) + "\r\n-------intr0001+\r\n");
  auto small = bob.c.read_frame(2000);
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->body, "hi");

  ASSERT_TRUE(alice.send(body.substr(sent_first) + "\r\n-------intr0001$\r\n"));
  auto rest = bob.c.read_frame(3000);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_NE(rest->tid, first->tid);
  EXPECT_EQ(rest->raw,
            "MSRP " + rest->tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + from +
                "\r\nByte-Range: 67001-*/100000\r\nMessage-ID: m-intr\r\nContent-Type: text/plain\r\n\r\n" +
                body.substr(sent_first) + "\r\n-------" + rest->tid + "$\r\n");
  EXPECT_EQ(first->body + rest->body, body);
}

TEST_F(Relay18, HundredMegabyteChunkStreamsWithBoundedMemory) {
  Receiver bob = auth_receiver();
  Client alice = d_.connect();
  std::string alice_uri = "msrp://127.0.0.1:" + std::to_string(alice.local_port()) + "/alice;tcp";
  const size_t total = 100u * 1024 * 1024;
  std::string head = "MSRP huge0001 SEND\r\nTo-Path: " + bob.use_path + " " + bob.uri +
                     "\r\nFrom-Path: " + alice_uri + "\r\nMessage-ID: huge\r\nByte-Range: 1-" +
                     std::to_string(total) + "/" + std::to_string(total) +
                     "\r\nContent-Type: application/octet-stream\r\n\r\n";
  long rss_before = d_.rss_kib();
  long rss_peak = rss_before;
  std::atomic<bool> done{false};
  std::thread sender([&] {
    std::string piece(1 << 20, 'z');
    auto sent_ok = [&](std::string_view bytes) {
      auto r = alice.send(bytes, 30000);
      EXPECT_TRUE(r) << r.error().message;
      return static_cast<bool>(r);
    };
    if (!sent_ok(head)) return;
    for (size_t sent = 0; sent < total; sent += piece.size()) {
      if (!sent_ok(piece)) return;
    }
    sent_ok("\r\n-------huge0001$\r\n");
  });
  std::thread watcher([&] {
    while (!done) {
      rss_peak = std::max(rss_peak, d_.rss_kib());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  // Read the relayed frame without keeping it: count body bytes with the raw socket. Its end-line
  // carries the relay's transaction id (RFC 4976 §6.4), read from the start line.
  size_t received = 0;
  std::string start, tail;
  char buf[1 << 16];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string end;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{bob.c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) continue;
    ssize_t n = ::recv(bob.c.fd(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) break;
    received += static_cast<size_t>(n);
    if (end.empty()) {
      start.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 64)));
      if (start.find("\r\n") == std::string::npos) continue;
      std::string_view tid = testing::transaction_id_of(start);
      EXPECT_EQ(tid.size(), 16u) << start;
      EXPECT_NE(tid, "huge0001");
      end = "\r\n-------" + std::string(tid) + "$\r\n";
    }
    tail.append(buf, static_cast<size_t>(n));
    if (tail.size() > 64) tail.erase(0, tail.size() - 64);
    if (tail.size() >= end.size() && tail.compare(tail.size() - end.size(), end.size(), end) == 0) break;
  }
  done = true;
  sender.join();
  watcher.join();
  EXPECT_GT(received, total);
  ASSERT_FALSE(end.empty()) << "no start line: " << start;
  ASSERT_GE(tail.size(), end.size());
  EXPECT_EQ(tail.substr(tail.size() - end.size()), end);
  EXPECT_LT(rss_peak - rss_before, 32 * 1024) << "RSS grew by " << (rss_peak - rss_before) << " KiB";
  std::fprintf(stderr, "100 MB chunk: RSS before %ld KiB, peak %ld KiB\n", rss_before, rss_peak);
}

TEST_F(Relay18, ThousandPairsEachMessageReachesItsOwnReceiverOnly) {
  constexpr int kPairs = 1000;
  std::vector<Receiver> receivers;
  receivers.reserve(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    receivers.push_back(auth_receiver("r" + std::to_string(i)));
    ASSERT_FALSE(receivers.back().use_path.empty()) << "receiver " << i;
  }
  std::vector<Client> senders;
  senders.reserve(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    senders.push_back(d_.connect());
    ASSERT_GE(senders.back().fd(), 0);
  }
  for (int i = 0; i < kPairs; ++i) {
    std::string from =
        "msrp://127.0.0.1:" + std::to_string(senders[i].local_port()) + "/s" + std::to_string(i) + ";tcp";
    std::string tid = "pair" + std::to_string(i);
    ASSERT_TRUE(senders[i].send(client::make_send(tid, receivers[i].use_path + " " + receivers[i].uri, from,
                                                  "mid-" + std::to_string(i), "to r" + std::to_string(i))));
  }
  for (int i = 0; i < kPairs; ++i) {
    auto f = receivers[i].c.read_frame(10000);
    ASSERT_TRUE(f) << "receiver " << i << ": " << f.error().message;
    EXPECT_EQ(f->header("Message-ID"), "mid-" + std::to_string(i));
    EXPECT_EQ(f->body, "to r" + std::to_string(i));
    auto ok = senders[i].read_frame(10000);
    ASSERT_TRUE(ok) << "sender " << i << ": " << ok.error().message;
    EXPECT_EQ(ok->code, 200);
  }
  // Nobody got a second frame.
  for (int i = 0; i < kPairs; i += 97) EXPECT_EQ(receivers[i].c.pending(), 0u);
}

}  // namespace
}  // namespace msrpd::itest
