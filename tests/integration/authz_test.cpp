// Issue 11's acceptance tests (a)-(f): RFC 4976 §6 authorization enforced by the engine whatever
// the script says, against the real msrpd running the default config (etc/msrpd.cfg) and the
// seed's Example 1.18 as written, as a config script and as Lua ((a) also Example 1.17): a stranger reaches
// no client without its session, makes no connection for anybody, loops are bounded, forged responses and
// reused transaction ids go nowhere, the first To-Path URI must be the relay's own. And the flows that must
// keep working: both parties AUTHed on one relay, two msrpd relays in a chain. Exact bytes and exact counters
// (stats.get_statistics); every wait bounded.
#include <gtest/gtest.h>

#include <thread>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"
#include "tls_support.h"

namespace msrpd::itest {
namespace {

using client::Client;
using client::ReceivedFrame;

const char* const kDefault = "etc/msrpd.cfg";
const char* const kExample18 = "examples/kamailio-1.18.cfg";
const char* const kExample17 = "examples/kamailio-1.17.cfg";
const char* const kExample18Lua = "examples/kemi/kamailio-1.18-lua.cfg";

std::string config_name(const ::testing::TestParamInfo<const char*>& i) {
  std::string p = i.param;
  if (p == kDefault) return "DefaultConfig";
  if (p == kExample18) return "Example18";
  if (p == kExample18Lua) return "Example18Lua";
  return "Example17";
}

// The engine's own answers (frame_context.cpp, msrp::reason_phrase): RFC 4975 §7.2 response to a
// SEND, To-Path the first From-Path URI, From-Path the first To-Path URI, Message-ID echoed.
std::string send_response(const std::string& tid, const std::string& status, const std::string& to,
                          const std::string& from, const std::string& message_id) {
  return "MSRP " + tid + " " + status + "\r\nTo-Path: " + to + "\r\nFrom-Path: " + from +
         "\r\nMessage-ID: " + message_id + "\r\n-------" + tid + "$\r\n";
}

// No frame (nor a part of one) reaches `c` within `ms`.
::testing::AssertionResult receives_nothing(Client& c, int ms) {
  auto f = c.read_frame(ms);
  if (f) return ::testing::AssertionFailure() << "got a frame: " << f->raw;
  if (c.pending() != 0) return ::testing::AssertionFailure() << c.pending() << " bytes of a frame";
  return ::testing::AssertionSuccess();
}

class AuthzBase : public ::testing::Test {
 protected:
  void start(const std::string& cfg, const ConfigEdits& edits = {}) {
    ASSERT_TRUE(cfg_.write(source_path(cfg), edits)) << cfg_.error();
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", "2"})) << d_.log();
    // The control threads start right after the relay's listeners.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (cfg_.stat("msrp:refused_loop") < 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(cfg_.stat("msrp:refused_loop"), 0) << d_.log();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "--- msrpd log ---\n%s\n", d_.log().c_str());
  }

  Receiver auth(const std::string& name) { return auth_receiver(d_, name); }
  // A peer that never AUTHed, and the URI it calls itself.
  struct Stranger {
    Client c;
    std::string uri;
  };
  Stranger stranger() {
    Stranger s{d_.connect(), {}};
    s.uri = my_uri(s.c, "mallory");
    return s;
  }
  int64_t stat(const std::string& name, int64_t expected) { return cfg_.stat_when(name, expected); }

