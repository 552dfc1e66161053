// The next hop's maximum chunk size (msrp max_chunk_size, max_chunk_size_hop): SEND chunks relayed
// to it are cut into chunks of at most that many body bytes, each a chunk of its own (RFC 4976
// §6.4.1, RFC 4975 §7.1.1): a transaction id of the relay's, the Byte-Range of what it carries
// ("*" for range-end while the relay may still cut it), '+' but the last, which keeps the sender's
// flag. Only the last piece's response answers the sender's chunk. Exact bytes.

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "engine_fixture.h"
#include "forwarded.h"
#include "relay/chunk_caps.h"

namespace msrpd::relay {
namespace {

using namespace std::chrono_literals;
using engine_test::Client;
using engine_test::EngineRelayTest;
using engine_test::NextHop;

TEST(ChunkCaps, ARowForTheHopWinsOverTheDefault) {
  ChunkCaps caps;
  caps.all = 4096;
  caps.hops = {{"kam.example.com", 5060, 8192}, {"127.0.0.1", 0, 1000}, {"big.example.com", 0, 0}};
  EXPECT_EQ(caps.for_hop("KAM.example.com", 5060), 8192u);  // a host name is case-insensitive
  EXPECT_EQ(caps.for_hop("kam.example.com", 5061), 4096u);  // another port: the default
  EXPECT_EQ(caps.for_hop("127.0.0.1", 2855), 1000u);        // no port in the row: every port
  EXPECT_EQ(caps.for_hop("big.example.com", 2855), 0u);     // 0: this hop takes any size
  EXPECT_EQ(caps.for_hop("other.example.com", 2855), 4096u);
  EXPECT_EQ(caps.for_hop("", 0), 4096u);  // a client's connection (msrp_cmap_lookup): the default
  EXPECT_EQ(ChunkCaps{}.for_hop("kam.example.com", 5060), 0u);
}

// An open relay (the senders are strangers: the mechanics, not authorization, are tested here)
// whose next hop on 127.0.0.1 takes chunks of at most 1000 body bytes.
class ChunkCapTest : public EngineRelayTest {
 protected:
  void configure(EngineConfig& cfg) override {
    cfg.open_relay = true;
    cfg.max_chunk.hops.push_back({"127.0.0.1", target_.port(), kCap});
  }
  static constexpr size_t kCap = 1000;

  // To-Path: this relay, the target, bob behind it (Example 1.18 answers 200 itself: nexthops > 1).
  std::string to_path() const { return relay_uri_ + " " + target_.uri("t") + " " + std::string(kBob); }
  std::string head(std::string_view tid, std::string_view range) const {
    return "MSRP " + std::string(tid) + " SEND\r\nTo-Path: " + to_path() +
           "\r\nFrom-Path: " + std::string(kAlice) + "\r\nMessage-ID: m-" + std::string(tid) +
           "\r\nByte-Range: " + std::string(range) + "\r\nContent-Type: text/plain\r\n\r\n";
  }
  // A relayed chunk: the first one keeps the sender's header order, a continuation has Byte-Range
  // after From-Path (write_continuation_head).
  std::string relayed(std::string_view tid, std::string_view mid, std::string_view range,
                      std::string_view body, char flag, bool first) const {
    std::string paths = "To-Path: " + target_.uri("t") + " " + std::string(kBob) +
                        "\r\nFrom-Path: " + relay_uri_ + " " + std::string(kAlice) + "\r\n";
    std::string br = "Byte-Range: " + std::string(range) + "\r\n";
    std::string mid_line = "Message-ID: m-" + std::string(mid) + "\r\n";
    return "MSRP " + std::string(tid) + " SEND\r\n" + paths + (first ? mid_line + br : br + mid_line) +
           "Content-Type: text/plain\r\n\r\n" + std::string(body) + "\r\n-------" + std::string(tid) + flag +
           "\r\n";
  }
  static std::string body_of(size_t n) {
    std::string b(n, 'a');
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>('a' + i % 26);
    return b;
  }
  // Reads the next frame at the hop and checks it, ignoring its (fresh) transaction id.
  std::string expect_piece(Client& hop, const std::string& want, std::string_view sender_tid) {
    auto got = hop.frame();
    EXPECT_TRUE(got.has_value()) << "no piece; buffered: " << hop.buffered().substr(0, 300);
    if (!got) return {};
    EXPECT_EQ(testing::forwarded_as(*got, sender_tid), want);
    return std::string(testing::transaction_id_of(*got));
  }
  std::string ok_to(std::string_view tid) const {
    return "MSRP " + std::string(tid) + " 200 OK\r\nTo-Path: " + relay_uri_ + " " + std::string(kAlice) +
           "\r\nFrom-Path: " + target_.uri("t") + "\r\n-------" + std::string(tid) + "$\r\n";
  }

