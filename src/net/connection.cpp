#include "net/connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "net/stream.h"

namespace msrpd::net {

namespace {
constexpr size_t kBlockBytes = BlockPool::kBlockBytes - 2 * sizeof(void*);
// A TLS write retried after would_block must present the whole sealed record again (stream.h).
static_assert(kBlockBytes >= kMaxStreamRecord);
constexpr int kMaxIovecs = 16;
constexpr int kMaxReadsPerEvent = 16;  // fairness between connections of one loop
std::atomic<uint64_t> g_next_sequence{1};
}  // namespace

struct Connection::Block {
  Block* next = nullptr;
  uint32_t begin = 0;
  uint32_t end = 0;
  char data[kBlockBytes];
};

// ---- BlockPool ----

BlockPool::~BlockPool() {
  while (free_) {
    Free* n = free_->next;
    ::operator delete(free_);
    free_ = n;
  }
}

void* BlockPool::take() {
  if (!free_) return ::operator new(kBlockBytes);
  Free* f = free_;
  free_ = f->next;
  --nfree_;
  return f;
}

void BlockPool::give(void* block) {
  if (nfree_ >= max_free_) {
    ::operator delete(block);
    return;
  }
  auto* f = static_cast<Free*>(block);
  f->next = free_;
  free_ = f;
  ++nfree_;
}

std::string_view close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::local:
      return "local";
    case CloseReason::peer_closed:
      return "peer_closed";
    case CloseReason::error:
      return "error";
    case CloseReason::idle_timeout:
      return "idle_timeout";
    case CloseReason::lifetime:
      return "lifetime";
    case CloseReason::probation:
      return "probation";
    case CloseReason::shutdown:
      return "shutdown";
  }
  return "unknown";
}

// ---- Connection ----

Connection::Connection(EventLoop& loop, uint64_t id, std::unique_ptr<Stream> stream,
                       const ConnectionSettings& s, bool outbound)
    : loop_(loop),
      id_(id),
      stream_(std::move(stream)),
      fd_(stream_->fd()),
      settings_(s),
      transport_(stream_->transport()),
      outbound_(outbound),
      pool_(loop.connections().blocks()),
      idle_timer_(loop, [this] { on_idle_timer(); }),
      lifetime_timer_(loop, [this] { close(CloseReason::lifetime); }),
      probation_timer_(loop, [this] { close(CloseReason::probation); }),
      kick_timer_(loop, [this] { on_kick(); }) {
  if (settings_.read_buffer_limit == 0) settings_.read_buffer_limit = 1;
  if (settings_.write_low_watermark > settings_.write_high_watermark)
    settings_.write_low_watermark = settings_.write_high_watermark;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    local_addr_ = SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
  len = sizeof ss;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    peer_addr_ = SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
  local_ip_ = local_addr_.ip();
  peer_ip_ = peer_addr_.ip();
  created_ = last_activity_ = loop_.now();
  rinit_ = std::min(std::max<size_t>(settings_.read_buffer_initial, 256), settings_.read_buffer_limit);
  if (const PeerCertificate* p = stream_->peer_certificate())
    peer_cert_ = std::make_unique<PeerCertificate>(*p);
  if (settings_.idle_timeout_ms) idle_timer_.start(settings_.idle_timeout_ms);
  if (settings_.lifetime_ms) lifetime_timer_.start(settings_.lifetime_ms);
}

Connection::~Connection() {
  while (whead_) {
    Block* n = whead_->next;
    free_block(whead_);
    whead_ = n;
  }
  rlen_ = 0;
  release_read_buffer();
}

void Connection::take_read_buffer() {
  if (rbuf_) return;
  if (rinit_ <= BlockPool::kBlockBytes) {
    rbuf_ = static_cast<char*>(pool_.take());
    rbuf_pooled_ = true;
  } else {
    rbuf_ = new char[rinit_];
    rbuf_pooled_ = false;
  }
  rcap_ = rinit_;
}

void Connection::release_read_buffer() {
  if (!rbuf_ || rlen_ > 0) return;
  if (rbuf_pooled_)
    pool_.give(rbuf_);
  else
    delete[] rbuf_;
  rbuf_ = nullptr;
  rcap_ = 0;
}

