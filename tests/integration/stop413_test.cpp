// A receiver's 413 stops the message (issue 12, item 8; RFC 4975 §10.5), against the real msrpd
// with etc/msrpd.cfg and the seed's Example 1.18, on one worker and on two with the sender's
// connection on the other worker than the receiver's. The chunk the relay is still writing to the
// receiver ends at once with '#' (RFC 4975 §7.1) and the rest of its body is dropped; later chunks
// of that Message-ID are answered 413 by the relay and never reach the receiver; the sender gets a
// 413 to its chunk in place of the relay's 200 when that chunk was still coming in, and the REPORT
// RFC 4976 §6.4.3 asks for (Failure-Report absent: yes); the next message of the session goes
// through. Exact bytes; every wait bounded.
//
// route_body_limit is 1024 here, so that a chunk longer than that is routed at its first KB and
// then relayed cut-through: the receiver has its head while its sender is still writing it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <tuple>

#include "forwarded.h"
#include "harness.h"
#include "test_config.h"

namespace msrpd::itest {
namespace {

using client::Client;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* const kDefault = "etc/msrpd.cfg";
const char* const kExample18 = "examples/kamailio-1.18.cfg";

// The relay's answers to a SEND (RFC 4975 §7.2: To-Path the first From-Path URI, From-Path the
// first To-Path URI, Message-ID echoed).
std::string send_response(const std::string& tid, const std::string& status, const std::string& to,
                          const std::string& from, const std::string& message_id) {
  return "MSRP " + tid + " " + status + "\r\nTo-Path: " + to + "\r\nFrom-Path: " + from +
         "\r\nMessage-ID: " + message_id + "\r\n-------" + tid + "$\r\n";
}

// `n` letters of a xorshift stream (no period: a lost or displaced piece shows), no end-line in them.
std::string body_of(size_t n, uint64_t seed) {
  std::string s(n, 'a');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& ch : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = static_cast<char>('a' + x % 26);
  }
  return s;
}

// CR and LF escaped, for failure messages.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

// Byte-for-byte equality of long frames: on a difference, where it is and the bytes around it.
::testing::AssertionResult same_bytes(std::string_view got, std::string_view want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  size_t from = at > 60 ? at - 60 : 0;
  return ::testing::AssertionFailure()
         << "sizes " << got.size() << " and " << want.size() << ", first difference at " << at
         << ":\n  got  ..." << printable(got.substr(from, 140)) << "\n  want ..."
         << printable(want.substr(from, 140));
}

// Reads from `c`'s socket (not through its frame parser) until `got` ends with `tail` or holds
// `size` bytes, whichever is asked, or the deadline passes.
bool read_raw(Client& c, std::string& got, size_t size, std::string_view tail = {}, int timeout_ms = 5000) {
  auto deadline = Clock::now() + milliseconds(timeout_ms);
  auto done = [&] { return tail.empty() ? got.size() >= size : got.ends_with(tail); };
  while (!done()) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    size_t want = tail.empty() ? std::min(sizeof buf, size - got.size()) : sizeof buf;
    ssize_t n = ::recv(c.fd(), buf, want, 0);
    if (n <= 0) return false;
    got.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// The relay's transaction ids are 16 characters (forwarded.h): on the wire a relayed head is that
// much longer than with the sender's 8-character ones.
size_t wire_size(const std::string& head_with_sender_tid) {
  return head_with_sender_tid.size() + 16 - 8;
}

// (config, workers): with 2 workers the sender's connection is on the other worker than the
// receiver's, so the 413 crosses from one to the other.
using Param = std::tuple<const char*, int>;

class Stop413 : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    ConfigEdits edits;
    edits.lines.push_back("modparam(\"msrp\", \"route_body_limit\", 1024)");
    ASSERT_TRUE(cfg_.write(source_path(std::get<0>(GetParam())), edits)) << cfg_.error();
    workers_ = std::get<1>(GetParam());
    ASSERT_TRUE(d_.start(cfg_.path(), {"-n", std::to_string(workers_), "-d"})) << d_.log();
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (cfg_.stat("msrp:messages_stopped") < 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(20));
    ASSERT_EQ(cfg_.stat("msrp:messages_stopped"), 0) << d_.log();
    bob_ = auth_receiver(d_, "bob");
    ASSERT_FALSE(bob_.use_path.empty());
    int bob_worker = worker_of(bob_.c.local_port());
    ASSERT_GE(bob_worker, 0);
    // Alice sends without an AUTH of her own (to bob's session). Each try sends one FOO (answered
    // 501 by both configs) and looks in the log for the worker that routed it.
    for (int attempt = 0; attempt < 32; ++attempt) {
      alice_ = d_.connect();
      ASSERT_GE(alice_.fd(), 0);
      alice_uri_ = my_uri(alice_, "alice");
      ASSERT_TRUE(
          alice_.send(client::make_request("where" + std::to_string(attempt), "FOO", d_.uri(), alice_uri_)));
      auto f = alice_.read_frame();
      ASSERT_TRUE(f) << f.error().message;
      ASSERT_EQ(f->code, 501) << f->raw;
      int w = worker_of(alice_.local_port());
      ASSERT_GE(w, 0);
      if (workers_ < 2 || w != bob_worker) return;
      alice_.close();
    }
    FAIL() << "alice's connection never landed on the other worker in 32 tries";
  }
  void TearDown() override {
    if (!HasFailure()) return;
    std::string log = d_.log();
    if (log.size() > 20000) log = "...\n" + log.substr(log.size() - 20000);
    std::fprintf(stderr, "--- msrpd log (tail) ---\n%s\n", log.c_str());
  }

