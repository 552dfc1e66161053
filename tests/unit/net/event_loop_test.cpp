#include "net/event_loop.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "net/address.h"

namespace msrpd::net {
namespace {

TEST(Timer, OneShotFiresOnceAfterItsDelay) {
  EventLoop loop;
  int fired = 0;
  int64_t start = loop.now();
  int64_t at = 0;
  Timer t(loop, [&] {
    ++fired;
    at = loop.now();
  });
  t.start(30);
  EXPECT_TRUE(t.armed());
  ASSERT_TRUE(loop.run_until([&] { return fired == 1; }, 2000));
  EXPECT_GE(at - start, 30);
  EXPECT_FALSE(t.armed());
  loop.run_for(60);
  EXPECT_EQ(fired, 1);
}

TEST(Timer, RepeatingFiresUntilCancelled) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop, [&] { ++fired; });
  t.start(5, 5);
  ASSERT_TRUE(loop.run_until([&] { return fired >= 3; }, 2000));
  t.cancel();
  int seen = fired;
  loop.run_for(40);
  EXPECT_EQ(fired, seen);
}

TEST(Timer, CancelledTimerNeverFires) {
  EventLoop loop;
  bool fired = false;
  Timer t(loop, [&] { fired = true; });
  t.start(10);
  t.cancel();
  loop.run_for(40);
  EXPECT_FALSE(fired);
}

TEST(Timer, TimersFireInDeadlineOrderThenStartOrder) {
  EventLoop loop;
  std::vector<int> order;
  Timer a(loop, [&] { order.push_back(1); });
  Timer b(loop, [&] { order.push_back(2); });
  Timer c(loop, [&] { order.push_back(3); });
  Timer d(loop, [&] { order.push_back(4); });
  c.start(30);
  a.start(10);
  b.start(10);
  d.start(20);
  ASSERT_TRUE(loop.run_until([&] { return order.size() == 4; }, 2000));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 4, 3}));
}

TEST(Timer, RestartMovesTheDeadline) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop, [&] { ++fired; });
  t.start(10);
  t.start(200);
  loop.run_for(60);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(t.armed());
}

TEST(Timer, CallbackMayDestroyItsOwnTimer) {
  EventLoop loop;
  auto t = std::make_unique<Timer>(loop, [] {});
  bool done = false;
  t = std::make_unique<Timer>(loop, [&] {
    t.reset();
    done = true;
  });
  t->start(0);
  ASSERT_TRUE(loop.run_until([&] { return done; }, 1000));
  EXPECT_EQ(t, nullptr);
}

TEST(Timer, ManyTimersCancelledInAnyOrderKeepTheHeapConsistent) {
  EventLoop loop;
  std::vector<int> fired;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 50; ++i)
    timers.push_back(std::make_unique<Timer>(loop, [&fired, i] { fired.push_back(i); }));
  for (int i = 0; i < 50; ++i) timers[i]->start(static_cast<uint32_t>((i * 7) % 25));
  for (int i = 0; i < 50; i += 3) timers[i]->cancel();
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 33; }, 2000));
  for (size_t k = 1; k < fired.size(); ++k)
    EXPECT_LE((fired[k - 1] * 7) % 25, (fired[k] * 7) % 25) << "at " << k;
  for (int f : fired) EXPECT_NE(f % 3, 0);
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopThread) {
  EventLoop loop;
  std::atomic<int> ran{0};
  std::thread::id ran_on;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i)
      loop.post([&] {
        ran_on = std::this_thread::get_id();
        ++ran;
      });
  });
  ASSERT_TRUE(loop.run_until([&] { return ran.load() == 100; }, 2000));
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(EventLoop, PostedFunctionsRunInOrder) {
  EventLoop loop;
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) loop.post([&seen, i] { seen.push_back(i); });
  ASSERT_TRUE(loop.run_until([&] { return seen.size() == 5; }, 1000));
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
  EventLoop loop;
  std::atomic<bool> started{false};
  std::thread t([&] {
    loop.post([&] { started = true; });
    loop.run();
  });
  for (int i = 0; i < 200 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  loop.stop();
  t.join();
  EXPECT_TRUE(started);
}

