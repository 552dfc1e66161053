#pragma once
// Workers: N threads, each running its own EventLoop for life. A connection belongs to the
// worker whose loop accepted or connected it; its id says which (Connection::worker_of), so any
// thread can route work to it with post_to(). Beside each loop is its worker's registry
// (connections(i): id -> Connection* and the reuse pool), touched only on that thread.
//
//   Workers w(4);
//   for (unsigned i = 0; i < w.size(); ++i) listeners.push_back(*Listener::open(w.connections(i), ...));
//   w.start();
//   w.post_to(Workers::worker_of(conid), [conid, &w] { ... w.connections(...).find(conid) ... });
//   w.stop();  // joins

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "net/connection.h"
#include "net/event_loop.h"

namespace msrpd::net {

class Workers {
 public:
  // Creates the loops (start-up: may throw std::system_error). probation_budget > 0: the bytes the
  // connections on probation of all loops may hold in read buffers (net/memory_budget.h).
  explicit Workers(unsigned count, size_t probation_budget = 0);
  ~Workers();  // stop() + join
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  unsigned size() const { return static_cast<unsigned>(loops_.size()); }
  EventLoop& loop(unsigned index) { return *loops_[index]; }
  ConnectionRegistry& connections(unsigned index) { return *registries_[index]; }
  const MemoryBudget* budget() const { return budget_.get(); }

  void start();  // one thread per loop, each calls run()
  void stop();   // asks every loop to stop and joins the threads; loops (and connections) remain
  bool running() const { return !threads_.empty(); }

  // Runs fn on worker `index`'s thread. False if index is out of range.
  bool post_to(unsigned index, std::function<void()> fn);
  static unsigned worker_of(uint64_t conid) { return Connection::worker_of(conid); }

 private:
  std::unique_ptr<MemoryBudget> budget_;  // outlives the registries that charge it
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::unique_ptr<ConnectionRegistry>> registries_;  // one per loop, destroyed first
  std::vector<std::thread> threads_;
};

}  // namespace msrpd::net