  TestConfig cfg_;
  Msrpd d_;
};

// The default config and Example 1.18 (as a config script and as Lua, KEMI): every test of (a)-(f).
class Authz : public AuthzBase, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { start(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Configs, Authz, ::testing::Values(kDefault, kExample18, kExample18Lua), config_name);

// (a) also on Example 1.17 (htable connection tracking, its own Use-Path).
class AuthzAllExamples : public Authz {};
INSTANTIATE_TEST_SUITE_P(Configs, AuthzAllExamples,
                         ::testing::Values(kDefault, kExample18, kExample18Lua, kExample17), config_name);

// (a) RFC 4976 §6.3: the session id is what protects a client. A stranger naming the relay (no
// session) and then B's address gets 481, and B's connection (reused by address, on today's main)
// carries nothing.
TEST_P(AuthzAllExamples, StrangerNamingAnAuthedClientsAddressGets481AndTheClientGetsNothing) {
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  Stranger s = stranger();
  std::string to = d_.uri() + " msrp://127.0.0.1:" + std::to_string(bob.c.local_port()) +
                   "/anything;tcp msrp://x.invalid:1/y;tcp";
  ASSERT_TRUE(s.c.send(client::make_send("strng001", to, s.uri, "m-a", "for bob, unasked")));
  auto f = s.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("strng001", "481 Session-does-not-exist", s.uri, d_.uri(), "m-a"));
  EXPECT_TRUE(receives_nothing(bob.c, 1000));
  EXPECT_TRUE(receives_nothing(s.c, 100));
  EXPECT_EQ(stat("msrp:refused_no_session", 1), 1);
}

// (b) The same branch is no proxy: naming a listener on a free port gets 481 and that listener
// never sees a connection (no SSRF).
TEST_P(Authz, StrangerNamingAnyHostGets481AndNoConnectionIsOpened) {
  Listener victim;
  ASSERT_TRUE(victim.ok());
  Stranger s = stranger();
  std::string hop = "msrp://127.0.0.1:" + std::to_string(victim.port());
  std::string to = d_.uri() + " " + hop + "/x;tcp " + hop + "/y;tcp";
  ASSERT_TRUE(s.c.send(client::make_send("ssrf0001", to, s.uri, "m-b", "GET / HTTP/1.0\r\n\r\n")));
  auto f = s.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("ssrf0001", "481 Session-does-not-exist", s.uri, d_.uri(), "m-b"));
  EXPECT_FALSE(victim.accepted_within(500)) << "the relay connected to 127.0.0.1:" << victim.port();
  EXPECT_EQ(stat("msrp:refused_no_session", 1), 1);
}

// (b), with a session that exists: RFC 4976 §6.4 forwards a request on someone's session only
// from that session's connection or toward it. A stranger who knows B's session cannot send
// through it anywhere else: not relayed, and since the route has already answered 200, the refusal
// comes as a REPORT 403 (Failure-Report yes).
TEST_P(Authz, StrangerUsingAnotherClientsSessionTowardAnotherHostIsRefused403) {
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  Listener victim;
  ASSERT_TRUE(victim.ok());
  Stranger s = stranger();
  std::string hop = "msrp://127.0.0.1:" + std::to_string(victim.port());
  std::string to = bob.use_path + " " + hop + "/x;tcp " + hop + "/y;tcp";
  ASSERT_TRUE(s.c.send(client::make_send("ssrf0002", to, s.uri, "m-b2", "0123456789", "text/plain", '$',
                                         "Byte-Range: 1-10/10\r\nFailure-Report: yes\r\n")));
  auto ok = s.c.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, send_response("ssrf0002", "200 OK", s.uri, bob.use_path, "m-b2"));
  auto rep = s.c.read_frame();
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->method, "REPORT") << rep->raw;
  EXPECT_EQ(rep->header("To-Path"), s.uri) << rep->raw;
  EXPECT_EQ(rep->header("Message-ID"), "m-b2") << rep->raw;
  EXPECT_EQ(rep->header("Status"), "000 403 Forbidden") << rep->raw;
  EXPECT_FALSE(victim.accepted_within(500)) << "the relay connected to 127.0.0.1:" << victim.port();
  EXPECT_TRUE(receives_nothing(bob.c, 100));
  EXPECT_EQ(stat("msrp:refused_not_authorized", 1), 1);
}