bool Connection::peer_certificate_verified() const {
  return peer_cert_ && peer_cert_->verified;
}

const std::vector<std::string>& Connection::peer_certificate_dns_names() const {
  static const std::vector<std::string> kNone;
  return peer_cert_ ? peer_cert_->dns_names : kNone;
}

void Connection::set_handler(ConnectionHandler* h) {
  handler_ = h;
  update_interest();
  if (h && state_ == State::open && stream_->has_pending()) kick_read();
}

void Connection::set_handler(std::unique_ptr<ConnectionHandler> h) {
  owned_handler_ = std::move(h);
  set_handler(owned_handler_.get());
}

void Connection::kick_read() {
  read_pending_ = true;
  if (!kick_timer_.armed()) kick_timer_.start(0);
}

void Connection::pause_reading() {
  paused_ = true;
  update_interest();
}

void Connection::resume_reading() {
  bool was_stopped = paused_ || read_full_;
  paused_ = false;
  read_full_ = false;
  if (state_ != State::open) return;
  if (was_stopped && rlen_ > 0) {
    // The buffered bytes would not be announced by epoll again: hand them over next iteration.
    redeliver_ = true;
    if (!kick_timer_.armed()) kick_timer_.start(0);
  }
  // Same for bytes a TLS stream decrypted but we had no room for.
  if (was_stopped && stream_->has_pending()) kick_read();
  update_interest();
}

void Connection::update_interest() {
  if (state_ == State::closed) return;
  uint32_t want = 0;
  bool reading = state_ == State::lingering || (state_ == State::open && handler_ && !paused_ && !read_full_);
  // A TLS operation waiting for the opposite readiness replaces its own interest, or the level-
  // triggered loop would spin on an fd that is ready for the wrong thing.
  if ((reading && !read_wants_write_) || (write_wants_read_ && whead_)) want |= EPOLLIN;
  if ((whead_ && write_blocked_ && !write_wants_read_) || (read_wants_write_ && reading)) want |= EPOLLOUT;
  if (want != interest_) {
    interest_ = want;
    (void)loop_.modify(fd_, want);
  }
}

void Connection::on_io(uint32_t events) {
  if ((events & EPOLLERR) && !(events & EPOLLIN)) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    close(CloseReason::error, std::strerror(err ? err : EIO));
    return;
  }
  if ((events & EPOLLOUT) && read_wants_write_) {
    // TLS: the read that stopped for want of a writable socket goes on now.
    read_wants_write_ = false;
    on_readable();
    if (state_ == State::closed) return;
  }
  if ((events & EPOLLIN) && write_wants_read_) {
    // TLS: the write that stopped for want of a readable socket goes on now.
    write_wants_read_ = false;
    if (whead_) flush();
    if (state_ == State::closed) return;
  }
  if ((events & EPOLLOUT) && whead_ && !write_wants_read_) {
    write_blocked_ = false;
    flush();
    if (state_ == State::closed) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    bool reading =
        state_ == State::lingering || (state_ == State::open && handler_ && !paused_ && !read_full_);
    if (reading) {
      on_readable();
    } else if (events & EPOLLHUP) {
      // Fully shut down while we were not reading: nothing more can come or go.
      close(CloseReason::peer_closed);
    }
  }
}

