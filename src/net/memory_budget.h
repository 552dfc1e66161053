#pragma once
// MemoryBudget: a bound on the read-buffer bytes held by connections that have not yet had a
// successful request (those on probation, RFC 4976 §6.1), summed over every loop of the process:
// a peer that never authenticates must not make the relay grow without bound (issue 11 part 6).
//
// One per process (net::Workers owns it), shared by the workers' ConnectionRegistries. A
// connection joins when arm_probation() is called and leaves when disarm_probation() is or when it
// closes; while it is in, every change of its read buffer's capacity (what costs RSS) moves its
// charge, before the buffer is allocated. That is one relaxed atomic add and no lock; connections
// that succeeded do not touch it at all. The registry that finds the total over the limit closes
// its own newest budgeted connections (CloseReason::budget) until it is not, or until it has none
// left: the connection that went over is among them, so the total never stays above the limit
// because of one loop.

#include <atomic>
#include <cstddef>

namespace msrpd::net {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  size_t limit() const { return limit_; }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  bool over() const { return used() > limit_; }

  // A holder's charge goes from `from` to `to` bytes; true when the total is then over the limit.
  bool move(size_t from, size_t to) {
    if (to >= from) return used_.fetch_add(to - from, std::memory_order_relaxed) + (to - from) > limit_;
    used_.fetch_sub(from - to, std::memory_order_relaxed);
    return false;
  }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

}  // namespace msrpd::net
