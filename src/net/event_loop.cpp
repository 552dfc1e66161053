#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace msrpd::net {

namespace {
int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// Drains the eventfd; the inbox itself is run once per iteration.
class EventLoop::Wakeup : public IoHandler {
 public:
  explicit Wakeup(int fd) : fd_(fd) {}
  void on_io(uint32_t) override {
    uint64_t v;
    while (::read(fd_, &v, sizeof v) > 0) {
    }
  }

 private:
  int fd_;
};

// ---- Timer ----

Timer::Timer(EventLoop& loop, std::function<void()> fn) : loop_(loop), fn_(std::move(fn)) {}
Timer::~Timer() {
  cancel();
  if (destroyed_) *destroyed_ = true;
}

void Timer::start(uint32_t delay_ms, uint32_t repeat_ms) {
  if (armed()) loop_.timer_cancel(this);
  deadline_ = loop_.now() + delay_ms;
  repeat_ = repeat_ms;
  loop_.timer_start(this);
}

void Timer::cancel() {
  if (armed()) loop_.timer_cancel(this);
}

// ---- EventLoop ----

EventLoop::EventLoop(unsigned worker_index) : worker_index_(worker_index) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd_ < 0) {
    int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  wakeup_ = std::make_unique<Wakeup>(eventfd_);
  events_.resize(256);
  now_ = monotonic_ms();
  if (!add(eventfd_, EPOLLIN, wakeup_.get()))
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

EventLoop::~EventLoop() {
  ::close(eventfd_);
  ::close(epfd_);
}

Result<void> EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
  if (fd < 0) return make_error(0, "bad fd");
  if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(static_cast<size_t>(fd) + 64);
  Slot& s = slots_[fd];
  s.handler = handler;
  ++s.gen;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(s.gen) << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    s.handler = nullptr;
    return make_error(0, std::string("epoll_ctl add: ") + std::strerror(errno));
  }
  return {};
}

Result<void> EventLoop::modify(int fd, uint32_t events) {
  if (fd < 0 || static_cast<size_t>(fd) >= slots_.size() || !slots_[fd].handler)
    return make_error(0, "fd not registered");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(slots_[fd].gen) << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0)
    return make_error(0, std::string("epoll_ctl mod: ") + std::strerror(errno));
  return {};
}

void EventLoop::remove(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= slots_.size() || !slots_[fd].handler) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  slots_[fd].handler = nullptr;
  ++slots_[fd].gen;  // stale events of this iteration no longer match
}

void EventLoop::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard lk(inbox_mu_);
    inbox_.push_back(std::move(fn));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(eventfd_, &one, sizeof one);
  }
}

void EventLoop::stop() {
  stop_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(eventfd_, &one, sizeof one);
}

bool EventLoop::in_loop_thread() const {
  auto id = thread_id_.load(std::memory_order_relaxed);
  return id == std::thread::id{} || id == std::this_thread::get_id();
}

void EventLoop::update_now() {
  now_ = monotonic_ms();
}

void EventLoop::run() {
  thread_id_.store(std::this_thread::get_id());
  while (!stop_.load(std::memory_order_acquire)) run_once(-1);
  stop_.store(false);
  thread_id_.store(std::thread::id{});
}

bool EventLoop::run_until(const std::function<bool()>& done, int timeout_ms) {
  update_now();
  int64_t end = now_ + timeout_ms;
  while (!done()) {
    if (now_ >= end) return false;
    run_once(static_cast<int>(std::min<int64_t>(end - now_, 50)));
  }
  return true;
}

void EventLoop::run_for(int ms) {
  update_now();
  int64_t end = now_ + ms;
  while (now_ < end) run_once(static_cast<int>(end - now_));
}

int EventLoop::next_timeout(int max_wait_ms) const {
  if (heap_.empty()) return max_wait_ms;
  int64_t d = heap_[0]->deadline_ - monotonic_ms();
  if (d < 0) d = 0;
  if (max_wait_ms >= 0 && d > max_wait_ms) d = max_wait_ms;
  return static_cast<int>(d);
}