// (c) A To-Path longer than max_to_path (16) is refused with 400 before the route runs: one frame
// answered, nothing relayed, whatever the body. The first URI is the sender's own session (bound
// to its connection), the other 549 name the relay by its listen address: 550 URIs of the relay's
// own. (550 session URIs would not fit msrpd's 16 KiB line limit: the parser would refuse the line
// before any loop check.)
TEST_P(Authz, ToPathNamingTheRelay550TimesGets400AndNothingIsRelayed) {
  Receiver alice = auth("alice");
  Receiver bob = auth("bob");
  ASSERT_FALSE(alice.use_path.empty());
  std::string to = alice.use_path;
  const std::string relay = d_.uri();
  for (int i = 1; i < 550; ++i) to.append(" ").append(relay);
  std::string body(270 * 1024, 'L');
  std::string frame = client::make_send("loop0550", to, alice.uri, "m-loop", body);
  std::thread sender([&] { EXPECT_TRUE(alice.c.send(frame, 30000)); });
  auto f = alice.c.read_frame(10000);
  sender.join();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("loop0550", "400 Bad Request", alice.uri, alice.use_path, "m-loop"));
  // Nothing else leaves the relay, toward anybody.
  EXPECT_TRUE(receives_nothing(alice.c, 1000));
  EXPECT_TRUE(receives_nothing(bob.c, 100));
  EXPECT_EQ(stat("msrp:refused_loop", 1), 1);
  EXPECT_EQ(stat("msrp:self_hops", 0), 0);
}

// (c) Five own URIs: under max_to_path, over max_self_passes (3). The frame would pass through the
// relay five times: refused 403 (RFC 4975 §10.3) before the route runs, at most three passes made,
// nothing leaves the relay.
TEST_P(Authz, FiveOwnUrisPassAtMostThreeTimesAndGet403) {
  Receiver alice = auth("alice");
  Receiver bob = auth("bob");
  ASSERT_FALSE(alice.use_path.empty());
  std::string to;
  for (int i = 0; i < 5; ++i) to += alice.use_path + " ";
  to += bob.uri;
  ASSERT_TRUE(alice.c.send(client::make_send("loop0005", to, alice.uri, "m-five", "0123456789", "text/plain",
                                             '$', "Byte-Range: 1-10/10\r\nFailure-Report: yes\r\n")));
  auto f = alice.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("loop0005", "403 Forbidden", alice.uri, alice.use_path, "m-five"));
  EXPECT_TRUE(receives_nothing(alice.c, 1000));
  EXPECT_TRUE(receives_nothing(bob.c, 100));
  EXPECT_EQ(stat("msrp:refused_loop", 1), 1);
  // Three passes at most: at most two hops of the relay to itself.
  EXPECT_LE(stat("msrp:self_hops", 0), 2);
}

// (d) Part 4 (RFC 4976 §6.4): a response is matched to a transaction the relay forwarded; a
// stranger's forged 200 addressed to B's session answers none and reaches nobody.
TEST_P(Authz, ForgedResponseFromAStrangerIsNotDeliveredToTheClient) {
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  Stranger s = stranger();
  ASSERT_TRUE(s.c.send(client::make_response("forged01", 200, "OK", bob.use_path + " " + bob.uri, s.uri)));
  EXPECT_TRUE(receives_nothing(bob.c, 1000));
  EXPECT_TRUE(receives_nothing(s.c, 100));
  EXPECT_EQ(stat("msrp:responses_unmatched", 1), 1);
}

