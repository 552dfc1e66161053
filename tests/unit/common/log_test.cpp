#include "common/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace msrpd::common {
namespace {

using ::testing::MatchesRegex;

struct Captured {
  std::vector<int> levels;
  std::vector<std::string> lines;
};

void capture(int level, std::string_view line, void* user) {
  auto* c = static_cast<Captured*>(user);
  c->levels.push_back(level);
  c->lines.emplace_back(line);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_level_ = log_level();
    log_set_sink(capture, &captured_);
    log_set_thread_label("");
  }
  void TearDown() override {
    log_set_sink(nullptr, nullptr);
    set_log_level(saved_level_);
    log_set_thread_label("");
  }
  Captured captured_;
  int saved_level_ = 0;
};

TEST_F(LogTest, DefaultLevelIsWarningAsKamailio) {
  EXPECT_EQ(saved_level_, kLogWarn);
}

TEST_F(LogTest, LineHasTimestampLevelThreadAndText) {
  set_log_level(kLogInfo);
  LM_INFO("relay: %s -> %s", "a", "b");
  ASSERT_EQ(captured_.lines.size(), 1u);
  EXPECT_EQ(captured_.levels[0], kLogInfo);
  EXPECT_THAT(captured_.lines[0],
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} INFO "
                           "\\[[0-9]+\\] relay: a -> b"));
}

TEST_F(LogTest, ThreadLabelReplacesTheThreadId) {
  log_set_thread_label("worker 3");
  LM_ERR("x=%d", 5);
  ASSERT_EQ(captured_.lines.size(), 1u);
  EXPECT_THAT(captured_.lines[0], MatchesRegex(".* ERROR \\[worker 3\\] x=5"));
}

TEST_F(LogTest, MessagesAboveTheLevelAreNotFormattedAtAll) {
  set_log_level(kLogNotice);
  int evaluated = 0;
  auto count = [&evaluated] { return ++evaluated; };
  LM_DBG("%d", count());
  LM_INFO("%d", count());
  EXPECT_EQ(evaluated, 0);
  EXPECT_TRUE(captured_.lines.empty());
  LM_NOTICE("%d", count());
  LM_WARN("%d", count());
  EXPECT_EQ(evaluated, 2);
  EXPECT_EQ(captured_.lines.size(), 2u);
}

TEST_F(LogTest, NegativeLevelKeepsOnlyErrorsAndWorse) {
  set_log_level(kLogErr);
  LM_WARN("w");
  LM_ERR("e");
  LM_CRIT("c");
  LM_ALERT("a");
  ASSERT_EQ(captured_.levels, (std::vector<int>{kLogErr, kLogCrit, kLogAlert}));
  EXPECT_THAT(captured_.lines[1], MatchesRegex(".* CRITICAL \\[[0-9]+\\] c"));
  EXPECT_THAT(captured_.lines[2], MatchesRegex(".* ALERT \\[[0-9]+\\] a"));
}

TEST_F(LogTest, TrailingNewlineIsNotDoubled) {
  LM_WARN("done\n");
  ASSERT_EQ(captured_.lines.size(), 1u);
  EXPECT_THAT(captured_.lines[0], MatchesRegex(".* WARNING \\[[0-9]+\\] done"));
}

TEST_F(LogTest, OverlongMessageIsCutAndMarked) {
  std::string big(10000, 'x');
  LM_WARN("%s", big.c_str());
  ASSERT_EQ(captured_.lines.size(), 1u);
  const std::string& line = captured_.lines[0];
  EXPECT_LT(line.size(), 4300u);
  EXPECT_GT(line.size(), 4000u);
  EXPECT_EQ(line.substr(line.size() - 4), "x...");
}

struct Locked {
  std::mutex mutex;
  std::vector<std::string> lines;
};

void capture_locked(int, std::string_view line, void* user) {
  auto* l = static_cast<Locked*>(user);
  std::lock_guard<std::mutex> lock(l->mutex);
  l->lines.emplace_back(line);
}

TEST(LogThreads, EachThreadWritesWholeLinesWithItsOwnLabel) {
  Locked locked;
  log_set_sink(capture_locked, &locked);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      log_set_thread_label("w" + std::to_string(t));
      for (int i = 0; i < 100; ++i) LM_WARN("n=%d", i);
    });
  }
  for (auto& th : threads) th.join();
  log_set_sink(nullptr, nullptr);
  ASSERT_EQ(locked.lines.size(), 400u);
  for (const std::string& line : locked.lines)
    EXPECT_THAT(line, MatchesRegex(".* WARNING \\[w[0-3]\\] n=[0-9]+"));
}

TEST(LogLevelName, NamesEveryLevel) {
  EXPECT_EQ(log_level_name(kLogAlert), "ALERT");
  EXPECT_EQ(log_level_name(kLogCrit), "CRITICAL");
  EXPECT_EQ(log_level_name(kLogErr), "ERROR");
  EXPECT_EQ(log_level_name(kLogWarn), "WARNING");
  EXPECT_EQ(log_level_name(kLogNotice), "NOTICE");
  EXPECT_EQ(log_level_name(kLogInfo), "INFO");
  EXPECT_EQ(log_level_name(kLogDbg), "DEBUG");
  EXPECT_EQ(log_level_name(9), "DEBUG");
}

TEST(LogFacility, ParsesSyslogFacilityNames) {
  EXPECT_EQ(log_facility_from_name("LOG_LOCAL0"), 16 << 3);
  EXPECT_EQ(log_facility_from_name("local7"), 23 << 3);
  EXPECT_EQ(log_facility_from_name("LOG_DAEMON"), 3 << 3);
  EXPECT_EQ(log_facility_from_name("LOG_NOPE"), -1);
  EXPECT_EQ(log_facility_from_name(""), -1);
}

}  // namespace
}  // namespace msrpd::common
