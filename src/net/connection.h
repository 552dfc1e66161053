#pragma once
// Connection: one non-blocking stream socket (TCP or TLS through the same API), owned by the
// ConnectionRegistry of one worker's loop and touched only on that loop's thread. Other threads
// hold its id and post to the owning worker (Workers::post_to(Connection::worker_of(id), ...)).
//
// Life: a Connection is created by a Listener (accept) or a Connector (connect), lives in a
// ConnectionRegistry (one per loop), and ends with exactly one ConnectionHandler::on_close call. After
// on_close returns the Connection& stays valid until the end of the current loop iteration, then
// it is destroyed: never keep a Connection* past on_close (keep the id and call find()).
//
// Memory: an idle connection holds no buffer. The read buffer is taken when bytes arrive and given
// back once the handler has consumed everything; write blocks are given back once written. Both
// come from a free list per loop (BlockPool), so a busy connection does not allocate either, and
// 100k idle connections cost only their bookkeeping.
//
// Reading: received bytes are appended to a per-connection buffer and handed to
// ConnectionHandler::on_data as one view of everything not yet consumed. The handler returns how
// many bytes it consumed (from the front); the rest stays at the buffer start and the next read
// extends it. The buffer grows up to ConnectionSettings::read_buffer_limit and no further: when it
// is full and the handler consumed nothing, reading stops (read_buffer_full()) until
// resume_reading(). pause_reading()/resume_reading() are the backpressure switch; resume
// redelivers the bytes still buffered (on the next loop iteration, never re-entrantly).
//
// Writing: send() appends to a queue of fixed blocks (no big-buffer reallocation) and the loop
// writes every connection's queue once, with one gathering write, at the end of the loop
// iteration (before it waits for events again): frames sent to one peer during an iteration leave
// in one system call. What the socket cannot take waits for EPOLLOUT. A socket error found then
// closes the connection (on_close with CloseReason::error), never inside send(). When queued_bytes() goes
// above write_high_watermark, above_high_watermark() is true; when it then falls to write_low_watermark or
// below, on_drained() is called (the engine resumes the source feeding this connection there). send() never
// fails because of the watermark: the caller decides when to stop feeding.
//
// Unread answers: a connection on probation (below) whose write queue goes above the high
// watermark stops being read until it falls to the low one: a peer that has not succeeded yet and
// does not read the answers to its requests cannot make them pile up (the relay writes nothing
// else to such a connection, so this cannot stall a relay chain).
//
// Budget: while on probation (arm_probation() until disarm_probation()), a connection's read buffer
// capacity is charged to the registry's MemoryBudget (net/memory_budget.h), if it has one; over
// it, the newest such connections of the loop are closed with CloseReason::budget.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/memory_budget.h"
#include "net/tls.h"

namespace msrpd::net {

class Connection;
class ConnectionRegistry;
class Stream;
struct IoResult;

// Fixed-size blocks (read buffers of the initial size, write-queue blocks) kept on a free list for
// one loop's connections: taking and giving back costs no allocation once warm. At most
// max_free blocks are kept; more go back to the allocator.
class BlockPool {
 public:
  static constexpr size_t kBlockBytes = 16384;
  explicit BlockPool(size_t max_free = 256) : max_free_(max_free) {}
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  void* take();
  void give(void* block);
  size_t free_blocks() const { return nfree_; }
  // Gives all but `keep` free blocks back to the allocator (the pool is refilled by the next
  // burst); returns the bytes given back.
  size_t trim(size_t keep);

 private:
  struct Free {
    Free* next;
  };
  Free* free_ = nullptr;
  size_t nfree_ = 0;
  size_t max_free_;
};

enum class CloseReason : uint8_t {
  local,         // close() or close_after_flush() by the owner
  peer_closed,   // EOF from the peer
  error,         // socket error (detail has the text)
  idle_timeout,  // no bytes either way for idle_timeout_ms
  lifetime,      // lifetime_ms since creation elapsed
  probation,     // the probation timer fired (RFC 4976 §6.1)
  shutdown,      // the loop is being destroyed
  budget,        // on probation, closed because such connections' buffers exceed the MemoryBudget
};
std::string_view close_reason_name(CloseReason r);  // "local", "peer_closed", ...

// Implemented by the user of a connection (the relay engine: one per connection).
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // All unconsumed received bytes; return how many were consumed (0..data.size()). The view is
  // valid only during the call. The handler may send, pause, close... during the call.
  virtual size_t on_data(Connection& c, std::string_view data) = 0;
  // The write queue fell to the low watermark after having been above the high watermark.
  virtual void on_drained(Connection& c) {}
  // Called once, when the connection is closed for any reason (including close() by the owner).
  virtual void on_close(Connection& c, CloseReason reason, std::string_view detail) {}
};