  // The worker whose route logged a frame from local port `port` (each config's xdbg line names
  // the source address), -1 when the log does not say within a second.
  int worker_of(uint16_t port) {
    const std::string needles[] = {"*[[127.0.0.1:" + std::to_string(port) + "]]",
                                   " from 127.0.0.1:" + std::to_string(port) + " to "};
    auto deadline = Clock::now() + milliseconds(1000);
    do {
      std::string log = d_.log();
      for (const std::string& needle : needles) {
        size_t at = log.find(needle);
        if (at == std::string::npos) continue;
        size_t line = log.rfind('\n', at);
        line = line == std::string::npos ? 0 : line + 1;
        size_t w = log.find("[worker ", line);
        if (w != std::string::npos && w < at) return std::atoi(log.c_str() + w + 8);
      }
      std::this_thread::sleep_for(milliseconds(10));
    } while (Clock::now() < deadline);
    return -1;
  }

  std::string to() const { return bob_.use_path + " " + bob_.uri; }

  // What bob gets of alice's SEND `tid` as the relay writes it (its own transaction id put back).
  std::string relayed_head(const std::string& tid, const std::string& message_id, const std::string& range) {
    return "MSRP " + tid + " SEND\r\nTo-Path: " + bob_.uri + "\r\nFrom-Path: " + bob_.use_path + " " +
           alice_uri_ + "\r\nMessage-ID: " + message_id + "\r\nByte-Range: " + range +
           "\r\nContent-Type: text/plain\r\n\r\n";
  }

  // The relay's REPORT to alice (RFC 4975 §7.1.2), its transaction id taken from it.
  std::string report(const client::ReceivedFrame& r, const std::string& message_id, const std::string& range,
                     const std::string& status) {
    return "MSRP " + r.tid + " REPORT\r\nTo-Path: " + alice_uri_ + "\r\nFrom-Path: " + bob_.use_path +
           "\r\nMessage-ID: " + message_id + "\r\nByte-Range: " + range + "\r\nStatus: " + status +
           "\r\n-------" + r.tid + "$\r\n";
  }

  // Another message of the session afterwards: 200 to alice, relayed to bob as the next frame.
  void expect_next_message_goes_through() {
    ASSERT_TRUE(alice_.send(client::make_send("next0001", to(), alice_uri_, "m-next", "still here")));
    auto ok = alice_.read_frame();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->raw, send_response("next0001", "200 OK", alice_uri_, bob_.use_path, "m-next"));
    auto got = bob_.c.read_frame();
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(testing::forwarded_as(got->raw, "next0001"),
              "MSRP next0001 SEND\r\nTo-Path: " + bob_.uri + "\r\nFrom-Path: " + bob_.use_path + " " +
                  alice_uri_ +
                  "\r\nMessage-ID: m-next\r\nContent-Type: text/plain\r\n\r\nstill here\r\n"
                  "-------next0001$\r\n");
  }

  TestConfig cfg_;
  Msrpd d_;
  int workers_ = 1;
  Receiver bob_;
  Client alice_;
  std::string alice_uri_;
};

