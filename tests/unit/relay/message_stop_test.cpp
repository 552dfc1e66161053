// The record of messages a next hop stopped with 413 (RFC 4975 §10.5), one per source connection:
// (Message-ID, session URI) pairs, bounded, the oldest dropped first.
#include "relay/message_stop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine_fixture.h"

namespace msrpd::relay {
namespace {

constexpr std::string_view kSession = "msrp://127.0.0.1:2855/s1;tcp";
constexpr std::string_view kOtherSession = "msrp://127.0.0.1:2855/s2;tcp";

TEST(StoppedMessages, EmptyUntilAMessageIsStopped) {
  StoppedMessages s;
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains("m1", kSession));
  EXPECT_TRUE(s.add("m1", kSession));
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(s.contains("m1", kSession));
}

TEST(StoppedMessages, TheSameMessageIsRecordedOnce) {
  StoppedMessages s;
  EXPECT_TRUE(s.add("m1", kSession));
  EXPECT_FALSE(s.add("m1", kSession));
  EXPECT_EQ(s.size(), 1u);
}

// Two sessions on one relay-to-relay connection may use the same Message-ID: only the one stopped
// is refused.
TEST(StoppedMessages, AMessageIdOfAnotherSessionIsNotStopped) {
  StoppedMessages s;
  s.add("m1", kSession);
  EXPECT_FALSE(s.contains("m1", kOtherSession));
  EXPECT_FALSE(s.contains("m2", kSession));
  // Exact compare: Message-IDs are case-sensitive (RFC 4975 §9: ident).
  EXPECT_FALSE(s.contains("M1", kSession));
}

TEST(StoppedMessages, BoundedTheOldestGoesFirst) {
  StoppedMessages s;
  for (size_t i = 0; i < StoppedMessages::kMax; ++i) EXPECT_TRUE(s.add("m" + std::to_string(i), kSession));
  EXPECT_EQ(s.size(), StoppedMessages::kMax);
  EXPECT_TRUE(s.add("new1", kSession));
  EXPECT_EQ(s.size(), StoppedMessages::kMax);
  EXPECT_FALSE(s.contains("m0", kSession));
  EXPECT_TRUE(s.contains("m1", kSession));
  EXPECT_TRUE(s.contains("new1", kSession));
  EXPECT_TRUE(s.add("new2", kSession));
  EXPECT_FALSE(s.contains("m1", kSession));
  EXPECT_TRUE(s.contains("m2", kSession));
  // A whole turn of the ring: only the newest kMax remain.
  for (size_t i = 0; i < StoppedMessages::kMax; ++i) s.add("late" + std::to_string(i), kSession);
  EXPECT_FALSE(s.contains("new1", kSession));
  EXPECT_FALSE(s.contains("new2", kSession));
  for (size_t i = 0; i < StoppedMessages::kMax; ++i)
    EXPECT_TRUE(s.contains("late" + std::to_string(i), kSession));
}

}  // namespace
}  // namespace msrpd::relay

// The engine's side (two workers, the seed's Example 1.18 route, chunks over 1 KB relayed
// cut-through): what a 413 stops and what it does not.
namespace msrpd::relay::engine_test {
namespace {

class MessageStopTest : public EngineRelayTest {
 protected:
  void configure(EngineConfig& cfg) override { cfg.route_body_preview = 1024; }

