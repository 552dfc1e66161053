// The relay engine over real sockets on 127.0.0.1: an Engine with the seed's Example 1.18 route
// (2 workers, ephemeral port), driven by blocking test clients. Every wait is bounded.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "engine_fixture.h"
#include "forwarded.h"

namespace msrpd::relay {
namespace {

using namespace std::chrono_literals;
using engine_test::Client;
using engine_test::EngineOpenRelayTest;
using engine_test::EngineRelayTest;
using engine_test::NextHop;

TEST_F(EngineRelayTest, AuthWithoutCredentialsGets401WithDigestChallenge) {
  Client bob(port_);
  ASSERT_TRUE(bob.connected());
  ASSERT_TRUE(bob.send(auth_frame("auth0001", relay_uri_, kBob)));
  auto f = bob.frame();
  ASSERT_TRUE(f.has_value());
  std::string expected_re =
      "MSRP auth0001 401 Unauthorized\r\n"
      "To-Path: msrp://bob\\.example\\.com:7777/bobsess;tcp\r\n"
      "From-Path: msrp://127\\.0\\.0\\.1:" +
      std::to_string(port_) +
      ";tcp\r\n"
      "WWW-Authenticate: Digest realm=\"myrealm\", nonce=\"[A-Za-z0-9_-]+\", opaque=\"[A-Za-z0-9_-]{22}\", "
      "qop=\"auth\", algorithm=MD5\r\n"
      "-------auth0001\\$\r\n";
  EXPECT_TRUE(std::regex_match(*f, std::regex(expected_re))) << *f;
  EXPECT_EQ(engine_->stats().auth_failures.load(), 1u);
}

TEST_F(EngineRelayTest, AuthWithDigestGets200WithUsePathExpiresAndAuthenticationInfo) {
  Client bob(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty()) << last_auth_reply_;
  EXPECT_GE(sessid.size(), 14u);  // >= 80 bits from a 62-character alphabet
  std::string expected = "MSRP auth0002 200 OK\r\nTo-Path: " + std::string(kBob) +
                         "\r\nFrom-Path: " + relay_uri_ + "\r\nUse-Path: msrp://127.0.0.1:5060/" + sessid +
                         ";tcp\r\nExpires: 3600\r\n" + "Authentication-Info: " + last_auth_info_ +
                         "\r\n-------auth0002$\r\n";
  EXPECT_EQ(last_auth_reply_, expected);
  ASSERT_NE(engine_->cmap(), nullptr);
  EXPECT_EQ(engine_->cmap()->size(), 1u);
}

TEST_F(EngineRelayTest, AuthWithExpiresBelowMinimumGets423WithMinExpires) {
  Client bob(port_);
  ASSERT_TRUE(bob.send(auth_frame("auth0001", relay_uri_, kBob)));
  auto challenge = bob.frame();
  ASSERT_TRUE(challenge.has_value());
  ASSERT_TRUE(bob.send(
      auth_frame("auth0002", relay_uri_, kBob, "Expires: 10\r\n" + authorization(nonce_of(*challenge)))));
  auto f = bob.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP auth0002 423 Interval Out Of Bounds\r\nTo-Path: " + std::string(kBob) +
                    "\r\nFrom-Path: " + relay_uri_ + "\r\nMin-Expires: 60\r\n-------auth0002$\r\n");
  EXPECT_EQ(engine_->cmap()->size(), 0u);
}

TEST_F(EngineRelayTest, AuthWithExpiresWithinBoundsIsHonoured) {
  Client bob(port_);
  std::string sessid = authenticate(bob, kBob, "Expires: 120\r\n");
  ASSERT_FALSE(sessid.empty()) << last_auth_reply_;
  EXPECT_THAT(last_auth_reply_, ::testing::HasSubstr("\r\nExpires: 120\r\n"));
}

TEST_F(EngineRelayTest, ReAuthOnTheSameConnectionRefreshesTheSessionAndItsBinding) {
  // RFC 4976 §6.3: a client refreshing before Expires keeps its URI; the map and the engine's
  // binding get the new expiry, and no second session is made.
  Client bob(port_);
  std::string sessid = authenticate(bob, kBob, "Expires: 120\r\n");
  ASSERT_FALSE(sessid.empty()) << last_auth_reply_;
  auto before = engine_->cmap()->lookup(sessid, relay::CmapItem::Clock::now());
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(authenticate(bob, kBob, "Expires: 3600\r\n"), sessid) << last_auth_reply_;
  EXPECT_THAT(last_auth_reply_, ::testing::HasSubstr("\r\nExpires: 3600\r\n"));
  EXPECT_EQ(engine_->cmap()->size(), 1u);
  EXPECT_EQ(engine_->bindings().size(), 1u);
  auto now = relay::CmapItem::Clock::now();
  auto item = engine_->cmap()->lookup(sessid, now);
  auto binding = engine_->bindings().lookup(sessid, now);
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(binding.has_value());
  EXPECT_GT(item->expires, now + std::chrono::seconds(3000));
  EXPECT_GT(binding->expires, now + std::chrono::seconds(3000));
}

TEST_F(EngineRelayTest, AuthForAnotherFromPathOnTheSameConnectionGetsAnotherSession) {
  Client bob(port_);
  std::string first = authenticate(bob);
  std::string other = authenticate(bob, "msrp://bob.example.com:7777/othersess;tcp");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(other.empty());
  EXPECT_NE(first, other);
  EXPECT_EQ(engine_->cmap()->size(), 2u);
}

TEST_F(EngineRelayTest, SendToSessionIsRelayedWithRewrittenPathsAndAnsweredBy200) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hello")));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "MSRP send0001 200 OK\r\nTo-Path: " + std::string(kAlice) + "\r\nFrom-Path: " +
                     relay_session_uri(sessid) + "\r\nMessage-ID: msg0001\r\n-------send0001$\r\n");
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(testing::forwarded_as(*relayed, "send0001"), relayed_frame("send0001", sessid, "hello"));
  EXPECT_EQ(engine_->stats().relayed(msrp::Method::send), 1u);
}

