// RFC 4976 §6 enforced by the engine whatever the route says (docs/SECURITY.md): the seed's
// Example 1.18 route, which relays anything with more than one To-Path URI, behind the engine's
// own-URI check, session binding and loop limits.

#include <regex>

#include "engine_fixture.h"
#include "forwarded.h"

namespace msrpd::relay::engine_test {
namespace {

using AuthorizationTest = EngineRelayTest;

std::string send_to(std::string_view tid, std::string_view to_path, std::string_view from_path,
                    std::string_view body = "hi", std::string_view extra = {}) {
  return "MSRP " + std::string(tid) + " SEND\r\nTo-Path: " + std::string(to_path) +
         "\r\nFrom-Path: " + std::string(from_path) + "\r\nMessage-ID: m-" + std::string(tid) + "\r\n" +
         std::string(extra) + "Byte-Range: 1-" + std::to_string(body.size()) + "/" +
         std::to_string(body.size()) + "\r\nContent-Type: text/plain\r\n\r\n" + std::string(body) +
         "\r\n-------" + std::string(tid) + "$\r\n";
}

// (a) RFC 4976 §6.3: a stranger naming the relay without a session, then an AUTHed client's
// address, gets 481; the client's connection carries nothing.
TEST_F(AuthorizationTest, StrangerCannotReachAnAuthedClientByItsAddress) {
  Client bob(port_), stranger(port_);
  ASSERT_FALSE(authenticate(bob).empty());
  std::string to = relay_uri_ + " msrp://127.0.0.1:" + std::to_string(bob.local_port()) +
                   "/anything;tcp msrp://x.invalid:1/y;tcp";
  ASSERT_TRUE(stranger.send(send_to("strn0001", to, kAlice)));
  auto f = stranger.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP strn0001 481 Session-does-not-exist\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_uri_ + "\r\nMessage-ID: m-strn0001\r\n-------strn0001$\r\n");
  EXPECT_FALSE(bob.frame(300).has_value()) << bob.buffered();
  EXPECT_EQ(Stats::get(engine_->stats().refused_no_session), 1u);
  EXPECT_EQ(engine_->stats().relayed(msrp::Method::send), 0u);
}

// (b) No connection is opened for a stranger's frame, whatever its To-Path names.
TEST_F(AuthorizationTest, StrangerCannotMakeTheRelayConnectAnywhere) {
  NextHop target;
  Client stranger(port_);
  ASSERT_TRUE(
      stranger.send(send_to("strn0002", relay_uri_ + " " + target.uri("x") + " " + target.uri("y"), kAlice)));
  auto f = stranger.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP strn0002 481 Session-does-not-exist\r\n")) << *f;
  EXPECT_FALSE(target.accept(500).connected()) << "the relay connected to the stranger's target";
}

// A bound session's URI from someone else, towards anywhere but the session's client: the route
// answers 200 (Example 1.18 does for nexthops > 1), the engine refuses to relay, and the sender
// hears it through a REPORT 403 (RFC 4976 §6.4.1).
TEST_F(AuthorizationTest, BoundSessionFromAnotherConnectionGoesOnlyToItsClient) {
  NextHop target;
  Client bob(port_), stranger(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  ASSERT_TRUE(stranger.send(send_to(
      "strn0003", relay_session_uri(sessid) + " " + target.uri("x") + " " + target.uri("y"), kAlice)));
  auto ok = stranger.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP strn0003 200 OK\r\n")) << *ok;
  auto report = stranger.frame();
  ASSERT_TRUE(report.has_value());
  std::string re =
      "MSRP ([A-Za-z0-9]{16}) REPORT\r\nTo-Path: " +
      std::regex_replace(std::string(kAlice), std::regex("\\."), "\\.") +
      "\r\nFrom-Path: " + std::regex_replace(relay_session_uri(sessid), std::regex("\\."), "\\.") +
      "\r\nMessage-ID: m-strn0003\r\nByte-Range: 1-2/2\r\nStatus: 000 403 Forbidden\r\n-------\\1\\$\r\n";
  EXPECT_TRUE(std::regex_match(*report, std::regex(re))) << *report;
  EXPECT_FALSE(target.accept(500).connected());
  EXPECT_FALSE(bob.frame(200).has_value()) << bob.buffered();
  EXPECT_EQ(Stats::get(engine_->stats().refused_not_authorized), 1u);
}

// (f) RFC 4976 §6.2: a first To-Path URI that is not this relay's: 481, nothing relayed, and a
// connection that has made no good request yet is closed.
TEST_F(AuthorizationTest, ForeignFirstUriIsRefusedAndAStrangerIsDisconnected) {
  Client bob(port_), stranger(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  std::string foreign = "msrp://127.0.0.1:1/" + sessid + ";tcp";
  ASSERT_TRUE(stranger.send(send_to("strn0004", foreign + " " + std::string(kBob), kAlice)));
  auto f = stranger.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP strn0004 481 Session-does-not-exist\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + foreign + "\r\nMessage-ID: m-strn0004\r\n-------strn0004$\r\n");
  EXPECT_TRUE(stranger.closed());
  EXPECT_FALSE(bob.frame(200).has_value()) << bob.buffered();
  EXPECT_EQ(Stats::get(engine_->stats().refused_foreign_uri), 1u);
}

// The same from an AUTHed client: only the frame is refused, the connection goes on.
TEST_F(AuthorizationTest, ForeignFirstUriFromAnAuthedClientRefusesOnlyThatFrame) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(authenticate(alice, kAlice).empty());
  ASSERT_TRUE(alice.send(
      send_to("alic0001", "msrp://127.0.0.2:2855/" + sessid + ";tcp " + std::string(kBob), kAlice)));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP alic0001 481 Session-does-not-exist\r\n")) << *f;
  ASSERT_TRUE(alice.send(send_frame("alic0002", sessid, "hello")));
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(testing::forwarded_as(*relayed, "alic0002"), relayed_frame("alic0002", sessid, "hello"));
}

// RFC 4976 §6.3: the URI is valid only on the connection that AUTHed; once it closes, nothing
// more goes to that session.
TEST_F(AuthorizationTest, SessionEndsWithTheConnectionThatAuthed) {
  std::string sessid;
  {
    Client bob(port_);
    sessid = authenticate(bob);
    ASSERT_FALSE(sessid.empty());
  }
  Client alice(port_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<std::string> f;
  // The close reaches the relay asynchronously: ask until it has been seen (bounded).
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    std::string tid = "gone" + std::to_string(1000 + i);
    ASSERT_TRUE(alice.send(send_frame(tid, sessid, "hello")));
    f = alice.frame();
    ASSERT_TRUE(f.has_value());
    if (f->starts_with("MSRP " + tid + " 481 ")) break;
  }
  EXPECT_NE(f->find(" 481 Session-does-not-exist\r\n"), std::string::npos) << *f;
  EXPECT_GE(Stats::get(engine_->stats().refused_no_session), 1u);
}

// Two clients of one relay: the To-Path names the relay twice (RFC 4976 §5: each client's path
// starts with its own session URI of this relay). The second pass happens inside the process:
// no connection to the relay's own address, and the frame reaches Bob with both URIs in its
// From-Path.
TEST_F(AuthorizationTest, TwoClientsOfOneRelayTalkThroughItWithoutAConnectionToItself) {
  Client bob(port_), alice(port_);
  std::string sb = authenticate(bob);
  std::string sa = authenticate(alice, kAlice);
  ASSERT_FALSE(sb.empty());
  ASSERT_FALSE(sa.empty());
  ASSERT_TRUE(alice.send(
      send_to("self0001", relay_session_uri(sa) + " " + relay_session_uri(sb) + " " + std::string(kBob),
              kAlice, "hello bob")));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP self0001 200 OK\r\n")) << *ok;
  auto got = bob.frame();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(
      testing::forwarded_as(*got, "self0001"),
      "MSRP self0001 SEND\r\nTo-Path: " + std::string(kBob) + "\r\nFrom-Path: " + relay_session_uri(sb) +
          " " + relay_session_uri(sa) + " " + std::string(kAlice) +
          "\r\nMessage-ID: m-self0001\r\nByte-Range: 1-9/9\r\nContent-Type: text/plain\r\n\r\nhello bob\r\n"
          "-------self0001$\r\n");
  EXPECT_EQ(Stats::get(engine_->stats().self_hops), 1u);
  EXPECT_EQ(Stats::get(engine_->stats().connections_opened), 0u);
  // Bob's 200 ends the relay's transaction; Alice hears nothing more (one 200, no REPORT).
  std::string tid(testing::transaction_id_of(*got));
  ASSERT_TRUE(bob.send("MSRP " + tid + " 200 OK\r\nTo-Path: " + relay_session_uri(sb) +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + tid + "$\r\n"));
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
  EXPECT_EQ(Stats::get(engine_->stats().responses_unmatched), 0u);
}

// A failure at the second pass comes back to the sender once, as a REPORT with its Message-ID.
TEST_F(AuthorizationTest, FailureBehindASelfHopIsReportedOnce) {
  Client bob(port_), alice(port_);
  std::string sb = authenticate(bob);
  std::string sa = authenticate(alice, kAlice);
  ASSERT_TRUE(alice.send(
      send_to("self0002", relay_session_uri(sa) + " " + relay_session_uri(sb) + " " + std::string(kBob),
              kAlice, "too big")));
  ASSERT_TRUE(alice.frame().has_value());  // the 200
  auto got = bob.frame();
  ASSERT_TRUE(got.has_value());
  std::string tid(testing::transaction_id_of(*got));
  ASSERT_TRUE(bob.send("MSRP " + tid + " 413 Too Big\r\nTo-Path: " + relay_session_uri(sb) +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + tid + "$\r\n"));
  auto report = alice.frame();
  ASSERT_TRUE(report.has_value());
  EXPECT_NE(report->find(" REPORT\r\nTo-Path: " + std::string(kAlice) + "\r\n"), std::string::npos)
      << *report;
  EXPECT_NE(report->find("\r\nMessage-ID: m-self0002\r\nByte-Range: 1-7/7\r\nStatus: 000 413 Too Big\r\n"),
            std::string::npos)
      << *report;
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
}

// (c) A To-Path longer than max_to_path (16) is refused before any work: 400, nothing relayed.
TEST_F(AuthorizationTest, ToPathLongerThanTheLimitIsRefused) {
  Client alice(port_);
  std::string sa = authenticate(alice, kAlice);
  // 550 URIs of the relay's, within the parser's 16 KB line limit (as the attack in issue 11).
  std::string to = relay_session_uri(sa) + " ";
  for (int i = 1; i < 550; ++i) to += relay_uri_ + " ";
  to += kBob;
  ASSERT_LT(to.size(), 16000u);
  ASSERT_TRUE(alice.send(send_to("loop0001", to, kAlice, std::string(270 * 1024, 'x'))));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP loop0001 400 ")) << f->substr(0, 200);
  EXPECT_FALSE(alice.frame(300).has_value());
  EXPECT_EQ(Stats::get(engine_->stats().refused_loop), 1u);
  EXPECT_EQ(Stats::get(engine_->stats().self_hops), 0u);
  EXPECT_EQ(engine_->stats().relayed(msrp::Method::send), 0u);
}

// More passes through this relay than max_self_passes (3): 403 at the first pass.
TEST_F(AuthorizationTest, TooManyPassesThroughTheRelayAreRefused) {
  Client alice(port_);
  std::string sa = authenticate(alice, kAlice);
  std::string to;
  for (int i = 0; i < 5; ++i) to += relay_session_uri(sa) + " ";
  to += kBob;
  ASSERT_TRUE(alice.send(send_to("loop0002", to, kAlice)));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP loop0002 403 Forbidden\r\n")) << *f;
  EXPECT_FALSE(alice.frame(300).has_value());
  EXPECT_EQ(Stats::get(engine_->stats().refused_loop), 1u);
  EXPECT_EQ(Stats::get(engine_->stats().self_hops), 0u);
}

// (d) A response that answers no transaction of this relay is not delivered (the engine counts
// it), even when its To-Path names an AUTHed client.
TEST_F(AuthorizationTest, ForgedResponseToAnAuthedClientIsDropped) {
  Client bob(port_), stranger(port_);
  std::string sb = authenticate(bob);
  ASSERT_TRUE(stranger.send("MSRP forged01 200 OK\r\nTo-Path: " + relay_session_uri(sb) + " " +
                            std::string(kBob) + "\r\nFrom-Path: " + std::string(kAlice) +
                            "\r\n-------forged01$\r\n"));
  EXPECT_FALSE(bob.frame(300).has_value()) << bob.buffered();
  EXPECT_FALSE(stranger.frame(100).has_value());
  EXPECT_EQ(Stats::get(engine_->stats().responses_unmatched), 1u);
}

// A REPORT is never answered (RFC 4975 §7.1.2), not even when it is refused.
TEST_F(AuthorizationTest, RefusedReportIsDroppedWithoutAnAnswer) {
  Client stranger(port_);
  ASSERT_TRUE(
      stranger.send("MSRP rep00009 REPORT\r\nTo-Path: " + relay_uri_ + " " + std::string(kBob) +
                    "\r\nFrom-Path: " + std::string(kAlice) +
                    "\r\nMessage-ID: m1\r\nByte-Range: 1-2/2\r\nStatus: 000 200 OK\r\n-------rep00009$\r\n"));
  EXPECT_FALSE(stranger.frame(300).has_value()) << stranger.buffered();
  EXPECT_EQ(Stats::get(engine_->stats().refused_no_session), 1u);
}

// modparam("msrp", "open_relay", 1): the lab setting, no authorization.
TEST_F(EngineOpenRelayTest, OpenRelayForwardsForStrangers) {
  NextHop target;
  Client stranger(port_);
  ASSERT_TRUE(
      stranger.send(send_to("open0001", relay_uri_ + " " + target.uri("x") + " " + target.uri("y"), kAlice)));
  auto f = stranger.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP open0001 200 OK\r\n")) << *f;
  Client hop = target.accept();
  ASSERT_TRUE(hop.connected());
  auto got = hop.frame();
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->find("\r\nTo-Path: " + target.uri("x") + " " + target.uri("y") + "\r\n") !=
              std::string::npos)
      << *got;
}

}  // namespace
}  // namespace msrpd::relay::engine_test
