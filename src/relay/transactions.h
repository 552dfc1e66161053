#pragma once
// Transactions this relay forwarded and still expects a response for (RFC 4976 §6.4): keyed by
// the connection the request went out on and its transaction id. A response that matches tells
// the engine where to send it back; a non-200 response to a SEND, or no response within 30 s of
// the last byte, becomes a REPORT to the original sender when the SEND asked for one
// (RFC 4976 §6.4.1, §6.4.3). One table per worker, touched only on that worker's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "msrp/frame.h"
#include "msrp/frame_writer.h"
#include "net/event_loop.h"

namespace msrpd::relay {

// What a REPORT about a SEND needs (RFC 4975 §7.1.2): where it goes and what was received.
struct ReportInfo {
  std::string to_path;    // the SEND's whole From-Path (the REPORT travels back along it)
  std::string from_path;  // the relay's own URI (the SEND's first To-Path URI)
  std::string message_id;
  uint64_t range_start = 1;
  std::optional<uint64_t> total;  // nullopt = "*"
  uint64_t received = 0;          // body bytes received from the sender
  bool on_timeout = true;         // Failure-Report: yes (partial: errors only)

  // Fills the fields from a SEND's head. False when no REPORT may be sent (Failure-Report: no, or
  // not a SEND).
  bool assign(const msrp::Frame& f);
};

// Appends a REPORT with `Status: 000 <code> <comment>` and Byte-Range 'start-(start+received-1)/total'.
void write_report(std::string& out, const ReportInfo& info, uint16_t code, std::string_view comment,
                  msrp::TransactionIdGenerator& tids);

struct Transaction {
  uint64_t dest = 0;  // connection the request went out on
  std::string tid;
  uint64_t source = 0;  // connection it came in on (the response goes back there)
  msrp::Method method = msrp::Method::other;
  bool has_report = false;
  ReportInfo report;
  std::unique_ptr<net::Timer> timer;
};

class Transactions {
 public:
  using TimeoutFn = std::function<void(Transaction&)>;
  Transactions(net::EventLoop& loop, uint32_t timeout_ms, TimeoutFn on_timeout);
  ~Transactions();

  // Starts the timer now (the last byte was sent). Replaces an entry with the same key.
  void add(std::unique_ptr<Transaction> t);
  // Removes and returns the entry that a response with this tid on this connection answers.
  std::unique_ptr<Transaction> take(uint64_t dest, std::string_view tid);
  size_t size() const { return map_.size(); }

 private:
  void make_key(uint64_t dest, std::string_view tid);
  net::EventLoop& loop_;
  uint32_t timeout_ms_;
  TimeoutFn on_timeout_;
  std::string key_;
  std::unordered_map<std::string, std::unique_ptr<Transaction>> map_;
};

}  // namespace msrpd::relay