// (e) RFC 4975 §7.1, RFC 4976 §6.4: A and C use the same transaction id toward B, each through its
// own session and B's (two passes through the relay). B's 413 to A's SEND becomes a REPORT for A,
// with A's Message-ID and Byte-Range; C hears nothing of it.
TEST_P(Authz, SameTransactionIdFromTwoSendersTheReportReachesOnlyTheRightOne) {
  Receiver alice = auth("alice");
  Receiver carol = auth("carol");
  Receiver bob = auth("bob");
  ASSERT_FALSE(alice.use_path.empty());
  ASSERT_FALSE(carol.use_path.empty());
  ASSERT_FALSE(bob.use_path.empty());
  const std::string tid = "same0001";
  const std::string extra = "Byte-Range: 1-10/10\r\nFailure-Report: yes\r\n";
  ASSERT_TRUE(alice.c.send(client::make_send(tid, alice.use_path + " " + bob.use_path + " " + bob.uri,
                                             alice.uri, "m-alice", "0123456789", "text/plain", '$', extra)));
  auto ok_a = alice.c.read_frame();
  ASSERT_TRUE(ok_a) << ok_a.error().message;
  EXPECT_EQ(ok_a->raw, send_response(tid, "200 OK", alice.uri, alice.use_path, "m-alice"));
  ASSERT_TRUE(carol.c.send(client::make_send(tid, carol.use_path + " " + bob.use_path + " " + bob.uri,
                                             carol.uri, "m-carol", "abcdefghij", "text/plain", '$', extra)));
  auto ok_c = carol.c.read_frame();
  ASSERT_TRUE(ok_c) << ok_c.error().message;
  EXPECT_EQ(ok_c->raw, send_response(tid, "200 OK", carol.uri, carol.use_path, "m-carol"));

  // B gets both, each with a transaction id of the relay's, its path through both sessions.
  ReceivedFrame from_alice, from_carol;
  for (int i = 0; i < 2; ++i) {
    auto got = bob.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    (got->header("Message-ID") == "m-alice" ? from_alice : from_carol) = std::move(*got);
  }
  EXPECT_EQ(testing::forwarded_as(from_alice.raw, tid),
            "MSRP " + tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " +
                alice.use_path + " " + alice.uri + "\r\nMessage-ID: m-alice\r\n" + extra +
                "Content-Type: text/plain\r\n\r\n0123456789\r\n-------" + tid + "$\r\n");
  EXPECT_EQ(testing::forwarded_as(from_carol.raw, tid),
            "MSRP " + tid + " SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " +
                carol.use_path + " " + carol.uri + "\r\nMessage-ID: m-carol\r\n" + extra +
                "Content-Type: text/plain\r\n\r\nabcdefghij\r\n-------" + tid + "$\r\n");
  ASSERT_NE(from_alice.tid, from_carol.tid);

  // RFC 4975 §7.2: B's response goes to the first From-Path URI, its relay.
  ASSERT_TRUE(
      bob.c.send(client::make_response(from_alice.tid, 413, "Stop Sending Message", bob.use_path, bob.uri)));
  auto rep = alice.c.read_frame();
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->method, "REPORT") << rep->raw;
  EXPECT_EQ(rep->header("To-Path"), alice.uri) << rep->raw;
  EXPECT_EQ(rep->header("Message-ID"), "m-alice") << rep->raw;
  EXPECT_EQ(rep->header("Byte-Range"), "1-10/10") << rep->raw;
  EXPECT_EQ(rep->header("Status"), "000 413 Stop Sending Message") << rep->raw;
  EXPECT_TRUE(receives_nothing(carol.c, 1000));
  EXPECT_TRUE(receives_nothing(alice.c, 100));
  ASSERT_TRUE(bob.c.send(client::make_response(from_carol.tid, 200, "OK", bob.use_path, bob.uri)));
  EXPECT_TRUE(receives_nothing(carol.c, 500));
}

// (f) RFC 4976 §6.2: a request whose first To-Path URI is not the relay's own (here: the right
// host, another port, a valid session) is not relayed: 481, and a connection that has had no
// successful request is closed once the 481 is out.
TEST_P(Authz, FirstUriOnAnotherPortGets481AndAStrangersConnectionIsClosed) {
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  uint16_t other = free_port_except({d_.port(), 2855, 5060});
  std::string foreign = "msrp://127.0.0.1:" + std::to_string(other) + "/" + session_of(bob.use_path) + ";tcp";
  Stranger s = stranger();
  ASSERT_TRUE(s.c.send(client::make_send("frgn0001", foreign + " " + bob.uri, s.uri, "m-f", "not yours")));
  auto f = s.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("frgn0001", "481 Session-does-not-exist", s.uri, foreign, "m-f"));
  EXPECT_TRUE(s.c.wait_closed(3000)) << "the stranger's connection stays open";
  EXPECT_TRUE(receives_nothing(bob.c, 500));
  EXPECT_EQ(stat("msrp:refused_foreign_uri", 1), 1);
}