TEST_F(EngineRelayTest, ReceiversResponseToRelayedSendIsConsumed) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hello")));
  ASSERT_TRUE(alice.frame().has_value());
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  std::string tid(testing::transaction_id_of(*relayed));  // the relay's id (RFC 4976 §6.4)
  ASSERT_TRUE(bob.send("MSRP " + tid + " 200 OK\r\nTo-Path: " + relay_session_uri(sessid) +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + tid + "$\r\n"));
  // Nothing reaches alice, and no REPORT is made.
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
  EXPECT_EQ(engine_->stats().responses_in.load(), 1u);
  EXPECT_EQ(engine_->stats().reports_sent.load(), 0u);
}

TEST_F(EngineRelayTest, ErrorResponseToRelayedSendBecomesReportToSender) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hello")));
  ASSERT_TRUE(alice.frame().has_value());
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  std::string tid(testing::transaction_id_of(*relayed));
  ASSERT_TRUE(bob.send("MSRP " + tid +
                       " 415 Unsupported Media Type\r\nTo-Path: " + relay_session_uri(sessid) +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + tid + "$\r\n"));
  auto report = alice.frame();
  ASSERT_TRUE(report.has_value());
  std::string re =
      "MSRP ([A-Za-z0-9]{16}) REPORT\r\nTo-Path: msrp://alice\\.example\\.com:9999/alicesess;tcp\r\n"
      "From-Path: msrp://127\\.0\\.0\\.1:" +
      std::to_string(port_) + "/" + sessid +
      ";tcp\r\nMessage-ID: msg0001\r\nByte-Range: 1-5/5\r\nStatus: 000 415 Unsupported Media Type\r\n"
      "-------\\1\\$\r\n";
  EXPECT_TRUE(std::regex_match(*report, std::regex(re))) << *report;
}

TEST_F(EngineRelayTest, SendToUnknownSessionGets481) {
  Client alice(port_);
  ASSERT_TRUE(alice.send(send_frame("send0001", "nosuchsession", "hello")));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP send0001 481 Session-does-not-exist\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_session_uri("nosuchsession") +
                    "\r\nMessage-ID: msg0001\r\n-------send0001$\r\n");
}

TEST_F(EngineRelayTest, UnknownMethodGets501WithWholeFromPath) {
  Client alice(port_);
  ASSERT_TRUE(alice.send("MSRP meth0001 FOO\r\nTo-Path: " + relay_uri_ + "\r\nFrom-Path: " +
                         std::string(kAlice) + " msrp://10.0.0.1:2855;tcp\r\n-------meth0001$\r\n"));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP meth0001 501 Request-method-not-understood\r\nTo-Path: " + std::string(kAlice) +
                    " msrp://10.0.0.1:2855;tcp\r\nFrom-Path: " + relay_uri_ + "\r\n-------meth0001$\r\n");
}

