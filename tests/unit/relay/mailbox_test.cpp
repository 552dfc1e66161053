#include "relay/mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace msrpd::relay {
namespace {

TEST(MailChannel, BatchesArriveWholeAndInTheOrderWritten) {
  MailChannel ch;
  MailBatch& b = ch.filling();
  b.add_write(7, 3, 1, "MSRP a SEND\r\n", false, false);
  b.add_write(7, 3, 1, "body-------a$\r\n", true, true);
  b.add_credit(3, 1, 42, false);
  Transaction& t = b.add_track();
  t.dest = 7;
  t.tid = "a";
  int called = 0;
  b.add_call([&called] { ++called; });
  EXPECT_TRUE(ch.hand_over());  // the consumer must be woken
  std::vector<std::string> seen;
  ch.drain([&](MailBatch& got) {
    ASSERT_EQ(got.mail.size(), 5u);
    EXPECT_EQ(got.mail[0].kind, Mail::Kind::write);
    EXPECT_EQ(got.bytes(got.mail[0]), "MSRP a SEND\r\n");
    EXPECT_FALSE(got.mail[0].ends);
    EXPECT_EQ(got.bytes(got.mail[1]), "body-------a$\r\n");
    EXPECT_TRUE(got.mail[1].ends);
    EXPECT_TRUE(got.mail[1].close_after);
    EXPECT_EQ(got.mail[1].dest, 7u);
    EXPECT_EQ(got.mail[1].src, 3u);
    EXPECT_EQ(got.mail[2].kind, Mail::Kind::credit);
    EXPECT_EQ(got.mail[2].len, 42u);
    EXPECT_FALSE(got.mail[2].ok);
    EXPECT_EQ(got.mail[3].kind, Mail::Kind::track);
    EXPECT_EQ(got.tracks[got.mail[3].index].tid, "a");
    EXPECT_EQ(got.mail[4].kind, Mail::Kind::call);
    got.calls[got.mail[4].index]();
    seen.push_back("batch");
  });
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(called, 1);
  // Drained: nothing is left, and an empty batch is not handed over.
  ch.drain([&](MailBatch&) { ADD_FAILURE() << "no batch expected"; });
  EXPECT_FALSE(ch.hand_over());
}

TEST(MailChannel, OneWakeUpUntilTheConsumerDrains) {
  MailChannel ch;
  ch.filling().add_credit(1, 0, 1, true);
  EXPECT_TRUE(ch.hand_over());
  ch.filling().add_credit(2, 0, 2, true);
  EXPECT_FALSE(ch.hand_over());  // a drain is already due: no second wake-up
  std::vector<uint64_t> order;
  ch.drain([&](MailBatch& b) {
    for (const Mail& m : b.mail) order.push_back(m.src);
  });
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2}));
  ch.filling().add_credit(3, 0, 3, true);
  EXPECT_TRUE(ch.hand_over());  // after the drain, the next hand-over wakes again
}

TEST(MailChannel, RecycledBatchesKeepTheirStorage) {
  MailChannel ch;
  std::string body(4000, 'x');
  std::set<const char*> arenas;  // after warm-up: the two batches that take turns, no new ones
  for (int round = 0; round < 20; ++round) {
    MailBatch& b = ch.filling();
    for (int i = 0; i < 8; ++i) b.add_write(1, 2, static_cast<uint64_t>(round), body, i == 7, false);
    Transaction& t = b.add_track();
    t.tid = "tid-" + std::to_string(round);
    ASSERT_TRUE(ch.hand_over());
    ch.drain([&](MailBatch& got) {
      EXPECT_EQ(got.mail.size(), 9u);
      EXPECT_EQ(got.arena.size(), 8 * body.size());
      EXPECT_EQ(got.tracks[0].tid, "tid-" + std::to_string(round));
      if (round >= 4) arenas.insert(got.arena.data());
    });
  }
}

TEST(MailChannel, ProducerAndConsumerThreadsLoseNothing) {
  MailChannel ch;
  constexpr uint64_t kN = 200000;
  std::atomic<bool> done{false};
  std::atomic<int> wakes{0};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      ch.filling().add_credit(i, 0, 1, true);
      if (i % 64 == 63 && ch.hand_over()) wakes.fetch_add(1);
    }
    if (ch.hand_over()) wakes.fetch_add(1);
    done = true;
  });
  uint64_t next = 0;
  bool ordered = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (next < kN && std::chrono::steady_clock::now() < deadline) {
    ch.drain([&](MailBatch& b) {
      for (const Mail& m : b.mail) {
        if (m.src != next) ordered = false;
        ++next;
      }
    });
    if (done && next < kN) ch.drain([&](MailBatch& b) { next += b.mail.size(); });
  }
  producer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(next, kN);
  EXPECT_GE(wakes.load(), 1);
}

}  // namespace
}  // namespace msrpd::relay