  NextHop target_;
};

TEST_F(ChunkCapTest, WholeSendOverTheCapGoesAsChunksWithTheirExactRanges) {
  Client alice(port_);
  std::string body = body_of(2500);
  ASSERT_TRUE(alice.send(head("cap00001", "1-2500/2500") + body + "\r\n-------cap00001$\r\n"));
  auto ok = alice.frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP cap00001 200 OK\r\n")) << *ok;  // the route's own
  Client hop = target_.accept();
  ASSERT_TRUE(hop.connected());
  std::string t1 = expect_piece(
      hop, relayed("cap00001", "cap00001", "1-1000/2500", body.substr(0, 1000), '+', true), "cap00001");
  std::string t2 = expect_piece(
      hop, relayed("cap00001", "cap00001", "1001-2000/2500", body.substr(1000, 1000), '+', false),
      "cap00001");
  std::string t3 = expect_piece(
      hop, relayed("cap00001", "cap00001", "2001-2500/2500", body.substr(2000), '$', false), "cap00001");
  EXPECT_NE(t1, t2);
  EXPECT_NE(t2, t3);
  EXPECT_NE(t1, t3);
  // The pieces' responses are the relay's own: only the last one answers alice's chunk.
  ASSERT_TRUE(hop.send(ok_to(t1) + ok_to(t2)));
  EXPECT_FALSE(alice.frame(300).has_value()) << alice.buffered();
  ASSERT_TRUE(hop.send(ok_to(t3)));
  auto answer = alice.frame();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->starts_with("MSRP cap00001 200 OK\r\nTo-Path: " + std::string(kAlice) + "\r\n"))
      << *answer;
  EXPECT_EQ(Stats::get(engine_->stats().responses_unmatched), 0u);
  EXPECT_EQ(Stats::get(engine_->stats().chunks_capped), 2u);

