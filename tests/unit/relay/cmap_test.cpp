#include "relay/cmap.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace msrpd::relay {
namespace {

using namespace std::chrono_literals;
using Clock = ConnectionMap::Clock;

const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1'800'000'000));

CmapItem make_item(std::string sid, uint64_t conid, Clock::time_point expires = kNow + 3600s) {
  CmapItem item;
  item.session_id = std::move(sid);
  item.peer = "msrps://alice.example.com:9892/98cjs;tcp";
  item.addr = "msrps://192.0.2.10:40123";
  item.sock = "tls:192.0.2.1:2855";
  item.conid = conid;
  item.flags = 0;
  item.expires = expires;
  return item;
}

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

TEST(ConnectionMap, HasTwoToTheSizeSlotsCappedAt65536) {
  EXPECT_EQ(ConnectionMap(0).slots(), 1u);
  EXPECT_EQ(ConnectionMap(4).slots(), 16u);
  EXPECT_EQ(ConnectionMap(8).list().slots, 256u);
  EXPECT_EQ(ConnectionMap(20).slots(), 65536u);
}

TEST(ConnectionMap, SavedItemIsFoundWithEveryField) {
  ConnectionMap map(4);
  map.save(make_item("abc123", 7));
  auto found = map.lookup("abc123", kNow);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->session_id, "abc123");
  EXPECT_EQ(found->citemid, ConnectionMap::citemid_of("abc123"));
  EXPECT_EQ(found->peer, "msrps://alice.example.com:9892/98cjs;tcp");
  EXPECT_EQ(found->addr, "msrps://192.0.2.10:40123");
  EXPECT_EQ(found->sock, "tls:192.0.2.1:2855");
  EXPECT_EQ(found->conid, 7u);
  EXPECT_EQ(found->flags, 0u);
  EXPECT_EQ(found->expires, kNow + 3600s);
  EXPECT_EQ(map.size(), 1u);
}

TEST(ConnectionMap, UnknownSessionIsNotFound) {
  ConnectionMap map(4);
  map.save(make_item("abc123", 7));
  EXPECT_FALSE(map.lookup("abc124", kNow).has_value());
  EXPECT_FALSE(map.lookup("", kNow).has_value());
}

TEST(ConnectionMap, SessionIdsAreCaseSensitive) {
  ConnectionMap map(4);
  map.save(make_item("AbC", 1));
  EXPECT_FALSE(map.lookup("abc", kNow).has_value());
  EXPECT_TRUE(map.lookup("AbC", kNow).has_value());
}

TEST(ConnectionMap, SavingTheSameSessionAgainReplacesIt) {
  ConnectionMap map(2);
  map.save(make_item("s1", 1));
  CmapItem again = make_item("s1", 2, kNow + 60s);
  again.addr = "msrp://198.51.100.7:5000";
  map.save(again);
  EXPECT_EQ(map.size(), 1u);
  auto found = map.lookup("s1", kNow);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->conid, 2u);
  EXPECT_EQ(found->addr, "msrp://198.51.100.7:5000");
  // The old connection closing does not take the item that moved away from it.
  EXPECT_EQ(map.remove_connection(1), 0u);
  EXPECT_TRUE(map.lookup("s1", kNow).has_value());
  EXPECT_EQ(map.remove_connection(2), 1u);
  EXPECT_EQ(map.size(), 0u);
}

TEST(ConnectionMap, ExpiredItemIsNotFoundEvenBeforeTheTimerRuns) {
  ConnectionMap map(4);
  map.save(make_item("s1", 1, kNow + 60s));
  EXPECT_TRUE(map.lookup("s1", kNow + 59s).has_value());
  EXPECT_FALSE(map.lookup("s1", kNow + 60s).has_value());
  EXPECT_EQ(map.size(), 1u);  // still stored until clean()
}

TEST(ConnectionMap, CleanRemovesOnlyExpiredItems) {
  ConnectionMap map(3);
  map.save(make_item("old1", 1, kNow + 10s));
  map.save(make_item("old2", 2, kNow + 20s));
  map.save(make_item("new1", 1, kNow + 100s));
  EXPECT_EQ(map.clean(kNow + 5s), 0u);
  EXPECT_EQ(map.clean(kNow + 20s), 2u);
  EXPECT_EQ(map.size(), 1u);
  EXPECT_TRUE(map.lookup("new1", kNow + 20s).has_value());
  EXPECT_FALSE(map.lookup("old1", kNow).has_value());
  // The connection of the survivor still removes it.
  EXPECT_EQ(map.remove_connection(1), 1u);
  EXPECT_EQ(map.remove_connection(2), 0u);
  EXPECT_EQ(map.size(), 0u);
}

