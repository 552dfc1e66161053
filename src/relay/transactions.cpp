#include "relay/transactions.h"

#include <charconv>

#include "msrp/status.h"

namespace msrpd::relay {

bool ReportInfo::assign(const msrp::Frame& f) {
  if (!f.is_request() || f.method_id() != msrp::Method::send) return false;
  auto fr = f.failure_report();
  msrp::FailureReport mode = fr ? *fr : msrp::FailureReport::yes;
  if (mode == msrp::FailureReport::no) return false;
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
  return true;
}

static void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void write_report(std::string& out, const ReportInfo& info, uint16_t code, std::string_view comment,
                  msrp::TransactionIdGenerator& tids) {
  std::string headers;
  headers.reserve(128);
  if (!info.message_id.empty()) {
    headers.append("Message-ID: ").append(info.message_id).append("\r\n");
  }
  // RFC 4975 §7.1.2: the Byte-Range of a REPORT covers the bytes the reporter received.
  headers.append("Byte-Range: ");
  append_u64(headers, info.range_start);
  headers.push_back('-');
  append_u64(headers, info.range_start + info.received - 1);
  headers.push_back('/');
  if (info.total)
    append_u64(headers, *info.total);
  else
    headers.push_back('*');
  headers.append("\r\nStatus: 000 ");
  append_u64(headers, code);
  if (comment.empty()) comment = msrp::reason_phrase(code);
  if (!comment.empty()) headers.append(" ").append(comment);
  headers.append("\r\n");
  msrp::TransactionIdGenerator::Buffer buf;
  std::string_view tid = tids.next(buf);
  (void)msrp::write_request(out, tid, "REPORT", info.to_path, info.from_path, headers, {});
}

Transactions::Transactions(net::EventLoop& loop, uint32_t timeout_ms, TimeoutFn on_timeout)
    : loop_(loop), timeout_ms_(timeout_ms), on_timeout_(std::move(on_timeout)) {}

Transactions::~Transactions() = default;

void Transactions::make_key(uint64_t dest, std::string_view tid) {
  key_.assign(reinterpret_cast<const char*>(&dest), sizeof dest);
  key_.append(tid);
}

void Transactions::add(std::unique_ptr<Transaction> t) {
  make_key(t->dest, t->tid);
  Transaction* raw = t.get();
  std::string key = key_;
  raw->timer = std::make_unique<net::Timer>(loop_, [this, raw, key] {
    auto it = map_.find(key);
    if (it == map_.end() || it->second.get() != raw) return;
    std::unique_ptr<Transaction> own = std::move(it->second);
    map_.erase(it);
    on_timeout_(*own);
    // `own` (and the timer running this callback) goes here: allowed by net::Timer.
  });
  raw->timer->start(timeout_ms_);
  map_[std::move(key)] = std::move(t);
}

std::unique_ptr<Transaction> Transactions::take(uint64_t dest, std::string_view tid) {
  if (map_.empty()) return nullptr;
  make_key(dest, tid);
  auto it = map_.find(key_);
  if (it == map_.end()) return nullptr;
  std::unique_ptr<Transaction> t = std::move(it->second);
  map_.erase(it);
  if (t->timer) t->timer->cancel();
  return t;
}

}  // namespace msrpd::relay
