#include "net/workers.h"

namespace msrpd::net {

Workers::Workers(unsigned count, size_t probation_budget) {
  if (count == 0) count = 1;
  if (probation_budget > 0) budget_ = std::make_unique<MemoryBudget>(probation_budget);
  loops_.reserve(count);
  registries_.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<EventLoop>(i));
    registries_.push_back(std::make_unique<ConnectionRegistry>(*loops_.back()));
    registries_.back()->set_budget(budget_.get());
  }
}

Workers::~Workers() {
  stop();
  // Each registry closes its connections on its (now joined) thread's behalf, before its loop goes.
  registries_.clear();
  loops_.clear();
}

void Workers::start() {
  if (!threads_.empty()) return;
  threads_.reserve(loops_.size());
  for (auto& l : loops_) threads_.emplace_back([loop = l.get()] { loop->run(); });
}

void Workers::stop() {
  if (threads_.empty()) return;
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool Workers::post_to(unsigned index, std::function<void()> fn) {
  if (index >= loops_.size()) return false;
  loops_[index]->post(std::move(fn));
  return true;
}

}  // namespace msrpd::net