TEST_F(EngineRelayTest, ReportIsRelayedAndNotAnswered) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send(
      send_frame("rep00001", sessid, {}, "REPORT", "Byte-Range: 1-5/5\r\nStatus: 000 200 OK\r\n")));
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(testing::forwarded_as(*relayed, "rep00001"),
            relayed_frame("rep00001", sessid, {}, "REPORT", "Byte-Range: 1-5/5\r\nStatus: 000 200 OK\r\n"));
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
}

// Issue 12: the stream is resynchronised at the rejected frame's end-line (RFC 4975 §7.1), so the
// connection is no longer closed: its next frame is served too.
TEST_F(EngineRelayTest, MalformedFrameGets400AndItsConnectionAndOtherClientsKeepWorking) {
  Client bob(port_), alice(port_), bad(port_);
  std::string sessid = authenticate(bob);
  // From-Path before To-Path (RFC 4975 §9: To-Path comes first).
  ASSERT_TRUE(bad.send("MSRP bad00001 SEND\r\nFrom-Path: " + std::string(kAlice) +
                       "\r\nTo-Path: " + relay_uri_ + "\r\nMessage-ID: m\r\n-------bad00001$\r\n"));
  auto f = bad.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP bad00001 400 Bad Request\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_uri_ + "\r\n-------bad00001$\r\n");
  EXPECT_FALSE(bad.closed(300));
  ASSERT_TRUE(bad.send(send_frame("send0002", sessid, "after the bad one")));
  ASSERT_TRUE(bad.frame().has_value());
  auto first = bob.frame();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(testing::forwarded_as(*first, "send0002"),
            relayed_frame("send0002", sessid, "after the bad one"));
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "still here")));
  ASSERT_TRUE(alice.frame().has_value());
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(testing::forwarded_as(*relayed, "send0001"), relayed_frame("send0001", sessid, "still here"));
}

TEST_F(EngineRelayTest, SendWithFailureReportNoIsNotAnswered) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hi", "SEND", "Failure-Report: no\r\n")));
  auto relayed = bob.frame();
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(testing::forwarded_as(*relayed, "send0001"),
            relayed_frame("send0001", sessid, "hi", "SEND", "Failure-Report: no\r\n"));
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
}

TEST_F(EngineRelayTest, SessionGoesWhenItsConnectionCloses) {
  std::string sessid;
  {
    Client bob(port_);
    sessid = authenticate(bob);
    ASSERT_EQ(engine_->cmap()->size(), 1u);
  }
  for (int i = 0; i < 100 && engine_->cmap()->size() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(engine_->cmap()->size(), 0u);
  Client alice(port_);
  ASSERT_TRUE(alice.send(send_frame("send0001", sessid, "hello")));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_THAT(*f, ::testing::StartsWith("MSRP send0001 481 "));
}

class EngineChunkTest : public EngineRelayTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(EngineChunkTest, ChunkIsRelayedByteExactWhenFedInRandomPieces) {
  size_t size = GetParam();
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  std::mt19937 rng(static_cast<unsigned>(size));
  std::string body(size, 'x');
  std::uniform_int_distribution<int> ch('a', 'z');
  for (char& c : body) c = static_cast<char>(ch(rng));
  std::string frame = send_frame("chunk001", sessid, body);
  std::string expected = relayed_frame("chunk001", sessid, body);
  // Alice writes from another thread so that bob can read meanwhile.
  bool sent = false;
  std::thread writer([&] { sent = alice.send_pieces(frame, rng, size < 4096 ? 7 : 9000); });
  // RFC 4975 §7.1.1: a chunk routed before its end-line is in (past route_body_limit; at 64 KB
  // when TCP brought the end-line after the last body byte) is streamed, and the relay may
  // interrupt it: its range-end is "*". One routed whole keeps the sender's.
  std::string whole_range = "Byte-Range: 1-" + std::to_string(size) + "/";
  std::string streamed = expected;
  streamed.replace(streamed.find(whole_range), whole_range.size(), "Byte-Range: 1-*/");
  // The relay's transaction id (16 characters) stands in the start line and the end-line.
  auto frame_got = bob.frame(20000);
  writer.join();
  EXPECT_TRUE(sent);
  ASSERT_TRUE(frame_got.has_value()) << bob.buffered().size() << " bytes";
  std::string got = testing::forwarded_as(*frame_got, "chunk001");
  if (size > 64 * 1024) expected = streamed;
  if (size == 64 * 1024 && got.size() == streamed.size()) expected = streamed;
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_THAT(*ok, ::testing::StartsWith("MSRP chunk001 200 OK\r\n"));
}

INSTANTIATE_TEST_SUITE_P(Sizes, EngineChunkTest, ::testing::Values(1, 14 * 1024, 64 * 1024, 1024 * 1024));

}  // namespace
}  // namespace msrpd::relay

