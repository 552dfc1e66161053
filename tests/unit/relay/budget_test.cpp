// The engine's memory budget for connections without a successful request yet (issue 11 part 6):
// over unauth_memory_budget the newest such connection is closed without an answer and counted in
// msrp:budget_closes; a client that AUTHed is no longer charged.

#include <string>

#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace msrpd::relay {
namespace {

using engine_test::Client;

// A head of about `kib` KiB that has not ended (the parser waits for more).
std::string unfinished_head(int kib) {
  std::string h =
      "MSRP abcd1234 SEND\r\nTo-Path: msrp://127.0.0.1:1/s;tcp\r\nFrom-Path: msrp://127.0.0.1:2/t;tcp\r\n";
  for (int i = 0; i < kib; ++i) h += "X-Pad: " + std::string(1014, 'a') + "\r\n";
  return h;
}

class BudgetEngineTest : public engine_test::EngineRelayTest {
 protected:
  void SetUp() override {}
  void start(size_t budget) {
    EngineConfig cfg;
    cfg.listen.push_back({"tcp", "127.0.0.1", 0, {}});
    cfg.children = 1;
    cfg.cmap_size = 4;
    cfg.use_path_addr = "msrp://127.0.0.1:5060";
    cfg.unauth_memory_budget = budget;
    engine_ = std::make_unique<Engine>(cfg, route_);
    auto r = engine_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    port_ = engine_->bound_ports().at(0);
    relay_uri_ = "msrp://127.0.0.1:" + std::to_string(port_) + ";tcp";
  }
};

TEST_F(BudgetEngineTest, NewestUnauthenticatedConnectionOverTheBudgetIsClosedAndCounted) {
  start(96 * 1024);
  Client first(port_);
  ASSERT_TRUE(first.send(unfinished_head(40)));  // a 64 KiB buffer
  ASSERT_FALSE(first.closed(300));
  Client second(port_);
  ASSERT_TRUE(second.send(unfinished_head(40)));  // 16, 32, then 64 KiB: over 96 KiB
  EXPECT_TRUE(second.closed());
  EXPECT_EQ(second.buffered(), "");
  EXPECT_FALSE(first.closed(200));
  EXPECT_EQ(engine_->stats().budget_closes.load(), 1u);
}

TEST_F(BudgetEngineTest, AuthenticatedClientIsNotCharged) {
  start(64 * 1024);
  Client bob(port_);
  std::string sessid = authenticate(bob);
  ASSERT_FALSE(sessid.empty()) << last_auth_reply_;
  // bob holds an unfinished 60 KB head; a stranger's 16 KiB still fits in the budget.
  ASSERT_TRUE(bob.send(unfinished_head(58)));
  Client stranger(port_);
  ASSERT_TRUE(stranger.send(unfinished_head(10)));
  EXPECT_FALSE(stranger.closed(300));
  EXPECT_FALSE(bob.closed(100));
  EXPECT_EQ(engine_->stats().budget_closes.load(), 0u);
}

}  // namespace
}  // namespace msrpd::relay
