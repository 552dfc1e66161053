#include "relay/transactions.h"

#include <algorithm>
#include <bit>

namespace msrpd::relay {

bool ReportInfo::assign(const msrp::Frame& f) {
  if (!f.is_request() || f.method_id() != msrp::Method::send) return false;
  auto fr = f.failure_report();
  msrp::FailureReport mode = fr ? *fr : msrp::FailureReport::yes;
  on_timeout = mode == msrp::FailureReport::yes;
  const msrp::Header* fp = f.find(msrp::HeaderId::from_path);
  to_path.assign(fp ? fp->value : std::string_view());
  from_path.assign(f.to_path().empty() ? std::string_view() : f.to_path()[0]);
  auto mid = f.header(msrp::HeaderId::message_id);
  message_id.assign(mid ? *mid : std::string_view());
  range_start = 1;
  total.reset();
  if (auto br = f.byte_range(); br && *br) {
    range_start = (*br)->start;
    total = (*br)->total;
  }
  received = 0;
  // Filled for Failure-Report: no too: a 413 names the message it stops by them (message_stop.h).
  return mode != msrp::FailureReport::no;
}

void write_report(std::string& out, const ReportInfo& info, uint16_t code, std::string_view comment,
                  msrp::TransactionIdGenerator& tids) {
  msrp::ReportStatus r;
  r.message_id = info.message_id;
  r.range_start = info.range_start;
  r.range_end = info.range_start + info.received - 1;
  r.total = info.total;
  r.code = code;
  r.comment = comment;
  msrp::TransactionIdGenerator::Buffer buf;
  msrp::write_report(out, tids.next(buf), info.to_path, info.from_path, r);
}

Transactions::Transactions(net::EventLoop& loop, uint32_t timeout_ms, TimeoutFn on_timeout)
    : loop_(loop),
      timeout_ms_(timeout_ms),
      on_timeout_(std::move(on_timeout)),
      buckets_(kMinBuckets, nullptr),
      timer_(loop, [this] { on_timer(); }) {}

Transactions::~Transactions() = default;

size_t Transactions::trim(size_t spare) {
  size_t nfree = records_.size() - size_;
  if (nfree <= spare) return 0;
  // The first `spare` records of the free list stay on it; the others are marked and freed in one
  // pass over records_.
  Transaction** p = &free_;
  for (size_t i = 0; i < spare && *p; ++i) p = &(*p)->chain_;
  size_t n = 0;
  for (Transaction* t = *p; t; t = t->chain_, ++n) t->drop_ = true;
  *p = nullptr;
  std::erase_if(records_, [](const std::unique_ptr<Transaction>& r) { return r->drop_; });
  if (records_.capacity() > 2 * records_.size() + 64) records_.shrink_to_fit();
  // The index too, once it is four times what is left (it doubles again at one per bucket).
  if (buckets_.size() > kMinBuckets && size_ * 4 < buckets_.size())
    rehash(std::max(kMinBuckets, std::bit_ceil(size_ * 2)));
  return n;
}

size_t Transactions::hash_of(uint64_t dest, std::string_view tid) {
  size_t h = std::hash<std::string_view>{}(tid);
  return h ^ (dest * 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

Transaction** Transactions::find_slot(uint64_t dest, std::string_view tid, size_t h) {
  Transaction** p = &buckets_[h & (buckets_.size() - 1)];
  while (*p && !((*p)->hash_ == h && (*p)->dest == dest && (*p)->tid == tid)) p = &(*p)->chain_;
  return p;
}

void Transactions::rehash(size_t count) {
  std::vector<Transaction*> b(count, nullptr);
  for (Transaction* head : buckets_) {
    while (head) {
      Transaction* next = head->chain_;
      Transaction*& slot = b[head->hash_ & (b.size() - 1)];
      head->chain_ = slot;
      slot = head;
      head = next;
    }
  }
  buckets_.swap(b);
}

void Transactions::unlink(Transaction* t) {
  Transaction** p = &buckets_[t->hash_ & (buckets_.size() - 1)];
  while (*p != t) p = &(*p)->chain_;
  *p = t->chain_;
  t->chain_ = nullptr;
  if (t->armed_) {
    (t->older_ ? t->older_->newer_ : oldest_) = t->newer_;
    (t->newer_ ? t->newer_->older_ : newest_) = t->older_;
    t->older_ = t->newer_ = nullptr;
    t->armed_ = false;
  }
  --size_;
}

void Transactions::release(Transaction* t) {
  // The strings keep their capacity for the next transaction.
  t->chain_ = free_;
  free_ = t;
}

Transaction& Transactions::add(uint64_t dest, std::string_view tid, bool armed) {
  size_t h = hash_of(dest, tid);
  Transaction** slot = find_slot(dest, tid, h);
  Transaction* t = *slot;
  if (t) {
    unlink(t);  // replaced: the record is reused as the new entry
  } else if (free_) {
    t = free_;
    free_ = t->chain_;
  } else {
    records_.push_back(std::make_unique<Transaction>());
    t = records_.back().get();
  }
  if (size_ >= buckets_.size()) rehash(buckets_.size() * 2);
  t->dest = dest;
  t->tid.assign(tid);
  t->source = 0;
  t->seq = 0;
  t->orig_tid.clear();
  t->method = msrp::Method::other;
  t->has_report = false;
  t->hash_ = h;
  Transaction*& head = buckets_[h & (buckets_.size() - 1)];
  t->chain_ = head;
  head = t;
  ++size_;
  if (armed) start_deadline(t);
  return *t;
}

void Transactions::start_deadline(Transaction* t) {
  t->armed_ = true;
  t->deadline_ = loop_.now() + timeout_ms_;
  // Every transaction has the same timeout: the newest armed is always the last to time out.
  t->older_ = newest_;
  t->newer_ = nullptr;
  (newest_ ? newest_->newer_ : oldest_) = t;
  newest_ = t;
  if (!timer_.armed()) timer_.start(timeout_ms_);
}

void Transactions::arm(uint64_t dest, std::string_view tid) {
  if (size_ == 0) return;
  Transaction* t = *find_slot(dest, tid, hash_of(dest, tid));
  if (t && !t->armed_) start_deadline(t);
}

void Transactions::add(const Transaction& from, bool armed) {
  Transaction& t = add(from.dest, from.tid, armed);
  t.source = from.source;
  t.seq = from.seq;
  t.orig_tid = from.orig_tid;
  t.method = from.method;
  t.has_report = from.has_report;
  if (from.has_report || from.method == msrp::Method::send) t.report = from.report;
}

Transactions::Taken Transactions::take(uint64_t dest, std::string_view tid) {
  if (size_ == 0) return Taken(nullptr, Release{this});
  Transaction* t = *find_slot(dest, tid, hash_of(dest, tid));
  if (t) unlink(t);
  // The timer stays armed: when it fires it finds nothing due and re-arms for the new head.
  return Taken(t, Release{this});
}

void Transactions::on_timer() {
  int64_t now = loop_.now();
  while (oldest_ && oldest_->deadline_ <= now) {
    Transaction* t = oldest_;
    unlink(t);
    Taken own(t, Release{this});
    on_timeout_(*t);
  }
  if (oldest_) {
    timer_.start(static_cast<uint32_t>(oldest_->deadline_ - now));
  } else {
    timer_.cancel();
  }
}

}  // namespace msrpd::relay
