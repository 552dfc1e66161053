// The Link and frames the parser rejects (issue 12, item 3): a request is answered 400/413 (RFC
// 4975 §7.2), a REPORT never (§7.1.2), a response is dropped; the stream resynchronises at the
// rejected frame's end-line (§7.1) and the connection keeps serving. A stream that cannot be
// resynchronised is closed. Each case counted: parse_errors, parse_dropped, parse_closes.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine_fixture.h"
#include "forwarded.h"

namespace msrpd::relay {
namespace {

using engine_test::Client;
using engine_test::EngineRelayTest;

class LinkFrameErrors : public EngineRelayTest {
 protected:
  // The counter once it reaches `want` (bumped on the worker threads), or its value after 2 s.
  uint64_t stat(const Stats::Counter& c, uint64_t want = 0) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (Stats::get(c) != want && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return Stats::get(c);
  }
  // The connection still works: a SEND on it reaches bob and is answered 200.
  void expect_serves(Client& c, Client& bob, const std::string& sessid, const std::string& tid) {
    ASSERT_TRUE(c.send(send_frame(tid, sessid, "still here")));
    auto ok = c.frame();
    ASSERT_TRUE(ok.has_value()) << c.buffered();
    EXPECT_EQ(*ok, "MSRP " + tid + " 200 OK\r\nTo-Path: " + std::string(kAlice) + "\r\nFrom-Path: " +
                       relay_session_uri(sessid) + "\r\nMessage-ID: msg0001\r\n-------" + tid + "$\r\n");
    auto relayed = bob.frame();
    ASSERT_TRUE(relayed.has_value());
    EXPECT_EQ(testing::forwarded_as(*relayed, tid), relayed_frame(tid, sessid, "still here"));
  }
};

TEST_F(LinkFrameErrors, FileOffsetIsRoutedAndAnswered501) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send("MSRP offs0001 FILE_OFFSET\r\nTo-Path: " + relay_uri_ +
                         "\r\nFrom-Path: " + std::string(kAlice) + "\r\n-------offs0001$\r\n"));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP offs0001 501 ")) << *f;
  expect_serves(alice, bob, sessid, "send0002");
  EXPECT_EQ(stat(engine_->stats().parse_errors, 0), 0u);
}

TEST_F(LinkFrameErrors, MalformedRequestIsAnswered400AndTheStreamGoesOnAfterItsEndLine) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  // "Foo bar" is no header; its body holds what looks like the end of another frame.
  std::string bad =
      "MSRP bad00001 SEND\r\nTo-Path: " + relay_session_uri(sessid) + " " + std::string(kBob) +
      "\r\nFrom-Path: " + std::string(kAlice) +
      "\r\nFoo bar\r\nContent-Type: text/plain\r\n\r\nx\r\n-------send0009$\r\n\r\n-------bad00001$\r\n";
  ASSERT_TRUE(alice.send(bad));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, "MSRP bad00001 400 Bad Request\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_session_uri(sessid) + "\r\n-------bad00001$\r\n");
  expect_serves(alice, bob, sessid, "send0002");
  EXPECT_EQ(stat(engine_->stats().parse_errors, 1), 1u);
  EXPECT_EQ(stat(engine_->stats().parse_dropped, 0), 0u);
  EXPECT_EQ(stat(engine_->stats().parse_closes, 0), 0u);
}

TEST_F(LinkFrameErrors, RejectedFrameArrivingByteByByteIsSkippedAsWhole) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  std::string bad = "MSRP bad00001 NICKNAME x\r\nTo-Path: " + relay_uri_ +
                    "\r\nFrom-Path: " + std::string(kAlice) + "\r\n-------bad00001$\r\n";
  for (char ch : bad) ASSERT_TRUE(alice.send(std::string_view(&ch, 1)));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  // Not a SEND: the whole From-Path (RFC 4975 §7.2).
  EXPECT_EQ(*f, "MSRP bad00001 400 Bad Request\r\nTo-Path: " + std::string(kAlice) +
                    "\r\nFrom-Path: " + relay_uri_ + "\r\n-------bad00001$\r\n");
  expect_serves(alice, bob, sessid, "send0002");
}

TEST_F(LinkFrameErrors, MalformedResponseIsDroppedAndCounted) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(bob.send("MSRP resp0001 200 OK\r\nTo-Path: " + relay_uri_ +
                       "\r\nFrom-Path: " + std::string(kBob) + "\r\nFoo bar\r\n-------resp0001$\r\n"));
  // bob's connection goes on: a SEND to bob still arrives on it.
  expect_serves(alice, bob, sessid, "send0002");
  EXPECT_FALSE(bob.frame(200).has_value()) << bob.buffered();
  EXPECT_EQ(stat(engine_->stats().parse_errors, 1), 1u);
  EXPECT_EQ(stat(engine_->stats().parse_dropped, 1), 1u);
}

TEST_F(LinkFrameErrors, ReportOverTheNonSendBodyLimitIsNotAnswered) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  std::string report = "MSRP rep00001 REPORT\r\nTo-Path: " + relay_uri_ +
                       "\r\nFrom-Path: " + std::string(kAlice) +
                       "\r\nMessage-ID: m\r\nStatus: 000 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
                       std::string(20480, 'r') + "\r\n-------rep00001$\r\n";
  ASSERT_TRUE(alice.send(report));
  expect_serves(alice, bob, sessid, "send0002");
  EXPECT_FALSE(alice.frame(200).has_value()) << alice.buffered();
  EXPECT_EQ(stat(engine_->stats().parse_errors, 1), 1u);
  EXPECT_EQ(stat(engine_->stats().parse_dropped, 1), 1u);
}

TEST_F(LinkFrameErrors, RequestWithoutFromPathIsNotAnswered) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_TRUE(alice.send("MSRP bad00001 SEND\r\n-------bad00001$\r\n"));
  expect_serves(alice, bob, sessid, "send0002");
  EXPECT_EQ(stat(engine_->stats().parse_dropped, 1), 1u);
}

TEST_F(LinkFrameErrors, StreamThatCannotBeResynchronisedIsClosed) {
  Client alice(port_);
  ASSERT_TRUE(alice.send("MSRP bad00001 SEND\r\nTo-Path: " + relay_uri_ + "\r\nFrom-Path: " +
                         std::string(kAlice) + "\r\nTo-Path: x\r\n" + std::string(70 * 1024, 'x')));
  auto f = alice.frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->starts_with("MSRP bad00001 400 Bad Request\r\n")) << *f;
  EXPECT_TRUE(alice.closed());
  EXPECT_EQ(stat(engine_->stats().parse_closes, 1), 1u);
}

TEST_F(LinkFrameErrors, NoTransactionIdClosesWithoutAnAnswer) {
  Client alice(port_);
  ASSERT_TRUE(alice.send("MSRP x SEND\r\nTo-Path: " + relay_uri_ + "\r\n"));
  EXPECT_TRUE(alice.closed());
  EXPECT_EQ(alice.buffered(), "");
  EXPECT_EQ(stat(engine_->stats().parse_closes, 1), 1u);
}

}  // namespace
}  // namespace msrpd::relay