  // Over the connection now open: the same, written at once; a chunk that fits is left alone.
  ASSERT_TRUE(
      alice.send(head("cap00002", "1-1001/1001") + body.substr(0, 1001) + "\r\n-------cap00002$\r\n"));
  expect_piece(hop, relayed("cap00002", "cap00002", "1-1000/1001", body.substr(0, 1000), '+', true),
               "cap00002");
  expect_piece(hop, relayed("cap00002", "cap00002", "1001-1001/1001", body.substr(1000, 1), '$', false),
               "cap00002");
  ASSERT_TRUE(
      alice.send(head("cap00003", "1-1000/1000") + body.substr(0, 1000) + "\r\n-------cap00003$\r\n"));
  expect_piece(hop, relayed("cap00003", "cap00003", "1-1000/1000", body.substr(0, 1000), '$', true),
               "cap00003");
}

// A chunk of a message the sender cut itself keeps the message's total and the sender's '+'.
TEST_F(ChunkCapTest, TheLastPieceKeepsTheSendersFlagAndTheTotalStays) {
  Client alice(port_);
  std::string body = body_of(1500);
  ASSERT_TRUE(alice.send(head("cap00011", "3001-4500/9000") + body + "\r\n-------cap00011+\r\n"));
  Client hop = target_.accept();
  ASSERT_TRUE(hop.connected());
  expect_piece(hop, relayed("cap00011", "cap00011", "3001-4000/9000", body.substr(0, 1000), '+', true),
               "cap00011");
  expect_piece(hop, relayed("cap00011", "cap00011", "4001-4500/9000", body.substr(1000), '+', false),
               "cap00011");
}

// Longer than route_body_limit (64 KB): routed before its end-line and streamed. Every piece may
// still be cut (or interrupted) when its head goes out: range-end "*" (RFC 4975 §7.1.1).
TEST_F(ChunkCapTest, StreamedSendIsCutAtTheCapWithOpenRangeEnds) {
  Client alice(port_);
  constexpr size_t kBody = 70500;
  std::string body = body_of(kBody);
  std::string total = std::to_string(kBody);
  std::string frame = head("cap00021", "1-" + total + "/" + total) + body + "\r\n-------cap00021$\r\n";
  std::thread writer([&] { EXPECT_TRUE(alice.send(frame)); });
  Client hop = target_.accept();
  ASSERT_TRUE(hop.connected());
  for (size_t at = 0; at < kBody; at += kCap) {
    size_t n = std::min(kCap, kBody - at);
    bool last = at + n == kBody;
    std::string range = std::to_string(at + 1) + "-*/" + total;
    SCOPED_TRACE("piece at " + std::to_string(at));
    std::string want = relayed("cap00021", "cap00021", range, body.substr(at, n), last ? '$' : '+', at == 0);
    if (expect_piece(hop, want, "cap00021").empty()) break;
  }
  writer.join();
}

// A sender's chunk that ends right at the cap needs no empty piece after it.
TEST_F(ChunkCapTest, StreamedSendEndingAtTheCapHasNoEmptyPiece) {
  Client alice(port_);
  constexpr size_t kBody = 66000;  // 66 pieces of 1000
  std::string body = body_of(kBody);
  std::string total = std::to_string(kBody);
  std::string frame = head("cap00031", "1-" + total + "/" + total) + body + "\r\n-------cap00031$\r\n";
  std::thread writer([&] { EXPECT_TRUE(alice.send(frame)); });
  Client hop = target_.accept();
  ASSERT_TRUE(hop.connected());
  size_t pieces = 0, bytes = 0;
  char flag = 0;
  while (auto f = hop.frame(2000)) {
    ++pieces;
    size_t b = f->find("\r\n\r\n") + 4, e = f->rfind("\r\n-------");
    bytes += e - b;
    flag = (*f)[f->size() - 3];
    if (flag == '$') break;
  }
  writer.join();
  EXPECT_EQ(pieces, kBody / kCap);
  EXPECT_EQ(bytes, kBody);
  EXPECT_EQ(flag, '$');
}

// No cap: a streamed chunk says range-end "*" all the same (the relay may interrupt it to let
// other frames go, RFC 4975 §7.1.1); a whole one keeps its Byte-Range as sent.
TEST_F(EngineRelayTest, StreamedChunkCarriesAnOpenRangeEndAndAWholeOneItsOwn) {
  Client bob(port_), alice(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty());
  constexpr size_t kBody = 70000;
  std::string head = "MSRP strm0001 SEND\r\nTo-Path: " + relay_session_uri(sessid) + " " + std::string(kBob) +
                     "\r\nFrom-Path: " + std::string(kAlice) +
                     "\r\nMessage-ID: msg0001\r\nByte-Range: 1-70000/70000" +
                     "\r\nContent-Type: text/plain\r\n\r\n";
  std::string body(kBody, 'q');
  std::thread writer([&] { EXPECT_TRUE(alice.send(head + body + "\r\n-------strm0001$\r\n")); });
  auto got = bob.frame();
  writer.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(testing::forwarded_as(*got, "strm0001"),
            "MSRP strm0001 SEND\r\nTo-Path: " + std::string(kBob) +
                "\r\nFrom-Path: " + relay_session_uri(sessid) + " " + std::string(kAlice) +
                "\r\nMessage-ID: msg0001\r\nByte-Range: 1-*/70000\r\n" + "Content-Type: text/plain\r\n\r\n" +
                body + "\r\n-------strm0001$\r\n");
  ASSERT_TRUE(alice.send(send_frame("whol0001", sessid, "hello")));
  auto whole = bob.frame();
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(testing::forwarded_as(*whole, "whol0001"), relayed_frame("whol0001", sessid, "hello"));
}

}  // namespace
}  // namespace msrpd::relay