TEST(EventLoop, StopFromACallbackEndsRun) {
  EventLoop loop;
  Timer t(loop, [&] { loop.stop(); });
  t.start(5);
  loop.run();
  SUCCEED();
}

class CountingHandler : public IoHandler {
 public:
  void on_io(uint32_t events) override {
    ++calls;
    uint64_t v;
    (void)::read(fd, &v, sizeof v);
  }
  int fd = -1;
  int calls = 0;
};

TEST(EventLoop, FdHandlerGetsReadinessAndNothingAfterRemove) {
  EventLoop loop;
  CountingHandler h;
  h.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_TRUE(loop.add(h.fd, EPOLLIN, &h).ok());
  uint64_t one = 1;
  ASSERT_EQ(::write(h.fd, &one, sizeof one), 8);
  ASSERT_TRUE(loop.run_until([&] { return h.calls == 1; }, 1000));
  loop.remove(h.fd);
  ASSERT_EQ(::write(h.fd, &one, sizeof one), 8);
  loop.run_for(20);
  EXPECT_EQ(h.calls, 1);
  ::close(h.fd);
}

TEST(EventLoop, NowIsCachedAndMonotonic) {
  EventLoop loop;
  int64_t a = loop.now();
  loop.run_for(15);
  EXPECT_GE(loop.now() - a, 15);
}

TEST(EventLoop, BeforeSleepHooksRunByStageAtBothEndsOfAnIteration) {
  EventLoop loop;
  std::string log;
  using Stage = EventLoop::Stage;
  loop.add_before_sleep(Stage::retire, [&] { log += "r"; });
  loop.add_before_sleep(Stage::after_write, [&] { log += "a"; });
  loop.add_before_sleep(Stage::write, [&] { log += "w"; });
  loop.add_before_sleep(Stage::hand_over, [&] { log += "h"; });
  loop.add_before_sleep(Stage::hand_over, [&] { log += "H"; });  // after the first of its stage
  loop.post([&] { log += "|p|"; });
  loop.run_once(0);
  // Before the wait without retire (what was queued outside an iteration), then after the work.
  EXPECT_EQ(log, "hHwa|p|hHwar");
}

TEST(EventLoop, RemovedBeforeSleepHookIsNotCalled) {
  EventLoop loop;
  int a = 0, b = 0;
  auto id = loop.add_before_sleep(EventLoop::Stage::write, [&] { ++a; });
  loop.add_before_sleep(EventLoop::Stage::write, [&] { ++b; });
  loop.remove_before_sleep(id);
  loop.run_once(0);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 2);
}

TEST(EventLoop, IterationEndRunsBeforeAndAfterTheWritesAndIsReplaced) {
  EventLoop loop;
  std::string log;
  loop.add_before_sleep(EventLoop::Stage::write, [&] { log += "w"; });
  loop.set_iteration_end([&] { log += "1"; });
  loop.set_iteration_end([&] { log += "2"; });
  loop.run_once(0);
  EXPECT_EQ(log, "2w22w2");
}

TEST(SockAddr, FormatsAddressAndPortWithIpv6Brackets) {
  EXPECT_EQ(SockAddr::parse("127.0.0.1", 2855)->str(), "127.0.0.1:2855");
  EXPECT_EQ(SockAddr::parse("[::1]", 80)->str(), "[::1]:80");
  EXPECT_EQ(endpoint_text("::1", 0), "[::1]:0");
  EXPECT_EQ(endpoint_text("[::1]", 7), "[::1]:7");
  EXPECT_EQ(endpoint_text("relay.example.com", 2855), "relay.example.com:2855");
}

TEST(SockAddr, ParsesAndFormatsIpv4AndIpv6) {
  auto a = SockAddr::parse("127.0.0.1", 2855);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->ip(), "127.0.0.1");
  EXPECT_EQ(a->port(), 2855);
  auto b = SockAddr::parse("[::1]", 80);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->family(), AF_INET6);
  EXPECT_EQ(b->ip(), "::1");
  EXPECT_FALSE(SockAddr::parse("localhost", 1).ok());
  EXPECT_FALSE(SockAddr::parse("", 1).ok());
  EXPECT_FALSE(SockAddr::parse("1.2.3.4.5", 1).ok());
}

}  // namespace
}  // namespace msrpd::net