// (f) The same from a client that has AUTHed: 481, and its connection stays and keeps working.
TEST_P(Authz, FirstUriOnAnotherPortGets481AndAnAuthedClientsConnectionKeepsWorking) {
  Receiver alice = auth("alice");
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  uint16_t other = free_port_except({d_.port(), 2855, 5060});
  std::string foreign = "msrp://127.0.0.1:" + std::to_string(other) + "/" + session_of(bob.use_path) + ";tcp";
  ASSERT_TRUE(alice.c.send(client::make_send("frgn0002", foreign + " " + bob.uri, alice.uri, "m-f2", "x")));
  auto f = alice.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("frgn0002", "481 Session-does-not-exist", alice.uri, foreign, "m-f2"));
  EXPECT_FALSE(alice.c.wait_closed(500)) << "an AUTHed client's connection was closed";
  EXPECT_TRUE(receives_nothing(bob.c, 100));

  ASSERT_TRUE(alice.c.send(
      client::make_send("frgn0003", bob.use_path + " " + bob.uri, alice.uri, "m-ok", "still here")));
  auto ok = alice.c.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, send_response("frgn0003", "200 OK", alice.uri, bob.use_path, "m-ok"));
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(testing::forwarded_as(got->raw, "frgn0003"),
            "MSRP frgn0003 SEND\r\nTo-Path: " + bob.uri + "\r\nFrom-Path: " + bob.use_path + " " + alice.uri +
                "\r\nMessage-ID: m-ok\r\nContent-Type: text/plain\r\n\r\nstill here\r\n-------frgn0003$\r\n");
  EXPECT_EQ(stat("msrp:refused_foreign_uri", 1), 1);
}

// RFC 4976 §6.3: a session's URI is valid only as long as the connection that AUTHed. Once B has
// gone, its session is refused by the engine (not by the route's own cmap lookup, which would say
// the same 481: the counter tells them apart).
TEST_P(Authz, SessionEndsWithTheConnectionThatAuthed) {
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  const int64_t closed = cfg_.stat("tcp:connections_closed");
  ASSERT_GE(closed, 0);
  bob.c.close();
  ASSERT_EQ(stat("tcp:connections_closed", closed + 1), closed + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // on_close ends right after the count
  Stranger s = stranger();
  ASSERT_TRUE(s.c.send(client::make_send("gone0001", bob.use_path + " " + bob.uri, s.uri, "m-gone", "hi")));
  auto f = s.c.read_frame();
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->raw, send_response("gone0001", "481 Session-does-not-exist", s.uri, bob.use_path, "m-gone"));
  EXPECT_EQ(stat("msrp:refused_no_session", 1), 1);
}

// RFC 4975 §7.1.2: Failure-Report: no means no response at all, a refusal included.
TEST_P(Authz, RefusedSendWithFailureReportNoIsNotAnswered) {
  Receiver bob = auth("bob");
  Stranger s = stranger();
  std::string to =
      d_.uri() + " msrp://127.0.0.1:" + std::to_string(bob.c.local_port()) + "/anything;tcp " + bob.uri;
  ASSERT_TRUE(s.c.send(client::make_send("frno0001", to, s.uri, "m-frno", "quiet", "text/plain", '$',
                                         "Failure-Report: no\r\n")));
  EXPECT_TRUE(receives_nothing(s.c, 1000));
  EXPECT_TRUE(receives_nothing(bob.c, 100));
  EXPECT_EQ(stat("msrp:refused_no_session", 1), 1);
}

// RFC 4975 §7.1.2: a REPORT is never answered; one whose first To-Path URI is not the relay's is
// dropped (and counted), and goes nowhere.
TEST_P(Authz, ReportToAForeignFirstUriIsDroppedUnanswered) {
  Receiver alice = auth("alice");
  Receiver bob = auth("bob");
  ASSERT_FALSE(bob.use_path.empty());
  uint16_t other = free_port_except({d_.port(), 2855, 5060});
  std::string foreign = "msrp://127.0.0.1:" + std::to_string(other) + "/" + session_of(bob.use_path) + ";tcp";
  ASSERT_TRUE(
      alice.c.send(client::make_request("frgnrep1", "REPORT", foreign + " " + bob.uri, alice.uri,
                                        "Message-ID: m-r\r\nByte-Range: 1-2/2\r\nStatus: 000 200 OK\r\n")));
  EXPECT_TRUE(receives_nothing(alice.c, 1000));
  EXPECT_TRUE(receives_nothing(bob.c, 100));
  EXPECT_EQ(stat("msrp:refused_foreign_uri", 1), 1);
}

