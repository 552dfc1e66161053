#pragma once
// Forward: the outgoing side of the frame a Link relays, cut-through: the rewritten head, then
// body pieces as they arrive, then the end-line, to a destination connection on this worker
// (through its OutputGate) or on another (through this worker's mail to it), or into a pending
// buffer while the next hop is being connected. A streamed SEND chunk can make way for frames
// waiting on its destination: it is ended with '+' and the message goes on as a new chunk
// (RFC 4975 §7.1.1; RFC 4976 §6.4.1: relays may split chunks, keeping order and Message-ID).
//
// Its state is one Phase; every transition is written in forward.cpp and logged at debug level.
// A Forward waiting for a connect holds its frame's bytes; once the frame is whole
// (connecting_ended) its Link parks it and relays the next frame on another Forward, so a pending
// connect never stops the source's other frames (Link::park, link_connect.cpp).
//
//   idle ──start──> connecting ──(end)──> connecting_ended (parked by the Link)
//     │                 │ connected            │ connected
//     │                 v                      v
//     ├──start──> streaming <──body── split   done
//     │            │  └─make_way──────────────> split   (the chunk ends with '+' at once)
//     │            └─end / abort──> done
//     └──start (whole frame)──> done
//   any phase but idle ──connect failed / destination gone──> failed

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msrp/frame.h"
#include "relay/transactions.h"

namespace msrpd::relay {

class Link;
class Worker;
struct FrameBytes;

class Forward {
 public:
  enum class Phase : uint8_t {
    idle,              // no frame relayed: none yet, or the routed frame was not (its body is dropped)
    connecting,        // the next hop is being connected: the bytes so far wait in pending_
    connecting_ended,  // the same, and pending_ holds the whole frame up to its end-line
    streaming,         // the head went to the destination; body pieces follow as they arrive
    split,             // the chunk was ended with '+': the next bytes start with the continuation head
    done,              // the end-line went to the destination
    failed,            // cannot be delivered (REPORTed when asked): the rest of the frame is dropped
  };
  static std::string_view name(Phase p);

  explicit Forward(Link& link) : link_(link) {}
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  Phase phase() const { return phase_; }
  // A new frame is routed: whatever the last one left is over (a frame not relayed stays idle).
  void reset() { enter(Phase::idle); }
  uint64_t seq() const { return seq_; }
  // The frame waits for its next hop's connection (its bytes so far in pending_).
  bool waiting_for_connect() const {
    return phase_ == Phase::connecting || phase_ == Phase::connecting_ended;
  }
  size_t pending_bytes() const { return pending_.size(); }
  // The next frame's next hop takes chunks of at most this many body bytes (0: any size; msrp
  // max_chunk_size): a SEND relayed to it is cut into chunks that fit (RFC 4976 §6.4.1).
  void set_chunk_cap(size_t body_bytes) { cap_ = body_bytes; }
  // The frames start() relays next are another copy of a frame relayed already (msrp_relay()
  // called again, link_relay.cpp): the sender has its response from the first one (RFC 4975
  // §7.2: one per request), so the response to a copy ends here (a failure still REPORTed).
  void set_copy(bool copy) { copy_ = copy; }

  // The route decided to relay `f` (its first bytes `fb`) to connection `dest`, or, with dest 0,
  // to a new connection (connecting: the caller opens it, or joins a connect already pending to
  // the same next hop, and calls connected() or failed()). The frame's seq is a new one of the
  // Link's (unique per Link: parked Forwards keep theirs).
  // A request goes on with a new transaction id of this relay's (RFC 4976 §6.4); a response
  // with `answer_tid`, the id its request had when it came in. False when the head cannot be
  // written (a REPORT 400 went upstream).
  // self_hop: dest is the worker's self link (this relay's next pass over the frame reports its
  // failures: none from here).
  bool start(const msrp::Frame& f, const FrameBytes& fb, uint64_t dest, int relay_flags,
             std::string_view answer_tid = {}, bool self_hop = false);
  void connected(uint64_t seq, uint64_t dest);
  void failed(uint64_t seq, std::string_view why, uint16_t report_code);
  // Input events of the frame being relayed.
  void body(std::string_view piece);
  void end(char flag);
  // The sender's frame broke off (a parse error; with source_gone, the connection closed): the
  // next hop's copy ends with '#' (RFC 4975 §7.1) so its parser stays in step.
  void abort(bool source_gone);
  // The destination holds frames behind chunk `seq`: a splittable SEND chunk ends now with '+',
  // even one whose sender has paused before its first body byte (an empty chunk).
  void make_way(uint64_t seq);

