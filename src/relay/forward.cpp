#include "relay/forward.h"

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
  report_.received = fb.body.size();
  // A response is expected for every request but REPORT, and for a SEND unless Failure-Report: no.
  tracked_ =
      f.is_request() && method_ != msrp::Method::report && !(method_ == msrp::Method::send && !wants_report);

  BufferPool::Lease buf = w.buffers().take();
  std::string& s = *buf;
  if (auto r = msrp::write_relayed_head(f, s, tid_); !r) {
    link_.relay_undeliverable(f, fb, msrp::code_of(msrp::Status::bad_request));
    return false;
  }
  splittable_ = false;
  piece_body_ = fb.body.size();
  if (!fb.complete && method_ == msrp::Method::send) save_continuation(f, s);
  s.append(fb.body);
  if (fb.complete) {
    msrp::write_end_line(s, tid_, fb.flag,
                         has_body_ ? msrp::EndLine::after_body : msrp::EndLine::after_headers);
  }
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
    enter(fb.complete ? Phase::connecting_ended : Phase::connecting);
    link_.connect_buffered();
    return true;
  }
  dest_ = dest;
  dest_worker_ = net::Workers::worker_of(dest);
  if (!remote() && !w.link(dest)) {
    // The rest of the frame (if any) is read and dropped.
    link_.relay_undeliverable(f, fb, msrp::code_of(msrp::Status::session_does_not_exist));
    return false;
  }
  enter(fb.complete ? Phase::done : Phase::streaming);
  write(s, fb.complete);
  if (fb.complete) track();  // after the write: the gate tells whether its last byte went out
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
  if (whole) track();
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
  // RFC 4976 §6.4.1: a SEND that cannot be delivered is reported to its sender when it asked.
  if (has_report_) {
    has_report_ = false;
    link_.worker().send_report(link_.id(), report_, report_code, {});
  }
  if (had_destination) link_.unpause(Link::kPauseDestination | Link::kPauseInflight);
}

void Forward::body(std::string_view piece) {
  if (phase_ == Phase::split) continue_chunk();
  report_.received += piece.size();
  piece_body_ += piece.size();
  write(piece, false);
}

void Forward::end(char flag) {
  if (phase_ == Phase::split) continue_chunk();  // the message ends in an empty chunk
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
  if (phase_ == Phase::split) continue_chunk();
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
  Worker& w = link_.worker();
  Stats::bump(w.stats().chunks_split);
  // End this chunk with '+': the destination's waiting frames go out now. Its response is the
  // relay's (a failure becomes a REPORT like the last chunk's).
  {
    BufferPool::Lease buf = w.buffers().take();
    msrp::write_end_line(*buf, tid_, '+', msrp::EndLine::after_body);
    write(*buf, true);
  }
  if (phase_ == Phase::failed) return;
  if (tracked_) register_transaction(false);
  // What follows of the message goes as a new chunk (continue_chunk, before the next bytes).
  seq_ = link_.take_seq();
  msrp::TransactionIdGenerator::Buffer tb;
  tid_.assign(w.tids().next(tb));
  piece_body_ = 0;
  enter(Phase::split);
}

void Forward::continue_chunk() {
  // A new transaction, the same headers, Byte-Range from the next byte of the message. When the
  // sender ends the message without more body, this chunk is empty (Byte-Range N-(N-1), as
  // RFC 4975 writes an empty body 1-0/0).
  enter(Phase::streaming);
  BufferPool::Lease buf = link_.worker().buffers().take();
  msrp::write_continuation_head(*buf, tid_, cont_paths_, range_start_ + report_.received, range_end_,
                                range_total_, cont_rest_);
  write(*buf, false);
}

void Forward::save_continuation(const msrp::Frame& f, std::string_view head) {
  auto br = f.byte_range();
  if (!br) return;  // a malformed Byte-Range: relayed as it is, never split
  range_start_ = *br ? (*br)->start : 1;
  range_end_ = *br ? (*br)->end : std::nullopt;
  range_total_ = *br ? (*br)->total : std::nullopt;
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
  register_transaction(true);
}

void Forward::register_transaction(bool last) {
  Worker& w = link_.worker();
  std::string_view orig = last ? std::string_view(orig_tid_) : std::string_view();
  if (!remote()) {
    // A pooled record (no allocation once warm; the REPORT fields are assigned into kept storage).
    // Its timeout starts when its last byte is written: now, or when the destination's gate
    // writes the frame it holds (RFC 4975 §7.1.1).
    FrameKey key{link_.id(), seq_};
    Link* d = w.link(dest_);
    bool now = !d || d->arms_now(key);
    Transaction& t = w.transactions().add(dest_, tid_, now);
    if (!now) d->arm_when_written(key, tid_);
    t.source = link_.id();
    t.seq = seq_;
    t.orig_tid.assign(orig);
    t.method = method_;
    t.has_report = has_report_;
    // A SEND's, REPORTed or not: a 413 names the message to stop by it (message_stop.h).
    if (has_report_ || method_ == msrp::Method::send) t.report = report_;
    return;
  }
  // Tracked by the destination's worker, where the response will arrive.
  Transaction& t = w.outbox(dest_worker_).add_track();
  t.dest = dest_;
  t.tid = tid_;
  t.source = link_.id();
  t.seq = seq_;
  t.orig_tid.assign(orig);
  t.method = method_;
  t.has_report = has_report_;
  if (has_report_ || method_ == msrp::Method::send) t.report = report_;
}

}  // namespace msrpd::relay
