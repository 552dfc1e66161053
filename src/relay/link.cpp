#include "relay/link.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "common/ascii.h"
#include "common/host_port.h"
#include "common/log.h"
#include "msrp/status.h"
#include "net/workers.h"
#include "relay/own_uris.h"
#include "relay/sip_context.h"
#include "relay/worker.h"
#include "sip/sniff.h"

namespace msrpd::relay {

namespace {

// The longest end-line with the CRLF before it: CRLF "-------" tid (at most 32) flag CRLF.
constexpr size_t kEndLineBytes = 2 + 7 + 32 + 3;

}  // namespace

std::string_view Link::name(Input i) {
  switch (i) {
    case Input::sniffing:
      return "sniffing";
    case Input::msrp_head:
      return "msrp_head";
    case Input::msrp_body:
      return "msrp_body";
    case Input::msrp_skip:
      return "msrp_skip";
    case Input::sip:
      return "sip";
    case Input::closed:
      return "closed";
  }
  return "?";
}

Link::Link(Worker& w, net::Connection& c, bool outbound, bool self)
    : w_(w),
      conn_(&c),
      id_(c.id()),
      outbound_(outbound),
      self_(self),
      parser_(w.config().limits),
      forward_(std::make_unique<Forward>(*this)),
      gate_(*this) {
  secure_ = c.transport() == net::Transport::tls;
  peer_ip_ = c.peer_ip();
  local_ip_ = c.local_ip();
  uint16_t peer_port = c.peer_port(), local_port = c.local_port();
  if (self_) {
    // A connection pair inside the process: both ends show the relay's first listen address.
    const EngineConfig& cfg = w.config();
    std::string_view ip =
        cfg.listen.empty() ? std::string_view("127.0.0.1") : std::string_view(cfg.listen[0].ip);
    if (ip == "0.0.0.0" || ip.empty()) ip = "127.0.0.1";
    if (ip == "::") ip = "::1";
    peer_ip_ = local_ip_ = std::string(ip);
    auto ports = w.engine().bound_ports();
    peer_port = local_port = ports.empty() ? 0 : ports[0];
  }
  proto_name_ = std::string(net::transport_name(c.transport()));
  srcaddr_ = secure_ ? "msrps://" : "msrp://";
  append_host(srcaddr_, peer_ip_);
  srcaddr_.push_back(':');
  append_port(srcaddr_, peer_port);
  srcsock_ = proto_name_ + ":";
  append_host(srcsock_, local_ip_);
  srcsock_.push_back(':');
  append_port(srcsock_, local_port);
  source_.ip = peer_ip_;
  source_.port = peer_port;
  source_.local_ip = local_ip_;
  source_.local_port = local_port;
  source_.proto = proto_name_;
  source_.conid = id_;
  if (outbound_ || self_) input_ = Input::msrp_head;  // we speak first, and only MSRP
  if (!self_) w_.engine().addresses().add(secure_, peer_ip_, source_.port, id_, local_ip_);
}

bool Link::over_limit() const {
  if (!conn_) return false;
  return conn_->above_high_watermark() ||
         conn_->queued_bytes() + gate_.held_bytes() > conn_->settings().write_high_watermark;
}

void Link::released() {
  if (!over_limit()) wake_waiters();
}

void Link::arm_when_written(FrameKey key, std::string_view tid) {
  if (unarmed_count_ == unarmed_.size()) unarmed_.emplace_back();
  Unarmed& u = unarmed_[unarmed_count_++];
  u.key = key;
  u.tid.assign(tid);
}

void Link::ended(FrameKey key) {
  for (size_t i = 0; i < unarmed_count_;) {
    if (!(unarmed_[i].key == key)) {
      ++i;
      continue;
    }
    w_.transactions().arm(id_, unarmed_[i].tid);
    std::swap(unarmed_[i], unarmed_[--unarmed_count_]);
  }
}

void Link::make_way(FrameKey owner) {
  if (owner.none()) return;
  unsigned wk = net::Workers::worker_of(owner.src);
  if (wk == w_.index()) {
    if (Link* l = w_.link(owner.src)) l->forward().make_way(owner.seq);
    return;
  }
  Engine& e = w_.engine();
  uint64_t src = owner.src, seq = owner.seq;
  w_.outbox(wk).add_call([&e, wk, src, seq] {
    if (Link* l = e.worker(wk).link(src)) l->forward().make_way(seq);
  });
}

void Link::succeeded() {
  if (conn_ && conn_->probation_armed()) conn_->disarm_probation();
}

bool Link::auth_failed() {
  unsigned max = w_.config().auth_max_failures;
  if (max == 0 || ++auth_failures_ < max) return false;
  char what[64];
  std::snprintf(what, sizeof what, "%u failed AUTHs, connection closed", auth_failures_);
  w_.refusals().refuse(Rule::auth_limit, srcaddr_, what);
  return true;
}

void Link::keep_for_session(uint32_t seconds) {
  // At most auth_max_expires: an Expires a script writes by hand, or a relay further on sends
  // back, does not hold a connection open for longer than this relay's own sessions last.
  uint32_t cap = std::min(w_.config().auth_max_expires, UINT32_MAX / 1000);
  if (conn_) conn_->keep_while_idle_for(std::min(seconds, cap) * 1000);
}

// RFC 4976 §6.5: a relay further on answered 200 to an AUTH this relay forwarded: its session
// lives over this connection, which it is bound to there, and over the one the AUTH came in on.
void Link::keep_path_for_session(const msrp::Frame& answer, uint64_t source) {
  uint32_t seconds = w_.config().auth_max_expires;  // RFC 4976 §6.3: the 200 carries Expires
  if (auto ex = answer.expires(); ex && *ex) seconds = **ex;
  keep_for_session(seconds);
  unsigned wk = net::Workers::worker_of(source);
  if (wk == w_.index()) {
    if (Link* l = w_.link(source)) l->keep_for_session(seconds);
    return;
  }
  Engine& e = w_.engine();
  w_.outbox(wk).add_call([&e, wk, source, seconds] {
    if (Link* l = e.worker(wk).link(source)) l->keep_for_session(seconds);
  });
}

void Link::pause(unsigned bit) {
  if (paused_ == 0 && conn_) conn_->pause_reading();
  paused_ |= bit;
}

void Link::unpause(unsigned bit) {
  if (!(paused_ & bit)) return;
  paused_ &= ~bit;
  if (paused_ == 0 && conn_ && conn_->is_open()) conn_->resume_reading();
}

void Link::add_inflight(size_t n) {
  inflight_ += n;
  if (inflight_ > w_.config().max_inflight_bytes) pause(kPauseInflight);
}

void Link::credit(size_t n) {
  inflight_ -= std::min(n, inflight_);
  if ((paused_ & kPauseInflight) && inflight_ <= w_.config().max_inflight_bytes / 2) unpause(kPauseInflight);
}

size_t Link::on_data(net::Connection& c, std::string_view data) {
  if (input_ == Input::sniffing) {
    // SIP and MSRP on one port: the first line says which (Kamailio decides on "MSRP " too).
    switch (sip::sniff(data)) {
      case sip::Protocol::need_more:
        return 0;
      case sip::Protocol::msrp:
        input_ = Input::msrp_head;
        break;
      case sip::Protocol::sip:
        input_ = Input::sip;
        break;
      case sip::Protocol::garbage:
        LM_INFO("engine: connection %s speaks neither MSRP nor SIP, closing", srcaddr_.c_str());
        c.close();
        return 0;
    }
  }
  size_t used = 0;
  switch (input_) {
    case Input::msrp_head:
    case Input::msrp_body:
    case Input::msrp_skip:
      used = on_msrp(data);
      break;
    case Input::sip:
      used = on_sip(data);
      break;
    case Input::sniffing:
    case Input::closed:
      return data.size();
  }
  Stats::bump(w_.stats().bytes_in, used);
  return used;
}

// SIP messages on the MSRP port: each request runs request_route (sl_send_reply answers it);
// SIP replies have nowhere to go in a relay and are dropped, as reply_route { drop; } does.
size_t Link::on_sip(std::string_view data) {
  size_t pos = 0;
  while (pos < data.size() && conn_ && conn_->is_open()) {
    size_t crlf = sip::leading_crlf_length(data.substr(pos));
    if (crlf > 0 && crlf == data.size() - pos) return data.size();  // keep-alives only
    auto len = sip_reader_.check(data.substr(pos));
    if (!len) {
      LM_INFO("engine: bad SIP message from %s: %s", srcaddr_.c_str(), len.error().message.c_str());
      conn_->close();
      return data.size();
    }
    if (*len == 0) break;
    std::string_view text = data.substr(pos, *len);
    pos += *len;
    sip_reader_.reset();
    if (auto r = sip_msg_.parse(text.substr(sip::leading_crlf_length(text))); !r) {
      LM_INFO("engine: bad SIP message from %s: %s", srcaddr_.c_str(), r.error().message.c_str());
      conn_->close();
      return data.size();
    }
    if (!sip_msg_.is_request()) continue;
    Stats::bump(w_.stats().sip_requests);
    SipContext ctx(*this, w_.buffers(), sip_msg_);
    w_.engine().router().sip_request(ctx, w_.index());
  }
  return pos;
}

size_t Link::on_msrp(std::string_view data) {
  size_t pos = 0;
  while (pos < data.size() && paused_ == 0 && conn_ && conn_->is_open()) {
    if (input_ == Input::msrp_skip) {
      if (!skip_rejected(data, pos)) break;
      continue;
    }
    if (input_ == Input::msrp_body) {
      msrp::Step s = parser_.feed(data.substr(pos));
      if (s.event == msrp::Event::body) {
        pos += s.consumed;
        forward_->body(s.body);
      } else if (s.event == msrp::Event::end) {
        pos += s.consumed;
        input_ = Input::msrp_head;
        forward_->end(s.flag);
        if (has_at_end_) {
          has_at_end_ = false;
          (void)gate_.send(at_end_, at_end_close_);
        }
      } else if (s.event == msrp::Event::error) {
        has_at_end_ = false;  // the chunk broke off: it was not received
        pos = reject(s, data, pos, pos);
      } else {
        break;
      }
      continue;
    }
    size_t start = pos;
    if (wait_until_ != 0 && !frame_in(data.substr(start))) break;  // a frame whose end is still coming
    msrp::Step s = parser_.feed(data.substr(pos));
    if (s.event == msrp::Event::need_more) break;
    if (s.event == msrp::Event::error) {
      pos = reject(s, data, start, start);
      continue;
    }
    if (s.event != msrp::Event::head) {
      LM_ERR("engine: unexpected parser event on %s", srcaddr_.c_str());
      conn_->close(net::CloseReason::error, "parser state");
      return data.size();
    }
    // The head, plus the body bytes already here (up to route_body_preview), so that ordinary
    // IM frames are routed with their whole body.
    size_t q = pos + s.consumed;
    size_t body_start = q, body_len = 0;
    size_t bound = whole_bound(parser_.frame());
    FrameBytes fb;
    msrp::Step b;
    while (!fb.complete && body_len < bound && q < data.size()) {
      // No more than the bound (and an end-line) of body: the route sees the same prefix of a
      // long frame however its bytes arrived.
      b = parser_.feed(data.substr(q, bound - body_len + kEndLineBytes));
      if (b.event == msrp::Event::body) {
        body_len += b.body.size();
        q += b.consumed;
      } else if (b.event == msrp::Event::end) {
        fb.complete = true;
        fb.flag = b.flag;
        q += b.consumed;
      } else {
        break;
      }
    }
    if (b.event == msrp::Event::error) {
      waited_ = false;
      pos = reject(b, data, start, q);  // before the route: the frame is answered as rejected
      continue;
    }
    // The route sees the whole frame when it fits the route_body_preview bound (Kamailio routes
    // whole frames; $msrp(body), bodylen, buf must not depend on how TCP cut the bytes): an
    // incomplete one below the bound waits for more bytes, unconsumed, and is parsed again then.
    if (!fb.complete && body_len < bound && wait_for_end(data.substr(start), s.consumed, q - start, bound))
      break;
    // An AUTH waiting for data from elsewhere (auth_db's credentials), unconsumed: link_wait.cpp.
    if (!ready_to_route()) break;
    waited_ = false;
    fb.buf = data.substr(start, q - start);
    fb.body = data.substr(body_start, body_len);
    input_ = fb.complete ? Input::msrp_head : Input::msrp_body;
    route(parser_.frame(), fb);
    pos = q;
  }
  return pos;
}

size_t Link::whole_bound(const msrp::Frame& f) const {
  const EngineConfig& cfg = w_.config();
  // RFC 4975 §7.1: a request other than SEND has a body of at most 10 KB (max_non_send_body; the
  // parser refuses a longer one, 413). It is taken whole whatever route_body_limit says, so it
  // never claims a destination's output for as long as its sender takes: the longest head and
  // such a body fit the read buffer (Worker: read_buffer_limit >= max_head + the 10 KB + 4096).
  if (f.is_request() && f.method_id() != msrp::Method::send)
    return std::max(cfg.route_body_preview, cfg.limits.max_non_send_body + 1);
  return cfg.route_body_preview;
}

bool Link::wait_for_end(std::string_view frame, size_t head_len, size_t parsed, size_t bound) {
  if (waited_ || !conn_) return false;
  // At most `bound` body bytes, and never more than the read buffer holds (a full buffer that
  // nobody consumes would stop reading for good). The end-line may follow them.
  size_t room = conn_->settings().read_buffer_limit;
  size_t until = head_len + bound + kEndLineBytes;
  if (until > room) until = room;
  if (frame.size() >= until) return false;
  std::string_view tid = parser_.frame().transaction_id();
  wait_marker_.assign("\r\n-------");
  wait_marker_.append(tid);
  wait_until_ = until;
  // The parser stopped before anything that may start the end-line (or past a look-alike in the
  // body): the search resumes there.
  wait_scan_ = parsed;
  parser_.reset();  // the head is read again when the end-line is in
  return true;
}

bool Link::frame_in(std::string_view frame) {
  // Only the bytes that came since the last look are searched (with a marker's overlap).
  size_t from = wait_scan_ > wait_marker_.size() ? wait_scan_ - wait_marker_.size() : 0;
  if (frame.size() < wait_until_ && frame.find(wait_marker_, from) == std::string_view::npos) {
    wait_scan_ = frame.size();
    return false;
  }
  // Here, or as many bytes as the bound allows: parsed and routed now (past the bound with the
  // bytes so far, as a longer frame always is).
  waited_ = frame.size() >= wait_until_;
  wait_until_ = 0;
  return true;
}

void Link::route(const msrp::Frame& f, const FrameBytes& fb) {
  Stats& st = w_.stats();
  if (f.is_request()) {
    Stats::bump(st.requests_in[static_cast<int>(f.method_id())]);
  } else {
    Stats::bump(st.responses_in);
  }
  // The last frame waits, whole, for its next hop's connection: it is parked and this frame gets a
  // Forward of its own, so a pending connect never stops the connection's other frames.
  if (forward_->waiting_for_connect()) park();
  dst_.clear();
  if (!relayable(f, fb)) {
    forward_->reset();
    return;
  }
  uint64_t must_reach = 0;
  if (w_.route_env().own && !admit(f, fb, must_reach)) {
    forward_->reset();
    return;
  }
  if (f.is_request() && !outbound_ && !self_) learn_prev_hop(f);
  if (!stopped_.empty() && refuse_stopped(f, fb)) return;  // RFC 4975 §10.5 (message_stop.cpp)
  if (f.is_response()) {
    // RFC 4976 §6.4.3: a response ends the transaction we forwarded; it goes back where the
    // request came from, and a failure to a SEND becomes a REPORT.
    if (auto t = w_.transactions().take(id_, f.transaction_id())) {
      dst_.conid = t->source;
      dst_.set = true;
      dst_.answer = t->orig_tid.empty() ? Destination::Answer::ends_here : Destination::Answer::back;
      answer_tid_.assign(t->orig_tid);  // the id its request had on the way in
      w_.transaction_answered(*t, f.status_code(), f.comment());
      if (t->method == msrp::Method::auth && f.status_code() == msrp::code_of(msrp::Status::ok))
        keep_path_for_session(f, t->source);
    } else {
      stop_streamed_chunk(f);  // RFC 4975 §10.5: a 413 to the chunk being written (message_stop.cpp)
    }
  }
  FrameContext ctx(*this, w_.route_env(), dst_, relays_, f, fb);
  if (must_reach != 0) ctx.require_destination(must_reach, w_.binding_item().peer);
  w_.engine().router().msrp_frame(ctx, w_.index());
  if (!ctx.relay_requested() || !conn_) {
    forward_->reset();
    return;
  }
  relay_out(f, fb, f.is_response() ? std::string_view(answer_tid_) : std::string_view(), must_reach);
}

bool Link::own_authority(std::string_view uri) {
  std::string_view host;
  uint16_t port = 0;
  if (!uri_authority(uri, host, port)) return false;
  // Most frames on a connection name the relay the same way: one compare, no list walk.
  if (port == own_port_ && host == own_host_) return true;
  if (!w_.route_env().own->is_own(host, port, local_ip_)) return false;
  own_host_.assign(host);
  own_port_ = port;
  return true;
}

bool Link::admit(const msrp::Frame& f, const FrameBytes& fb, uint64_t& must_reach) {
  const EngineConfig& cfg = w_.config();
  auto to = f.to_path();
  if (to.empty()) return true;  // the parser refuses such frames: nothing to check
  if (f.is_request() && to.size() > cfg.max_to_path) {
    refuse(Rule::loop, f, fb, msrp::code_of(msrp::Status::bad_request), "a To-Path longer than max_to_path");
    return false;
  }
  const RouteEnv& env = w_.route_env();
  if (env.bindings) {
    // RFC 4976 §6.2: a frame not addressed to this relay is neither relayed nor delivered.
    if (!own_authority(to[0])) {
      refuse(Rule::foreign_uri, f, fb, msrp::code_of(msrp::Status::session_does_not_exist),
             "a frame whose first To-Path URI is not this relay's");
      // RFC 4976 §6.2: a peer that has not made one good request yet is not kept.
      if (conn_ && conn_->probation_armed()) conn_->close_after_flush();
      return false;
    }
    if (f.is_response() || to.size() < 2) return true;
    // RFC 4976 §6.3, §6.4: only a session URI handed out to an AUTHed connection is relayed
    // through, by that connection, or towards it.
    std::string_view session = uri_session(to[0]);
    CmapItem& b = w_.binding_item();
    if (session.empty() || !env.bindings->lookup_into(session, CmapItem::Clock::now(), b)) {
      refuse(Rule::no_session, f, fb, msrp::code_of(msrp::Status::session_does_not_exist),
             "a request for a session URI this relay did not hand out");
      return false;
    }
    if (b.conid != id_) must_reach = b.conid;
  } else if (f.is_response() || to.size() < 2) {
    return true;
  }
  // Loops: the URIs of this relay's leading the To-Path are the passes the frame makes here.
  if (to.size() > 2 && env.own->is_own_uri(to[1], local_ip_)) {
    size_t passes = 2;
    while (passes < to.size() && env.own->is_own_uri(to[passes], local_ip_)) ++passes;
    if (passes > cfg.max_self_passes) {
      refuse(Rule::loop, f, fb, msrp::code_of(msrp::Status::forbidden),
             "a frame passing through this relay more than max_self_passes times");
      return false;
    }
  }
  return true;
}

void Link::learn_prev_hop(const msrp::Frame& f) {
  auto from = f.from_path();
  if (from.size() < 2) return;  // a client itself: its connection is found by its address
  std::string_view host;
  uint16_t port = 0;
  if (!uri_authority(from[0], host, port)) return;
  host = strip_brackets(host);
  if (port == prev_port_ && ascii::iequals(host, prev_host_)) return;  // known already: the usual case
  // Anyone can write any From-Path: only an identity the connection proves is recorded, so that
  // nobody draws another relay's traffic to itself.
  bool proven = ascii::iequals(host, peer_ip_);
  if (!proven && secure_ && conn_ && conn_->peer_certificate_verified()) {
    for (const std::string& name : conn_->peer_certificate_dns_names())
      proven = proven || ascii::iequals(name, host);
  }
  if (!proven) return;
  AddressIndex& index = w_.engine().addresses();
  if (!prev_host_.empty()) index.remove(secure_, prev_host_, prev_port_, id_, local_ip_);
  prev_host_.assign(host);
  prev_port_ = port;
  index.add(secure_, prev_host_, prev_port_, id_, local_ip_);
}

void Link::refuse(Rule rule, const msrp::Frame& f, const FrameBytes& fb, uint16_t code,
                  std::string_view what) {
  w_.refusals().refuse(rule, srcaddr_, what);
  // Answered as any request (RFC 4975 §7.2: Failure-Report honoured; a REPORT or a response is
  // never answered): the route does not run for it.
  // 481 in the words of the seed's routes, which answer an unknown session so: the same answer
  // whether the engine or the route refused.
  std::string_view text = code == msrp::code_of(msrp::Status::session_does_not_exist)
                              ? "Session-does-not-exist"
                              : std::string_view();
  FrameContext ctx(*this, w_.route_env(), dst_, relays_, f, fb);
  ctx.reply(code, text, {});
}

void Link::relay_undeliverable(const msrp::Frame& f, const FrameBytes& fb, uint16_t code) {
  Stats::bump(w_.stats().relay_failures);
  LM_WARN("engine: %s %.*s from %s cannot be delivered (%u)", f.is_request() ? "request" : "response",
          static_cast<int>(f.transaction_id().size()), f.transaction_id().data(), srcaddr_.c_str(), code);
  report_failure(f, fb, code);
}

bool Link::send_at_end(std::string_view bytes, bool close_after) {
  if (!conn_ || !conn_->is_open()) return false;
  at_end_.assign(bytes);
  at_end_close_ = close_after;
  has_at_end_ = true;
  return true;
}

void Link::report_failure(const msrp::Frame& f, const FrameBytes& fb, uint16_t code) {
  ReportInfo info;
  if (!info.assign(f)) return;
  info.received = fb.body.size();
  w_.send_report(id_, info, code, {});
}

void Link::set_name_alias(std::string_view host, uint16_t port) {
  alias_host_.assign(host);
  alias_port_ = port;
  w_.engine().addresses().add(secure_, alias_host_, alias_port_, id_, local_ip_);
}

void Link::on_drained(net::Connection& c) {
  if (gate_.held_bytes() > 0 && over_limit()) return;  // held frames still fill the allowance
  wake_waiters();
}

void Link::wake_waiters() {
  if (waiters_.empty() && credits_.empty()) return;
  std::vector<uint64_t> waiters;
  waiters.swap(waiters_);
  for (uint64_t id : waiters)
    if (Link* l = w_.link(id)) l->unpause(kPauseDestination);
  for (const Credit& cr : credits_) w_.outbox(cr.worker).add_credit(cr.src, 0, cr.bytes, true);
  credits_.clear();
}

void Link::on_close(net::Connection& c, net::CloseReason reason, std::string_view detail) {
  Stats::bump(w_.stats().connections_closed);
  w_.engine().connection_count().fetch_sub(1, std::memory_order_relaxed);
  std::string_view why = net::close_reason_name(reason);
  LM_DBG("engine: connection %s closed (%.*s), input %s, forward %s", srcaddr_.c_str(),
         static_cast<int>(why.size()), why.data(), name(input_).data(),
         Forward::name(forward_->phase()).data());
  conn_ = nullptr;  // no pausing, no writing: the connection is gone
  // The sender went away mid-frame: end the relayed frame as aborted so the next hop's parser
  // stays in step (RFC 4975 §7.1: '#').
  if (input_ == Input::msrp_body) forward_->abort(true);
  input_ = Input::closed;
  has_at_end_ = false;
  // RFC 4976 §6.3: a session's URI is valid only on the connection that AUTHed.
  if (ConnectionMap* m = w_.engine().cmap()) m->remove_connection(id_);
  w_.engine().bindings().remove_connection(id_);
  if (!self_) w_.engine().addresses().remove(secure_, peer_ip_, source_.port, id_, local_ip_);
  if (self_) w_.self_link_closed(id_);
  if (!alias_host_.empty()) w_.engine().addresses().remove(secure_, alias_host_, alias_port_, id_, local_ip_);
  if (!prev_host_.empty()) w_.engine().addresses().remove(secure_, prev_host_, prev_port_, id_, local_ip_);
  // Whoever waits on this connection must not wait forever; the held frames' transactions time
  // out (and REPORT) as the written ones do.
  gate_.clear();
  for (size_t i = 0; i < unarmed_count_; ++i) w_.transactions().arm(id_, unarmed_[i].tid);
  unarmed_count_ = 0;
  wake_waiters();
}

}  // namespace msrpd::relay
