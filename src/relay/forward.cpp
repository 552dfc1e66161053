#include "relay/forward.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/log.h"
#include "msrp/frame_writer.h"
#include "msrp/status.h"
#include "net/workers.h"
#include "relay/link.h"
#include "relay/worker.h"

namespace msrpd::relay {

std::string_view Forward::name(Phase p) {
  switch (p) {
    case Phase::idle:
      return "idle";
    case Phase::connecting:
      return "connecting";
    case Phase::connecting_ended:
      return "connecting_ended";
    case Phase::streaming:
      return "streaming";
    case Phase::split:
      return "split";
    case Phase::done:
      return "done";
    case Phase::failed:
      return "failed";
  }
  return "?";
}

void Forward::enter(Phase p) {
  if (p == phase_) return;
  // The sender's id (a request's), then the id on the next hop.
  std::string_view from = name(phase_), to = name(p), in = orig_tid_.empty() ? tid_ : orig_tid_;
  LM_DBG("forward: %s %.*s as %.*s #%llu %.*s -> %.*s", link_.srcaddr().data(), static_cast<int>(in.size()),
         in.data(), static_cast<int>(tid_.size()), tid_.data(), static_cast<unsigned long long>(seq_),
         static_cast<int>(from.size()), from.data(), static_cast<int>(to.size()), to.data());
  phase_ = p;
}

bool Forward::remote() const {
  return dest_worker_ != link_.worker().index();
}

bool Forward::start(const msrp::Frame& f, const FrameBytes& fb, uint64_t dest, int relay_flags,
                    std::string_view answer_tid, bool self_hop) {
  Worker& w = link_.worker();
  enter(Phase::idle);
  seq_ = link_.take_seq();
  pending_.clear();
  close_after_ = (relay_flags & 2) != 0;
  if (f.is_request()) {
    // RFC 4975 §7.1, RFC 4976 §6.4: ids are unique per connection only, so every forwarded request
    // gets one of this relay's (about 95 random bits); the response is matched on it.
    msrp::TransactionIdGenerator::Buffer tb;
    tid_.assign(w.tids().next(tb));
    orig_tid_.assign(f.transaction_id());
  } else {
    tid_.assign(answer_tid);
    orig_tid_.clear();
  }
  method_ = f.method_id();
  has_body_ = f.has_body();
  // Through the self link the next pass is this relay again; the SEND gets one REPORT
  // (RFC 4976 §6.4.1, §6.4.3), from the pass that sees the failure. The next pass REPORTs what
  // fails beyond it: its own next hop's error or silence, a failure to relay. An error it answers
  // in place of the 200 (a 481 for a session that has gone) comes back through the self link and
  // is REPORTed here, as a relay before it would. No 408 from here: the next pass times out its own
  // next hop.
  bool wants_report = report_.assign(f);
  has_report_ = wants_report;
  if (self_hop) report_.on_timeout = false;
  // A response is expected for every request but REPORT, and for a SEND unless Failure-Report: no.
  tracked_ =
      f.is_request() && method_ != msrp::Method::report && !(method_ == msrp::Method::send && !wants_report);

  BufferPool::Lease buf = w.buffers().take();
  std::string& s = *buf;
  const bool whole = fb.complete;
  n_pieces_ = 0;
  splittable_ = false;
  // A SEND the relay may cut: a streamed one (it may make way, or reach the next hop's cap), or a
  // whole one longer than the cap. (A malformed Byte-Range never gets here: Link::relayable.)
  const bool cut_whole = whole && cap_ != 0 && fb.body.size() > cap_;
  std::optional<msrp::ByteRange> range;
  bool range_line = false;
  if (method_ == msrp::Method::send && (!whole || cut_whole)) {
    if (auto br = f.byte_range()) {
      range_line = br->has_value();
      range = range_line ? **br : msrp::ByteRange{};
    }
  }
  Result<void> head;
  if (range && range_line && cut_whole) {
    // RFC 4975 §7.1.1: the first piece says the bytes it carries.
    head = msrp::write_relayed_head(f, s, tid_, {range->start, range->start + cap_ - 1, range->total});
  } else if (range && range_line && range->end) {
    // RFC 4975 §7.1.1: a chunk that may be interrupted carries range-end "*" (the relay may end
    // it early, and it says so before it knows).
    head = msrp::write_relayed_head(f, s, tid_, {range->start, std::nullopt, range->total});
  } else {
    head = msrp::write_relayed_head(f, s, tid_);
  }
  if (!head) {
    link_.relay_undeliverable(f, fb, msrp::code_of(msrp::Status::bad_request));
    return false;
  }
  if (range) save_continuation(*range, s);
  // The body so far, up to the cap when the rest of a streamed one follows (body() cuts it).
  std::string_view now = fb.body;
  if (!whole && splittable_ && cap_ != 0 && now.size() > cap_) now = now.substr(0, cap_);
  report_.received = now.size();
  piece_body_ = now.size();
  if (cut_whole && splittable_) {
    append_pieces(s, now);
  } else {
    s.append(now);
  }
  if (whole) {
    msrp::write_end_line(s, tid_, fb.flag,
                         has_body_ ? msrp::EndLine::after_body : msrp::EndLine::after_headers);
  }
  std::string_view later = fb.body.substr(now.size());
  Stats& st = w.stats();
  if (f.is_request()) {
    Stats::bump(st.requests_out[static_cast<int>(method_)]);
  } else {
    Stats::bump(st.responses_out);
  }
  if (f.is_request()) link_.succeeded();

  if (dest == 0) {
    // A new connection: the bytes wait for it (the caller opens it or joins a pending one).
    pending_.assign(s);
    enter(whole ? Phase::connecting_ended : Phase::connecting);
    link_.connect_buffered();
    if (!later.empty()) body(later);
    return true;
  }
  dest_ = dest;
  dest_worker_ = net::Workers::worker_of(dest);
  if (!remote() && !w.link(dest)) {
    // The rest of the frame (if any) is read and dropped.
    link_.relay_undeliverable(f, fb, msrp::code_of(msrp::Status::session_does_not_exist));
    return false;
  }
  enter(whole ? Phase::done : Phase::streaming);
  write(s, whole);
  if (whole) track();  // after the write: the gate tells whether its last byte went out
  if (!later.empty()) body(later);
  return true;
}

void Forward::connected(uint64_t seq, uint64_t dest) {
  if (seq != seq_ || (phase_ != Phase::connecting && phase_ != Phase::connecting_ended)) return;
  dest_ = dest;
  dest_worker_ = link_.worker().index();
  bool whole = phase_ == Phase::connecting_ended;
  enter(whole ? Phase::done : Phase::streaming);
  std::string p;
  p.swap(pending_);
  write(p, whole);
  // After the write: the gate tells whether the last byte went out.
  if (whole) {
    track();
  } else {
    register_pieces();  // the pieces cut at the cap while the connection was being made
  }
  p.clear();
  pending_.swap(p);  // keep the capacity
}

void Forward::failed(uint64_t seq, std::string_view why, uint16_t report_code) {
  if (seq != seq_ || phase_ == Phase::idle || phase_ == Phase::failed) return;
  Stats::bump(link_.worker().stats().relay_failures);
  LM_WARN("engine: relaying %s from %s failed: %.*s", tid_.c_str(), link_.srcaddr().data(),
          static_cast<int>(why.size()), why.data());
  // A frame that never reached a destination holds no destination's pause (the Link tracks the
  // bytes waiting for connects, kPauseConnecting, itself).
  bool had_destination = at_destination();
  enter(Phase::failed);
  pending_.clear();
  n_pieces_ = 0;
  // RFC 4976 §6.4.1: a SEND that cannot be delivered is reported to its sender when it asked.
  if (has_report_) {
    has_report_ = false;
    link_.worker().send_report(link_.id(), report_, report_code, {});
  }
  if (had_destination) link_.unpause(Link::kPauseDestination | Link::kPauseInflight);
}

void Forward::body(std::string_view bytes) {
  while (phase_ != Phase::idle && phase_ != Phase::failed) {  // else the bytes are dropped
    if (phase_ == Phase::split) continue_chunk(false);
    size_t n = bytes.size();
    if (cap_ != 0 && splittable_) {
      // RFC 4976 §6.4.1: the next hop takes chunks of at most cap_ body bytes: the chunk ends at
      // the cap and the message goes on in a new one once there is a byte for it (a sender's
      // chunk that ends right at the cap needs no empty piece).
      if (piece_body_ >= cap_ && n > 0) {
        cut();
        continue;
      }
      n = std::min<size_t>(n, cap_ - piece_body_);
    }
    report_.received += n;
    piece_body_ += n;
    write(bytes.substr(0, n), false);
    bytes.remove_prefix(n);
    if (bytes.empty()) return;
  }
}

void Forward::end(char flag) {
  if (phase_ == Phase::split) continue_chunk(true);  // the message ends in an empty chunk
  if (phase_ == Phase::idle || phase_ == Phase::failed) return;
  BufferPool::Lease buf = link_.worker().buffers().take();
  msrp::write_end_line(*buf, tid_, flag,
                       has_body_ ? msrp::EndLine::after_body : msrp::EndLine::after_headers);
  if (phase_ == Phase::connecting) {
    pending_.append(*buf);
    enter(Phase::connecting_ended);
    return;
  }
  enter(Phase::done);
  write(*buf, true);
  track();
}

void Forward::abort(bool source_gone) {
  // A closed sender matters only to a destination that has part of the frame already.
  if (source_gone && phase_ != Phase::streaming && phase_ != Phase::split) return;
  if (phase_ == Phase::split) continue_chunk(true);
  if (phase_ == Phase::idle || phase_ == Phase::failed || phase_ == Phase::done) return;
  BufferPool::Lease buf = link_.worker().buffers().take();
  msrp::write_end_line(*buf, tid_, '#', msrp::EndLine::after_body);
  if (phase_ == Phase::connecting) {
    pending_.append(*buf);
    enter(Phase::connecting_ended);
    return;
  }
  enter(Phase::done);
  write(*buf, true);
}

void Forward::make_way(uint64_t seq) {
  if (seq != seq_ || !splittable_ || phase_ != Phase::streaming) return;
  // Now, even if the sender has paused mid-chunk, and even before the chunk's first body byte (an
  // empty chunk, as a message ending right after a split ends in one): no frame holds the
  // destination for as long as its sender takes (RFC 4975 §7.1.1).
  end_chunk();
}

void Forward::end_chunk() {
  Stats::bump(link_.worker().stats().chunks_split);
  // End this chunk with '+': the destination's waiting frames go out now. What follows of the
  // message goes as a new chunk (continue_chunk, before the next bytes).
  if (!close_piece()) return;
  enter(Phase::split);
}

void Forward::cut() {
  Stats::bump(link_.worker().stats().chunks_capped);
  if (!close_piece()) return;
  write_continuation(false);
}

bool Forward::close_piece() {
  Worker& w = link_.worker();
  {
    BufferPool::Lease buf = w.buffers().take();
    msrp::write_end_line(*buf, tid_, '+', msrp::EndLine::after_body);
    write(*buf, true);
  }
  if (phase_ == Phase::failed || phase_ == Phase::idle) return false;
  // Its response is the relay's (a failure becomes a REPORT like the last chunk's), expected once
  // the piece is at the destination.
  if (tracked_) save_piece();
  if (at_destination()) {
    register_pieces();
    seq_ = link_.take_seq();  // a new frame for the destination's gate (while connecting, the
                              // pieces wait in pending_ and go out together under the connect's seq)
  }
  msrp::TransactionIdGenerator::Buffer tb;
  tid_.assign(w.tids().next(tb));
  piece_body_ = 0;
  return true;
}

void Forward::continue_chunk(bool empty) {
  enter(Phase::streaming);
  write_continuation(empty);
}

void Forward::write_continuation(bool empty) {
  // A new transaction, the same headers, Byte-Range from the next byte of the message. RFC 4975
  // §7.1.1: range-end "*", as the chunk may be cut again; when the sender ends the message without
  // more body this chunk is empty and says so (N-(N-1), as RFC 4975 writes an empty body 1-0/0).
  uint64_t first = range_start_ + report_.received;
  BufferPool::Lease buf = link_.worker().buffers().take();
  msrp::write_continuation_head(*buf, tid_, cont_paths_, first,
                                empty ? std::optional<uint64_t>(first - 1) : std::nullopt, range_total_,
                                cont_rest_);
  write(*buf, false);
}

void Forward::append_pieces(std::string& s, std::string_view body) {
  // RFC 4976 §6.4.1: a relay may split chunks. Each piece is a chunk of its own (RFC 4975 §7.1.1):
  // a transaction id of the relay's, the Byte-Range of the bytes it carries, '+', and the last one
  // (whose end-line the caller writes) the sender's flag. All of it is in hand: the ranges are
  // exact and nothing interrupts them.
  uint64_t done = std::min<uint64_t>(cap_, body.size());
  s.append(body.substr(0, done));
  Worker& w = link_.worker();
  while (done < body.size()) {
    Stats::bump(w.stats().chunks_capped);
    msrp::write_end_line(s, tid_, '+', msrp::EndLine::after_body);
    if (tracked_) {
      report_.received = done;
      save_piece();
    }
    msrp::TransactionIdGenerator::Buffer tb;
    tid_.assign(w.tids().next(tb));
    uint64_t n = std::min<uint64_t>(cap_, body.size() - done);
    msrp::write_continuation_head(s, tid_, cont_paths_, range_start_ + done, range_start_ + done + n - 1,
                                  range_total_, cont_rest_);
    s.append(body.substr(done, n));
    done += n;
  }
  report_.received = body.size();
}

void Forward::save_continuation(const msrp::ByteRange& range, std::string_view head) {
  range_start_ = range.start;
  range_total_ = range.total;
  // The relayed head: start line, To-Path, From-Path, the other headers, the blank line.
  size_t start_end = head.find("\r\n");
  size_t to_end = head.find("\r\n", start_end + 2);
  size_t from_end = head.find("\r\n", to_end + 2);
  if (from_end == std::string_view::npos) return;
  cont_paths_.assign(head.substr(start_end + 2, from_end + 2 - (start_end + 2)));
  cont_rest_.clear();
  std::string_view rest = head.substr(from_end + 2);
  while (!rest.empty()) {
    size_t nl = rest.find("\r\n");
    size_t len = nl == std::string_view::npos ? rest.size() : nl + 2;
    std::string_view line = rest.substr(0, len);
    if (!(line.size() > 11 && ascii::istarts_with(line, "Byte-Range:"))) cont_rest_.append(line);
    rest.remove_prefix(len);
  }
  splittable_ = true;
}

void Forward::save_piece() {
  if (n_pieces_ == pieces_.size()) pieces_.emplace_back();
  Piece& p = pieces_[n_pieces_++];
  p.tid.assign(tid_);
  p.received = report_.received;
}

void Forward::register_pieces() {
  for (size_t i = 0; i < n_pieces_; ++i) register_transaction(pieces_[i].tid, pieces_[i].received, false);
  n_pieces_ = 0;
}

void Forward::write(std::string_view bytes, bool ends) {
  if (bytes.empty()) return;
  switch (phase_) {
    case Phase::idle:
    case Phase::failed:
      return;
    case Phase::connecting:
    case Phase::connecting_ended:
      pending_.append(bytes);
      link_.connect_buffered();
      return;
    case Phase::streaming:
    case Phase::split:
    case Phase::done:
      break;
  }
  Worker& w = link_.worker();
  FrameKey key{link_.id(), seq_};
  bool close_after = ends && close_after_;
  if (remote()) {
    // Another worker owns the destination: the bytes are copied into this iteration's batch for
    // it, and the source stops reading while too many are in flight.
    link_.add_inflight(bytes.size());
    w.outbox(dest_worker_).add_write(dest_, key.src, key.seq, bytes, ends, close_after);
    return;
  }
  Link* d = w.link(dest_);
  if (!d || !d->output(key, bytes, ends, close_after)) {
    failed(seq_, "the next hop's connection is gone", msrp::code_of(msrp::Status::session_does_not_exist));
    return;
  }
  Stats::bump(w.stats().bytes_relayed, bytes.size());
  if (d != &link_ && d->over_limit()) {
    d->add_waiter(link_.id());
    link_.pause(Link::kPauseDestination);
  }
}

void Forward::track() {
  if (!tracked_ || !at_destination()) return;
  tracked_ = false;
  register_pieces();
  register_transaction(tid_, report_.received, true);
}

void Forward::register_transaction(std::string_view tid, uint64_t received, bool last) {
  Worker& w = link_.worker();
  std::string_view orig = last && !copy_ ? std::string_view(orig_tid_) : std::string_view();
  // Tracked by the destination's worker, where the response will arrive; a pooled record (no
  // allocation once warm; the REPORT fields are assigned into kept storage).
  Transaction* tp = nullptr;
  if (!remote()) {
    // Its timeout starts when its last byte is written: now, or when the destination's gate
    // writes the frame it holds (RFC 4975 §7.1.1).
    FrameKey key{link_.id(), seq_};
    Link* d = w.link(dest_);
    bool now = !d || d->arms_now(key);
    tp = &w.transactions().add(dest_, tid, now);
    if (!now) d->arm_when_written(key, tid);
  } else {
    tp = &w.outbox(dest_worker_).add_track();
    tp->dest = dest_;
    tp->tid = tid;
  }
  Transaction& t = *tp;
  t.source = link_.id();
  t.seq = seq_;
  t.orig_tid.assign(orig);
  t.method = method_;
  t.has_report = has_report_;
  // A SEND's, REPORTed or not: a 413 names the message to stop by it (message_stop.h).
  if (has_report_ || method_ == msrp::Method::send) {
    t.report = report_;
    t.report.received = received;  // a piece's REPORT covers the bytes up to its end
  }
}

}  // namespace msrpd::relay
