#include "common/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace msrpd::common {
namespace {

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

TEST(RandomBytes, FillsTheWholeBufferWithDifferentValuesEachCall) {
  std::array<unsigned char, 64> a{}, b{};
  random_bytes(a.data(), a.size());
  random_bytes(b.data(), b.size());
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<unsigned char, 64>{}));
}

TEST(RandomBytes, ZeroLengthIsANoOp) {
  random_bytes(nullptr, 0);
}

TEST(FastRandom, LargeReadsSpanManyRefillsAndAreNotConstant) {
  std::vector<unsigned char> buf(100000);
  fast_random_bytes(buf.data(), buf.size());
  // Every byte value shows up in 100 KB of uniform bytes (expected ~390 each).
  std::array<int, 256> counts{};
  for (unsigned char c : buf) ++counts[c];
  for (int c : counts) EXPECT_GT(c, 200);
}

TEST(FastRandom, U64ValuesDoNotRepeat) {
  std::unordered_set<uint64_t> seen;
  for (int i = 0; i < 100000; ++i) EXPECT_TRUE(seen.insert(random_u64()).second);
}

TEST(FastRandom, RandomBelowStaysInRangeAndHitsEveryValue) {
  std::array<int, 7> counts{};
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = random_below(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_GT(c, 800);
  EXPECT_EQ(random_below(1), 0u);
  EXPECT_EQ(random_below(0), 0u);
}

TEST(FastRandom, ThreadsGetDifferentStreams) {
  std::array<uint64_t, 4> first{};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < first.size(); ++i) threads.emplace_back([&first, i] { first[i] = random_u64(); });
  for (auto& t : threads) t.join();
  std::set<uint64_t> distinct(first.begin(), first.end());
  EXPECT_EQ(distinct.size(), first.size());
}

TEST(RandomToken, HasTheRequestedLengthAndOnlyAlphanumerics) {
  for (size_t len : {0u, 1u, 20u, 64u, 1000u}) {
    std::string t = random_token(len);
    ASSERT_EQ(t.size(), len);
    for (char c : t) ASSERT_TRUE(in_alphabet(c)) << "char " << static_cast<int>(c);
  }
}

TEST(RandomToken, UsesTheWholeAlphabet) {
  std::string t = random_token(20000);
  std::set<char> seen(t.begin(), t.end());
  EXPECT_EQ(seen.size(), kTokenAlphabetSize);
}

TEST(RandomToken, TenThousandTokensAreDistinct) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(random_token(12)).second);
}

TEST(AppendRandomToken, AppendsWithoutReallocatingWhenCapacitySuffices) {
  std::string s = "tid-";
  s.reserve(64);
  const char* before = s.data();
  append_random_token(s, 16);
  EXPECT_EQ(s.data(), before);
  ASSERT_EQ(s.size(), 20u);
  EXPECT_EQ(s.substr(0, 4), "tid-");
  for (size_t i = 4; i < s.size(); ++i) EXPECT_TRUE(in_alphabet(s[i]));
}

TEST(WriteRandomToken, WritesExactlyTheRequestedCharacters) {
  char buf[12];
  std::memset(buf, '#', sizeof buf);
  char* end = write_random_token(buf + 1, 10);
  EXPECT_EQ(end, buf + 11);
  EXPECT_EQ(buf[0], '#');
  EXPECT_EQ(buf[11], '#');
  for (int i = 1; i <= 10; ++i) EXPECT_TRUE(in_alphabet(buf[i]));
}

}  // namespace
}  // namespace msrpd::common
