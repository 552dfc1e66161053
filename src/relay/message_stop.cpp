// Messages a next hop stopped with 413 (RFC 4975 §10.5): the record (StoppedMessages), the
// destination's side (Link::stop_streamed_chunk), the source's side (Link::message_stopped,
// Forward::stop_chunk) and the later chunks answered before the route (Link::refuse_stopped).
// message_stop.h says what is done and why.
#include "relay/message_stop.h"

#include "msrp/status.h"
#include "net/workers.h"
#include "relay/forward.h"
#include "relay/link.h"
#include "relay/worker.h"

namespace msrpd::relay {

bool StoppedMessages::contains(std::string_view message_id, std::string_view session_uri) const {
  for (const Entry& e : entries_)
    if (e.message_id == message_id && e.session_uri == session_uri) return true;
  return false;
}

bool StoppedMessages::add(std::string_view message_id, std::string_view session_uri) {
  if (contains(message_id, session_uri)) return false;
  if (entries_.size() < kMax) {
    entries_.push_back(Entry{std::string(message_id), std::string(session_uri)});
    return true;
  }
  Entry& e = entries_[next_];
  e.message_id.assign(message_id);
  e.session_uri.assign(session_uri);
  next_ = (next_ + 1) % kMax;
  return true;
}

// --- On the destination's worker --------------------------------------------------------------

// A 413 that matches no transaction: the chunk this connection is being written (its transaction
// is registered only once its end-line went out, RFC 4976 §6.4.1) is the only one it can answer
// already. Its source's worker checks the id (Link::message_stopped); a wrong one is counted there
// as an unmatched response.
void Link::stop_streamed_chunk(const msrp::Frame& f) {
  FrameKey owner = gate_.owner();
  if (f.status_code() != msrp::code_of(msrp::Status::stop_sending) || owner.none()) return;
  dst_.answer = Destination::Answer::ends_here;  // not an unmatched response: handed to the source
  StopNotice n;
  n.dest = id_;
  n.next_hop.assign(srcaddr_);
  n.seq = owner.seq;
  n.tid.assign(f.transaction_id());
  n.code = f.status_code();
  n.comment.assign(f.comment());
  w_.stop_message(owner.src, std::move(n));
}

// --- On the source's worker -------------------------------------------------------------------

void Link::message_stopped(StopNotice n) {
  if (!conn_) return;
  bool by_chunk = !n.tid.empty();
  if (by_chunk && !forward_->writes_chunk(n.seq, n.tid)) {
    // No longer being written: its end-line crossed the 413 on the way from another worker (or
    // the 413 names no chunk of the relay's). The transaction is registered on the destination's
    // worker by now (its mail went before this worker heard of the 413): matched there again.
    w_.match_stop_again(std::move(n));
    return;
  }
  const ReportInfo& r = forward_->report();
  std::string_view mid = by_chunk ? std::string_view(r.message_id) : std::string_view(n.message_id);
  std::string_view uri = by_chunk ? std::string_view(r.from_path) : std::string_view(n.session_uri);
  // The frame this link relays now is a chunk of that message (the one answered, a later chunk, or
  // the next piece of a chunk this relay split).
  bool current = by_chunk || forward_->relays_message(mid, uri);
  // A SEND without a Message-ID (broken) gives nothing to recognise its later chunks by.
  if (!mid.empty() && stopped_.add(mid, uri)) {
    w_.refusals().refuse(Rule::message_stopped, srcaddr_,
                         "a message whose next hop answered 413: its chunk in progress ended with '#', its "
                         "later chunks answered 413 (RFC 4975 §10.5)");
  }
  if (!current) return;
  if (input_ == Input::msrp_body && has_at_end_) {
    // The sender's chunk is still coming in, and the route's 200 to it waits for its end-line
    // (RFC 4976 §6.4.1: it says the chunk was received). The chunk will not be relayed whole: the
    // answer is a 413, now (RFC 4975 §10.5: the sender stops sending this message), before the
    // REPORT below.
    has_at_end_ = false;
    answer_stopped();
    // Through the self link that 413 goes to the pass before, which REPORTs it (one REPORT).
    if (self_) forward_->leave_report_to_previous_pass();
  }
  if (forward_->stop_chunk(by_chunk ? n.code : 0, n.comment)) Stats::bump(w_.stats().stopped_chunks);
}

void Link::answer_stopped() {
  // at_end_ is "MSRP <tid> 200 <comment>\r\n" and the rest of a response to the chunk: the same
  // response with the status 413.
  size_t sp = at_end_.find(' ', 5), eol = at_end_.find("\r\n");
  if (sp == std::string::npos || eol == std::string::npos || sp > eol) return;
  std::string status = "413 ";
  status.append(msrp::reason_phrase(msrp::Status::stop_sending));
  at_end_.replace(sp + 1, eol - sp - 1, status);
  Stats::bump(w_.stats().replies_sent[msrp::code_of(msrp::Status::stop_sending)]);
  (void)gate_.send(at_end_, at_end_close_);
}

bool Link::refuse_stopped(const msrp::Frame& f, const FrameBytes& fb) {
  if (f.method_id() != msrp::Method::send) return false;
  auto mid = f.header(msrp::HeaderId::message_id);
  auto to = f.to_path();
  if (!mid || to.empty() || !stopped_.contains(*mid, to[0])) return false;
  // RFC 4975 §10.5: the receiver wants no more of this message; the relay answers for it (the
  // Failure-Report header honoured, as every answer of the relay's).
  refuse(Rule::stopped_chunk, f, fb, msrp::code_of(msrp::Status::stop_sending),
         "a chunk of a message its next hop answered 413 (RFC 4975 §10.5), not relayed");
  forward_->reset();  // its body, if more comes, is read and dropped
  return true;
}

void Worker::stop_message(uint64_t src, StopNotice n) {
  unsigned sw = net::Workers::worker_of(src);
  if (sw == index_) {
    if (Link* l = link(src)) l->message_stopped(std::move(n));
    return;
  }
  // Posted in the same batch as what else this iteration tells that worker (the REPORT after it).
  Engine& e = engine_;
  outbox(sw).add_call([&e, sw, src, n = std::move(n)]() mutable {
    if (Link* l = e.worker(sw).link(src)) l->message_stopped(std::move(n));
  });
}

void Worker::match_stop_again(StopNotice n) {
  unsigned dw = net::Workers::worker_of(n.dest);
  if (dw != index_) {
    Engine& e = engine_;
    outbox(dw).add_call(
        [&e, dw, n = std::move(n)]() mutable { e.worker(dw).match_stop_again(std::move(n)); });
    return;
  }
  if (auto t = txns_.take(n.dest, n.tid)) {
    transaction_answered(*t, n.code, n.comment);
    return;
  }
  refusals_.refuse(Rule::unmatched_response, n.next_hop, "a 413 to no chunk or transaction of this relay's");
}

// --- Forward's part ---------------------------------------------------------------------------

bool Forward::writes_chunk(uint64_t seq, std::string_view tid) const {
  return method_ == msrp::Method::send && phase_ == Phase::streaming && seq == seq_ && tid == tid_;
}

bool Forward::relays_message(std::string_view message_id, std::string_view session_uri) const {
  // Only a frame not yet ended at its destination can still be stopped.
  return method_ == msrp::Method::send && at_destination() && phase_ != Phase::done &&
         report_.message_id == message_id && report_.from_path == session_uri;
}

bool Forward::stop_chunk(uint16_t report_code, std::string_view comment) {
  Worker& w = link_.worker();
  bool stopped = false;
  if (phase_ == Phase::split) {
    // The last piece ended with '+' already: nothing is mid-write, the rest is dropped.
    enter(Phase::idle);
    stopped = true;
  } else if (at_destination() && phase_ != Phase::done) {
    // RFC 4975 §7.1: '#', the chunk is aborted; the next hop's parser stays in step. The rest of
    // the sender's frame is read and dropped (idle).
    abort(false);
    enter(Phase::idle);
    stopped = true;
  }
  // The 413 answered this very chunk, which no transaction of the relay's will: its REPORT is sent
  // here, as a transaction's would be (RFC 4976 §6.4.3).
  if (report_code != 0 && has_report_) {
    has_report_ = false;
    w.send_report(link_.id(), report_, report_code, comment);
  }
  return stopped;
}

}  // namespace msrpd::relay
