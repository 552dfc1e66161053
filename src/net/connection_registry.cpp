// ConnectionRegistry and BlockPool (declared in connection.h): the connections of one loop and
// the memory they share.
#include "net/connection.h"

#include <atomic>
#include <cstring>

#include "net/stream.h"

namespace msrpd::net {

namespace {
std::atomic<uint64_t> g_next_sequence{1};  // connection ids, unique in the process
}  // namespace

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

size_t BlockPool::trim(size_t keep) {
  size_t freed = 0;
  while (nfree_ > keep) {
    Free* f = free_;
    free_ = f->next;
    --nfree_;
    ::operator delete(f);
    freed += kBlockBytes;
  }
  return freed;
}

// ---- ConnectionRegistry ----

ConnectionRegistry::ConnectionRegistry(EventLoop& loop)
    : loop_(loop),
      // One gathering write per connection that sent in the iteration; then the closed ones go.
      write_hook_(loop.add_before_sleep(EventLoop::Stage::write, [this] { flush_pending(); })),
      retire_hook_(loop.add_before_sleep(EventLoop::Stage::retire, [this] { collect(); })) {}

ConnectionRegistry::~ConnectionRegistry() {
  close_all(false);
  loop_.remove_before_sleep(write_hook_);
  loop_.remove_before_sleep(retire_hook_);
}

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
  if (a.family() == AF_INET) {
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, 16);
  }
  return k;
}

Connection* ConnectionRegistry::find(uint64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second->is_closed()) return nullptr;
  return it->second.get();
}

Connection* ConnectionRegistry::find_reusable(Transport t, const SockAddr& peer,
                                              std::string_view local_ip) const {
  auto it = pool_.find(key_of(t, peer));
  if (it == pool_.end()) return nullptr;
  for (Connection* c = it->second; c; c = c->pool_next_)
    if (c->is_open() && (local_ip.empty() || c->local_ip() == local_ip)) return c;
  return nullptr;
}

Connection* ConnectionRegistry::find_reusable(Transport t, std::string_view ip, uint16_t port,
                                              std::string_view local_ip) const {
  auto a = SockAddr::parse(ip, port);
  return a ? find_reusable(t, *a, local_ip) : nullptr;
}

Connection& ConnectionRegistry::adopt(std::unique_ptr<Stream> stream, const ConnectionSettings& s,
                                      bool outbound) {
  uint64_t seq = g_next_sequence.fetch_add(1, std::memory_order_relaxed) & ((uint64_t{1} << 48) - 1);
  uint64_t id = (static_cast<uint64_t>(loop_.worker_index()) << 48) | seq;
  std::unique_ptr<Connection> owned(new Connection(*this, id, std::move(stream), s, outbound));
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
  c->set(Connection::kFlushQueued);
  flush_list_.push_back(c);
}

void ConnectionRegistry::flush_pending() {
  // A flush can call handlers (on_drained, on_close) that send to other connections: go round
  // until nothing is left.
  while (!flush_list_.empty()) {
    flushing_.swap(flush_list_);
    for (Connection* c : flushing_) {
      if (!c) continue;
      c->clear(Connection::kFlushQueued);
      c->flush_now();
    }
    flushing_.clear();
  }
}

void ConnectionRegistry::closed(Connection* c) {
  if (c->has(Connection::kFlushQueued)) {
    c->clear(Connection::kFlushQueued);
    for (auto* list : {&flush_list_, &flushing_}) {
      for (Connection*& q : *list)
        if (q == c) q = nullptr;
    }
  }
  if (c->pool_prev_) {
    c->pool_prev_->pool_next_ = c->pool_next_;
  } else {
    auto it = pool_.find(key_of(c->transport_, c->peer_addr_));
    if (it != pool_.end() && it->second == c) {
      if (c->pool_next_) {
        it->second = c->pool_next_;
      } else {
        pool_.erase(it);
      }
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

void ConnectionRegistry::budget_join(Connection* c) {
  c->budgeted_ = true;
  c->charged_ = 0;
  c->budget_prev_ = budget_tail_;
  c->budget_next_ = nullptr;
  if (budget_tail_) {
    budget_tail_->budget_next_ = c;
  } else {
    budget_head_ = c;
  }
  budget_tail_ = c;
  ++budgeted_count_;
}

void ConnectionRegistry::budget_leave(Connection* c) {
  if (!c->budgeted_) return;
  budget_->move(c->charged_, 0);
  c->charged_ = 0;
  c->budgeted_ = false;
  if (c->budget_prev_) {
    c->budget_prev_->budget_next_ = c->budget_next_;
  } else {
    budget_head_ = c->budget_next_;
  }
  if (c->budget_next_) {
    c->budget_next_->budget_prev_ = c->budget_prev_;
  } else {
    budget_tail_ = c->budget_prev_;
  }
  c->budget_prev_ = c->budget_next_ = nullptr;
  --budgeted_count_;
}

void ConnectionRegistry::shed() {
  // The newest go first: the peers that have invested least; the one that went over is among this
  // loop's, so the loop stops when the total is back under or its list is empty.
  while (budget_tail_ && budget_->over()) {
    Connection* c = budget_tail_;
    if (on_budget_close_) on_budget_close_(*c);
    if (c->budgeted_) c->close(CloseReason::budget);
    budget_leave(c);  // (close() did; this guards the loop)
    // Freed now, not at the end of the iteration: the loop may read many more connections first.
    // (Never inside c's on_data: shed() runs from a read, and reads do not nest.)
    c->rlen_ = 0;
    c->release_read_buffer();
  }
}

void ConnectionRegistry::close_all(bool notify) {
  std::vector<uint64_t> ids;
  ids.reserve(by_id_.size());
  for (auto& [id, c] : by_id_) ids.push_back(id);
  for (uint64_t id : ids) {
    Connection* c = find(id);
    if (!c) continue;
    if (notify) {
      c->close(CloseReason::shutdown);
    } else {
      c->close_silently();
    }
  }
  collect();
}

void ConnectionRegistry::collect() {
  if (!graveyard_.empty()) graveyard_.clear();
}

}  // namespace msrpd::net