void EventLoop::run_once(int max_wait_ms) {
  if (thread_id_.load(std::memory_order_relaxed) == std::thread::id{})
    thread_id_.store(std::this_thread::get_id());
  before_sleep(false);  // what was sent outside an iteration (start-up, tests)
  int n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), next_timeout(max_wait_ms));
  update_now();
  for (int i = 0; i < n; ++i) {
    uint64_t key = events_[i].data.u64;
    auto fd = static_cast<uint32_t>(key & 0xffffffffu);
    auto gen = static_cast<uint32_t>(key >> 32);
    if (fd >= slots_.size()) continue;
    Slot& s = slots_[fd];
    if (!s.handler || s.gen != gen) continue;  // removed (or fd reused) during this iteration
    s.handler->on_io(events_[i].events);
  }
  if (n == static_cast<int>(events_.size())) events_.resize(events_.size() * 2);
  run_inbox();
  run_timers();
  before_sleep(true);
}

void EventLoop::before_sleep(bool end_of_iteration) {
  for (Hook& h : hooks_) {
    if (h.stage == Stage::retire && !end_of_iteration) break;  // retire is the last stage
    h.fn();
  }
}

EventLoop::HookId EventLoop::add_before_sleep(Stage stage, std::function<void()> fn) {
  HookId id = next_hook_++;
  // After every hook of the same or an earlier stage: ids grow, so the order is (stage, id).
  auto at = std::find_if(hooks_.begin(), hooks_.end(), [stage](const Hook& h) { return h.stage > stage; });
  hooks_.insert(at, Hook{stage, id, std::move(fn)});
  return id;
}

void EventLoop::remove_before_sleep(HookId id) {
  auto it = std::find_if(hooks_.begin(), hooks_.end(), [id](const Hook& h) { return h.id == id; });
  if (it != hooks_.end()) hooks_.erase(it);
}

void EventLoop::set_iteration_end(std::function<void()> fn) {
  for (HookId& id : iteration_end_) {
    remove_before_sleep(id);
    id = 0;
  }
  if (!fn) return;
  iteration_end_[0] = add_before_sleep(Stage::hand_over, fn);
  iteration_end_[1] = add_before_sleep(Stage::after_write, std::move(fn));
}

void EventLoop::run_inbox() {
  {
    std::lock_guard lk(inbox_mu_);
    if (inbox_.empty()) {
      wake_pending_ = false;
      return;
    }
    running_.swap(inbox_);
    wake_pending_ = false;
  }
  for (auto& fn : running_) fn();
  running_.clear();  // keeps capacity
}

void EventLoop::run_timers() {
  // Timers started by callbacks with delay 0 fire on the next iteration, not in this loop.
  int64_t now = now_;
  uint64_t last_seq = timer_seq_;
  while (!heap_.empty() && heap_[0]->deadline_ <= now && heap_[0]->seq_ <= last_seq) {
    Timer* t = heap_[0];
    timer_cancel(t);
    if (t->repeat_ > 0) {
      t->deadline_ = now + t->repeat_;
      timer_start(t);
    }
    // The callback may destroy its timer (and with it fn_): run it from a local, moved back after.
    // Moving a std::function does not allocate.
    std::function<void()> fn = std::move(t->fn_);
    bool destroyed = false;
    t->destroyed_ = &destroyed;
    fn();
    if (!destroyed) {
      t->destroyed_ = nullptr;
      t->fn_ = std::move(fn);
    }
    if (stop_.load(std::memory_order_relaxed)) break;
  }
}

// ---- timer heap (min-heap on deadline, then start order) ----

bool EventLoop::heap_less(size_t a, size_t b) const {
  const Timer* x = heap_[a];
  const Timer* y = heap_[b];
  return x->deadline_ < y->deadline_ || (x->deadline_ == y->deadline_ && x->seq_ < y->seq_);
}

void EventLoop::heap_swap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_[a]->heap_index_ = a;
  heap_[b]->heap_index_ = b;
}

void EventLoop::heap_up(size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!heap_less(i, p)) break;
    heap_swap(i, p);
    i = p;
  }
}

void EventLoop::heap_down(size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_.size() && heap_less(l, m)) m = l;
    if (r < heap_.size() && heap_less(r, m)) m = r;
    if (m == i) break;
    heap_swap(i, m);
    i = m;
  }
}

void EventLoop::timer_start(Timer* t) {
  t->seq_ = ++timer_seq_;
  t->heap_index_ = heap_.size();
  heap_.push_back(t);
  heap_up(t->heap_index_);
}

void EventLoop::timer_cancel(Timer* t) {
  size_t i = t->heap_index_;
  size_t last = heap_.size() - 1;
  if (i != last) {
    heap_swap(i, last);
    heap_.pop_back();
    heap_down(i);
    heap_up(i);
  } else {
    heap_.pop_back();
  }
  t->heap_index_ = Timer::kNotArmed;
}

}  // namespace msrpd::net
