#include "net/connection.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <new>

#include "common/log.h"
#include "net/socket.h"
#include "net/stream.h"

namespace msrpd::net {

namespace {
constexpr size_t kBlockBytes = BlockPool::kBlockBytes - 2 * sizeof(void*);
// A TLS write retried after would_block must present the whole sealed record again (stream.h).
static_assert(kBlockBytes >= kMaxStreamRecord);
constexpr int kMaxIovecs = 16;
constexpr int kMaxReadsPerEvent = 16;  // fairness between connections of one loop
}  // namespace

// data is left uninitialised on purpose: bytes are copied in before they are read.
struct Connection::Block {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  Block* next = nullptr;
  uint32_t begin = 0;
  uint32_t end = 0;
  char data[kBlockBytes];
};

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
    case CloseReason::budget:
      return "budget";
  }
  return "unknown";
}

// ---- Connection ----

namespace {
// The names of Connection::Flag bits, lowest bit first (HAProxy conn_show_flags).
constexpr std::string_view kFlagNames[] = {
    "paused",           "read_full",        "over_high",     "redeliver",    "read_pending",
    "read_wants_write", "write_wants_read", "write_blocked", "flush_queued", "unread_answers",
};
static_assert(Connection::kUnreadAnswers == 1u << (std::size(kFlagNames) - 1), "a name per flag");
}  // namespace

std::string_view Connection::state_name(State s) {
  switch (s) {
    case State::open:
      return "open";
    case State::flushing:
      return "flushing";
    case State::lingering:
      return "lingering";
    case State::closed:
      return "closed";
  }
  return "unknown";
}

std::string Connection::describe_flags(uint16_t flags) {
  std::string out;
  for (size_t bit = 0; bit < std::size(kFlagNames); ++bit) {
    if (!(flags & (1u << bit))) continue;
    if (!out.empty()) out.push_back('|');
    out.append(kFlagNames[bit]);
  }
  if (uint16_t unknown = flags & static_cast<uint16_t>(~((1u << std::size(kFlagNames)) - 1))) {
    if (!out.empty()) out.push_back('|');
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%x", static_cast<unsigned>(unknown));
    out.append(hex);
  }
  return out.empty() ? "-" : out;
}

std::string Connection::describe() const {
  std::string out(state_name(state_));
  out.push_back(' ');
  out.append(describe_flags(flags_));
  return out;
}

Connection::Connection(ConnectionRegistry& registry, uint64_t id, std::unique_ptr<Stream> stream,
                       const ConnectionSettings& s, bool outbound)
    : registry_(registry),
      loop_(registry.loop()),
      id_(id),
      stream_(std::move(stream)),
      fd_(stream_->fd()),
      settings_(s),
      transport_(stream_->transport()),
      outbound_(outbound),
      pool_(registry.blocks()),
      idle_timer_(loop_, [this] { on_idle_timer(); }),
      lifetime_timer_(loop_, [this] { close(CloseReason::lifetime); }),
      probation_timer_(loop_, [this] { close(CloseReason::probation); }),
      kick_timer_(loop_, [this] { on_kick(); }) {
  if (settings_.read_buffer_limit == 0) settings_.read_buffer_limit = 1;
  if (settings_.write_low_watermark > settings_.write_high_watermark)
    settings_.write_low_watermark = settings_.write_high_watermark;
  local_addr_ = sock::local_addr(fd_);
  peer_addr_ = sock::peer_addr(fd_);
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
  if (budgeted_) registry_.budget_leave(this);
}

bool Connection::charge(size_t capacity) {
  if (!budgeted_ || capacity == charged_) return true;
  bool over = registry_.budget_->move(charged_, capacity);
  charged_ = capacity;
  if (over) registry_.shed();
  return state_ != State::closed;
}

bool Connection::take_read_buffer() {
  if (rbuf_) return true;
  // Charged before the allocation, so that the budget bounds what is resident.
  if (budgeted_ && !charge(rinit_)) return false;
  if (rinit_ <= BlockPool::kBlockBytes) {
    rbuf_ = static_cast<char*>(pool_.take());
    rbuf_pooled_ = true;
  } else {
    rbuf_ = new char[rinit_];
    rbuf_pooled_ = false;
  }
  rcap_ = rinit_;
  return true;
}