TEST(ConnectionMap, ClosingAConnectionRemovesAllItsItemsAndNoOthers) {
  ConnectionMap map(4);
  for (int i = 0; i < 5; ++i) map.save(make_item("a" + std::to_string(i), 10));
  for (int i = 0; i < 3; ++i) map.save(make_item("b" + std::to_string(i), 11));
  EXPECT_EQ(map.size(), 8u);
  EXPECT_EQ(map.remove_connection(10), 5u);
  EXPECT_EQ(map.size(), 3u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(map.lookup("a" + std::to_string(i), kNow).has_value());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(map.lookup("b" + std::to_string(i), kNow).has_value());
  EXPECT_EQ(map.remove_connection(10), 0u);
  EXPECT_EQ(map.remove_connection(999), 0u);
}

TEST(ConnectionMap, RemoveBySessionId) {
  ConnectionMap map(4);
  map.save(make_item("s1", 1));
  map.save(make_item("s2", 1));
  EXPECT_TRUE(map.remove("s1"));
  EXPECT_FALSE(map.remove("s1"));
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.remove_connection(1), 1u);
}

TEST(ConnectionMap, ItemSavedAgainAfterCleanStaysIndexedByItsConnection) {
  ConnectionMap map(4);
  map.save(make_item("s1", 1, kNow + 1s));
  EXPECT_EQ(map.clean(kNow + 2s), 1u);
  map.save(make_item("s1", 1, kNow + 100s));
  EXPECT_EQ(map.clean(kNow + 2s), 0u);
  EXPECT_EQ(map.remove_connection(1), 1u);
}

TEST(ConnectionMap, LookupIntoReusesTheCallersItem) {
  ConnectionMap map(4);
  map.save(make_item("s1", 1));
  CmapItem out;
  out.addr.reserve(64);
  const char* addr_buf = out.addr.data();
  ASSERT_TRUE(map.lookup_into("s1", kNow, out));
  EXPECT_EQ(out.addr, "msrps://192.0.2.10:40123");
  EXPECT_EQ(out.addr.data(), addr_buf);
  EXPECT_EQ(out.conid, 1u);
  CmapItem untouched = out;
  EXPECT_FALSE(map.lookup_into("nope", kNow, out));
  EXPECT_EQ(out.session_id, untouched.session_id);
}

TEST(ConnectionMap, ListReturnsEveryItemAndTheSlotCount) {
  ConnectionMap map(2);
  std::set<std::string> saved;
  for (int i = 0; i < 20; ++i) {
    std::string sid = ConnectionMap::new_session_id();
    map.save(make_item(sid, static_cast<uint64_t>(i)));
    saved.insert(sid);
  }
  ConnectionMap::Snapshot snap = map.list();
  EXPECT_EQ(snap.slots, 4u);
  ASSERT_EQ(snap.items.size(), 20u);
  std::set<std::string> listed;
  for (const CmapItem& item : snap.items) {
    listed.insert(item.session_id);
    EXPECT_EQ(item.citemid, ConnectionMap::citemid_of(item.session_id));
  }
  EXPECT_EQ(listed, saved);
}

TEST(ConnectionMap, FindSessionReturnsTheLiveSessionOfThisConnectionAndPeer) {
  ConnectionMap map(4);
  map.save(make_item("first", 7));
  CmapItem bob = make_item("bobs", 7);
  bob.peer = "msrp://bob.example.com:7777/b;tcp";
  map.save(bob);
  std::string sid = "untouched";
  ASSERT_TRUE(map.find_session(7, "msrps://alice.example.com:9892/98cjs;tcp", kNow, sid));
  EXPECT_EQ(sid, "first");
  ASSERT_TRUE(map.find_session(7, "msrp://bob.example.com:7777/b;tcp", kNow, sid));
  EXPECT_EQ(sid, "bobs");
}

