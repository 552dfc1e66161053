#include "relay/transactions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/event_loop.h"

namespace msrpd::relay {
namespace {

std::string tid_of(int i) {
  return "tid" + std::to_string(i) + "x0123456789abcdef";
}

struct Fired {
  uint64_t dest;
  std::string tid;
  uint64_t source;
};

class TransactionsTest : public ::testing::Test {
 protected:
  net::EventLoop loop;
  std::vector<Fired> fired;
  Transactions txns{loop, 40, [this](Transaction& t) { fired.push_back({t.dest, t.tid, t.source}); }};

  void add(uint64_t dest, int i) {
    Transaction& t = txns.add(dest, tid_of(i));
    t.source = 1000 + i;
    t.method = msrp::Method::send;
  }
};

TEST_F(TransactionsTest, TakeReturnsTheEntryForTheSameConnectionAndTidOnlyOnce) {
  add(7, 1);
  EXPECT_EQ(txns.size(), 1u);
  EXPECT_EQ(txns.take(8, tid_of(1)), nullptr);  // same tid, another connection
  EXPECT_EQ(txns.take(7, tid_of(2)), nullptr);
  auto t = txns.take(7, tid_of(1));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->source, 1001u);
  EXPECT_EQ(t->tid, tid_of(1));
  EXPECT_EQ(t->method, msrp::Method::send);
  EXPECT_EQ(txns.size(), 0u);
  EXPECT_EQ(txns.take(7, tid_of(1)), nullptr);
}

TEST_F(TransactionsTest, ManyTransactionsTimeOutInOrderExceptTheAnsweredOnes) {
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) add(static_cast<uint64_t>(i % 7 + 1), i);
  EXPECT_EQ(txns.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; i += 2)
    ASSERT_NE(txns.take(static_cast<uint64_t>(i % 7 + 1), tid_of(i)), nullptr);
  EXPECT_EQ(txns.size(), static_cast<size_t>(kCount / 2));
  loop.run_for(10);
  EXPECT_TRUE(fired.empty());  // not before the timeout
  ASSERT_TRUE(loop.run_until([&] { return txns.size() == 0; }, 2000));
  ASSERT_EQ(fired.size(), static_cast<size_t>(kCount / 2));
  for (int k = 0; k < kCount / 2; ++k) {
    int i = 2 * k + 1;
    EXPECT_EQ(fired[k].tid, tid_of(i));
    EXPECT_EQ(fired[k].dest, static_cast<uint64_t>(i % 7 + 1));
    EXPECT_EQ(fired[k].source, static_cast<uint64_t>(1000 + i));
  }
}

TEST_F(TransactionsTest, LaterTransactionsTimeOutAfterTheirOwnDeadline) {
  add(1, 1);
  loop.run_for(25);
  add(1, 2);
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 1; }, 1000));
  EXPECT_EQ(fired[0].tid, tid_of(1));
  EXPECT_EQ(txns.size(), 1u);  // the second one still has time left
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 2; }, 1000));
  EXPECT_EQ(fired[1].tid, tid_of(2));
}

TEST_F(TransactionsTest, AnsweringTheOldestKeepsTheOthersTimer) {
  add(1, 1);
  add(1, 2);
  EXPECT_NE(txns.take(1, tid_of(1)), nullptr);
  ASSERT_TRUE(loop.run_until([&] { return !fired.empty(); }, 1000));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].tid, tid_of(2));
}

TEST_F(TransactionsTest, AddWithTheSameKeyReplacesTheEntrySilently) {
  add(3, 1);
  Transaction& t = txns.add(3, tid_of(1));
  t.source = 42;
  EXPECT_EQ(txns.size(), 1u);
  ASSERT_TRUE(loop.run_until([&] { return !fired.empty(); }, 1000));
  loop.run_for(60);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].source, 42u);
}

TEST_F(TransactionsTest, RecordsAreReusedOnceWarm) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) {
      Transaction& t = txns.add(9, tid_of(i));
      t.has_report = true;
      t.report.to_path = "msrp://client.example.com:2855/abcdefghij;tcp";
      t.report.message_id = "mid" + std::to_string(i);
    }
    for (int i = 0; i < 1000; i += 3) EXPECT_NE(txns.take(9, tid_of(i)), nullptr);
    ASSERT_TRUE(loop.run_until([&] { return txns.size() == 0; }, 2000));
    EXPECT_EQ(txns.records(), 1000u) << "round " << round;
  }
  // A record taken and handed back is reused for the next transaction.
  for (int i = 0; i < 5000; ++i) {
    txns.add(4, tid_of(i));
    EXPECT_NE(txns.take(4, tid_of(i)), nullptr);
  }
  EXPECT_EQ(txns.records(), 1000u);
}

