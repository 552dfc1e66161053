#pragma once
// BufferPool: the per-worker strings that frames are written into (replies, relayed heads,
// end-lines, continuation heads) before they are handed to a connection. Each use takes its own
// buffer for as long as it needs it (a Lease) and gives it back when the lease ends, so no two
// writers ever share one, whatever calls whatever; once warm, taking one allocates nothing.

#include <memory>
#include <string>
#include <vector>

namespace msrpd::relay {

class BufferPool {
 public:
  // Buffers that grew past this are freed rather than kept (a head near max_head is rare).
  static constexpr size_t kKeepCapacity = size_t{64} * 1024;
  static constexpr size_t kKeepCount = 16;

  class Lease {
   public:
    Lease(BufferPool& pool, std::unique_ptr<std::string> s) : pool_(&pool), s_(std::move(s)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (s_) pool_->give(std::move(s_));
    }
    std::string& operator*() { return *s_; }
    std::string* operator->() { return s_.get(); }

   private:
    BufferPool* pool_;
    std::unique_ptr<std::string> s_;
  };

  // An empty string of this pool, owned by the lease until it ends.
  Lease take() {
    if (free_.empty()) return Lease(*this, std::make_unique<std::string>());
    std::unique_ptr<std::string> s = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(s));
  }
  size_t free_count() const { return free_.size(); }

 private:
  void give(std::unique_ptr<std::string> s) {
    if (s->capacity() > kKeepCapacity || free_.size() >= kKeepCount) return;
    s->clear();
    free_.push_back(std::move(s));
  }
  std::vector<std::unique_ptr<std::string>> free_;
};

}  // namespace msrpd::relay