TEST(ConnectionMap, FindSessionIgnoresOtherConnectionsOtherPeersAndExpiredItems) {
  ConnectionMap map(4);
  map.save(make_item("first", 7, kNow + 10s));
  std::string sid = "untouched";
  EXPECT_FALSE(map.find_session(8, "msrps://alice.example.com:9892/98cjs;tcp", kNow, sid));
  EXPECT_FALSE(map.find_session(7, "msrps://alice.example.com:9892/other;tcp", kNow, sid));
  EXPECT_FALSE(map.find_session(7, "msrps://alice.example.com:9892/98cjs;tcp", kNow + 10s, sid));
  // Moved to another connection: the old connection's index entry no longer counts.
  map.save(make_item("first", 9));
  EXPECT_FALSE(map.find_session(7, "msrps://alice.example.com:9892/98cjs;tcp", kNow, sid));
  EXPECT_EQ(sid, "untouched");
  EXPECT_TRUE(map.find_session(9, "msrps://alice.example.com:9892/98cjs;tcp", kNow, sid));
  EXPECT_EQ(sid, "first");
}

TEST(ConnectionMap, CitemidIsFnv1aOfTheSessionId) {
  EXPECT_EQ(ConnectionMap::citemid_of(""), 2166136261u);
  EXPECT_EQ(ConnectionMap::citemid_of("a"), 0xe40c292cu);
  EXPECT_NE(ConnectionMap::citemid_of("abc"), ConnectionMap::citemid_of("ABC"));
}

TEST(SessionId, IsTwentyAlphanumericCharacters) {
  for (int i = 0; i < 100; ++i) {
    std::string sid = ConnectionMap::new_session_id();
    ASSERT_EQ(sid.size(), 20u);
    for (char c : sid) ASSERT_TRUE(in_alphabet(c)) << sid;
  }
}

TEST(SessionId, TenThousandIdsAreAllDistinct) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(seen.insert(ConnectionMap::new_session_id()).second);
}

TEST(SessionId, CharactersAreSpreadOverTheWholeAlphabet) {
  // 10k ids = 200k characters, ~3226 per character: each must be well represented.
  std::array<int, 256> counts{};
  for (int i = 0; i < 10000; ++i)
    for (char c : ConnectionMap::new_session_id()) ++counts[static_cast<unsigned char>(c)];
  int distinct = 0;
  for (int c = 0; c < 256; ++c) {
    if (counts[c] == 0) continue;
    ++distinct;
    EXPECT_GT(counts[c], 2700) << static_cast<char>(c);
    EXPECT_LT(counts[c], 3800) << static_cast<char>(c);
  }
  EXPECT_EQ(distinct, 62);
}

TEST(ConnectionMapConcurrency, ThreadsSavingLookingUpCleaningAndClosingStayConsistent) {
  ConnectionMap map(4);
  constexpr int kThreads = 8;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      std::vector<std::string> mine;
      CmapItem out;
      // Each thread owns connection ids t*1000 .. t*1000+9, as a worker owns its connections.
      while (!stop.load(std::memory_order_relaxed)) {
        uint64_t conid = static_cast<uint64_t>(t) * 1000 + rng() % 10;
        switch (rng() % 6) {
          case 0:
          case 1: {
            std::string sid = ConnectionMap::new_session_id();
            map.save(make_item(sid, conid, kNow + std::chrono::seconds(rng() % 100)));
            mine.push_back(std::move(sid));
            break;
          }
          case 2:
          case 3:
            if (!mine.empty()) {
              const std::string& sid = mine[rng() % mine.size()];
              if (map.lookup_into(sid, kNow, out)) {
                EXPECT_EQ(out.session_id, sid);
                EXPECT_EQ(out.conid / 1000, static_cast<uint64_t>(t));
              }
            }
            break;
          case 4:
            map.remove_connection(conid);
            break;
          case 5:
            if (rng() % 50 == 0) map.clean(kNow + std::chrono::seconds(rng() % 100));
            if (rng() % 50 == 0) (void)map.list();
            break;
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(ops.load(), 1000u);

  EXPECT_EQ(map.list().items.size(), map.size());
  size_t removed = 0;
  for (int t = 0; t < kThreads; ++t)
    for (uint64_t c = 0; c < 10; ++c) removed += map.remove_connection(static_cast<uint64_t>(t) * 1000 + c);
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.list().items.empty());
  (void)removed;
}

}  // namespace
}  // namespace msrpd::relay