// Part 8: modparam("msrp", "open_relay", 1) restores the open relay of before (labs only), and
// says so at start. (a) then goes through: the stranger's SEND reaches B by B's address.
TEST_P(Authz, OpenRelayOneRestoresTheOpenRelayAndWarns) {
  Msrpd open;
  TestConfig cfg;
  ConfigEdits edits;
  edits.lines = {"modparam(\"msrp\", \"open_relay\", 1)"};
  ASSERT_TRUE(cfg.write(source_path(GetParam()), edits)) << cfg.error();
  ASSERT_TRUE(open.start(cfg.path(), {"-n", "2"})) << open.log();
  Receiver bob = auth_receiver(open, "bob");
  Client s = open.connect();
  std::string s_uri = my_uri(s, "mallory");
  std::string to = open.uri() + " msrp://127.0.0.1:" + std::to_string(bob.c.local_port()) + "/anything;tcp " +
                   "msrp://x.invalid:1/y;tcp";
  ASSERT_TRUE(s.send(client::make_send("open0001", to, s_uri, "m-open", "lab")));
  auto ok = s.read_frame();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->raw, send_response("open0001", "200 OK", s_uri, open.uri(), "m-open"));
  auto got = bob.c.read_frame();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->body, "lab") << got->raw;
  std::string log = open.log();
  EXPECT_NE(log.find("open_relay=1"), std::string::npos) << log;
  EXPECT_NE(log.find("dangerous"), std::string::npos) << log;
  EXPECT_EQ(cfg.stat("msrp:refused_no_session"), 0);
}

// What must keep working (RFC 4976 §5, §7): A and B AUTHed on one relay, each sending through its
// own session and the other's (two passes through the relay, the second inside the process), and
// the receiver's success REPORT back the same way.
TEST_P(Authz, TwoAuthedClientsOnOneRelayChatBothWaysWithReports) {
  Receiver alice = auth("alice");
  Receiver bob = auth("bob");
  ASSERT_FALSE(alice.use_path.empty());
  ASSERT_FALSE(bob.use_path.empty());
  struct Side {
    Receiver* me;
    Receiver* peer;
    std::string tid, mid, body;
  };
  for (const Side& s : {Side{&alice, &bob, "chat0001", "m-ab", "hello bob"},
                        Side{&bob, &alice, "chat0002", "m-ba", "hello alice"}}) {
    SCOPED_TRACE(s.mid);
    Receiver& me = *s.me;
    Receiver& peer = *s.peer;
    std::string range =
        "Byte-Range: 1-" + std::to_string(s.body.size()) + "/" + std::to_string(s.body.size());
    std::string extra = range + "\r\nSuccess-Report: yes\r\n";
    ASSERT_TRUE(me.c.send(client::make_send(s.tid, me.use_path + " " + peer.use_path + " " + peer.uri, me.uri,
                                            s.mid, s.body, "text/plain", '$', extra)));
    auto ok = me.c.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->raw, send_response(s.tid, "200 OK", me.uri, me.use_path, s.mid));
    auto got = peer.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    std::string back = peer.use_path + " " + me.use_path + " " + me.uri;
    EXPECT_EQ(testing::forwarded_as(got->raw, s.tid),
              "MSRP " + s.tid + " SEND\r\nTo-Path: " + peer.uri + "\r\nFrom-Path: " + back +
                  "\r\nMessage-ID: " + s.mid + "\r\n" + extra + "Content-Type: text/plain\r\n\r\n" + s.body +
                  "\r\n-------" + s.tid + "$\r\n");
    ASSERT_TRUE(peer.c.send(client::make_response(got->tid, 200, "OK", peer.use_path, peer.uri)));

    // RFC 4975 §7.1.2: the success REPORT goes to the SEND's From-Path.
    std::string rtid = s.tid + "r";
    ASSERT_TRUE(peer.c.send(
        client::make_request(rtid, "REPORT", back, peer.uri,
                             "Message-ID: " + s.mid + "\r\n" + range + "\r\nStatus: 000 200 OK\r\n")));
    auto rep = me.c.read_frame();
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_EQ(testing::forwarded_as(rep->raw, rtid),
              "MSRP " + rtid + " REPORT\r\nTo-Path: " + me.uri + "\r\nFrom-Path: " + me.use_path + " " +
                  peer.use_path + " " + peer.uri + "\r\nMessage-ID: " + s.mid + "\r\n" + range +
                  "\r\nStatus: 000 200 OK\r\n-------" + rtid + "$\r\n");
    EXPECT_TRUE(receives_nothing(peer.c, 300)) << "RFC 4975 §7.1.2: a REPORT is never answered";
    EXPECT_TRUE(receives_nothing(me.c, 100));
  }
}