  // RFC 4975 §10.5, a next hop's 413 (message_stop.cpp). The SEND chunk `seq` with id `tid` on the
  // next hop is the one this Forward is writing; relays_message: the frame not yet ended at its
  // destination is a chunk of that message (Message-ID, first To-Path URI).
  bool writes_chunk(uint64_t seq, std::string_view tid) const;
  bool relays_message(std::string_view message_id, std::string_view session_uri) const;
  const ReportInfo& report() const { return report_; }  // of the SEND relayed (its Message-ID...)
  // Ends the chunk being written with '#' (RFC 4975 §7.1) and drops the rest of the frame; true
  // when it did. report_code: the 413 answered this very chunk, whose REPORT goes from here.
  bool stop_chunk(uint16_t report_code, std::string_view comment);
  // This pass (the self link's inbound end) answered the chunk with an error response, which the
  // pass before REPORTs: none from here.
  void leave_report_to_previous_pass() { has_report_ = false; }

 private:
  bool remote() const;
  bool at_destination() const {
    return phase_ == Phase::streaming || phase_ == Phase::split || phase_ == Phase::done;
  }
  void enter(Phase p);
  void write(std::string_view bytes, bool ends);
  void end_chunk();    // make way: '+' now, the continuation head before the next bytes
  void cut();          // the cap is reached and more bytes are in hand: '+', the continuation head
  bool close_piece();  // '+' and the piece's transaction; false when the frame failed
  void continue_chunk(bool empty);
  void write_continuation(bool empty);                        // empty: the message ends with no more body
  void append_pieces(std::string& s, std::string_view body);  // a whole SEND cut at the cap
  void save_continuation(const msrp::ByteRange& range, std::string_view relayed_head);
  void track();  // the response to what was just written is expected back
  void save_piece();
  void register_pieces();
  // last: this piece ends the sender's chunk (its response goes back to the sender).
  void register_transaction(std::string_view tid, uint64_t received, bool last);

  Link& link_;
  Phase phase_ = Phase::idle;
  uint64_t seq_ = 0;   // the relayed frame (chunk) being written; late news of older ones is ignored
  uint64_t dest_ = 0;  // destination connection (at_destination())
  unsigned dest_worker_ = 0;
  std::string pending_;   // bytes written while connecting
  std::string tid_;       // the id on the next hop
  std::string orig_tid_;  // a request's id from the sender
  msrp::Method method_ = msrp::Method::other;
  bool has_body_ = false;     // the end-line follows a body (EndLine::after_body)
  bool close_after_ = false;  // send flag 2: close the destination once the frame is written
  bool tracked_ = false;      // a response is expected: register a transaction when the end is written
  bool has_report_ = false;   // a REPORT goes upstream on failure (SEND, Failure-Report yes/partial)
  bool copy_ = false;         // set_copy
  ReportInfo report_;
  // Splitting (a SEND whose continuation head is known: streamed, or whole and over the cap).
  bool splittable_ = false;
  size_t cap_ = 0;          // the next hop's maximum chunk body, 0: none
  std::string cont_paths_;  // the relayed head's To-Path and From-Path lines
  std::string cont_rest_;   // its other header lines without Byte-Range, and the blank line
  uint64_t range_start_ = 1;
  std::optional<uint64_t> range_total_;
  uint64_t piece_body_ = 0;  // body bytes written in the current chunk
  // Pieces ended with '+' whose transactions are registered once they are at the destination
  // (at once while streaming; on connect, or with the whole frame's last piece, otherwise).
  struct Piece {
    std::string tid;
    uint64_t received = 0;  // the sender's body bytes up to the piece's end
  };
  std::vector<Piece> pieces_;  // [0, n_pieces_) in use; kept, with their strings' capacity
  size_t n_pieces_ = 0;
};

}  // namespace msrpd::relay