struct ConnectionSettings {
  size_t read_buffer_initial = 16384;                   // grows (doubling) while the consumer keeps bytes
  size_t read_buffer_limit = size_t{64} * 1024 + 4096;  // reading pauses when this much is unconsumed
  size_t write_high_watermark = size_t{256} * 1024;
  size_t write_low_watermark = size_t{64} * 1024;
  uint32_t idle_timeout_ms = 0;   // 0 = none; no bytes read or written for this long -> close
  uint32_t lifetime_ms = 0;       // 0 = none; absolute limit from creation -> close
  uint32_t probation_ms = 30000;  // RFC 4976 §6.1 default, used by arm_probation()
  uint32_t linger_ms = 2000;      // close_after_flush: wait this long for the peer's EOF
};

class Connection final : private IoHandler {
 public:
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Ids are unique in the process; the top 16 bits are the owning worker's index.
  uint64_t id() const { return id_; }
  static unsigned worker_of(uint64_t id) { return static_cast<unsigned>(id >> 48); }

  EventLoop& loop() const { return loop_; }
  Transport transport() const { return transport_; }
  bool outbound() const { return outbound_; }
  const std::string& local_ip() const { return local_ip_; }
  uint16_t local_port() const { return local_addr_.port(); }
  const std::string& peer_ip() const { return peer_ip_; }
  uint16_t peer_port() const { return peer_addr_.port(); }
  const SockAddr& local_addr() const { return local_addr_; }
  const SockAddr& peer_addr() const { return peer_addr_; }
  const ConnectionSettings& settings() const { return settings_; }

  // ---- TLS (transport() == Transport::tls; the handshake is done before the Connection exists) ----
  // RFC 4976 §6.1: the peer sent a certificate that verified against ca_list (and, outbound, the
  // host): the peer is a relay. False on TCP, and for clients without a certificate.
  bool peer_certificate_verified() const;
  // The subjectAltName dNSName entries of the peer's certificate (RFC 4976 §6.3 matches them
  // against the host of the first From-Path URI). Empty on TCP or without a certificate.
  const std::vector<std::string>& peer_certificate_dns_names() const;
  // Everything the handshake learned (subject, verify error, version, cipher); nullptr on TCP.
  const PeerCertificate* peer_certificate() const { return peer_cert_.get(); }

  // Set by the accept/connect callback; reading starts once a handler is set. The unique_ptr form
  // gives the connection the handler: it lives as long as the Connection (until the end of the
  // loop iteration in which on_close was called), so nobody else has to keep it or drop it.
  void set_handler(ConnectionHandler* h);
  void set_handler(std::unique_ptr<ConnectionHandler> h);
  ConnectionHandler* handler() const { return handler_; }

  // ---- reading ----
  void pause_reading();
  void resume_reading();
  bool reading_paused() const { return has(kPaused); }
  bool read_buffer_full() const { return has(kReadFull); }
  size_t buffered_bytes() const { return rlen_; }
  size_t read_buffer_capacity() const { return rcap_; }  // 0 while nothing is buffered

  // ---- writing ----
  // Queues the bytes (written at the end of the loop iteration). Error if the connection is
  // closed or closing; a socket error found when writing closes it with CloseReason::error.
  Result<void> send(std::string_view data);
  size_t queued_bytes() const { return queued_; }
  bool above_high_watermark() const { return has(kOverHigh); }
  // Writes what is queued now instead of at the end of the loop iteration.
  void flush_now();

  // ---- closing ----
  // Immediate: queued bytes are dropped, on_close(reason) is called now.
  void close(CloseReason reason = CloseReason::local, std::string_view detail = {});
  // Same, without calling on_close (the owner is going away).
  void close_silently(CloseReason reason = CloseReason::shutdown);
  // Send flag 2: stop reading, write what is queued, end the write side, then close (on_close is
  // called with CloseReason::local once closed). send() fails from now on.
  void close_after_flush();
  bool is_open() const { return state_ == State::open; }  // false once closing or closed
  bool is_closed() const { return state_ == State::closed; }

