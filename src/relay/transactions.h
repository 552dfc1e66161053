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
#include <vector>

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

  // Fills the fields from a SEND's head (Failure-Report: no too). False when no REPORT may be sent
  // (Failure-Report: no, or not a SEND: nothing filled).
  bool assign(const msrp::Frame& f);
};

// Appends a REPORT with `Status: 000 <code> <comment>` and Byte-Range 'start-(start+received-1)/total'.
void write_report(std::string& out, const ReportInfo& info, uint16_t code, std::string_view comment,
                  msrp::TransactionIdGenerator& tids);

struct Transaction {
  uint64_t dest = 0;    // connection the request went out on
  std::string tid;      // the id the relay gave it on that connection (RFC 4976 §6.4: its own)
  uint64_t source = 0;  // connection it came in on (the response goes back there)
  uint64_t seq = 0;     // the source's relayed-frame number (FrameKey{source, seq} in the gate)
  // The id the sender gave it: the response goes back with it. Empty for a piece of a chunk this
  // relay split (only the last piece answers the sender's chunk): its response ends here.
  std::string orig_tid;
  msrp::Method method = msrp::Method::other;
  bool has_report = false;
  ReportInfo report;  // a SEND's, has_report or not (a 413 names the message to stop by it)

 private:
  friend class Transactions;
  int64_t deadline_ = 0;          // loop time (ms) the transaction times out at (armed_)
  bool armed_ = false;            // in the deadline queue
  size_t hash_ = 0;               // of (dest, tid)
  Transaction* chain_ = nullptr;  // next in the hash bucket, or in the free list
  bool drop_ = false;             // trim(): freed
  Transaction* older_ = nullptr;  // deadline queue (oldest first)
  Transaction* newer_ = nullptr;
};

// The table is allocation-free once warm: records come from a per-worker free list and are reused
// (their strings keep their capacity), the index is an intrusive chained hash on (dest, tid), and
// since every transaction has the same timeout the deadlines form one FIFO queue, watched by a
// single timer armed for the queue's head (no per-transaction timer). A transaction whose request
// the destination's OutputGate still holds behind another frame is registered unarmed (outside the
// queue) and armed when the gate writes its last byte (RFC 4975 §7.1.1, RFC 4976 §6.4.1: the 30 s
// run from the last byte sent): arming times only grow, so the queue stays in deadline order.
class Transactions {
 public:
  // Returns a record taken by take() to the pool when it goes out of scope.
  struct Release {
    Transactions* owner = nullptr;
    void operator()(Transaction* t) const { owner->release(t); }
  };
  using Taken = std::unique_ptr<Transaction, Release>;
  using TimeoutFn = std::function<void(Transaction&)>;

  Transactions(net::EventLoop& loop, uint32_t timeout_ms, TimeoutFn on_timeout);
  ~Transactions();
  Transactions(const Transactions&) = delete;
  Transactions& operator=(const Transactions&) = delete;

  // Registers a transaction and returns its record, keyed by (dest, tid), for the caller to fill
  // (source, method, report). armed: its last byte was just sent, its timeout starts now; else
  // it starts at arm(). Replaces an entry with the same key (the old one ends silently).
  Transaction& add(uint64_t dest, std::string_view tid, bool armed = true);
  // Copies t (from another worker) into a pooled record and registers it as add() does.
  void add(const Transaction& t, bool armed = true);
  // The last byte of an unarmed transaction's request was sent: its timeout starts now.
  void arm(uint64_t dest, std::string_view tid);
  // Removes and returns the entry that a response with this tid on this connection answers.
  Taken take(uint64_t dest, std::string_view tid);
  size_t size() const { return size_; }
  // Records allocated so far (in use plus free): stops growing once the pool is warm.
  size_t records() const { return records_.size(); }
  size_t buckets() const { return buckets_.size(); }  // the index's size
  // Frees the free records beyond `spare` (a load that has passed leaves its high-water mark of
  // records behind otherwise), and halves the index while it is four times the live records;
  // returns how many records were freed.
  size_t trim(size_t spare);

 private:
  static size_t hash_of(uint64_t dest, std::string_view tid);
  Transaction** find_slot(uint64_t dest, std::string_view tid, size_t h);
  void unlink(Transaction* t);  // from the index and the queue
  void start_deadline(Transaction* t);
  void release(Transaction* t);
  static constexpr size_t kMinBuckets = 64;  // a power of two, as every bucket count
  void rehash(size_t count);                 // count: a power of two
  void on_timer();

  net::EventLoop& loop_;
  uint32_t timeout_ms_;
  TimeoutFn on_timeout_;
  std::vector<std::unique_ptr<Transaction>> records_;
  Transaction* free_ = nullptr;
  std::vector<Transaction*> buckets_;  // size: a power of two
  size_t size_ = 0;
  Transaction* oldest_ = nullptr;
  Transaction* newest_ = nullptr;
  net::Timer timer_;
};

}  // namespace msrpd::relay