void Connection::on_readable() {
  for (int round = 0; round < kMaxReadsPerEvent; ++round) {
    if (state_ == State::lingering) {
      // After close_after_flush: drain and drop until the peer's EOF.
      take_read_buffer();
      IoResult r = stream_->read(rbuf_, rcap_);
      if (r.status == IoResult::Status::ok) continue;
      if (r.status == IoResult::Status::would_block) return wait_for(r);
      close(CloseReason::local);
      return;
    }
    if (state_ != State::open || !handler_ || paused_ || read_full_) return;
    if (redeliver_) {
      // resume_reading() ran and epoll fired before the kick: hand the buffered bytes over first.
      redeliver_ = false;
      deliver();
      continue;
    }
    take_read_buffer();
    if (rlen_ == rcap_) {
      if (rcap_ < settings_.read_buffer_limit) {
        size_t ncap = std::min(rcap_ * 2, settings_.read_buffer_limit);
        char* nbuf = new char[ncap];
        std::memcpy(nbuf, rbuf_, rlen_);
        if (rbuf_pooled_)
          pool_.give(rbuf_);
        else
          delete[] rbuf_;
        rbuf_ = nbuf;
        rbuf_pooled_ = false;
        rcap_ = ncap;
      } else {
        read_full_ = true;
        update_interest();
        return;
      }
    }
    size_t space = rcap_ - rlen_;
    IoResult r = stream_->read(rbuf_ + rlen_, space);
    if (r.status != IoResult::Status::ok) release_read_buffer();
    switch (r.status) {
      case IoResult::Status::ok:
        rlen_ += r.bytes;
        last_activity_ = loop_.now();
        deliver();
        if (state_ == State::closed) return;
        // The socket is (very likely) empty; epoll says if not. A TLS stream may still hold
        // decrypted bytes, which epoll cannot announce.
        if (r.bytes < space && !stream_->has_pending()) return;
        break;
      case IoResult::Status::would_block:
        return wait_for(r);
      case IoResult::Status::eof:
        close(CloseReason::peer_closed);
        return;
      case IoResult::Status::error:
        close(CloseReason::error, stream_->error_text(r.err));
        return;
    }
  }
  // Fairness bound reached: what a TLS stream holds would not wake epoll again.
  if (state_ == State::open && stream_->has_pending()) kick_read();
}

void Connection::wait_for(const IoResult& r) {
  // TLS: SSL_read may need to write first (a post-handshake message to answer).
  bool wants_write = r.want == IoResult::Want::write;
  if (wants_write != read_wants_write_) {
    read_wants_write_ = wants_write;
    update_interest();
  }
}

void Connection::deliver() {
  if (rlen_ == 0 || !handler_ || state_ != State::open) return;
  size_t used = handler_->on_data(*this, std::string_view(rbuf_, rlen_));
  if (state_ == State::closed) return;
  used = std::min(used, rlen_);
  if (used > 0) {
    std::memmove(rbuf_, rbuf_ + used, rlen_ - used);
    rlen_ -= used;
  }
  if (rlen_ == 0) release_read_buffer();  // an idle connection holds no buffer
  if (rlen_ == rcap_ && rcap_ >= settings_.read_buffer_limit) {
    if (!read_full_) {
      read_full_ = true;  // the consumer must consume or resume_reading() before more is read
      update_interest();
    }
  } else if (read_full_) {
    read_full_ = false;  // room again (the consumer took bytes on a redelivery)
    update_interest();
  }
}

void Connection::on_kick() {
  if (redeliver_) {
    redeliver_ = false;
    if (state_ == State::open && !paused_) deliver();
  }
  if (read_pending_ && state_ != State::closed) {
    read_pending_ = false;
    on_readable();
  }
}

Connection::Block* Connection::new_block() {
  static_assert(sizeof(Block) <= BlockPool::kBlockBytes);
  return new (pool_.take()) Block;
}

void Connection::free_block(Block* b) {
  b->~Block();
  pool_.give(b);
}

Result<void> Connection::send(std::string_view data) {
  if (state_ != State::open) return make_error(0, "connection closed");
  if (data.empty()) return {};
  while (!data.empty()) {
    if (!wtail_ || wtail_->end == kBlockBytes) {
      Block* b = new_block();
      if (wtail_)
        wtail_->next = b;
      else
        whead_ = b;
      wtail_ = b;
    }
    size_t n = std::min(data.size(), kBlockBytes - wtail_->end);
    std::memcpy(wtail_->data + wtail_->end, data.data(), n);
    wtail_->end += static_cast<uint32_t>(n);
    queued_ += n;
    data.remove_prefix(n);
  }
  if (queued_ > settings_.write_high_watermark) over_high_ = true;
  // Written at the end of the iteration, with whatever else is sent to this peer until then;
  // a blocked socket is written on EPOLLOUT instead.
  if (!flush_queued_ && !write_blocked_ && !write_wants_read_) loop_.connections().queue_flush(this);
  return {};
}

void Connection::flush_now() {
  if (state_ == State::closed || !whead_ || write_blocked_ || write_wants_read_) return;
  flush();
}

