#pragma once
// Cross-worker traffic of the relay engine, in batches. What worker A has for worker B during one
// loop iteration (relayed bytes, transactions to track, credits, the occasional callable) goes
// into one batch: flat records plus one byte arena. At the end of A's iteration the batch is
// handed over under one lock with at most one wake-up of B, and B runs the records in the order A
// wrote them. Batches are recycled: once warm, relaying a frame to another worker allocates
// nothing.
//
//   MailBatch& b = channel.filling();         // A's thread
//   b.add_write(dest, src, seq, bytes, ends, close_after);
//   if (channel.hand_over()) wake B;           // A's thread, end of iteration
//   channel.drain([&](MailBatch& b) { ... });  // B's thread

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "relay/transactions.h"

namespace msrpd::relay {

struct Mail {
  enum class Kind : uint8_t { write, credit, track, call };
  Kind kind = Kind::write;
  bool ends = false;         // write: these bytes end the frame
  bool close_after = false;  // write: send flag 2 (close the destination once the frame is out)
  bool ok = true;            // credit: false when the write failed (the destination is gone)
  uint32_t index = 0;        // track: index in tracks; call: index in calls
  uint64_t dest = 0;         // write: destination connection
  uint64_t src = 0;          // write, credit: source connection
  uint64_t seq = 0;          // write, credit: the source's relayed-frame number
  size_t off = 0;            // write: where the bytes start in the arena
  size_t len = 0;            // write: how many; credit: bytes credited back
};

struct MailBatch {
  std::vector<Mail> mail;
  std::string arena;
  std::vector<Transaction> tracks;  // the first ntracks are this batch's; kept for their capacity
  size_t ntracks = 0;
  std::vector<std::function<void()>> calls;

  bool empty() const { return mail.empty(); }
  void add_write(uint64_t dest, uint64_t src, uint64_t seq, std::string_view bytes, bool ends,
                 bool close_after);
  void add_credit(uint64_t src, uint64_t seq, size_t n, bool ok);
  Transaction& add_track();  // a record to fill (assign its fields: their storage is reused)
  void add_call(std::function<void()> fn);
  std::string_view bytes(const Mail& m) const { return std::string_view(arena).substr(m.off, m.len); }
  void clear();
};

// One direction between two workers.
class MailChannel {
 public:
  MailChannel();
  ~MailChannel();
  MailChannel(const MailChannel&) = delete;
  MailChannel& operator=(const MailChannel&) = delete;

  // Producer's thread only: the batch being filled.
  MailBatch& filling() { return *filling_; }
  // Producer's thread, end of iteration: hands a non-empty batch over. True when the consumer
  // has to be woken (it was not already due to drain).
  bool hand_over();
  // Consumer's thread: every batch handed over so far, oldest first, then recycled.
  void drain(const std::function<void(MailBatch&)>& fn);
  // Producer's thread, when its worker has gone quiet: the recycled batches (up to 4 arenas of up
  // to 1 MiB each) and an empty filling one are given back to the allocator; the next burst
  // builds them again.
  void trim();

 private:
  std::unique_ptr<MailBatch> take_free();  // guarded by mu_

  std::unique_ptr<MailBatch> filling_;
  std::mutex mu_;
  std::vector<std::unique_ptr<MailBatch>> ready_;  // guarded by mu_
  std::vector<std::unique_ptr<MailBatch>> free_;   // guarded by mu_
  bool wake_pending_ = false;                      // guarded by mu_
  std::vector<std::unique_ptr<MailBatch>> taken_;  // consumer's thread only
};

}  // namespace msrpd::relay
