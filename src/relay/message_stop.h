#pragma once
// Messages a next hop stopped. RFC 4975 §10.5: a 413 to a chunk means the receiver wants no more of
// that message: its sender must not send further chunks with that Message-ID and must interrupt the
// chunk in progress. A relay forwards the sender's chunks, so it does both on the sender's behalf:
// the chunk it is still writing to the next hop ends at once with '#' (RFC 4975 §7.1: aborted), the
// rest of it is dropped, and the later chunks of the message are answered 413 by the relay itself
// (RFC 4975 §10.5 again: the sender then stops) instead of being routed. The sender is told as
// RFC 4976 §6.4.3 says (a REPORT when it asked for failure reports) and, when the relay had not
// answered the chunk yet, by a 413 to that chunk in place of the relay's 200.
//
// The record is one small list per source connection (its Link): the Message-ID and the first
// To-Path URI the sender used for it (this relay's URI for the session), so that a Message-ID two
// sessions on one relay-to-relay connection happen to share stops only the one refused. Bounded:
// the oldest entry goes first; the list dies with the connection. Who can stop what: a 413 stops a
// message only through a transaction this relay forwarded to the connection that answered, or the
// chunk being written to it (its transaction id, ~95 random bits, must match): a next hop can only
// stop messages sent to it.
//
// Where the code is: Worker::transaction_answered (a 413 that matches a transaction),
// Link::stop_streamed_chunk (one that matches the chunk being written, whose transaction is only
// registered at its end-line), Link::message_stopped and Forward::stop_chunk on the source's
// worker (message_stop.cpp; a chunk that ended meanwhile, its end-line crossing the 413 between
// workers, is matched again against the destination worker's transactions,
// Worker::match_stop_again), Link::refuse_stopped before the route runs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

// What the worker that owns a 413's connection tells the worker of the sender's connection.
struct StopNotice {
  uint64_t dest = 0;     // the connection whose next hop answered 413
  std::string next_hop;  // its address, for the log
  // The 413 answers the chunk being written (no transaction yet): its relayed-frame number and its
  // transaction id on that connection. tid empty: it answered a transaction, which named the
  // message below.
  uint64_t seq = 0;
  std::string tid;
  std::string message_id;
  std::string session_uri;  // the first To-Path URI of the message's chunks (ReportInfo::from_path)
  uint16_t code = 413;
  std::string comment;  // the next hop's, for the REPORT
};

// The messages stopped on one source connection: (Message-ID, session URI) pairs, at most kMax.
class StoppedMessages {
 public:
  static constexpr size_t kMax = 8;

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  bool contains(std::string_view message_id, std::string_view session_uri) const;
  // Adds the pair (nothing when it is there already); the oldest goes when the list is full.
  // False when it was there.
  bool add(std::string_view message_id, std::string_view session_uri);

 private:
  struct Entry {
    std::string message_id;
    std::string session_uri;
  };
  // Empty (no allocation) on the connections that never had a message stopped, which is nearly all
  // of them; once full, a ring whose oldest entry is at next_.
  std::vector<Entry> entries_;
  size_t next_ = 0;
};

}  // namespace msrpd::relay
