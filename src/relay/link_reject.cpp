// Link: frames the parser rejects (RFC 4975 §7.2). A request other than REPORT is answered 400
// (413 for a non-SEND body over the limit) once its head is in; a REPORT (§7.1.2) or a response is
// dropped; the link then skips the frame to its end-line (§7.1) and the connection goes on with
// its other frames and sessions. Only a stream the parser cannot resynchronise is closed.

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "msrp/frame_writer.h"
#include "msrp/status.h"
#include "relay/link.h"
#include "relay/refusals.h"
#include "relay/stats.h"
#include "relay/worker.h"

namespace msrpd::relay {

size_t Link::reject(const msrp::Step& s, std::string_view data, size_t frame_start, size_t resume) {
  Stats& st = w_.stats();
  if (input_ == Input::msrp_skip) {
    // The rejected frame's head did not end within max_head: answer it with what there is.
    LM_INFO("engine: no end-line from %s after a bad frame, closing", srcaddr_.c_str());
    if (reject_status_ != 0) {
      answer_rejected(data.substr(frame_start), parser_.transaction_id(),
                      parser_.current_method() == msrp::Method::send, reject_status_);
      reject_status_ = 0;
    }
    Stats::bump(st.parse_closes);
    conn_->close_after_flush();
    return data.size();
  }
  // RFC 4975 §7.2: a request is answered, even one we could not understand; §7.1.2: a REPORT never
  // is, nor a response (dropped: there is no transaction to give it to).
  bool answer = parser_.current_is_request() && parser_.current_method() != msrp::Method::report;
  const char* what = answer ? "answered" : "dropped";
  if (input_ == Input::msrp_body) {
    // The route has had the frame and it was being relayed: tell the next hop it ends here (RFC
    // 4975 §7.1: '#' aborts). Whatever the route answered stands.
    input_ = Input::msrp_head;
    forward_->abort(false);
    answer = false;
    what = "relayed in part, aborted";
  } else if (!answer) {
    Stats::bump(st.parse_dropped);
  }
  // Counted in parse_errors; the connection is no longer closed, so its log lines are rate-limited
  // as the other refusals are (a flood of bad frames costs a counter bump, not a line each).
  char line[160];
  std::snprintf(line, sizeof line, "%u %.*s (%s%s)", s.status, static_cast<int>(s.message.size()),
                s.message.data(), what, s.fatal ? ", closing" : "");
  w_.refusals().refuse(Rule::bad_frame, srcaddr_, line);
  if (answer) {
    if (!s.fatal && parser_.skipping_head()) {
      reject_status_ = s.status;  // the head may not be all here yet: answered when it is
    } else {
      answer_rejected(data.substr(frame_start), parser_.transaction_id(),
                      parser_.current_method() == msrp::Method::send, s.status);
    }
  }
  if (s.fatal) {
    Stats::bump(st.parse_closes);
    conn_->close_after_flush();
    return data.size();
  }
  // RFC 4975 §7.1: the frame ends at its end-line; the connection's other frames go on after it.
  input_ = Input::msrp_skip;
  return resume;
}

bool Link::skip_rejected(std::string_view data, size_t& pos) {
  // The answer needs the frame's transaction id after the parser has moved past the frame.
  char tid[32];
  size_t tid_len = 0;
  bool is_send = false;
  if (reject_status_ != 0) {
    tid_len = std::min(sizeof tid, parser_.transaction_id().size());
    std::memcpy(tid, parser_.transaction_id().data(), tid_len);
    is_send = parser_.current_method() == msrp::Method::send;
  }
  msrp::Step s = parser_.feed(data.substr(pos));
  switch (s.event) {
    case msrp::Event::skip:
    case msrp::Event::end:
      // The first step after an error in the head consumes that whole head (or frame).
      if (reject_status_ != 0) {
        answer_rejected(data.substr(pos, s.consumed), std::string_view(tid, tid_len), is_send,
                        reject_status_);
        reject_status_ = 0;
      }
      pos += s.consumed;
      if (s.event == msrp::Event::end) input_ = Input::msrp_head;
      return true;
    case msrp::Event::error:
      pos = reject(s, data, pos, pos);
      return true;
    default:
      return false;
  }
}

bool Link::relayable(const msrp::Frame& f, const FrameBytes& fb) {
  // RFC 4975 §7.1.1: a chunk says which bytes it carries. With a malformed Byte-Range the relay
  // could not split the chunk for frames waiting behind it (§7.1.1, RFC 4976 §6.4.1), so it would
  // hold its destination for as long as its sender takes: refused like a frame error, 400, this
  // frame only (its body is dropped; the connection goes on).
  if (f.is_request() && f.method_id() == msrp::Method::send && !f.byte_range()) {
    refuse(Rule::bad_frame, f, fb, msrp::code_of(msrp::Status::bad_request),
           "a SEND with a malformed Byte-Range");
    return false;
  }
  return true;
}

void Link::answer_rejected(std::string_view head, std::string_view tid, bool is_send, uint16_t status) {
  head = head.substr(0, std::min(head.size(), w_.config().limits.max_head));
  BufferPool::Lease out = w_.buffers().take();
  if (!msrp::write_rejection_of_head(*out, head, tid, is_send, status)) {
    LM_DBG("engine: bad frame from %s not answered: no From-Path", srcaddr_.c_str());
    Stats::bump(w_.stats().parse_dropped);
    return;
  }
  Stats::bump(w_.stats().replies_sent[status < 1000 ? status : 0]);
  (void)gate_.send(*out);
}

}  // namespace msrpd::relay