  // alice's SEND head to bob's session `sess`, and the head bob gets of it (its id 8 characters
  // here, 16 on the wire: the relay's).
  std::string head(std::string_view tid, std::string_view sess, std::string_view mid, std::string_view range,
                   std::string_view extra = {}) {
    return "MSRP " + std::string(tid) + " SEND\r\nTo-Path: " + relay_session_uri(sess) + " " +
           std::string(kBob) + "\r\nFrom-Path: " + std::string(kAlice) +
           "\r\nMessage-ID: " + std::string(mid) + "\r\n" + std::string(extra) +
           "Byte-Range: " + std::string(range) + "\r\nContent-Type: text/plain\r\n\r\n";
  }
  std::string relayed_head(std::string_view tid, std::string_view sess, std::string_view mid,
                           std::string_view range, std::string_view extra = {}) {
    return "MSRP " + std::string(tid) + " SEND\r\nTo-Path: " + std::string(kBob) +
           "\r\nFrom-Path: " + relay_session_uri(sess) + " " + std::string(kAlice) +
           "\r\nMessage-ID: " + std::string(mid) + "\r\n" + std::string(extra) +
           "Byte-Range: " + std::string(range) + "\r\nContent-Type: text/plain\r\n\r\n";
  }
  static std::string end(std::string_view tid, char flag) {
    return "\r\n-------" + std::string(tid) + flag + "\r\n";
  }
  std::string answer(std::string_view tid, std::string_view status, std::string_view sess,
                     std::string_view mid) {
    return "MSRP " + std::string(tid) + " " + std::string(status) + "\r\nTo-Path: " + std::string(kAlice) +
           "\r\nFrom-Path: " + relay_session_uri(sess) + "\r\nMessage-ID: " + std::string(mid) +
           "\r\n-------" + std::string(tid) + "$\r\n";
  }
  // bob's 413 (RFC 4975 §7.2: to the first From-Path URI, the relay's).
  std::string refusal(std::string_view tid, std::string_view sess) {
    return "MSRP " + std::string(tid) + " 413 Not Wanted\r\nTo-Path: " + relay_session_uri(sess) +
           "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + std::string(tid) + "$\r\n";
  }
  // The relay's REPORT to alice, with its id.
  std::string report(const std::string& got, std::string_view sess, std::string_view mid,
                     std::string_view range) {
    std::string tid(got.substr(5, 16));
    return "MSRP " + tid + " REPORT\r\nTo-Path: " + std::string(kAlice) +
           "\r\nFrom-Path: " + relay_session_uri(sess) + "\r\nMessage-ID: " + std::string(mid) +
           "\r\nByte-Range: " + std::string(range) + "\r\nStatus: 000 413 Not Wanted\r\n-------" + tid +
           "$\r\n";
  }
  static uint64_t wait_stat(const Stats::Counter& c, uint64_t want) {
    for (int i = 0; i < 200 && Stats::get(c) != want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return Stats::get(c);
  }
  // The id the relay gave a frame (its start line).
  static std::string tid_of(const std::string& frame) { return frame.substr(5, frame.find(' ', 5) - 5); }
};

const std::string kBody = std::string(2000, 'x') + std::string(2000, 'y');

// A 413 whose id is no chunk's (a guess, or an old one) stops nothing: counted as unmatched, the
// chunk goes on whole and alice gets the route's 200.
TEST_F(MessageStopTest, A413ToAnotherIdStopsNothing) {
  Client bob(port_), alice(port_);
  std::string sess = authenticate(bob);
  ASSERT_FALSE(sess.empty());
  std::string h = head("big00001", sess, "m1", "1-4000/4000");
  ASSERT_TRUE(alice.send(h + kBody.substr(0, 2000)));
  std::string rh = relayed_head("big00001", sess, "m1", "1-4000/4000");
  std::string got = bob.read_bytes(rh.size() + 8 + 2000);
  std::string tid = tid_of(got);
  ASSERT_EQ(tid.size(), 16u) << got;
  ASSERT_TRUE(bob.send(refusal("guess0001", sess)));
  ASSERT_EQ(wait_stat(engine_->stats().responses_unmatched, 1), 1u);
  ASSERT_TRUE(alice.send(kBody.substr(2000) + end("big00001", '$')));
  std::string rest = bob.read_bytes(2000 + end(tid, '$').size());
  EXPECT_EQ(rest, kBody.substr(2000) + end(tid, '$'));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, answer("big00001", "200 OK", sess, "m1"));
  EXPECT_EQ(Stats::get(engine_->stats().messages_stopped), 0u);
}

// Failure-Report: no: the receiver should not answer at all, but a 413 still stops the stream
// ('#'); the sender hears nothing (RFC 4975 §7.2), and its later chunks are dropped silently.
TEST_F(MessageStopTest, FailureReportNoStopsTheStreamAndAnswersNothing) {
  Client bob(port_), alice(port_);
  std::string sess = authenticate(bob);
  ASSERT_FALSE(sess.empty());
  const std::string fr = "Failure-Report: no\r\n";
  ASSERT_TRUE(alice.send(head("big00002", sess, "m2", "1-4000/8000", fr) + kBody.substr(0, 2000)));
  std::string rh = relayed_head("big00002", sess, "m2", "1-4000/8000", fr);
  std::string got = bob.read_bytes(rh.size() + 8 + 2000);
  std::string tid = tid_of(got);
  ASSERT_TRUE(bob.send(refusal(tid, sess)));
  EXPECT_EQ(bob.read_bytes(end(tid, '#').size()), end(tid, '#'));
  ASSERT_TRUE(alice.send(kBody.substr(2000) + end("big00002", '+')));
  ASSERT_TRUE(alice.send(head("big00003", sess, "m2", "4001-8000/8000", fr) + kBody + end("big00003", '$')));
  // Nothing for alice; bob's next frame is the next message.
  ASSERT_TRUE(alice.send(send_frame("next0001", sess, "after")));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_NE(ok->find("MSRP next0001 200 OK\r\n"), std::string::npos) << *ok;
  auto next = bob.frame();
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(next->find("\r\nafter\r\n"), std::string::npos) << *next;
  EXPECT_EQ(wait_stat(engine_->stats().stopped_chunks, 2), 2u);
}

// The stop binds to the session URI the sender used: the same Message-ID towards another session
// of the same receiver is relayed.
TEST_F(MessageStopTest, TheSameMessageIdToAnotherSessionGoesThrough) {
  Client bob(port_), alice(port_);
  std::string sess = authenticate(bob);
  ASSERT_FALSE(sess.empty());
  std::string sess2 = authenticate(bob, "msrp://bob.example.com:7777/bobsess2;tcp");
  ASSERT_FALSE(sess2.empty());
  ASSERT_NE(sess, sess2);
  ASSERT_TRUE(alice.send(head("chunk001", sess, "m3", "1-10/20") + "0123456789" + end("chunk001", '+')));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, answer("chunk001", "200 OK", sess, "m3"));
  auto c1 = bob.frame();
  ASSERT_TRUE(c1.has_value());
  ASSERT_TRUE(bob.send(refusal(tid_of(*c1), sess)));
  auto rep = alice.frame();
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(*rep, report(*rep, sess, "m3", "1-10/20"));
  // The next chunk to that session: the relay's 413, nothing to bob.
  ASSERT_TRUE(alice.send(head("chunk002", sess, "m3", "11-20/20") + "abcdefghij" + end("chunk002", '$')));
  auto refused = alice.frame();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, answer("chunk002", "413 Stop Sending Message", sess, "m3"));
  // The same Message-ID to the other session (bob.example.com's bobsess2 is not kBob: the relay
  // delivers on the connection that AUTHed for it, bob's).
  std::string to2 = "MSRP other001 SEND\r\nTo-Path: " + relay_session_uri(sess2) +
                    " msrp://bob.example.com:7777/bobsess2;tcp\r\nFrom-Path: " + std::string(kAlice) +
                    "\r\nMessage-ID: m3\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello" +
                    end("other001", '$');
  ASSERT_TRUE(alice.send(to2));
  auto ok2 = alice.frame();
  ASSERT_TRUE(ok2.has_value());
  EXPECT_EQ(*ok2, answer("other001", "200 OK", sess2, "m3"));
  auto got = bob.frame();
  ASSERT_TRUE(got.has_value());
  EXPECT_NE(got->find("\r\nMessage-ID: m3\r\nByte-Range: 1-5/5\r\n"), std::string::npos) << *got;
  EXPECT_EQ(Stats::get(engine_->stats().messages_stopped), 1u);
  EXPECT_EQ(Stats::get(engine_->stats().stopped_chunks), 1u);
}