  // ---- flags (HAProxy CO_FL_* with conn_show_flags) ----
  // What a connection waits for, one bit each. When you add one, add its name to kFlagNames in
  // connection.cpp (same order).
  enum Flag : uint16_t {
    kPaused = 1u << 0,          // pause_reading(): the owner stopped reading (backpressure)
    kReadFull = 1u << 1,        // the read buffer is at its limit and the handler consumed nothing
    kOverHigh = 1u << 2,        // queued_bytes() went above the high watermark: on_drained() is due
    kRedeliver = 1u << 3,       // resume_reading(): hand the buffered bytes over again on the kick
    kReadPending = 1u << 4,     // the stream holds bytes epoll cannot announce: read on the kick
    kReadWantsWrite = 1u << 5,  // TLS: a read needs the socket writable before it can go on
    kWriteWantsRead = 1u << 6,  // TLS: a write needs the socket readable before it can go on
    kWriteBlocked = 1u << 7,    // the socket took less than was queued: wait for EPOLLOUT
    kFlushQueued = 1u << 8,     // on the registry's list of connections to flush
    // On probation with queued_bytes() above the high watermark: the peer does not read what we
    // answer, so its requests are not read either until the queue is at the low watermark.
    kUnreadAnswers = 1u << 9,
  };
  uint16_t flags() const { return flags_; }
  bool has(Flag f) const { return (flags_ & f) != 0; }
  // For debug logs: the state and the set flags, "open paused|write_blocked" ("open -": none).
  std::string describe() const;
  // The names of the set bits joined by '|', "-" for none: "read_full|flush_queued".
  static std::string describe_flags(uint16_t flags);

  // ---- timers ----
  // RFC 4976 §6.1: a connection must make a successful request within 30 s; the engine arms this
  // at accept and disarms it on the first success. ms = 0 uses settings().probation_ms. Until it
  // is disarmed, the read buffer counts against the registry's MemoryBudget.
  void arm_probation(uint32_t ms = 0);
  void disarm_probation();
  bool probation_armed() const { return probation_timer_.armed(); }
  int64_t created_at() const { return created_; }
  int64_t last_activity() const { return last_activity_; }
  // RFC 4976 §6.5: MSRP has no keep-alive, and a relay may close a connection only after it has
  // been unused for longer than an hour; closing one that carries a session loses that session. So
  // the owner says when a session is bound to this connection, and the idle timeout does not close
  // it before `ms` from now (the latest such time counts; lifetime_ms still does). Nothing changes
  // per byte: the idle timer, when it fires, re-arms itself until then.
  void keep_while_idle_for(uint32_t ms);
  int64_t kept_until() const { return kept_until_; }  // loop time; 0: never kept

 private:
  friend class ConnectionRegistry;
  enum class State : uint8_t {
    open,       // reading (when a handler is set and not paused) and writing
    flushing,   // close_after_flush(): not reading, writing what is queued, then lingering
    lingering,  // the write side is shut: reading and dropping until the peer's EOF or linger_ms
    closed,     // on_close was called; destroyed at the end of the iteration
  };
  static std::string_view state_name(State s);
  struct Block;

  void set(Flag f) { flags_ |= f; }
  void clear(Flag f) { flags_ &= static_cast<uint16_t>(~f); }
  void set(Flag f, bool on) { on ? set(f) : clear(f); }
  // Wants to read: the one "am I reading?" (update_interest, on_io and on_readable ask it).
  bool reading() const {
    return state_ == State::lingering ||
           (state_ == State::open && handler_ && !has(kPaused) && !has(kReadFull) && !has(kUnreadAnswers));
  }

  Connection(ConnectionRegistry& registry, uint64_t id, std::unique_ptr<Stream> stream,
             const ConnectionSettings& s, bool outbound);
  void on_io(uint32_t events) override;
  void on_readable();
  void deliver();
  void flush();
  void update_interest();
  void read_answers_again();  // kUnreadAnswers ends
  void after_flush_progress();
  void on_idle_timer();
  void on_kick();
  void fail(int err);
  void kick_read();
  void wait_for(const IoResult& r);
  Block* new_block();
  void free_block(Block* b);
  // False when the budget closed this connection instead (the caller returns).
  bool take_read_buffer();
  void release_read_buffer();  // when empty
  // The read buffer is about to have `capacity` bytes: moves the charge when budgeted. False when
  // that put the budget over and this connection was closed for it.
  bool charge(size_t capacity);

  ConnectionRegistry& registry_;
  EventLoop& loop_;
  uint64_t id_;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<PeerCertificate> peer_cert_;  // a copy: still readable in on_close
  int fd_;
  ConnectionSettings settings_;
  Transport transport_;
  bool outbound_;
  State state_ = State::open;
  uint16_t flags_ = 0;  // Flag bits
  uint32_t interest_ = 0;
  ConnectionHandler* handler_ = nullptr;

  SockAddr local_addr_, peer_addr_;
  std::string local_ip_, peer_ip_;

  BlockPool& pool_;
  char* rbuf_ = nullptr;  // from pool_ (rbuf_pooled_) or new[] once grown past a pool block
  bool rbuf_pooled_ = false;
  size_t rcap_ = 0, rlen_ = 0;
  size_t rinit_ = 0;  // the capacity a new read buffer gets

  Block* whead_ = nullptr;
  Block* wtail_ = nullptr;
  size_t queued_ = 0;

