// RFC 4975 §7.1.1, RFC 4976 §6.4.1: a relayed request's timeout runs from its last byte written to
// the next hop's connection. A SEND that the receiver's OutputGate held behind another sender's
// streamed chunk (until that chunk made way, over the other worker's mail) gets its transaction
// armed when the gate writes it: unanswered, it is REPORTed 408 one timeout later, exactly once.
// Two workers, each client placed on the worker the test needs (its connection id names it).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "engine_fixture.h"

namespace msrpd::relay::engine_test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kTimeoutMs = 400;

class HeldTimeoutTest : public EngineRelayTest, public ::testing::WithParamInterface<unsigned> {
 protected:
  void configure(EngineConfig& cfg) override { cfg.transaction_timeout_ms = kTimeoutMs; }

  // A client whose connection the relay serves on worker `wk` (null when none came after many
  // tries): a connection id names its worker in its top 16 bits.
  std::unique_ptr<Client> client_on(unsigned wk) {
    for (int attempt = 0; attempt < 64; ++attempt) {
      auto c = std::make_unique<Client>(port_);
      if (!c->connected()) continue;
      uint64_t id = 0;
      auto deadline = Clock::now() + milliseconds(1000);
      while (id == 0 && Clock::now() < deadline) {
        id = engine_->addresses().find(false, "127.0.0.1", c->local_port());
        if (id == 0) std::this_thread::sleep_for(milliseconds(2));
      }
      if (id != 0 && static_cast<unsigned>(id >> 48) == wk) return c;
    }
    return nullptr;
  }
};

// Bob on worker 0; the stalled sender on worker 1 (its make-way goes by mail); carol on the worker
// of the parameter: 0 (her SEND is held on bob's worker directly) or 1 (it comes by mail, its
// transaction record after it).
TEST_P(HeldTimeoutTest, HeldSendIsReportedOneTimeoutAfterItWasWritten) {
  auto bob = client_on(0);
  auto a = client_on(1);
  auto carol = client_on(GetParam());
  if (!bob || !a || !carol) GTEST_SKIP() << "the kernel never put a connection on the worker needed";
  std::string sessid = authenticate(*bob);
  ASSERT_FALSE(sessid.empty());
  std::string to = relay_session_uri(sessid) + " " + std::string(kBob);
  // A: the head and 70 KB of a 200 KB SEND (routed at route_body_limit, streamed to bob), then A stops.
  ASSERT_TRUE(
      a->send("MSRP big00001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + std::string(kAlice) +
              "\r\nMessage-ID: mbig\r\nByte-Range: 1-204800/204800\r\nContent-Type: text/plain\r\n\r\n" +
              std::string(70 * 1024, 'a')));
  auto got = [&bob](const std::function<bool(const std::string&)>& enough) {
    auto deadline = Clock::now() + milliseconds(3000);
    while (!enough(bob->buffered()) && Clock::now() < deadline) bob->read_some(50);
    return enough(bob->buffered());
  };
  ASSERT_TRUE(got([](const std::string& b) { return b.size() >= 64 * 1024; }))
      << "A's chunk does not reach bob";

  ASSERT_TRUE(
      carol->send("MSRP carol001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + std::string(kAlice) +
                  "\r\nMessage-ID: mcarol\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                  "-------carol001$\r\n"));
  auto ok = carol->frame();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->starts_with("MSRP carol001 200 OK\r\n")) << *ok;
  // Bob: the rest of A's first chunk (ended with '+' for carol), then carol's SEND. Bob answers
  // A's chunk and leaves carol's unanswered.
  ASSERT_TRUE(got([](const std::string& b) {
    size_t at = b.find("Message-ID: mcarol\r\n");
    return at != std::string::npos && b.find("$\r\n", at) != std::string::npos;
  })) << "carol's SEND does not reach bob";
  auto written = Clock::now();
  const std::string& stream = bob->buffered();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(stream, m, std::regex("^MSRP ([A-Za-z0-9]{16}) SEND\r\n")));
  std::string a_tid = m[1];
  size_t chunk_end = stream.find("\r\n-------" + a_tid + "+\r\n");
  ASSERT_NE(chunk_end, std::string::npos) << "A's chunk was not ended with '+' for carol";
  EXPECT_EQ(stream.substr(chunk_end + 2 + 7 + 16 + 3).find("MSRP "), 0u) << "carol's SEND follows A's chunk";
  ASSERT_TRUE(bob->send("MSRP " + a_tid + " 200 OK\r\nTo-Path: " + relay_session_uri(sessid) +
                        "\r\nFrom-Path: " + std::string(kBob) + "\r\n-------" + a_tid + "$\r\n"));

  auto report = carol->frame(3000);
  ASSERT_TRUE(report.has_value()) << "no REPORT: the held SEND's transaction was never armed";
  auto after = std::chrono::duration_cast<milliseconds>(Clock::now() - written).count();
  EXPECT_GE(after, kTimeoutMs - 50);
  EXPECT_LT(after, kTimeoutMs + 1000);
  std::string re =
      "MSRP ([A-Za-z0-9]{16}) REPORT\r\nTo-Path: msrp://alice\\.example\\.com:9999/alicesess;tcp\r\n"
      "From-Path: msrp://127\\.0\\.0\\.1:" +
      std::to_string(port_) + "/" + sessid +
      ";tcp\r\nMessage-ID: mcarol\r\nByte-Range: 1-5/5\r\nStatus: 000 408 Request Timeout\r\n"
      "-------\\1\\$\r\n";
  EXPECT_TRUE(std::regex_match(*report, std::regex(re))) << *report;
  EXPECT_FALSE(carol->frame(kTimeoutMs + 200).has_value()) << "a second REPORT";
}

INSTANTIATE_TEST_SUITE_P(CarolsWorker, HeldTimeoutTest, ::testing::Values(0u, 1u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return std::string(i.param == 0 ? "OnBobsWorker" : "OnTheOtherWorker");
                         });

}  // namespace
}  // namespace msrpd::relay::engine_test
