#include "relay/mailbox.h"

namespace msrpd::relay {

namespace {
constexpr size_t kMaxFreeBatches = 4;
constexpr size_t kKeptArenaBytes = 1 << 20;  // a bigger arena (a burst) is given back
}  // namespace

void MailBatch::add_write(uint64_t dest, uint64_t src, uint64_t seq, std::string_view b, bool ends,
                          bool close_after) {
  Mail& m = mail.emplace_back();
  m.kind = Mail::Kind::write;
  m.ends = ends;
  m.close_after = close_after;
  m.dest = dest;
  m.src = src;
  m.seq = seq;
  m.off = arena.size();
  m.len = b.size();
  arena.append(b);
}

void MailBatch::add_credit(uint64_t src, uint64_t seq, size_t n, bool ok) {
  Mail& m = mail.emplace_back();
  m.kind = Mail::Kind::credit;
  m.ok = ok;
  m.src = src;
  m.seq = seq;
  m.len = n;
}

Transaction& MailBatch::add_track() {
  Mail& m = mail.emplace_back();
  m.kind = Mail::Kind::track;
  m.index = static_cast<uint32_t>(ntracks);
  if (ntracks == tracks.size()) tracks.emplace_back();
  return tracks[ntracks++];
}

void MailBatch::add_call(std::function<void()> fn) {
  Mail& m = mail.emplace_back();
  m.kind = Mail::Kind::call;
  m.index = static_cast<uint32_t>(calls.size());
  calls.push_back(std::move(fn));
}

void MailBatch::clear() {
  mail.clear();
  arena.clear();
  if (arena.capacity() > kKeptArenaBytes) arena.shrink_to_fit();
  ntracks = 0;
  calls.clear();
}

MailChannel::MailChannel() : filling_(std::make_unique<MailBatch>()) {}

void MailChannel::trim() {
  std::vector<std::unique_ptr<MailBatch>> spare;
  {
    std::lock_guard lk(mu_);
    spare.swap(free_);
  }
  if (filling_->empty() && filling_->calls.empty()) filling_ = std::make_unique<MailBatch>();
}
MailChannel::~MailChannel() = default;

std::unique_ptr<MailBatch> MailChannel::take_free() {
  if (free_.empty()) return std::make_unique<MailBatch>();
  auto b = std::move(free_.back());
  free_.pop_back();
  return b;
}

bool MailChannel::hand_over() {
  if (filling_->empty()) return false;
  std::lock_guard lk(mu_);
  ready_.push_back(std::move(filling_));
  filling_ = take_free();
  bool wake = !wake_pending_;
  wake_pending_ = true;
  return wake;
}

void MailChannel::drain(const std::function<void(MailBatch&)>& fn) {
  {
    std::lock_guard lk(mu_);
    taken_.swap(ready_);
    wake_pending_ = false;
  }
  for (auto& b : taken_) {
    fn(*b);
    b->clear();
  }
  std::lock_guard lk(mu_);
  for (auto& b : taken_)
    if (free_.size() < kMaxFreeBatches) free_.push_back(std::move(b));
  taken_.clear();
}

}  // namespace msrpd::relay