  int64_t created_ = 0, last_activity_ = 0;
  int64_t kept_until_ = 0;  // keep_while_idle_for: not closed for idleness before this loop time
  Timer idle_timer_;
  Timer lifetime_timer_;
  Timer probation_timer_;
  Timer kick_timer_;  // deferred work: redelivery after resume, TLS bytes epoll cannot announce

  // Reuse pool chain (same transport + peer address).
  Connection* pool_prev_ = nullptr;
  Connection* pool_next_ = nullptr;

  // The registry's budgeted connections, oldest first (arm_probation order).
  bool budgeted_ = false;
  size_t charged_ = 0;  // bytes charged to the budget
  Connection* budget_prev_ = nullptr;
  Connection* budget_next_ = nullptr;

  std::unique_ptr<ConnectionHandler> owned_handler_;  // set_handler(unique_ptr): dies with the Connection
};

// The connections of one loop: id -> Connection in O(1), and the reuse pool keyed by
// (transport, peer ip, peer port) for RFC 4975 §5.4 connection reuse. Whoever builds the loop
// builds its registry beside it (Workers does, per worker) and destroys it first; the loop knows
// nothing of it: the registry adds its before-sleep hooks to the loop (the gathering writes at
// Stage::write, freeing the closed connections at Stage::retire).
class ConnectionRegistry {
 public:
  explicit ConnectionRegistry(EventLoop& loop);
  // Closes the connections left open without callbacks (their handlers may be gone already).
  ~ConnectionRegistry();
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  EventLoop& loop() const { return loop_; }

  Connection* find(uint64_t id) const;
  // An open connection (inbound or outbound) to that peer, or nullptr. With send flag 1
  // ("never open a new connection") nullptr means: fail, do not connect.
  // local_ip (numeric, no brackets): only a connection whose local end has that address (msrp_set_dst's
  // sock: the operator chose where traffic to this peer leaves from); empty: any.
  Connection* find_reusable(Transport t, const SockAddr& peer, std::string_view local_ip = {}) const;
  Connection* find_reusable(Transport t, std::string_view ip, uint16_t port,
                            std::string_view local_ip = {}) const;
  size_t size() const { return by_id_.size(); }
  // The loop's free list of read buffers and write blocks.
  BlockPool& blocks() { return blocks_; }

  // The process's budget for connections on probation (memory_budget.h); null: none. Set before
  // connections arrive. on_budget_close runs just before each connection the budget closes.
  void set_budget(MemoryBudget* b) { budget_ = b; }
  MemoryBudget* budget() const { return budget_; }
  void on_budget_close(std::function<void(Connection&)> fn) { on_budget_close_ = std::move(fn); }
  size_t budgeted_connections() const { return budgeted_count_; }

  // Takes a connected non-blocking stream; used by Listener, Connector (and tests).
  Connection& adopt(std::unique_ptr<Stream> stream, const ConnectionSettings& s, bool outbound);

  // Closes every connection (on the loop's thread). notify: call on_close(shutdown) on each
  // handler; an orderly shutdown does this before destroying the handlers. The destructor closes
  // what is left without notifying (handlers may already be gone).
  void close_all(bool notify = true);

  // The before-sleep hooks (added to the loop by the constructor): writes the queues of the
  // connections that sent during this iteration (until none is left; a flush may make a handler
  // send more), then, at the end of the iteration, destroys the closed connections.
  void flush_pending();
  bool flush_pending_empty() const { return flush_list_.empty(); }
  void collect();

 private:
  friend class Connection;
  struct PoolKey {
    uint8_t transport = 0;
    uint8_t family = 0;
    uint16_t port = 0;
    uint8_t addr[16] = {};
    bool operator==(const PoolKey& o) const;
  };
  struct PoolKeyHash {
    size_t operator()(const PoolKey& k) const;
  };
  static PoolKey key_of(Transport t, const SockAddr& a);
  void closed(Connection* c);  // unlink from the pool, move to the graveyard
  void budget_join(Connection* c);
  void budget_leave(Connection* c);
  // Over the budget: closes this loop's newest budgeted connections until it is not (or none is left).
  void shed();
  void queue_flush(Connection* c);

  EventLoop& loop_;
  EventLoop::HookId write_hook_, retire_hook_;
  BlockPool blocks_;  // declared before the connections: they give their blocks back when destroyed
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> by_id_;
  std::unordered_map<PoolKey, Connection*, PoolKeyHash> pool_;
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::vector<Connection*> flush_list_;  // flush_queued_ set; nullptr once closed
  std::vector<Connection*> flushing_;    // the list being written (kept for its capacity)
  MemoryBudget* budget_ = nullptr;
  std::function<void(Connection&)> on_budget_close_;
  Connection* budget_head_ = nullptr;  // oldest
  Connection* budget_tail_ = nullptr;  // newest
  size_t budgeted_count_ = 0;
};

}  // namespace msrpd::net