INSTANTIATE_TEST_SUITE_P(Configs, Stop413,
                         ::testing::Combine(::testing::Values(kDefault, kExample18), ::testing::Values(1, 2)),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           return std::string(std::get<0>(i.param) == kDefault ? "Default" : "Example18") +
                                  (std::get<1>(i.param) == 1 ? "OneWorker" : "TwoWorkers");
                         });

// A three-chunk message: bob answers 413 to the first chunk while the relay is writing him the
// second. The second ends with '#' right there, the rest of it is dropped, the third never reaches
// him. Alice: 413 to the second chunk (the relay's 200 waited for its end-line), the REPORT of the
// first chunk's 413, 413 to the third chunk.
TEST_P(Stop413, FirstChunkRefusedStopsTheChunkInProgressAndTheLaterOnes) {
  const std::string range1 = "1-10/6010", range2 = "11-4010/6010", range3 = "4011-6010/6010";
  ASSERT_TRUE(alice_.send(client::make_send("chunk001", to(), alice_uri_, "m-stop", "0123456789",
                                            "text/plain", '+', "Byte-Range: " + range1 + "\r\n")));
  auto ok1 = alice_.read_frame();
  ASSERT_TRUE(ok1) << ok1.error().message;
  EXPECT_EQ(ok1->raw, send_response("chunk001", "200 OK", alice_uri_, bob_.use_path, "m-stop"));
  auto c1 = bob_.c.read_frame();
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_EQ(testing::forwarded_as(c1->raw, "chunk001"),
            relayed_head("chunk001", "m-stop", range1) + "0123456789\r\n-------chunk001+\r\n");
  ASSERT_EQ(bob_.c.pending(), 0u);

  // The second chunk's head and half its body: the relay writes them to bob as they come.
  const std::string body2 = body_of(4000, 2);
  const std::string chunk2 = client::make_send("chunk002", to(), alice_uri_, "m-stop", body2, "text/plain",
                                               '+', "Byte-Range: " + range2 + "\r\n");
  const size_t half = chunk2.find("\r\n\r\n") + 4 + 2000;
  ASSERT_TRUE(alice_.send(std::string_view(chunk2).substr(0, half)));
  std::string at_bob;
  // RFC 4975 §7.1.1: streamed, the chunk may be interrupted: range-end "*" (issue 12 item 7).
  const std::string head2 = relayed_head("chunk002", "m-stop", "11-*/6010");
  ASSERT_TRUE(read_raw(bob_.c, at_bob, wire_size(head2) + 2000)) << at_bob.size() << " bytes";
  std::string tid2(testing::transaction_id_of(at_bob));
  ASSERT_TRUE(same_bytes(testing::forwarded_as(at_bob + "\r\n-------" + tid2 + "+\r\n", "chunk002"),
                         head2 + body2.substr(0, 2000) + "\r\n-------chunk002+\r\n"));

  // Bob refuses the message (RFC 4975 §7.2: the response goes to the first From-Path URI).
  ASSERT_TRUE(bob_.c.send(client::make_response(c1->tid, 413, "Not Wanted", bob_.use_path, bob_.uri)));
  // RFC 4975 §7.1: the chunk in progress ends at once, aborted.
  const std::string abort_line = "\r\n-------" + tid2 + "#\r\n";
  ASSERT_TRUE(read_raw(bob_.c, at_bob, 0, abort_line, 3000)) << at_bob.size() << " bytes";
  EXPECT_EQ(at_bob.size(), wire_size(head2) + 2000 + abort_line.size());

  auto stop2 = alice_.read_frame();
  ASSERT_TRUE(stop2) << stop2.error().message;
  EXPECT_EQ(stop2->raw,
            send_response("chunk002", "413 Stop Sending Message", alice_uri_, bob_.use_path, "m-stop"));
  auto rep = alice_.read_frame();
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->raw, report(*rep, "m-stop", range1, "000 413 Not Wanted"));

  // The rest of the second chunk (dropped) and the third chunk (answered 413 by the relay).
  ASSERT_TRUE(alice_.send(std::string_view(chunk2).substr(half)));
  ASSERT_TRUE(alice_.send(client::make_send("chunk003", to(), alice_uri_, "m-stop", body_of(2000, 3),
                                            "text/plain", '$', "Byte-Range: " + range3 + "\r\n")));
  auto stop3 = alice_.read_frame();
  ASSERT_TRUE(stop3) << stop3.error().message;
  EXPECT_EQ(stop3->raw,
            send_response("chunk003", "413 Stop Sending Message", alice_uri_, bob_.use_path, "m-stop"));

  // Nothing more of m-stop reaches bob: his next frame is the next message.
  expect_next_message_goes_through();
  EXPECT_EQ(cfg_.stat_when("msrp:messages_stopped", 1), 1);
  EXPECT_EQ(cfg_.stat_when("msrp:stopped_chunks", 2), 2);
  EXPECT_NE(d_.log().find("refused (message_stopped): "), std::string::npos);
}