TEST_F(TransactionsTest, ACopiedTransactionKeepsItsReportFields) {
  Transaction from;
  from.dest = 5;
  from.tid = "abc";
  from.source = 6;
  from.method = msrp::Method::send;
  from.has_report = true;
  from.report.message_id = "a-message-id-longer-than-sso";
  from.report.on_timeout = false;
  txns.add(from);
  auto t = txns.take(5, "abc");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->source, 6u);
  EXPECT_TRUE(t->has_report);
  EXPECT_EQ(t->report.message_id, "a-message-id-longer-than-sso");
  EXPECT_FALSE(t->report.on_timeout);
}

// RFC 4975 §7.1.1, RFC 4976 §6.4.1: the 30 s run from the last byte sent. A transaction whose
// request is still held behind another frame waits unarmed for as long as it takes, then gets
// the whole timeout from arm(); the queue stays in deadline order around it.
TEST_F(TransactionsTest, UnarmedTransactionTimesOutOnlyAfterItIsArmed) {
  add(1, 1);
  Transaction& held = txns.add(1, tid_of(2), false);
  held.source = 1002;
  add(1, 3);
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 2; }, 1000));
  EXPECT_EQ(fired[0].tid, tid_of(1));
  EXPECT_EQ(fired[1].tid, tid_of(3));
  loop.run_for(60);  // more than the timeout: the unarmed one is still there
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_EQ(txns.size(), 1u);
  int64_t armed_at = loop.now();
  txns.arm(1, tid_of(2));
  txns.arm(1, tid_of(2));  // once armed, arming again changes nothing
  add(1, 4);
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 4; }, 1000));
  EXPECT_GE(loop.now() - armed_at, 40);
  EXPECT_EQ(fired[2].tid, tid_of(2));
  EXPECT_EQ(fired[2].source, 1002u);
  EXPECT_EQ(fired[3].tid, tid_of(4));
}

// An unarmed transaction answered (or replaced) before it was armed leaves the queue intact.
TEST_F(TransactionsTest, UnarmedTransactionCanBeTakenAndArmingItThenDoesNothing) {
  txns.add(5, tid_of(1), false);
  add(5, 2);
  ASSERT_NE(txns.take(5, tid_of(1)), nullptr);
  txns.arm(5, tid_of(1));
  EXPECT_EQ(txns.size(), 1u);
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 1; }, 1000));
  EXPECT_EQ(fired[0].tid, tid_of(2));
  EXPECT_EQ(txns.size(), 0u);
}

}  // namespace
}  // namespace msrpd::relay

namespace msrpd::relay {
namespace {

TEST_F(TransactionsTest, TrimFreesTheSpareRecordsBeyondTheMarginAndKeepsTheLiveOnes) {
  for (int i = 0; i < 1000; ++i) add(7, i);
  for (int i = 0; i < 990; ++i) ASSERT_NE(txns.take(7, tid_of(i)), nullptr);
  ASSERT_EQ(txns.records(), 1000u);
  EXPECT_EQ(txns.trim(100), 890u);  // 990 free: 100 stay
  EXPECT_EQ(txns.records(), 110u);
  EXPECT_EQ(txns.trim(100), 0u);
  // The live ones are still found and answered; the kept free ones are used before new ones.
  for (int i = 990; i < 1000; ++i) {
    auto t = txns.take(7, tid_of(i));
    ASSERT_NE(t, nullptr) << i;
    EXPECT_EQ(t->source, 1000u + i);
  }
  for (int i = 0; i < 110; ++i) add(8, i);
  EXPECT_EQ(txns.records(), 110u);
  add(8, 110);
  EXPECT_EQ(txns.records(), 111u);
  EXPECT_EQ(txns.size(), 111u);
  EXPECT_EQ(txns.trim(0), 0u);  // none free
}

TEST_F(TransactionsTest, TrimShrinksTheIndexOnceFewAreLeft) {
  for (int i = 0; i < 5000; ++i) add(7, i);
  size_t grown = txns.buckets();
  ASSERT_GE(grown, 5000u);
  for (int i = 0; i < 4990; ++i) ASSERT_NE(txns.take(7, tid_of(i)), nullptr);
  txns.trim(0);
  EXPECT_EQ(txns.buckets(), 64u);      // 10 left: the smallest index
  for (int i = 4990; i < 5000; ++i) {  // still found after the rehash
    auto t = txns.take(7, tid_of(i));
    ASSERT_NE(t, nullptr) << i;
    EXPECT_EQ(t->source, 1000u + i);
  }
  for (int i = 0; i < 200; ++i) add(9, i);  // grows again
  EXPECT_GE(txns.buckets(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_NE(txns.take(9, tid_of(i)), nullptr) << i;
}

}  // namespace
}  // namespace msrpd::relay