// Two msrpd relays, each running the config under test (Use-Path from its own socket): A AUTHs at
// relay1, B at relay2; A → relay1 → relay2 → B and back, exact bytes (RFC 4976 §7.2 path handling).
class AuthzChain : public ::testing::TestWithParam<const char*> {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- relay1 log ---\n%s\n--- relay2 log ---\n%s\n", r1_.log().c_str(),
                   r2_.log().c_str());
    }
  }
  void start(TestConfig& cfg, Msrpd& d) {
    ConfigEdits own_socket;
    own_socket.drop_use_path_addr = true;
    ASSERT_TRUE(cfg.write(source_path(GetParam()), own_socket)) << cfg.error();
    ASSERT_TRUE(d.start(cfg.path(), {"-n", "2"}, free_port_except({r1_.port(), r2_.port()}))) << d.log();
  }
  TestConfig cfg1_, cfg2_;
  Msrpd r1_, r2_;
};
INSTANTIATE_TEST_SUITE_P(Configs, AuthzChain, ::testing::Values(kDefault, kExample18), config_name);

TEST_P(AuthzChain, AuthOnEachSideAndSendsCrossBothRelaysBothWays) {
  ASSERT_NO_FATAL_FAILURE(start(cfg1_, r1_));
  ASSERT_NO_FATAL_FAILURE(start(cfg2_, r2_));
  Receiver alice = auth_receiver(r1_, "alice");
  Receiver bob = auth_receiver(r2_, "bob");
  ASSERT_EQ(alice.use_path.rfind(r1_.uri().substr(0, r1_.uri().size() - 4) + "/", 0), 0u) << alice.use_path;
  ASSERT_EQ(bob.use_path.rfind(r2_.uri().substr(0, r2_.uri().size() - 4) + "/", 0), 0u) << bob.use_path;

  struct Side {
    Receiver* me;
    Receiver* peer;
    std::string tid, mid;
  };
  for (const Side& s : {Side{&alice, &bob, "chain001", "m-ab"}, Side{&bob, &alice, "chain002", "m-ba"}}) {
    SCOPED_TRACE(s.mid);
    Receiver& me = *s.me;
    Receiver& peer = *s.peer;
    std::string body(3000, 'c');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(me.c.send(
        client::make_send(s.tid, me.use_path + " " + peer.use_path + " " + peer.uri, me.uri, s.mid, body)));
    auto ok = me.c.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->raw, send_response(s.tid, "200 OK", me.uri, me.use_path, s.mid));
    auto got = peer.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    std::string back = peer.use_path + " " + me.use_path + " " + me.uri;
    EXPECT_EQ(testing::forwarded_as(got->raw, s.tid),
              "MSRP " + s.tid + " SEND\r\nTo-Path: " + peer.uri + "\r\nFrom-Path: " + back +
                  "\r\nMessage-ID: " + s.mid + "\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n-------" +
                  s.tid + "$\r\n");
    ASSERT_TRUE(peer.c.send(client::make_response(got->tid, 200, "OK", peer.use_path, peer.uri)));
    EXPECT_TRUE(receives_nothing(me.c, 300));
  }
}

}  // namespace
}  // namespace msrpd::itest