namespace msrpd::relay {
namespace {

long rss_kb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kb;
}

TEST_F(EngineOpenRelayTest, SendToUnreachableNextHopGets200ThenReport) {
  Client alice(port_);
  // Three URIs: Example 1.18 answers 200 and relays to the next hop, where nothing listens.
  ASSERT_TRUE(
      alice.send("MSRP send0001 SEND\r\nTo-Path: " + relay_uri_ +
                 " msrp://127.0.0.1:1/x;tcp msrp://127.0.0.1:2/y;tcp\r\nFrom-Path: " + std::string(kAlice) +
                 "\r\nMessage-ID: msg0001\r\nByte-Range: 1-2/2\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                 "-------send0001$\r\n"));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_THAT(*ok, ::testing::StartsWith("MSRP send0001 200 OK\r\n"));
  auto report = alice.frame();
  ASSERT_TRUE(report.has_value());
  std::string re =
      "MSRP ([A-Za-z0-9]{16}) REPORT\r\nTo-Path: msrp://alice\\.example\\.com:9999/alicesess;tcp\r\n"
      "From-Path: msrp://127\\.0\\.0\\.1:" +
      std::to_string(port_) +
      ";tcp\r\nMessage-ID: msg0001\r\nByte-Range: 1-2/2\r\nStatus: 000 481 Session Does Not Exist\r\n"
      "-------\\1\\$\r\n";
  EXPECT_TRUE(std::regex_match(*report, std::regex(re))) << *report;
}

// The forwarding phases (relay/forward.h) are named in debug logs: a whole SEND goes from idle
// straight to done; the log names the sender, its transaction id and the relay's.
TEST_F(EngineRelayTest, ForwardingPhasesArePrintedInDebugLogs) {
  struct Lines {
    std::mutex m;
    std::vector<std::string> v;
  } lines;
  int level = common::log_level();
  common::log_set_sink(
      [](int, std::string_view line, void* user) {
        auto* l = static_cast<Lines*>(user);
        if (line.find("forward: ") == std::string_view::npos) return;
        std::lock_guard<std::mutex> g(l->m);
        l->v.emplace_back(line);
      },
      &lines);
  common::set_log_level(common::kLogDbg);
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  ASSERT_TRUE(alice.send(send_frame("send0042", sessid, "hello")));
  ASSERT_TRUE(alice.frame().has_value());
  ASSERT_TRUE(bob.frame().has_value());
  common::set_log_level(level);
  common::log_set_sink(nullptr, nullptr);
  std::lock_guard<std::mutex> g(lines.m);
  bool seen = false;
  std::regex line("send0042 as [A-Za-z0-9]{16} #1 idle -> done");
  for (const std::string& l : lines.v) seen = seen || std::regex_search(l, line);
  EXPECT_TRUE(seen) << (lines.v.empty() ? std::string("no forward: line") : lines.v.back());
}

// RFC 4976 §6.4: every forwarded request gets a transaction id of the relay's own, even when
// two senders use the same one toward the same receiver.
TEST_F(EngineRelayTest, ForwardedRequestsGetTheRelaysOwnTransactionIds) {
  Client bob(port_), alice(port_), carol(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  ASSERT_TRUE(alice.send(send_frame("same0001", sessid, "from alice")));
  ASSERT_TRUE(alice.frame().has_value());
  ASSERT_TRUE(carol.send(send_frame("same0001", sessid, "from carol")));
  ASSERT_TRUE(carol.frame().has_value());
  auto first = bob.frame(), second = bob.frame();
  ASSERT_TRUE(first.has_value() && second.has_value());
  if (first->find("from alice") == std::string::npos) std::swap(first, second);  // any order
  EXPECT_EQ(testing::forwarded_as(*first, "same0001"), relayed_frame("same0001", sessid, "from alice"));
  EXPECT_EQ(testing::forwarded_as(*second, "same0001"), relayed_frame("same0001", sessid, "from carol"));
  EXPECT_NE(testing::transaction_id_of(*first), testing::transaction_id_of(*second));
}

// (e) in issue 11: the receiver's 413 to one of two SENDs that came in with the same id becomes a
// REPORT to that SEND's sender, with its Message-ID; the other sender hears nothing more.
TEST_F(EngineRelayTest, FailureToOneOfTwoSendsWithTheSameIdIsReportedToItsSender) {
  Client bob(port_), alice(port_), carol(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  std::string a = send_frame("same0001", sessid, "hello");
  std::string c = send_frame("same0001", sessid, "hello");
  c.replace(c.find("msg0001"), 7, "msgCCCC");
  ASSERT_TRUE(alice.send(a));
  ASSERT_TRUE(alice.frame().has_value());  // the route's 200
  ASSERT_TRUE(carol.send(c));
  ASSERT_TRUE(carol.frame().has_value());
  auto to_alice = bob.frame(), to_carol = bob.frame();
  ASSERT_TRUE(to_alice.has_value() && to_carol.has_value());
  // The two senders' connections may belong to different workers: either may arrive first.
  if (to_alice->find("msg0001") == std::string::npos) std::swap(to_alice, to_carol);
  ASSERT_NE(to_alice->find("msg0001"), std::string::npos) << *to_alice;
  std::string tid(testing::transaction_id_of(*to_alice));
  ASSERT_TRUE(bob.send("MSRP " + tid + " 413 Stop Sending Message\r\nTo-Path: " + relay_session_uri(sessid) +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + tid + "$\r\n"));
  auto report = alice.frame();
  ASSERT_TRUE(report.has_value());
  std::string re =
      "MSRP ([A-Za-z0-9]{16}) REPORT\r\nTo-Path: msrp://alice\\.example\\.com:9999/alicesess;tcp\r\n"
      "From-Path: msrp://127\\.0\\.0\\.1:" +
      std::to_string(port_) + "/" + sessid +
      ";tcp\r\nMessage-ID: msg0001\r\nByte-Range: 1-5/5\r\nStatus: 000 413 Stop Sending Message\r\n"
      "-------\\1\\$\r\n";
  EXPECT_TRUE(std::regex_match(*report, std::regex(re))) << *report;
  EXPECT_FALSE(carol.frame(300).has_value()) << carol.buffered();
}

// A response goes back along its transaction with the id its request had on the way in: an AUTH
// that alice sends through this relay to the next one is answered there; the 200 reaches alice
// as the answer to her own transaction.
TEST_F(EngineRelayTest, ResponseGoesBackWithTheSendersTransactionId) {
  NextHop r2;
  Client alice(port_);
  std::string alice_sess = authenticate(alice, kAlice);
  ASSERT_FALSE(alice_sess.empty());
  std::string to = relay_session_uri(alice_sess) + " " + r2.uri("r2");
  ASSERT_TRUE(alice.send(auth_frame("auth0009", to, kAlice)));
  Client peer = r2.accept();
  ASSERT_TRUE(peer.connected());
  auto fwd = peer.frame();
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(testing::forwarded_as(*fwd, "auth0009"),
            "MSRP auth0009 AUTH\r\nTo-Path: " + r2.uri("r2") + "\r\nFrom-Path: " +
                relay_session_uri(alice_sess) + " " + std::string(kAlice) + "\r\n-------auth0009$\r\n");
  std::string tid(testing::transaction_id_of(*fwd));
  ASSERT_TRUE(peer.send("MSRP " + tid + " 200 OK\r\nTo-Path: " + relay_session_uri(alice_sess) + " " +
                        std::string(kAlice) + "\r\nFrom-Path: " + r2.uri("r2") + "\r\n-------" + tid +
                        "$\r\n"));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "MSRP auth0009 200 OK\r\nTo-Path: " + std::string(kAlice) + "\r\nFrom-Path: " +
                     relay_session_uri(alice_sess) + " " + r2.uri("r2") + "\r\n-------auth0009$\r\n");
}

// (d) in issue 11: a response that answers no transaction of this relay is not delivered, even
// when its To-Path names an AUTHed client's address; it is counted.
TEST_F(EngineRelayTest, ForgedResponseIsNotDelivered) {
  Client bob(port_), stranger(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  std::string bob_addr = "msrp://127.0.0.1:" + std::to_string(bob.local_port()) + "/bobsess;tcp";
  ASSERT_TRUE(stranger.send("MSRP forged01 200 OK\r\nTo-Path: " + relay_uri_ + " " + bob_addr +
                            "\r\nFrom-Path: msrp://x.example.com:1/y;tcp\r\n-------forged01$\r\n"));
  EXPECT_FALSE(bob.frame(300).has_value()) << bob.buffered();
  for (int i = 0; i < 100 && engine_->stats().responses_unmatched.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine_->stats().responses_unmatched.load(), 1u);
}

TEST_F(EngineRelayTest, HundredMegabyteChunkStreamsWithBoundedMemory) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  constexpr size_t kBody = 100u * 1024 * 1024;
  std::string piece(64 * 1024, 'z');
  std::string head = "MSRP big00001 SEND\r\nTo-Path: " + relay_session_uri(sessid) + " " + std::string(kBob) +
                     "\r\nFrom-Path: " + std::string(kAlice) + "\r\nMessage-ID: msg0001\r\nByte-Range: 1-" +
                     std::to_string(kBody) + "/" + std::to_string(kBody) +
                     "\r\nContent-Type: text/plain\r\n\r\n";
  std::string tail = "\r\n-------big00001$\r\n";
  long before = rss_kb();
  bool sent = false;
  std::thread writer([&] {
    sent = alice.send(head);
    for (size_t n = 0; sent && n < kBody; n += piece.size()) sent = alice.send(piece);
    sent = sent && alice.send(tail);
  });
  size_t expected = 0;
  std::string relayed_head = "MSRP big00001 SEND\r\nTo-Path: " + std::string(kBob) +
                             "\r\nFrom-Path: " + relay_session_uri(sessid) + " " + std::string(kAlice) +
                             "\r\nMessage-ID: msg0001\r\nByte-Range: 1-*/" + std::to_string(kBody) +
                             "\r\nContent-Type: text/plain\r\n\r\n";
  // The relay forwards it with a transaction id of its own (16 characters, RFC 4976 §6.4).
  std::string got_head = bob.read_bytes(relayed_head.size() + 16 - 8, 20000);
  std::string relayed_tail = "\r\n-------" + std::string(testing::transaction_id_of(got_head)) + "$\r\n";
  expected = got_head.size() + kBody + relayed_tail.size();
  // RFC 4975 §7.1.1: streamed, it may be interrupted: range-end "*".
  EXPECT_EQ(testing::forwarded_as(got_head + relayed_tail, "big00001"), relayed_head + tail);
  size_t total = got_head.size();
  long peak = rss_kb();
  std::string last;
  while (total < expected) {
    std::string chunk = bob.read_bytes(std::min<size_t>(256 * 1024, expected - total), 20000);
    if (chunk.empty()) break;
    total += chunk.size();
    last = (last + chunk).substr(last.size() + chunk.size() > 64 ? last.size() + chunk.size() - 64 : 0);
    peak = std::max(peak, rss_kb());
  }
  writer.join();
  EXPECT_TRUE(sent);
  EXPECT_EQ(total, expected);
  EXPECT_TRUE(last.ends_with("zzzz" + relayed_tail)) << last;
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine keeps freed blocks: RSS says nothing there
  EXPECT_LT(peak - before, 32 * 1024) << "RSS grew by " << (peak - before) << " kB";
#else
  (void)peak;
  (void)before;
#endif
}

}  // namespace
}  // namespace msrpd::relay

namespace msrpd::relay {
namespace {

TEST(EngineProbationTest, SilentConnectionIsClosedAfterProbation) {
  EngineConfig cfg;
  cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
  cfg.children = 2;
  cfg.probation_seconds = 1;
  Example18Route route;
  Engine engine(cfg, route);
  ASSERT_TRUE(engine.start().ok());
  Client c(engine.bound_ports().at(0));
  ASSERT_TRUE(c.connected());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed(5000));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  engine.stop();
}

TEST(EngineProbationTest, NonMsrpConnectionIsClosed) {
  EngineConfig cfg;
  cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
  cfg.children = 2;
  Example18Route route;
  Engine engine(cfg, route);
  ASSERT_TRUE(engine.start().ok());
  Client c(engine.bound_ports().at(0));
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(c.closed(5000));
}

}  // namespace
}  // namespace msrpd::relay