void Connection::flush() {
  while (whead_) {
    iovec iov[kMaxIovecs];
    int n = 0;
    size_t total = 0;
    for (Block* b = whead_; b && n < kMaxIovecs; b = b->next, ++n) {
      iov[n].iov_base = b->data + b->begin;
      iov[n].iov_len = b->end - b->begin;
      total += iov[n].iov_len;
    }
    IoResult r = stream_->writev(iov, n);
    if (r.status == IoResult::Status::would_block) {
      write_wants_read_ = r.want == IoResult::Want::read;  // TLS: wait for EPOLLIN instead
      write_blocked_ = !write_wants_read_;
      break;
    }
    write_wants_read_ = false;
    if (r.status != IoResult::Status::ok) {
      close(CloseReason::error,
            r.status == IoResult::Status::eof ? "connection closed by peer" : stream_->error_text(r.err));
      return;
    }
    last_activity_ = loop_.now();
    size_t left = r.bytes;
    queued_ -= left;
    while (left > 0) {
      size_t in_block = whead_->end - whead_->begin;
      if (left < in_block) {
        whead_->begin += static_cast<uint32_t>(left);
        break;
      }
      left -= in_block;
      Block* b = whead_;
      whead_ = b->next;
      if (!whead_) wtail_ = nullptr;
      free_block(b);
    }
    if (r.bytes < total) {
      write_blocked_ = true;  // the socket buffer is full: EPOLLOUT says when it has room
      break;
    }
  }
  if (!whead_) write_blocked_ = false;
  after_flush_progress();
}

void Connection::after_flush_progress() {
  if (over_high_ && queued_ <= settings_.write_low_watermark) {
    over_high_ = false;
    if (handler_ && state_ == State::open) {
      handler_->on_drained(*this);
      if (state_ == State::closed) return;
    }
  }
  if (!whead_ && state_ == State::flushing) {
    stream_->shutdown_write();
    state_ = State::lingering;
    kick_timer_.cancel();
    lifetime_timer_.cancel();
    idle_timer_.cancel();
    probation_timer_.cancel();
    // Reuse the lifetime timer as the linger bound.
    lifetime_timer_.start(settings_.linger_ms);
  }
  update_interest();
}

void Connection::close_after_flush() {
  if (state_ != State::open) return;
  state_ = State::flushing;
  after_flush_progress();
}

void Connection::close(CloseReason reason, std::string_view detail) {
  if (state_ == State::closed) return;
  if (reason == CloseReason::lifetime && state_ == State::lingering) reason = CloseReason::local;
  state_ = State::closed;
  idle_timer_.cancel();
  lifetime_timer_.cancel();
  probation_timer_.cancel();
  kick_timer_.cancel();
  loop_.remove(fd_);
  stream_.reset();  // closes the socket now
  while (whead_) {
    Block* b = whead_;
    whead_ = b->next;
    free_block(b);
  }
  wtail_ = nullptr;
  queued_ = 0;
  loop_.connections().closed(this);  // also leaves the flush list
  if (handler_) handler_->on_close(*this, reason, detail);
}

void Connection::close_silently(CloseReason reason) {
  handler_ = nullptr;
  close(reason);
}

void Connection::arm_probation(uint32_t ms) {
  if (state_ != State::open) return;
  probation_timer_.start(ms ? ms : settings_.probation_ms);
}

void Connection::disarm_probation() {
  probation_timer_.cancel();
}

void Connection::on_idle_timer() {
  int64_t idle = loop_.now() - last_activity_;
  if (idle >= settings_.idle_timeout_ms) {
    close(CloseReason::idle_timeout);
    return;
  }
  idle_timer_.start(static_cast<uint32_t>(settings_.idle_timeout_ms - idle));
}

// ---- ConnectionRegistry ----

ConnectionRegistry::ConnectionRegistry(EventLoop& loop) : loop_(loop) {}
ConnectionRegistry::~ConnectionRegistry() = default;

bool ConnectionRegistry::PoolKey::operator==(const PoolKey& o) const {
  return transport == o.transport && family == o.family && port == o.port &&
         std::memcmp(addr, o.addr, sizeof addr) == 0;
}