void Connection::release_read_buffer() {
  if (!rbuf_ || rlen_ > 0) return;
  if (rbuf_pooled_) {
    pool_.give(rbuf_);
  } else {
    delete[] rbuf_;
  }
  rbuf_ = nullptr;
  rcap_ = 0;
  if (budgeted_) (void)charge(0);
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
  set(kReadPending);
  if (!kick_timer_.armed()) kick_timer_.start(0);
}

void Connection::pause_reading() {
  set(kPaused);
  update_interest();
}

void Connection::resume_reading() {
  bool was_stopped = has(kPaused) || has(kReadFull);
  clear(kPaused);
  clear(kReadFull);
  if (state_ != State::open) return;
  if (was_stopped && rlen_ > 0) {
    // The buffered bytes would not be announced by epoll again: hand them over next iteration.
    set(kRedeliver);
    if (!kick_timer_.armed()) kick_timer_.start(0);
  }
  // Same for bytes a TLS stream decrypted but we had no room for.
  if (was_stopped && stream_->has_pending()) kick_read();
  update_interest();
}

void Connection::update_interest() {
  if (state_ == State::closed) return;
  uint32_t want = 0;
  bool rd = reading();
  // A TLS operation waiting for the opposite readiness replaces its own interest, or the level-
  // triggered loop would spin on an fd that is ready for the wrong thing.
  if ((rd && !has(kReadWantsWrite)) || (has(kWriteWantsRead) && whead_)) want |= EPOLLIN;
  if ((whead_ && has(kWriteBlocked) && !has(kWriteWantsRead)) || (has(kReadWantsWrite) && rd))
    want |= EPOLLOUT;
  if (want != interest_) {
    interest_ = want;
    (void)loop_.modify(fd_, want);
  }
}

void Connection::on_io(uint32_t events) {
  if ((events & EPOLLERR) && !(events & EPOLLIN)) {
    close(CloseReason::error, std::strerror(sock::pending_error(fd_)));
    return;
  }
  if ((events & EPOLLOUT) && has(kReadWantsWrite)) {
    // TLS: the read that stopped for want of a writable socket goes on now.
    clear(kReadWantsWrite);
    on_readable();
    if (state_ == State::closed) return;
  }
  if ((events & EPOLLIN) && has(kWriteWantsRead)) {
    // TLS: the write that stopped for want of a readable socket goes on now.
    clear(kWriteWantsRead);
    if (whead_) flush();
    if (state_ == State::closed) return;
  }
  if ((events & EPOLLOUT) && whead_ && !has(kWriteWantsRead)) {
    clear(kWriteBlocked);
    flush();
    if (state_ == State::closed) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (reading()) {
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
      if (!take_read_buffer()) return;
      IoResult r = stream_->read(rbuf_, rcap_);
      if (r.status == IoResult::Status::ok) continue;
      if (r.status == IoResult::Status::would_block) return wait_for(r);
      close(CloseReason::local);
      return;
    }
    if (!reading()) return;  // (lingering was handled above)
    if (has(kRedeliver)) {
      // resume_reading() ran and epoll fired before the kick: hand the buffered bytes over first.
      clear(kRedeliver);
      deliver();
      continue;
    }
    if (!take_read_buffer()) return;
    if (rlen_ == rcap_) {
      if (rcap_ < settings_.read_buffer_limit) {
        size_t ncap = std::min(rcap_ * 2, settings_.read_buffer_limit);
        if (budgeted_ && !charge(ncap)) return;
        char* nbuf = new char[ncap];
        std::memcpy(nbuf, rbuf_, rlen_);
        if (rbuf_pooled_) {
          pool_.give(rbuf_);
        } else {
          delete[] rbuf_;
        }
        rbuf_ = nbuf;
        rbuf_pooled_ = false;
        rcap_ = ncap;
      } else {
        set(kReadFull);
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
  if (wants_write != has(kReadWantsWrite)) {
    set(kReadWantsWrite, wants_write);
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
    if (!has(kReadFull)) {
      set(kReadFull);  // the consumer must consume or resume_reading() before more is read
      update_interest();
    }
  } else if (has(kReadFull)) {
    clear(kReadFull);  // room again (the consumer took bytes on a redelivery)
    update_interest();
  }
}

void Connection::on_kick() {
  if (has(kRedeliver)) {
    clear(kRedeliver);
    if (state_ == State::open && !has(kPaused)) deliver();
  }
  if (has(kReadPending) && state_ != State::closed) {
    clear(kReadPending);
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
      if (wtail_) {
        wtail_->next = b;
      } else {
        whead_ = b;
      }
      wtail_ = b;
    }
    size_t n = std::min(data.size(), kBlockBytes - wtail_->end);
    std::memcpy(wtail_->data + wtail_->end, data.data(), n);
    wtail_->end += static_cast<uint32_t>(n);
    queued_ += n;
    data.remove_prefix(n);
  }
  if (queued_ > settings_.write_high_watermark) {
    set(kOverHigh);
    if (probation_armed() && !has(kUnreadAnswers)) {
      set(kUnreadAnswers);  // the next read round stops (reading())
      update_interest();
    }
  }
  // Written at the end of the iteration, with whatever else is sent to this peer until then;
  // a blocked socket is written on EPOLLOUT instead.
  if (!has(kFlushQueued) && !has(kWriteBlocked) && !has(kWriteWantsRead)) registry_.queue_flush(this);
  return {};
}

void Connection::flush_now() {
  if (state_ == State::closed || !whead_ || has(kWriteBlocked) || has(kWriteWantsRead)) return;
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
      bool wants_read = r.want == IoResult::Want::read;  // TLS: wait for EPOLLIN instead
      set(kWriteWantsRead, wants_read);
      set(kWriteBlocked, !wants_read);
      break;
    }
    clear(kWriteWantsRead);
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
      set(kWriteBlocked);  // the socket buffer is full: EPOLLOUT says when it has room
      break;
    }
  }
  if (!whead_) clear(kWriteBlocked);
  after_flush_progress();
}