// One 1 MB chunk: bob answers 413 to it after 64 KB of its body, before its transaction exists at
// the relay (that starts once its end-line went out). The relay ends it with '#' there and drops
// the rest; alice gets 413 to her chunk instead of the 200, and the REPORT of what was received.
TEST_P(Stop413, RefusedMidStreamTheLargeChunkEndsAtOnce) {
  constexpr size_t kSize = 1024 * 1024, kSent = 64 * 1024;
  const std::string range = "1-" + std::to_string(kSize) + "/" + std::to_string(kSize);
  const std::string body = body_of(kSize, 5);
  const std::string big = client::make_send("big00001", to(), alice_uri_, "m-big", body, "text/plain", '$',
                                            "Byte-Range: " + range + "\r\n");
  const size_t part = big.find("\r\n\r\n") + 4 + kSent;
  ASSERT_TRUE(alice_.send(std::string_view(big).substr(0, part)));
  std::string at_bob;
  // RFC 4975 §7.1.1: streamed, the chunk may be interrupted: range-end "*" (issue 12 item 7).
  const std::string head = relayed_head("big00001", "m-big", "1-*/" + std::to_string(kSize));
  ASSERT_TRUE(read_raw(bob_.c, at_bob, wire_size(head) + kSent)) << at_bob.size() << " bytes";
  std::string tid(testing::transaction_id_of(at_bob));
  ASSERT_TRUE(same_bytes(testing::forwarded_as(at_bob + "\r\n-------" + tid + "$\r\n", "big00001"),
                         head + body.substr(0, kSent) + "\r\n-------big00001$\r\n"));

  ASSERT_TRUE(bob_.c.send(client::make_response(tid, 413, "Not Wanted", bob_.use_path, bob_.uri)));
  const std::string abort_line = "\r\n-------" + tid + "#\r\n";
  ASSERT_TRUE(read_raw(bob_.c, at_bob, 0, abort_line, 3000)) << at_bob.size() << " bytes";
  EXPECT_EQ(at_bob.size(), wire_size(head) + kSent + abort_line.size());

  auto stop = alice_.read_frame();
  ASSERT_TRUE(stop) << stop.error().message;
  EXPECT_EQ(stop->raw,
            send_response("big00001", "413 Stop Sending Message", alice_uri_, bob_.use_path, "m-big"));
  auto rep = alice_.read_frame();
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->raw, report(*rep, "m-big", "1-" + std::to_string(kSent) + "/" + std::to_string(kSize),
                             "000 413 Not Wanted"));

  // The rest of the chunk is read and dropped; the session goes on.
  ASSERT_TRUE(alice_.send(std::string_view(big).substr(part)));
  expect_next_message_goes_through();
  EXPECT_EQ(cfg_.stat_when("msrp:messages_stopped", 1), 1);
  EXPECT_EQ(cfg_.stat_when("msrp:stopped_chunks", 1), 1);
}

}  // namespace
}  // namespace msrpd::itest
