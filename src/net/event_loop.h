#pragma once
// EventLoop: one per worker thread. epoll for fd readiness, a binary heap of intrusive timers,
// an eventfd-woken inbox so any thread can post work to the loop's thread, and a cached clock.
//
// Threading: everything here runs on the loop's thread, except post(), stop() and wake(), which
// are safe from any thread. Objects registered with a loop (IoHandler, Timer, Connection...) must
// be created and destroyed on that thread, or before run() starts / after it returns.

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"

namespace msrpd::net {

class EventLoop;

// Receives readiness events for one fd. `events` is a mask of EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(uint32_t events) = 0;
};

// A one-shot or repeating timer with millisecond resolution. It lives inside its owner (no
// allocation to arm it: the loop's heap keeps a pointer and the timer keeps its heap index).
// The callback is set once; start()/cancel() can be called any number of times. Destroying a
// timer cancels it. A callback may restart, cancel or destroy its own timer.
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> fn);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fire after delay_ms (0 = on the next loop iteration), then every repeat_ms if repeat_ms > 0.
  // Restarts the timer if it is already armed.
  void start(uint32_t delay_ms, uint32_t repeat_ms = 0);
  void cancel();
  bool armed() const { return heap_index_ != kNotArmed; }
  int64_t deadline_ms() const { return deadline_; }

 private:
  friend class EventLoop;
  static constexpr size_t kNotArmed = static_cast<size_t>(-1);
  EventLoop& loop_;
  std::function<void()> fn_;
  int64_t deadline_ = 0;
  uint32_t repeat_ = 0;
  uint64_t seq_ = 0;  // ties: timers due at the same ms fire in start order
  size_t heap_index_ = kNotArmed;
  bool* destroyed_ = nullptr;  // set while the callback runs, so the loop knows if it was destroyed
};

class EventLoop {
 public:
  // worker_index is encoded in the ids of the connections this loop owns (see Connection::id()).
  // Throws std::system_error when epoll/eventfd cannot be created (start-up only).
  explicit EventLoop(unsigned worker_index = 0);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  unsigned worker_index() const { return worker_index_; }

  // fd interest. `events` is EPOLLIN / EPOLLOUT (level-triggered). The handler must outlive the
  // registration. Events of an fd removed during an iteration are not delivered afterwards.
  Result<void> add(int fd, uint32_t events, IoHandler* handler);
  Result<void> modify(int fd, uint32_t events);
  void remove(int fd);

  // Run fn on the loop's thread (from any thread; FIFO per posting thread). Returns immediately.
  void post(std::function<void()> fn);

  // Run until stop() (from any thread, or from a callback on this loop).
  void run();
  void stop();
  // Run one iteration, waiting at most max_wait_ms for events (0 = poll). For tests and embedding.
  void run_once(int max_wait_ms);
  // Run iterations until done() is true or timeout_ms elapses; returns done(). For tests.
  bool run_until(const std::function<bool()>& done, int timeout_ms);
  // Run for a fixed time (tests).
  void run_for(int ms);

  // Monotonic milliseconds, cached once per iteration (refresh with update_now()).
  int64_t now() const { return now_; }
  void update_now();
  bool in_loop_thread() const;

  // ---- before sleep (Redis ae.c beforesleep) ----
  // Work the layers above do once per iteration, before the loop waits for events again; the
  // loop knows none of it. The hooks run at the end of every iteration (after its events, posted
  // work and timers), stage after stage, in the order they were added within a stage; and at the
  // start of run_once, before it waits, for what was queued outside an iteration (start-up,
  // tests): then without the retire stage.
  enum class Stage : uint8_t {
    hand_over,    // batched cross-thread work leaves first, before this thread spends time writing
    write,        // the bytes queued in the iteration are written (ConnectionRegistry::flush_pending)
    after_write,  // writing may have called handlers (on_drained, on_close) that left work
    retire,       // what the iteration closed is destroyed (ConnectionRegistry::collect); only at
                  // the end of an iteration: an object closed before its wait lives through it
  };
  using HookId = uint64_t;
  // On the loop's thread, or before run(). A hook must not add or remove hooks.
  HookId add_before_sleep(Stage stage, std::function<void()> fn);
  void remove_before_sleep(HookId id);

  // A worker's hand-over of its batched cross-thread work: fn at Stage::hand_over and again at
  // Stage::after_write. Replaces the fn set before.
  void set_iteration_end(std::function<void()> fn);

 private:
  friend class Timer;
  struct Slot {
    IoHandler* handler = nullptr;
    uint32_t gen = 0;
  };
  class Wakeup;

  void timer_start(Timer* t);
  void timer_cancel(Timer* t);
  void heap_up(size_t i);
  void heap_down(size_t i);
  bool heap_less(size_t a, size_t b) const;
  void heap_swap(size_t a, size_t b);
  void run_timers();
  void run_inbox();
  void before_sleep(bool end_of_iteration);
  int next_timeout(int max_wait_ms) const;

  unsigned worker_index_;
  int epfd_ = -1;
  int eventfd_ = -1;
  int64_t now_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_id_{};
  std::vector<Slot> slots_;  // indexed by fd
  std::vector<epoll_event> events_;
  std::vector<Timer*> heap_;
  uint64_t timer_seq_ = 0;

  std::mutex inbox_mu_;
  std::vector<std::function<void()>> inbox_;    // guarded by inbox_mu_
  std::vector<std::function<void()>> running_;  // loop thread only
  bool wake_pending_ = false;                   // guarded by inbox_mu_
  std::unique_ptr<Wakeup> wakeup_;
  struct Hook {
    Stage stage;
    HookId id;
    std::function<void()> fn;
  };
  std::vector<Hook> hooks_;  // by stage, then by id (the order they were added)
  HookId next_hook_ = 1;
  HookId iteration_end_[2] = {0, 0};
};

}  // namespace msrpd::net
