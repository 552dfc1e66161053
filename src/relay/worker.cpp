#include "relay/worker.h"

#include <sys/socket.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "msrp/status.h"
#include "net/next_hop.h"
#include "net/stream.h"
#include "net/workers.h"
#include "relay/link.h"

namespace msrpd::relay {

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

Worker::Worker(Engine& e, unsigned index, net::ConnectionRegistry& connections)
    : engine_(e),
      index_(index),
      loop_(connections.loop()),
      connections_(connections),
      resolver_(make_resolver(loop_, e.config())),
      connector_(connections, resolver_.get()),
      txns_(loop_, e.config().transaction_timeout_ms, [this](Transaction& t) { transaction_timed_out(t); }),
      refusals_(e.mutable_stats()) {
  const EngineConfig& cfg = e.config();
  // Room for the longest head with a whole non-SEND body (Link::whole_bound, RFC 4975 §7.1).
  inbound_.read_buffer_limit =
      std::max(cfg.read_buffer_limit, cfg.limits.max_head + cfg.limits.max_non_send_body + 4096);
  inbound_.idle_timeout_ms = cfg.tcp_connection_lifetime * 1000;
  inbound_.lifetime_ms = cfg.tcp_connection_max_lifetime * 1000;
  inbound_.probation_ms = cfg.probation_seconds * 1000;
  outbound_ = inbound_;
  env_.config = &cfg;
  env_.stats = &e.mutable_stats();
  env_.cmap = e.cmap();
  env_.addresses = &e.addresses();
  env_.connections = &connections;
  env_.buffers = &buffers_;
  env_.lookup_item = &lookup_item_;
  env_.refusals = &refusals_;
  env_.own = &e.mutable_own_uris();
  env_.bindings = cfg.open_relay ? nullptr : &e.bindings();
  env_.self = this;
  env_.sockets = &e.local_sockets();
  // The memory budget of connections without a successful request yet closes one (net::Workers).
  connections.on_budget_close([this](net::Connection& c) { budget_closing(c); });
}

void Worker::budget_closing(net::Connection& c) {
  const Link* l = static_cast<const Link*>(c.handler());
  const net::MemoryBudget* b = connections_.budget();
  char what[128];
  std::snprintf(what, sizeof what,
                "connection closed, unauthenticated peers hold %zu KiB (unauth_memory_kb %zu)",
                b ? b->used() / 1024 : 0, b ? b->limit() / 1024 : 0);
  refusals_.refuse(Rule::budget, l ? l->srcaddr() : std::string_view(c.peer_ip()), what);
}

Worker::~Worker() = default;

Result<void> Worker::listen(const ListenAddr& a, uint16_t port, uint16_t* bound) {
  net::ListenOptions o;
  o.ip = a.ip;
  o.port = port;
  o.settings = inbound_;
  // Engine::start opens worker 0's listener of each address first, then the others' with
  // SO_REUSEPORT: the first makes sure no other process holds the address (issue 11 part 7; two
  // relays splitting one port's connections answer each other's sessions 481).
  o.exclusive = index_ == 0;
  if (a.proto == "tls") {
    // RFC 4976 §6.1: msrps; the handshake runs on this loop before the connection is accepted
    // (a failed or stalled one is dropped there, the relay keeps serving the others).
    o.transport = net::Transport::tls;
    o.tls = engine_.tls_context();
  }
  auto l = net::Listener::open(connections_, o, [this](net::Connection& c) { accepted(c); });
  if (!l) return l.error();
  if (bound) *bound = (*l)->port();
  listeners_.push_back(std::move(*l));
  return {};
}

void Worker::accepted(net::Connection& c) {
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
}

namespace {
constexpr uint32_t kTrimEveryMs = 5000;
constexpr size_t kSpareTransactions = 256;  // beyond a quarter more than the live ones
constexpr size_t kSpareBlocks = 64;         // 1 MiB of 16 KiB write blocks and read buffers
constexpr size_t kQuietSpareBlocks = 8;     // while no byte comes in
constexpr uint64_t kQuietTrimTicks = 6;     // the heap is trimmed every 30 s while quiet
constexpr size_t kHeapTrimBytes = size_t{1} << 20;
}  // namespace

// A load that has passed leaves the worker's pools at their high-water mark (transaction records,
// write blocks) and glibc keeps what was freed in its heaps: the soak (bench/soak.sh) saw RSS go
// 11 -> 95 MB and stay there after the last connection closed. Every few seconds what the pools
// hold beyond the present need, plus a margin, goes back, and the heap is given back to the
// system when that was more than a little. Once the worker is quiet (no byte read since the last
// look) the margins go too: spare records and blocks are small allocations made all over the heap
// during the peak, and each one left pins its page (docs/PERFORMANCE.md, "Soak"); the heap is then
// trimmed at once and every kQuietTrimTicks while quiet, since what other threads free later
// (closed connections' index entries, stale nonces, expired cmap items) lands in this heap too.
// Nothing here runs per frame.
void Worker::trim() {
  uint64_t in = stats().bytes_in.load(std::memory_order_relaxed);
  bool quiet = in == trim_bytes_in_;
  bool went_quiet = quiet && busy_since_trim_;
  busy_since_trim_ = !quiet;
  trim_bytes_in_ = in;
  quiet_ticks_ = quiet ? quiet_ticks_ + 1 : 0;
  size_t freed = txns_.trim(quiet ? 0 : txns_.size() / 4 + kSpareTransactions) * sizeof(Transaction);
  freed += connections_.blocks().trim(quiet ? kQuietSpareBlocks : kSpareBlocks);
  if (went_quiet) {
    for (unsigned to = 0; to < engine_.worker_count(); ++to) engine_.channel(index_, to).trim();
  }
  bool quiet_trim = went_quiet || (quiet && quiet_ticks_ % kQuietTrimTicks == 0);
  if (freed < kHeapTrimBytes && !quiet_trim) return;
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

void Worker::on_start() {
  common::log_set_thread_label("worker " + std::to_string(index_));
  loop_.set_iteration_end([this] { hand_over_mail(); });
  trim_timer_ = std::make_unique<net::Timer>(loop_, [this] { trim(); });
  trim_timer_->start(kTrimEveryMs, kTrimEveryMs);
  if (index_ == 0) {
    unsigned s = config().timer_interval ? config().timer_interval : 60;
    clean_timer_ = std::make_unique<net::Timer>(loop_, [this] {
      if (ConnectionMap* m = engine_.cmap()) m->clean(CmapItem::Clock::now());
      engine_.bindings().clean(CmapItem::Clock::now());
    });
    clean_timer_->start(s * 1000, s * 1000);
  }
  engine_.router().on_worker_start(index_);
}

Link* Worker::link(uint64_t id) {
  net::Connection* c = connections_.find(id);
  return c ? static_cast<Link*>(c->handler()) : nullptr;
}

Link& Worker::adopt(net::Connection& c, bool outbound, bool self) {
  auto l = std::make_unique<Link>(*this, c, outbound, self);
  engine_.connection_count().fetch_add(1, std::memory_order_relaxed);
  Link& ref = *l;
  c.set_handler(std::move(l));
  return ref;
}

uint64_t Worker::self_link() {
  if (self_out_ != 0 && link(self_out_) && link(self_in_)) return self_out_;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    LM_ERR("engine: no self link (socketpair: %s)", std::strerror(errno));
    return 0;
  }
  net::Connection& out = connections_.adopt(net::make_tcp_stream(fds[0]), outbound_, true);
  net::Connection& in = connections_.adopt(net::make_tcp_stream(fds[1]), inbound_, false);
  adopt(out, true, true);
  adopt(in, false, true);
  self_out_ = out.id();
  self_in_ = in.id();
  LM_DBG("engine: self link %llu -> %llu", static_cast<unsigned long long>(self_out_),
         static_cast<unsigned long long>(self_in_));
  return self_out_;
}

void Worker::self_link_closed(uint64_t id) {
  if (id != self_out_ && id != self_in_) return;
  uint64_t other = id == self_out_ ? self_in_ : self_out_;
  self_out_ = self_in_ = 0;
  if (net::Connection* c = connections_.find(other)) c->close();
}

void Worker::close_all() {
  connections_.close_all(true);
  clean_timer_.reset();
  trim_timer_.reset();
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
  o.local_ip = d.local_ip;  // msrp_set_dst's sock
  net::NextHop hop{d.host, d.port, d.port_given, d.secure};
  net::connect_next_hop(loop_, connector_, resolver_.get(), hop, o, std::move(fn));
}

void Worker::connect_for(const Destination& d, FrameKey waiter) {
  for (auto& h : pending_hops_) {
    if (h->is(d)) {
      h->waiters.push_back(waiter);
      return;
    }
  }
  auto hop = std::make_unique<PendingHop>();
  hop->host = d.host;
  hop->port = d.port;
  hop->port_given = d.port_given;
  hop->secure = d.secure;
  hop->local_ip = d.local_ip;
  hop->waiters.push_back(waiter);
  PendingHop* p = hop.get();
  pending_hops_.push_back(std::move(hop));
  connect_to(d, [this, p](Result<net::Connection*> r) { hop_done(p, std::move(r)); });
}

bool Worker::waits_on_hop(const Destination& d, uint64_t src) const {
  for (const auto& h : pending_hops_) {
    if (!h->is(d)) continue;
    for (const FrameKey& k : h->waiters)
      if (k.src == src) return true;
  }
  return false;
}

void Worker::hop_done(PendingHop* p, Result<net::Connection*> r) {
  auto it =
      std::find_if(pending_hops_.begin(), pending_hops_.end(), [p](const auto& h) { return h.get() == p; });
  if (it == pending_hops_.end()) return;
  std::unique_ptr<PendingHop> hop = std::move(*it);
  pending_hops_.erase(it);
  uint64_t dest = 0;
  if (r) {
    Link& out = adopt(**r, true);
    // Recorded under the URI's host name too, so later frames to it reuse the connection.
    if (!net::SockAddr::is_numeric(hop->host)) out.set_name_alias(hop->host, hop->port);
    Stats::bump(stats().connections_opened);
    dest = (*r)->id();
  } else {
    Stats::bump(stats().connect_failures);
  }
  bool timeout = !r && r.error().message.find("timeout") != std::string::npos;
  uint16_t code =
      msrp::code_of(timeout ? msrp::Status::request_timeout : msrp::Status::session_does_not_exist);
  // In the order they came: a link's later frame never overtakes its earlier one.
  for (const FrameKey& k : hop->waiters) {
    Link* l = link(k.src);
    if (!l) continue;
    if (r) {
      l->hop_connected(k.seq, dest);
    } else {
      l->hop_failed(k.seq, r.error().message, code);
    }
  }
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
            if (!m.ok) {
              l->forward().failed(m.seq, "the next hop's connection is gone",
                                  msrp::code_of(msrp::Status::session_does_not_exist));
            }
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
  Link* d = link(t.dest);
  if (!d) {
    // The destination is gone already: the REPORT goes now rather than in 30 s.
    transaction_timed_out(t);
    return;
  }
  // The frame's bytes came in the same batch, before this record: written, or held by the gate
  // (then the timeout starts when it writes them, RFC 4975 §7.1.1).
  FrameKey key{t.source, t.seq};
  bool now = d->arms_now(key);
  txns_.add(t, now);
  if (!now) d->arm_when_written(key, t.tid);
}

void Worker::send_on(uint64_t conid, std::string_view bytes) {
  Link* l = link(conid);
  if (!l || !l->send(bytes, false))
    LM_INFO("engine: connection %llu gone, dropping %zu bytes", (unsigned long long)conid, bytes.size());
}

void Worker::send_report(uint64_t src, const ReportInfo& info, uint16_t code, std::string_view comment) {
  Stats::bump(stats().reports_sent);
  unsigned sw = net::Workers::worker_of(src);
  if (sw == index_) {
    BufferPool::Lease out = buffers_.take();
    write_report(*out, info, code, comment, tids_);
    send_on(src, *out);
    return;
  }
  auto copy = std::make_shared<std::string>();
  write_report(*copy, info, code, comment, tids_);
  Engine& e = engine_;
  outbox(sw).add_call([&e, sw, src, copy] { e.worker(sw).send_on(src, *copy); });
}

namespace {
// The empty chunk a message split by this relay ends with (Byte-Range N+1-N: the sender ended its
// message without more body) carries no byte a REPORT could name; the pieces before it have
// transactions of their own.
bool reports_no_byte(const Transaction& t) {
  return t.report.received == 0 && t.report.range_start > 1;
}
}  // namespace

void Worker::transaction_answered(const Transaction& t, uint16_t code, std::string_view comment) {
  // RFC 4975 §10.5: a 413 stops the message at its source (message_stop.h); told before the REPORT
  // below, in the same batch, so a sender that reads the REPORT finds the message stopped.
  if (code == msrp::code_of(msrp::Status::stop_sending) && t.method == msrp::Method::send) {
    StopNotice n;
    n.dest = t.dest;
    n.message_id = t.report.message_id;
    n.session_uri = t.report.from_path;
    n.code = code;
    n.comment.assign(comment);
    stop_message(t.source, std::move(n));
  }
  // RFC 4976 §6.4.3: a non-200 response to a SEND that asked for failure reports becomes a REPORT.
  if (code != msrp::code_of(msrp::Status::ok) && t.has_report && !reports_no_byte(t))
    send_report(t.source, t.report, code, comment);
}

void Worker::transaction_timed_out(const Transaction& t) {
  if (reports_no_byte(t)) return;
  // RFC 4976 §6.4.1: no response 30 s after the last byte: REPORT 408 when Failure-Report is yes.
  if (t.has_report && t.report.on_timeout) {
    LM_INFO("engine: no response to %s within the transaction timeout", t.tid.c_str());
    send_report(t.source, t.report, msrp::code_of(msrp::Status::request_timeout), {});
  }
}

}  // namespace msrpd::relay