// The relay split alice's chunk so that carol's frame could go to bob (RFC 4975 §7.1.1); bob's 413
// to the relay's first piece stops the rest of the chunk (nothing more is written: the piece had
// ended), alice gets 413 to her chunk and the REPORT of the piece.
TEST_F(MessageStopTest, A413ToASplitPieceStopsTheRestOfTheChunk) {
  Client bob(port_), alice(port_), carol(port_);
  std::string sess = authenticate(bob);
  ASSERT_FALSE(sess.empty());
  ASSERT_TRUE(alice.send(head("big00004", sess, "m4", "1-4000/4000") + kBody.substr(0, 2000)));
  std::string rh = relayed_head("big00004", sess, "m4", "1-4000/4000");
  std::string got = bob.read_bytes(rh.size() + 8 + 2000);
  std::string tid = tid_of(got);
  std::string small = send_frame("small001", sess, "from carol");
  ASSERT_TRUE(carol.send(small));
  auto carol_ok = carol.frame();
  ASSERT_TRUE(carol_ok.has_value());
  // The piece ends with '+', then carol's frame.
  EXPECT_EQ(bob.read_bytes(end(tid, '+').size()), end(tid, '+'));
  auto from_carol = bob.frame();
  ASSERT_TRUE(from_carol.has_value());
  EXPECT_NE(from_carol->find("\r\nfrom carol\r\n"), std::string::npos) << *from_carol;
  ASSERT_TRUE(bob.send(refusal(tid, sess)));
  auto stop = alice.frame();
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(*stop, answer("big00004", "413 Stop Sending Message", sess, "m4"));
  auto rep = alice.frame();
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(*rep, report(*rep, sess, "m4", "1-2000/4000"));
  // The rest of alice's chunk is dropped: bob's next frame is the next message.
  ASSERT_TRUE(alice.send(kBody.substr(2000) + end("big00004", '$')));
  ASSERT_TRUE(alice.send(send_frame("next0002", sess, "after")));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_NE(ok->find("MSRP next0002 200 OK\r\n"), std::string::npos) << *ok;
  auto next = bob.frame();
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(next->find("\r\nafter\r\n"), std::string::npos) << *next;
  EXPECT_EQ(Stats::get(engine_->stats().messages_stopped), 1u);
  EXPECT_EQ(Stats::get(engine_->stats().stopped_chunks), 1u);
}

}  // namespace
}  // namespace msrpd::relay::engine_test