size_t ConnectionRegistry::PoolKeyHash::operator()(const PoolKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the key bytes
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  mix(k.transport);
  mix(k.family);
  mix(static_cast<uint8_t>(k.port));
  mix(static_cast<uint8_t>(k.port >> 8));
  for (uint8_t b : k.addr) mix(b);
  return static_cast<size_t>(h);
}

ConnectionRegistry::PoolKey ConnectionRegistry::key_of(Transport t, const SockAddr& a) {
  PoolKey k;
  k.transport = static_cast<uint8_t>(t);
  k.family = static_cast<uint8_t>(a.family());
  k.port = a.port();
  if (a.family() == AF_INET)
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, 4);
  else if (a.family() == AF_INET6)
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, 16);
  return k;
}

Connection* ConnectionRegistry::find(uint64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second->is_closed()) return nullptr;
  return it->second.get();
}

Connection* ConnectionRegistry::find_reusable(Transport t, const SockAddr& peer) const {
  auto it = pool_.find(key_of(t, peer));
  if (it == pool_.end()) return nullptr;
  for (Connection* c = it->second; c; c = c->pool_next_)
    if (c->is_open()) return c;
  return nullptr;
}

Connection* ConnectionRegistry::find_reusable(Transport t, std::string_view ip, uint16_t port) const {
  auto a = SockAddr::parse(ip, port);
  return a ? find_reusable(t, *a) : nullptr;
}

Connection& ConnectionRegistry::adopt(std::unique_ptr<Stream> stream, const ConnectionSettings& s,
                                      bool outbound) {
  uint64_t seq = g_next_sequence.fetch_add(1, std::memory_order_relaxed) & ((uint64_t{1} << 48) - 1);
  uint64_t id = (static_cast<uint64_t>(loop_.worker_index()) << 48) | seq;
  std::unique_ptr<Connection> owned(new Connection(loop_, id, std::move(stream), s, outbound));
  Connection* c = owned.get();
  by_id_.emplace(id, std::move(owned));
  (void)loop_.add(c->fd_, 0, c);
  Connection*& head = pool_[key_of(c->transport_, c->peer_addr_)];
  c->pool_next_ = head;
  if (head) head->pool_prev_ = c;
  head = c;
  return *c;
}

void ConnectionRegistry::queue_flush(Connection* c) {
  c->flush_queued_ = true;
  flush_list_.push_back(c);
}

void ConnectionRegistry::flush_pending() {
  // A flush can call handlers (on_drained, on_close) that send to other connections: go round
  // until nothing is left.
  while (!flush_list_.empty()) {
    flushing_.swap(flush_list_);
    for (Connection* c : flushing_) {
      if (!c) continue;
      c->flush_queued_ = false;
      c->flush_now();
    }
    flushing_.clear();
  }
}

void ConnectionRegistry::closed(Connection* c) {
  if (c->flush_queued_) {
    c->flush_queued_ = false;
    for (auto* list : {&flush_list_, &flushing_})
      for (Connection*& q : *list)
        if (q == c) q = nullptr;
  }
  if (c->pool_prev_) {
    c->pool_prev_->pool_next_ = c->pool_next_;
  } else {
    auto it = pool_.find(key_of(c->transport_, c->peer_addr_));
    if (it != pool_.end() && it->second == c) {
      if (c->pool_next_)
        it->second = c->pool_next_;
      else
        pool_.erase(it);
    }
  }
  if (c->pool_next_) c->pool_next_->pool_prev_ = c->pool_prev_;
  c->pool_prev_ = c->pool_next_ = nullptr;
  auto it = by_id_.find(c->id_);
  if (it != by_id_.end()) {
    graveyard_.push_back(std::move(it->second));
    by_id_.erase(it);
  }
}

void ConnectionRegistry::close_all(bool notify) {
  std::vector<uint64_t> ids;
  ids.reserve(by_id_.size());
  for (auto& [id, c] : by_id_) ids.push_back(id);
  for (uint64_t id : ids) {
    Connection* c = find(id);
    if (!c) continue;
    if (notify)
      c->close(CloseReason::shutdown);
    else
      c->close_silently();
  }
  collect();
}

void ConnectionRegistry::collect() {
  if (!graveyard_.empty()) graveyard_.clear();
}

}  // namespace msrpd::net