void Connection::after_flush_progress() {
  if (has(kUnreadAnswers) && queued_ <= settings_.write_low_watermark) read_answers_again();
  if (has(kOverHigh) && queued_ <= settings_.write_low_watermark) {
    clear(kOverHigh);
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
  LM_DBG("connection %llu %s:%u closed (%s) in %s", static_cast<unsigned long long>(id_), peer_ip_.c_str(),
         static_cast<unsigned>(peer_port()), close_reason_name(reason).data(), describe().c_str());
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
  if (budgeted_) registry_.budget_leave(this);
  registry_.closed(this);  // also leaves the flush list
  if (handler_) handler_->on_close(*this, reason, detail);
}

void Connection::close_silently(CloseReason reason) {
  handler_ = nullptr;
  close(reason);
}

void Connection::arm_probation(uint32_t ms) {
  if (state_ != State::open) return;
  probation_timer_.start(ms ? ms : settings_.probation_ms);
  if (registry_.budget_ && !budgeted_) {
    registry_.budget_join(this);
    (void)charge(rcap_);  // (0 at accept)
  }
}

void Connection::read_answers_again() {
  clear(kUnreadAnswers);
  update_interest();
  // What a TLS stream decrypted meanwhile would not wake epoll.
  if (state_ == State::open && stream_->has_pending()) kick_read();
}

void Connection::disarm_probation() {
  probation_timer_.cancel();
  if (has(kUnreadAnswers)) read_answers_again();
  if (budgeted_) registry_.budget_leave(this);
}

void Connection::keep_while_idle_for(uint32_t ms) {
  kept_until_ = std::max(kept_until_, loop_.now() + ms);
}

void Connection::on_idle_timer() {
  int64_t now = loop_.now();
  int64_t idle = now - last_activity_;
  if (idle < settings_.idle_timeout_ms) {
    idle_timer_.start(static_cast<uint32_t>(settings_.idle_timeout_ms - idle));
  } else if (kept_until_ > now) {
    // Idle, but a session lives on it (keep_while_idle_for): look again when the last one ends.
    idle_timer_.start(static_cast<uint32_t>(kept_until_ - now));
  } else {
    close(CloseReason::idle_timeout);
  }
}

}  // namespace msrpd::net
