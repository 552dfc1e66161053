#include "relay/engine.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/log.h"
#include "msrp/status.h"
#include "net/workers.h"
#include "relay/engine_internal.h"
#include "relay/sip_context.h"
#include "sip/sniff.h"

namespace msrpd::relay {

namespace {

void append_port(std::string& out, uint16_t port) {
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof buf, port);
  out.append(buf, r.ptr);
}

void append_host(std::string& out, std::string_view ip) {
  bool v6 = ip.find(':') != std::string_view::npos;
  if (v6) out.push_back('[');
  out.append(ip);
  if (v6) out.push_back(']');
}

// The value of the first header line `name` in a raw head (best effort, for error replies to
// frames the parser rejected).
std::string_view raw_header(std::string_view head, std::string_view name) {
  size_t p = 0;
  while (true) {
    size_t nl = head.find("\r\n", p);
    if (nl == std::string_view::npos || nl == p) return {};
    std::string_view line = head.substr(p, nl - p);
    if (line.size() > name.size() + 1 && line[name.size()] == ':' &&
        msrp::equals_ignore_case(line.substr(0, name.size()), name)) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    p = nl + 2;
  }
}

std::string_view first_uri(std::string_view list) {
  return list.substr(0, list.find(' '));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Link

Link::Link(Worker& w, net::Connection& c, bool outbound)
    : w_(w), conn_(&c), id_(c.id()), outbound_(outbound), parser_(w.config().limits) {
  secure_ = c.transport() == net::Transport::tls;
  peer_ip_ = c.peer_ip();
  local_ip_ = c.local_ip();
  proto_name_ = std::string(net::transport_name(c.transport()));
  srcaddr_ = secure_ ? "msrps://" : "msrp://";
  append_host(srcaddr_, peer_ip_);
  srcaddr_.push_back(':');
  append_port(srcaddr_, c.peer_port());
  srcsock_ = proto_name_ + ":";
  append_host(srcsock_, local_ip_);
  srcsock_.push_back(':');
  append_port(srcsock_, c.local_port());
  source_.ip = peer_ip_;
  source_.port = c.peer_port();
  source_.local_ip = local_ip_;
  source_.local_port = c.local_port();
  source_.proto = proto_name_;
  source_.conid = id_;
  if (outbound_) proto_ = Proto::msrp;  // we speak first, and only MSRP
  w_.engine().addresses().add(secure_, peer_ip_, source_.port, id_);
}

bool Link::send(std::string_view bytes, bool close_after) {
  return output(FrameKey{}, bytes, true, close_after);
}

bool Link::output(FrameKey key, std::string_view bytes, bool ends, bool close_after) {
  if (!conn_ || !conn_->is_open()) return false;
  if (owner_.src == 0 || owner_ == key) {
    if (!conn_->send(bytes).ok()) return false;
    owner_ = ends ? FrameKey{} : key;
    if (close_after && ends) conn_->close_after_flush();
    if (owner_.src == 0 && !held_.empty()) release_held();
    return true;
  }
  // Another frame is mid-write: wait for its end (pieces of one frame stay together and in order),
  // and ask its source to end the chunk early if it can.
  if (!held_.empty() && key.src != 0 && held_.back().key == key && !held_.back().ends) {
    held_.back().bytes.append(bytes);
    held_.back().ends = ends;
    held_.back().close_after = close_after;
  } else {
    held_.push_back(Held{key, std::string(bytes), ends, close_after, false});
  }
  held_bytes_ += bytes.size();
  if (!(owner_ == interrupt_asked_)) {
    interrupt_asked_ = owner_;
    ask_interrupt(owner_);  // a source on this worker may end its chunk right here
    if (owner_.src == 0) release_held();
  }
  return true;
}

bool Link::over_limit() const {
  if (!conn_) return false;
  return conn_->above_high_watermark() ||
         conn_->queued_bytes() + held_bytes_ > conn_->settings().write_high_watermark;
}

void Link::release_held() {
  // Arrival order, except that a frame which starts and does not end takes the connection: the
  // others wait for its end, then the scan starts again from the oldest.
  bool again = true;
  while (again && conn_ && conn_->is_open()) {
    again = false;
    for (Held& h : held_) {
      if (h.done) continue;
      if (owner_.src != 0 && !(owner_ == h.key)) continue;
      h.done = true;
      held_bytes_ -= h.bytes.size();
      if (!conn_->send(h.bytes).ok()) return;
      if (h.close_after && h.ends) conn_->close_after_flush();
      if (h.ends) {
        owner_ = FrameKey{};
        again = true;
        break;
      }
      owner_ = h.key;
    }
  }
  std::erase_if(held_, [](const Held& h) { return h.done; });
  // A held frame that started streaming now has others behind it: it makes way in turn.
  if (owner_.src != 0 && !held_.empty() && !(owner_ == interrupt_asked_)) {
    interrupt_asked_ = owner_;
    ask_interrupt(owner_);
  }
  if (!over_limit()) wake_waiters();
}

void Link::succeeded() {
  if (conn_ && conn_->probation_armed()) conn_->disarm_probation();
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

void Link::credit(size_t n) {
  inflight_ -= std::min(n, inflight_);
  if ((paused_ & kPauseInflight) && inflight_ <= w_.config().max_inflight_bytes / 2) unpause(kPauseInflight);
}

size_t Link::on_data(net::Connection& c, std::string_view data) {
  if (proto_ == Proto::unknown) {
    // SIP and MSRP on one port: the first line says which (Kamailio decides on "MSRP " too).
    switch (sip::sniff(data)) {
      case sip::Protocol::need_more:
        return 0;
      case sip::Protocol::msrp:
        proto_ = Proto::msrp;
        break;
      case sip::Protocol::sip:
        proto_ = Proto::sip;
        break;
      case sip::Protocol::garbage:
        LM_INFO("engine: connection %s speaks neither MSRP nor SIP, closing", srcaddr_.c_str());
        c.close();
        return 0;
    }
  }
  size_t used = 0;
  if (proto_ == Proto::msrp) {
    used = on_msrp(data);
  } else if (proto_ == Proto::sip) {
    used = on_sip(data);
  } else {
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
    SipContext ctx(*this, sip_msg_);
    w_.engine().router().sip_request(ctx, w_.index());
  }
  return pos;
}

size_t Link::on_msrp(std::string_view data) {
  const EngineConfig& cfg = w_.config();
  size_t pos = 0;
  while (pos < data.size() && paused_ == 0 && conn_ && conn_->is_open()) {
    if (streaming_) {
      msrp::Step s = parser_.feed(data.substr(pos));
      if (s.event == msrp::Event::body) {
        if (out_.cont_pending) continue_chunk();
        out_.report.received += s.body.size();
        out_.piece_body += s.body.size();
        write_out(s.body);
        if (out_.interrupt && out_.piece_body > 0) end_chunk();
        pos += s.consumed;
      } else if (s.event == msrp::Event::end) {
        if (out_.cont_pending) continue_chunk();  // the message ends in an empty chunk
        streaming_ = false;
        pos += s.consumed;
        std::string& e = w_.scratch();
        e.clear();
        msrp::write_end_line(e, out_.tid, s.flag,
                             stream_has_body_ ? msrp::EndLine::after_body : msrp::EndLine::after_headers);
        out_.finished = true;
        track_out();
        write_out(e);
      } else if (s.event == msrp::Event::error) {
        return handle_error(s, data, pos);
      } else {
        break;
      }
      continue;
    }
    size_t start = pos;
    msrp::Step s = parser_.feed(data.substr(pos));
    if (s.event == msrp::Event::need_more) break;
    if (s.event == msrp::Event::error) return handle_error(s, data, start);
    if (s.event != msrp::Event::head) {
      LM_ERR("engine: unexpected parser event on %s", srcaddr_.c_str());
      conn_->close(net::CloseReason::error, "parser state");
      return data.size();
    }
    // The head, plus the body bytes already here (up to route_body_preview), so that ordinary
    // IM frames are routed with their whole body.
    size_t q = pos + s.consumed;
    size_t body_start = q, body_len = 0;
    FrameBytes fb;
    while (!fb.complete && body_len < cfg.route_body_preview && q < data.size()) {
      msrp::Step b = parser_.feed(data.substr(q));
      if (b.event == msrp::Event::body) {
        body_len += b.body.size();
        q += b.consumed;
      } else if (b.event == msrp::Event::end) {
        fb.complete = true;
        fb.flag = b.flag;
        q += b.consumed;
      } else if (b.event == msrp::Event::error) {
        return handle_error(b, data, start);
      } else {
        break;
      }
    }
    fb.buf = data.substr(start, q - start);
    fb.body = data.substr(body_start, body_len);
    const msrp::Frame& f = parser_.frame();
    streaming_ = !fb.complete;
    stream_has_body_ = f.has_body();
    route(f, fb);
    pos = q;
  }
  return pos;
}

size_t Link::handle_error(const msrp::Step& s, std::string_view data, size_t frame_start) {
  Stats::bump(w_.stats().parse_errors);
  LM_INFO("engine: bad frame from %s: %u %.*s", srcaddr_.c_str(), s.status,
          static_cast<int>(s.message.size()), s.message.data());
  if (streaming_) {
    // The frame was being relayed: tell the next hop it ends here (RFC 4975 §7.1: '#' aborts).
    if (out_.cont_pending) continue_chunk();
    std::string& e = w_.scratch();
    e.clear();
    msrp::write_end_line(e, out_.tid, '#', msrp::EndLine::after_body);
    out_.finished = true;
    streaming_ = false;
    write_out(e);
  } else if (parser_.current_is_request() && !parser_.transaction_id().empty()) {
    // RFC 4975 §7.2: answer what we could not understand, then close (the stream cannot be
    // resynchronised). The head may be broken: take the paths from the raw bytes, best effort.
    std::string_view head =
        data.substr(frame_start, std::min(data.size() - frame_start, w_.config().limits.max_head));
    std::string_view to = raw_header(head, "To-Path");
    std::string_view from = raw_header(head, "From-Path");
    std::string_view tid = parser_.transaction_id();
    std::string& out = w_.scratch();
    out.clear();
    out.append("MSRP ").append(tid).push_back(' ');
    out.append(std::to_string(s.status)).push_back(' ');
    out.append(msrp::reason_phrase(s.status));
    out.append("\r\n");
    bool is_send = head.substr(5 + tid.size()).starts_with(" SEND\r\n");
    if (!from.empty()) out.append("To-Path: ").append(is_send ? first_uri(from) : from).append("\r\n");
    if (!to.empty()) out.append("From-Path: ").append(first_uri(to)).append("\r\n");
    msrp::write_end_line(out, tid, '$', msrp::EndLine::after_headers);
    Stats::bump(w_.stats().replies_sent[s.status < 1000 ? s.status : 0]);
    (void)send(out);
  }
  conn_->close_after_flush();
  return data.size();
}

void Link::route(const msrp::Frame& f, const FrameBytes& fb) {
  Stats& st = w_.stats();
  if (f.is_request())
    Stats::bump(st.requests_in[static_cast<int>(f.method_id())]);
  else
    Stats::bump(st.responses_in);
  dst_.clear();
  out_.state = RelayOut::State::none;
  if (f.is_response()) {
    // RFC 4976 §6.4.3: a response ends the transaction we forwarded; it goes back where the
    // request came from, and a failure to a SEND becomes a REPORT.
    if (auto t = w_.transactions().take(id_, f.transaction_id())) {
      dst_.conid = t->source;
      dst_.set = true;
      w_.transaction_answered(*t, f.status_code(), f.comment());
    }
  }
  FrameContext ctx(*this, f, fb);
  w_.engine().router().msrp_frame(ctx, w_.index());
  if (ctx.relay_requested() && conn_) start_relay(ctx);
}

void Link::relay_undeliverable(const msrp::Frame& f, const FrameBytes& fb, uint16_t code) {
  Stats::bump(w_.stats().relay_failures);
  LM_WARN("engine: %s %.*s from %s cannot be delivered (%u)", f.is_request() ? "request" : "response",
          static_cast<int>(f.transaction_id().size()), f.transaction_id().data(), srcaddr_.c_str(), code);
  ReportInfo info;
  if (!info.assign(f)) return;
  info.received = fb.body.size();
  w_.send_report(id_, info, code, {});
}

void Link::start_relay(FrameContext& ctx) {
  const msrp::Frame& f = ctx.frame();
  const FrameBytes& fb = ctx.bytes();
  out_.seq = next_seq_++;
  out_.pending.clear();
  out_.finished = fb.complete;
  out_.close_after = (ctx.relay_flags() & 2) != 0;
  out_.tid.assign(f.transaction_id());
  out_.method = f.method_id();
  out_.has_report = out_.report.assign(f);
  out_.report.received = fb.body.size();
  // A response is expected for every request but REPORT, and for a SEND unless Failure-Report: no.
  out_.track = f.is_request() && f.method_id() != msrp::Method::report &&
               !(f.method_id() == msrp::Method::send && !out_.has_report);

  std::string& s = w_.scratch();
  s.clear();
  if (auto r = msrp::write_relayed_head(f, s); !r) {
    relay_undeliverable(f, fb, 400);
    return;
  }
  out_.interrupt = false;
  out_.cont_pending = false;
  out_.interruptible = false;
  out_.piece_body = fb.body.size();
  if (!fb.complete && f.method_id() == msrp::Method::send) save_continuation(f, s);
  s.append(fb.body);
  if (fb.complete) {
    msrp::write_end_line(s, f.transaction_id(), fb.flag,
                         f.has_body() ? msrp::EndLine::after_body : msrp::EndLine::after_headers);
  }
  Stats& st = w_.stats();
  if (f.is_request())
    Stats::bump(st.requests_out[static_cast<int>(f.method_id())]);
  else
    Stats::bump(st.responses_out);
  if (f.is_request()) succeeded();

  Destination& d = dst_;
  if (d.conid != 0) {
    out_.dest = d.conid;
    out_.dest_worker = net::Workers::worker_of(d.conid);
    out_.state = out_.dest_worker == w_.index() ? RelayOut::State::local : RelayOut::State::remote;
    if (out_.state == RelayOut::State::local && !w_.link(d.conid)) {
      out_.state = RelayOut::State::none;
      // The rest of the frame (if any) is read and dropped.
      relay_undeliverable(f, fb, 481);
      return;
    }
    if (fb.complete) track_out();
    write_out(s);
    return;
  }
  // A new connection (RFC 4975 §6.2: numeric addresses directly, names through the resolver).
  out_.state = RelayOut::State::connecting;
  out_.pending.assign(s);
  pause(kPauseConnecting);
  Worker& w = w_;
  uint64_t src = id_, seq = out_.seq;
  std::string alias = net::SockAddr::is_numeric(d.host) ? std::string() : d.host;
  uint16_t alias_port = d.port;
  auto cb = [&w, src, seq, alias = std::move(alias), alias_port](Result<net::Connection*> r) {
    if (r) {
      Link& out = w.adopt(**r, true);
      if (!alias.empty()) out.set_name_alias(alias, alias_port);
      Stats::bump(w.stats().connections_opened);
    } else {
      Stats::bump(w.stats().connect_failures);
    }
    Link* l = w.link(src);
    if (!l) return;
    if (r) {
      l->connected(seq, **r);
    } else {
      bool timeout = r.error().message.find("timeout") != std::string::npos;
      l->relay_failed(seq, r.error().message, timeout ? 408 : 481);
    }
  };
  w.connect_to(d, std::move(cb));
}

void Link::set_name_alias(std::string_view host, uint16_t port) {
  alias_host_.assign(host);
  alias_port_ = port;
  w_.engine().addresses().add(secure_, alias_host_, alias_port_, id_);
}

void Link::connected(uint64_t seq, net::Connection& dest) {
  if (seq != out_.seq || out_.state != RelayOut::State::connecting) return;
  out_.state = RelayOut::State::local;
  out_.dest = dest.id();
  out_.dest_worker = w_.index();
  if (out_.finished) track_out();
  std::string p;
  p.swap(out_.pending);
  write_out(p);
  p.clear();
  out_.pending.swap(p);  // keep the capacity
  unpause(kPauseConnecting);
}

void Link::relay_failed(uint64_t seq, std::string_view why, uint16_t code) {
  if (seq != out_.seq) return;
  if (out_.state == RelayOut::State::none || out_.state == RelayOut::State::failed) return;
  abort_out(why, code);
}

void Link::abort_out(std::string_view why, uint16_t report_code) {
  Stats::bump(w_.stats().relay_failures);
  LM_WARN("engine: relaying %s from %s failed: %.*s", out_.tid.c_str(), srcaddr_.c_str(),
          static_cast<int>(why.size()), why.data());
  out_.state = RelayOut::State::failed;
  out_.pending.clear();
  // RFC 4976 §6.4.1: a SEND that cannot be delivered is reported to its sender when it asked.
  if (out_.has_report) {
    out_.has_report = false;
    w_.send_report(id_, out_.report, report_code, {});
  }
  unpause(kPauseConnecting | kPauseDestination | kPauseInflight);
}

void Link::track_out() {
  if (!out_.track) return;
  if (out_.state != RelayOut::State::local && out_.state != RelayOut::State::remote) return;
  out_.track = false;
  register_transaction();
}

void Link::register_transaction() {
  if (out_.state == RelayOut::State::local) {
    // A pooled record (no allocation once warm; the REPORT fields are assigned into kept storage).
    Transaction& t = w_.transactions().add(out_.dest, out_.tid);
    t.source = id_;
    t.method = out_.method;
    t.has_report = out_.has_report;
    if (out_.has_report) t.report = out_.report;
    return;
  }
  // Tracked by the destination's worker, where the response will arrive.
  Transaction& t = w_.outbox(out_.dest_worker).add_track();
  t.dest = out_.dest;
  t.tid = out_.tid;
  t.source = id_;
  t.method = out_.method;
  t.has_report = out_.has_report;
  if (out_.has_report) t.report = out_.report;
}

void Link::save_continuation(const msrp::Frame& f, std::string_view head) {
  out_.interruptible = false;
  auto br = f.byte_range();
  if (!br) return;  // a malformed Byte-Range: relayed as it is, never split
  out_.range_start = *br ? (*br)->start : 1;
  out_.range_end = *br ? (*br)->end : std::nullopt;
  out_.range_total = *br ? (*br)->total : std::nullopt;
  // The relayed head: start line, To-Path, From-Path, the other headers, the blank line.
  size_t start_end = head.find("\r\n");
  size_t to_end = head.find("\r\n", start_end + 2);
  size_t from_end = head.find("\r\n", to_end + 2);
  if (from_end == std::string_view::npos) return;
  out_.cont_paths.assign(head.substr(start_end + 2, from_end + 2 - (start_end + 2)));
  out_.cont_rest.clear();
  std::string_view rest = head.substr(from_end + 2);
  while (!rest.empty()) {
    size_t nl = rest.find("\r\n");
    size_t len = nl == std::string_view::npos ? rest.size() : nl + 2;
    std::string_view line = rest.substr(0, len);
    if (!(line.size() > 11 && msrp::equals_ignore_case(line.substr(0, 11), "Byte-Range:")))
      out_.cont_rest.append(line);
    rest.remove_prefix(len);
  }
  out_.interruptible = true;
}

void Link::interrupt(uint64_t seq) {
  if (seq != out_.seq || !streaming_ || !out_.interruptible || out_.cont_pending) return;
  if (out_.state != RelayOut::State::local && out_.state != RelayOut::State::remote) return;
  // Now, even if the sender has paused mid-chunk; a chunk without body bytes yet ends after its
  // first body piece (no empty chunk).
  if (out_.piece_body > 0)
    end_chunk();
  else
    out_.interrupt = true;
}

void Link::ask_interrupt(FrameKey owner) {
  if (owner.src == 0) return;
  unsigned wk = net::Workers::worker_of(owner.src);
  if (wk == w_.index()) {
    if (Link* l = w_.link(owner.src)) l->interrupt(owner.seq);
    return;
  }
  Engine& e = w_.engine();
  uint64_t src = owner.src, seq = owner.seq;
  w_.outbox(wk).add_call([&e, wk, src, seq] {
    if (Link* l = e.worker(wk).link(src)) l->interrupt(seq);
  });
}

void Link::end_chunk() {
  out_.interrupt = false;
  Stats::bump(w_.stats().chunks_split);
  // End this chunk with '+': the destination's waiting frames go out now. Its response is the
  // relay's (a failure becomes a REPORT like the last chunk's).
  std::string& e = w_.scratch();
  e.clear();
  msrp::write_end_line(e, out_.tid, '+', msrp::EndLine::after_body);
  write_out(e, true);
  if (out_.track) register_transaction();
  // What follows of the message goes as a new chunk (continue_chunk, before the next bytes).
  out_.seq = next_seq_++;
  msrp::TransactionIdGenerator::Buffer tb;
  out_.tid.assign(w_.tids().next(tb));
  out_.piece_body = 0;
  out_.cont_pending = true;
}

void Link::continue_chunk() {
  out_.cont_pending = false;
  // A new transaction, the same headers, Byte-Range from the next byte of the message. When the
  // sender ends the message without more body, this chunk is empty (Byte-Range N-(N-1), as
  // RFC 4975 writes an empty body 1-0/0).
  std::string& e = w_.scratch2();
  e.clear();
  e.append("MSRP ").append(out_.tid).append(" SEND\r\n").append(out_.cont_paths);
  e.append("Byte-Range: ").append(std::to_string(out_.range_start + out_.report.received)).push_back('-');
  e.append(out_.range_end ? std::to_string(*out_.range_end) : std::string("*")).push_back('/');
  e.append(out_.range_total ? std::to_string(*out_.range_total) : std::string("*")).append("\r\n");
  e.append(out_.cont_rest);
  write_out(e, false);
}

void Link::write_out(std::string_view bytes) {
  write_out(bytes, out_.finished && !streaming_);
}

void Link::write_out(std::string_view bytes, bool ends) {
  if (bytes.empty()) return;
  switch (out_.state) {
    case RelayOut::State::none:
    case RelayOut::State::failed:
      return;
    case RelayOut::State::connecting:
      out_.pending.append(bytes);
      return;
    case RelayOut::State::local: {
      Link* d = w_.link(out_.dest);
      if (!d || !d->output(FrameKey{id_, out_.seq}, bytes, ends, ends && out_.close_after)) {
        abort_out("the next hop's connection is gone", 481);
        return;
      }
      Stats::bump(w_.stats().bytes_relayed, bytes.size());
      if (d != this && d->over_limit()) {
        d->add_waiter(id_);
        pause(kPauseDestination);
      }
      return;
    }
    case RelayOut::State::remote: {
      // Another worker owns the destination: the bytes are copied into this iteration's batch
      // for it, and the source stops reading while too many are in flight.
      inflight_ += bytes.size();
      w_.outbox(out_.dest_worker).add_write(out_.dest, id_, out_.seq, bytes, ends, ends && out_.close_after);
      if (inflight_ > w_.config().max_inflight_bytes) pause(kPauseInflight);
      return;
    }
  }
}

void Link::on_drained(net::Connection& c) {
  if (held_bytes_ > 0 && over_limit()) return;  // held frames still fill the allowance
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
  LM_DBG("engine: connection %s closed (%.*s)", srcaddr_.c_str(),
         static_cast<int>(net::close_reason_name(reason).size()), net::close_reason_name(reason).data());
  if (streaming_ && (out_.state == RelayOut::State::local || out_.state == RelayOut::State::remote)) {
    // The sender went away mid-frame: end the relayed frame as aborted so the next hop's parser
    // stays in step (RFC 4975 §7.1: '#').
    if (out_.cont_pending) continue_chunk();
    std::string& e = w_.scratch();
    e.clear();
    msrp::write_end_line(e, out_.tid, '#', msrp::EndLine::after_body);
    out_.finished = true;
    streaming_ = false;
    conn_ = nullptr;  // no pausing a closed connection
    write_out(e);
  }
  streaming_ = false;
  conn_ = nullptr;
  proto_ = Proto::closed;
  // RFC 4976 §6.3: a session's URI is valid only on the connection that AUTHed.
  if (ConnectionMap* m = w_.engine().cmap()) m->remove_connection(id_);
  w_.engine().addresses().remove(secure_, peer_ip_, source_.port, id_);
  if (!alias_host_.empty()) w_.engine().addresses().remove(secure_, alias_host_, alias_port_, id_);
  // Whoever waits on this connection must not wait forever.
  held_.clear();
  held_bytes_ = 0;
  wake_waiters();
  w_.drop(id_);
}

// ---------------------------------------------------------------------------------------------
// Worker

namespace {
std::unique_ptr<net::Resolver> make_resolver(net::EventLoop& loop, const EngineConfig& cfg) {
  net::ResolverOptions o;
  o.servers = cfg.dns_servers;
  auto r = net::Resolver::create(loop, o);
  if (!r) {
    LM_WARN("engine: no DNS resolver: %s", r.error().message.c_str());
    return nullptr;
  }
  return std::move(*r);
}
}  // namespace

Worker::Worker(Engine& e, unsigned index, net::EventLoop& loop)
    : engine_(e),
      index_(index),
      loop_(loop),
      resolver_(make_resolver(loop, e.config())),
      connector_(loop, resolver_.get()),
      txns_(loop, e.config().transaction_timeout_ms, [this](Transaction& t) { transaction_timed_out(t); }) {
  const EngineConfig& cfg = e.config();
  inbound_.read_buffer_limit = std::max(cfg.read_buffer_limit, cfg.limits.max_head + 4096);
  inbound_.idle_timeout_ms = cfg.tcp_connection_lifetime * 1000;
  inbound_.lifetime_ms = cfg.tcp_connection_max_lifetime * 1000;
  inbound_.probation_ms = cfg.probation_seconds * 1000;
  outbound_ = inbound_;
}

Worker::~Worker() = default;

Result<void> Worker::listen(const ListenAddr& a, uint16_t port, uint16_t* bound) {
  net::ListenOptions o;
  o.ip = a.ip;
  o.port = port;
  o.settings = inbound_;
  if (a.proto == "tls") {
    // RFC 4976 §6.1: msrps; the handshake runs on this loop before the connection is accepted
    // (a failed or stalled one is dropped there, the relay keeps serving the others).
    o.transport = net::Transport::tls;
    o.tls = engine_.tls_context();
  }
  auto l = net::Listener::open(loop_, o, [this](net::Connection& c) {
    uint32_t max = config().max_connections;
    if (max > 0 && engine_.connection_count().load(std::memory_order_relaxed) >= max) {
      // tcp_max_connections: refuse by closing at once (Kamailio does the same).
      Stats::bump(stats().connections_refused);
      if (loop_.now() - last_refusal_log_ >= 1000) {
        last_refusal_log_ = loop_.now();
        LM_WARN("engine: tcp_max_connections (%u) reached, closing the connection from %s:%u", max,
                c.peer_ip().c_str(), static_cast<unsigned>(c.peer_port()));
      }
      c.close_silently(net::CloseReason::local);
      return;
    }
    Stats::bump(stats().connections_accepted);
    adopt(c, false);
    // RFC 4976 §6.1: a connection must succeed with a request within the probation time.
    if (config().probation_seconds > 0) c.arm_probation();
  });
  if (!l) return l.error();
  if (bound) *bound = (*l)->port();
  listeners_.push_back(std::move(*l));
  return {};
}

void Worker::on_start() {
  common::log_set_thread_label("worker " + std::to_string(index_));
  loop_.set_iteration_end([this] { hand_over_mail(); });
  if (index_ == 0 && engine_.cmap()) {
    unsigned s = config().timer_interval ? config().timer_interval : 60;
    clean_timer_ = std::make_unique<net::Timer>(loop_, [this] {
      if (ConnectionMap* m = engine_.cmap()) m->clean(CmapItem::Clock::now());
    });
    clean_timer_->start(s * 1000, s * 1000);
  }
  engine_.router().on_worker_start(index_);
}

Link* Worker::link(uint64_t id) {
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second.get();
}

Link& Worker::adopt(net::Connection& c, bool outbound) {
  auto l = std::make_unique<Link>(*this, c, outbound);
  engine_.connection_count().fetch_add(1, std::memory_order_relaxed);
  Link& ref = *l;
  links_[c.id()] = std::move(l);
  c.set_handler(&ref);
  return ref;
}

void Worker::drop(uint64_t id) {
  loop_.post([this, id] {
    auto it = links_.find(id);
    if (it != links_.end() && !it->second->connection()) links_.erase(it);
  });
}

void Worker::close_all() {
  loop_.connections().close_all(true);
  clean_timer_.reset();
}

void Worker::connect_to(const Destination& d, net::Connector::ConnectFn fn) {
  net::ConnectOptions o;
  o.timeout_ms = config().connect_timeout_ms;
  o.settings = outbound_;
  if (d.secure) {
    const net::TlsContext* tls = engine_.tls_context();
    if (!tls) {
      loop_.post(
          [fn = std::move(fn), host = d.host] { fn(make_error(0, "msrps " + host + ": no TLS context")); });
      return;
    }
    // RFC 4976 §6.2, §9: the next hop's certificate must match the host of its URI.
    o.transport = net::Transport::tls;
    o.tls = tls;
    o.verify_host = d.host;
  }
  // RFC 6761 §6.3, §6.4: "localhost" names are the loopback (no SRV is asked for them), ".invalid"
  // names never resolve (no DNS query at all).
  auto has_suffix = [](std::string_view h, std::string_view sfx) {
    return h.size() >= sfx.size() && msrp::equals_ignore_case(h.substr(h.size() - sfx.size()), sfx);
  };
  std::string_view h = d.host;
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (msrp::equals_ignore_case(h, "invalid") || has_suffix(h, ".invalid")) {
    loop_.post([fn = std::move(fn), host = d.host] {
      fn(make_error(0, "resolve " + host + ": Domain name not found (RFC 6761 .invalid)"));
    });
    return;
  }
  bool local = msrp::equals_ignore_case(h, "localhost") || has_suffix(h, ".localhost");
  if (d.port_given || local || net::SockAddr::is_numeric(d.host) || !resolver_) {
    if (net::SockAddr::is_numeric(d.host))
      connector_.connect(d.host, d.port, std::move(fn), o);
    else
      connector_.connect_host(d.host, d.port, std::move(fn), o);
    return;
  }
  // RFC 4976 §8: no port in the URI: SRV "_msrps._tcp.<domain>" (msrp: "_msrp._tcp"), the
  // target with the lowest priority (then the highest weight); without SRV records, A/AAAA of
  // the host itself on port 2855. The lookups are cached within their TTL by the resolver.
  std::string name = (d.secure ? "_msrps._tcp." : "_msrp._tcp.") + d.host;
  std::string host = d.host;
  uint16_t port = d.port;
  int64_t deadline = loop_.now() + o.timeout_ms;
  resolver_->resolve_srv(name, [this, fn = std::move(fn), o, host, port,
                                deadline](Result<std::vector<net::SrvTarget>> r) mutable {
    int64_t left = deadline - loop_.now();
    if (left <= 0) return fn(make_error(0, "connect " + host + ": timeout"));
    o.timeout_ms = static_cast<uint32_t>(left);
    if (r && !r->empty()) {
      const net::SrvTarget* best = &(*r)[0];
      for (const net::SrvTarget& t : *r) {
        if (t.priority < best->priority || (t.priority == best->priority && t.weight > best->weight))
          best = &t;
      }
      std::string target = best->host;
      while (!target.empty() && target.back() == '.') target.pop_back();
      uint16_t p = best->port ? best->port : port;
      if (!target.empty()) return connector_.connect_host(target, p, std::move(fn), o);
    }
    connector_.connect_host(host, port, std::move(fn), o);
  });
}

void Worker::remote_write(uint64_t dest, uint64_t src, unsigned src_worker, uint64_t seq,
                          std::string_view bytes, bool ends, bool close_after) {
  Link* d = link(dest);
  bool ok = d && d->output(FrameKey{src, seq}, bytes, ends, close_after);
  if (ok) Stats::bump(stats().bytes_relayed, bytes.size());
  size_t n = bytes.size();
  if (ok && d->over_limit()) {
    d->hold_credit({src_worker, src, n});
    return;
  }
  outbox(src_worker).add_credit(src, seq, n, ok);
}

MailBatch& Worker::outbox(unsigned to) {
  return engine_.channel(index_, to).filling();
}

void Worker::hand_over_mail() {
  Engine& e = engine_;
  unsigned from = index_;
  for (unsigned to = 0; to < e.worker_count(); ++to) {
    if (to == from) continue;
    if (e.channel(from, to).hand_over()) e.post_to(to, [&e, from, to] { e.worker(to).receive_mail(from); });
  }
}

void Worker::receive_mail(unsigned from) {
  engine_.channel(from, index_).drain([this, from](MailBatch& b) {
    for (const Mail& m : b.mail) {
      switch (m.kind) {
        case Mail::Kind::write:
          remote_write(m.dest, m.src, from, m.seq, b.bytes(m), m.ends, m.close_after);
          break;
        case Mail::Kind::credit:
          if (Link* l = link(m.src)) {
            l->credit(m.len);
            if (!m.ok) l->relay_failed(m.seq, "the next hop's connection is gone", 481);
          }
          break;
        case Mail::Kind::track:
          remote_track(b.tracks[m.index]);
          break;
        case Mail::Kind::call:
          b.calls[m.index]();
          break;
      }
    }
  });
}

void Worker::remote_track(const Transaction& t) {
  if (!link(t.dest)) {
    // The destination is gone already: the REPORT goes now rather than in 30 s.
    transaction_timed_out(t);
    return;
  }
  txns_.add(t);
}

void Worker::send_on(uint64_t conid, std::string_view bytes) {
  Link* l = link(conid);
  if (!l || !l->send(bytes))
    LM_INFO("engine: connection %llu gone, dropping %zu bytes", (unsigned long long)conid, bytes.size());
}

void Worker::send_report(uint64_t src, const ReportInfo& info, uint16_t code, std::string_view comment) {
  std::string out;
  write_report(out, info, code, comment, tids_);
  Stats::bump(stats().reports_sent);
  unsigned sw = net::Workers::worker_of(src);
  if (sw == index_) {
    send_on(src, out);
    return;
  }
  Engine& e = engine_;
  auto copy = std::make_shared<std::string>(std::move(out));
  outbox(sw).add_call([&e, sw, src, copy] { e.worker(sw).send_on(src, *copy); });
}

void Worker::transaction_answered(const Transaction& t, uint16_t code, std::string_view comment) {
  // RFC 4976 §6.4.3: a non-200 response to a SEND that asked for failure reports becomes a REPORT.
  if (code != 200 && t.has_report) send_report(t.source, t.report, code, comment);
}

void Worker::transaction_timed_out(const Transaction& t) {
  // RFC 4976 §6.4.1: no response 30 s after the last byte: REPORT 408 when Failure-Report is yes.
  if (t.has_report && t.report.on_timeout) {
    LM_INFO("engine: no response to %s within the transaction timeout", t.tid.c_str());
    send_report(t.source, t.report, 408, {});
  }
}

// ---------------------------------------------------------------------------------------------
// Engine

struct Engine::Threads {
  explicit Threads(unsigned n) : workers(n) {}
  net::Workers workers;
};

Engine::Engine(EngineConfig cfg, Router& router) : cfg_(std::move(cfg)), router_(router) {
  if (cfg_.children == 0) cfg_.children = 1;
  if (cfg_.cmap_size > 0) cmap_ = std::make_unique<ConnectionMap>(cfg_.cmap_size);
}

Engine::~Engine() {
  stop();
}

bool Engine::post_to(unsigned worker, std::function<void()> fn) {
  if (!threads_) return false;
  return threads_->workers.post_to(worker, std::move(fn));
}

Result<void> Engine::start() {
  if (started_) return make_error(0, "engine already started");
  bool tls_listen = false;
  for (const ListenAddr& a : cfg_.listen) tls_listen = tls_listen || a.proto == "tls";
  const net::TlsSettings& ts = cfg_.tls;
  bool tls_configured = !ts.certificate.empty() || !ts.private_key.empty() || !ts.ca_list.empty();
  if (!tls_) {
    auto ctx = net::TlsContext::create(ts);
    if (ctx) {
      tls_ = std::move(*ctx);
    } else if (tls_listen || tls_configured) {
      // Start-up: the message names the file or the setting that is wrong.
      return ctx.error();
    } else {
      LM_WARN("engine: no TLS context, msrps next hops will fail: %s", ctx.error().message.c_str());
    }
  }
  try {
    threads_ = std::make_unique<Threads>(cfg_.children);
  } catch (const std::exception& e) {
    return make_error(0, e.what());
  }
  for (unsigned i = 0; i < cfg_.children; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i, threads_->workers.loop(i)));
  ports_.clear();
  for (const ListenAddr& a : cfg_.listen) {
    if (a.proto != "tcp" && a.proto != "tls") {
      workers_.clear();
      threads_.reset();
      return make_error(0, "listen " + a.proto + ":" + a.ip + ": only tcp and tls are supported");
    }
    if (a.proto == "tls" && (!tls_ || !tls_->has_certificate())) {
      workers_.clear();
      threads_.reset();
      return make_error(0, "listen tls:" + a.ip + ":" + std::to_string(a.port) +
                               ": no certificate (modparam(\"tls\", \"certificate\", ...))");
    }
    uint16_t port = a.port;
    for (unsigned i = 0; i < workers_.size(); ++i) {
      uint16_t bound = 0;
      if (auto r = workers_[i]->listen(a, port, &bound); !r) {
        workers_.clear();
        threads_.reset();
        return r;
      }
      port = bound;
    }
    ports_.push_back(port);
  }
  channels_.clear();
  for (size_t i = 0; i < workers_.size() * workers_.size(); ++i)
    channels_.push_back(std::make_unique<MailChannel>());
  for (unsigned i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_->workers.loop(i).post([w] { w->on_start(); });
  }
  threads_->workers.start();
  started_ = true;
  return {};
}

void Engine::stop() {
  if (!threads_) return;
  threads_->workers.stop();
  // The loops have stopped: close the connections while their handlers still exist.
  for (auto& w : workers_) w->close_all();
  workers_.clear();
  channels_.clear();
  threads_.reset();
  started_ = false;
}

std::vector<uint16_t> Engine::bound_ports() const {
  return ports_;
}

}  // namespace msrpd::relay
