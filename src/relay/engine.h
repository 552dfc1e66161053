#pragma once
// The relay engine (DESIGN.md "How a frame flows", "Threads"): workers accept MSRP connections,
// parse frames incrementally, run the route (a Router) on each frame's head, and carry out its
// decisions: replies on the source connection, relaying to the next hop with the body forwarded
// as it arrives (cut-through), connection map, REPORTs for frames that cannot be delivered.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "msrp/frame_parser.h"
#include "net/tls.h"
#include "relay/address_index.h"
#include "relay/chunk_caps.h"
#include "relay/cmap.h"
#include "relay/context.h"
#include "relay/local_sockets.h"
#include "relay/own_uris.h"
#include "relay/stats.h"

namespace msrpd::relay {

// What runs the route: the routing script (src/script) or a C++ route (tests, benchmarks).
// Called on the worker threads, concurrently: an implementation keeps per-worker state by index.
class Router {
 public:
  virtual ~Router() = default;
  virtual void on_worker_start(unsigned worker) {}
  // An AUTH request about to be routed (its head and whole body in): false when its route needs
  // data from elsewhere first (auth_db's credentials from the database). The router has then
  // started fetching it and calls resume when it is in; the frame waits unconsumed and its
  // connection stops reading meanwhile (its later frames keep their order), while every other
  // connection of the worker flows. Only AUTH frames ask: the per-frame hot path is untouched.
  virtual bool ready(const msrp::Frame& f, unsigned worker, const Resume& resume) { return true; }
  virtual void msrp_frame(Context& ctx, unsigned worker) = 0;  // event_route[msrp:frame-in]
  virtual void sip_request(Context& ctx, unsigned worker) {}   // request_route (SIP on the same port)
};

struct ListenAddr {
  std::string proto = "tcp";
  std::string ip;
  uint16_t port = 0;
  std::string advertise;  // listen=... advertise host[:port]: a name of this relay (RFC 4976 §6.2)
};

struct EngineConfig {
  std::vector<ListenAddr> listen;  // several; port 0 = ephemeral (tests)
  unsigned children = 4;           // worker threads
  unsigned cmap_size = 0;          // msrp modparams (seed §3)
  unsigned timer_interval = 60;
  uint32_t auth_min_expires = 60, auth_max_expires = 3600;
  std::string use_path_addr;  // "host:port" or "msrp://host:port" (both accepted; Kamailio doubles the
                              // scheme, we do not)
  bool sipmsg = true;
  uint32_t tcp_connection_lifetime =
      0;                            // seconds, 0 = none (idle limit: closes after this long without traffic)
  uint32_t probation_seconds = 30;  // RFC 4976 §6.1
  msrp::Limits limits;
  // The route runs on the whole frame when its body is at most this long (the frame waits for its
  // end-line, unconsumed); a longer frame is routed with this much of its body (msrp
  // route_body_limit). Bounded by the read buffer (read_buffer_limit less the head).
  size_t route_body_preview = 65536;
  // msrp max_chunk_size, max_chunk_size_hop: SEND chunks relayed to a next hop carry at most this
  // many body bytes; longer ones are cut (Forward).
  ChunkCaps max_chunk;

  // Additions.
  uint32_t tcp_connection_max_lifetime = 0;         // seconds, 0 = none: absolute limit from creation
  uint32_t connect_timeout_ms = 5000;               // outbound connects (resolution included)
  uint32_t transaction_timeout_ms = 30000;          // RFC 4976 §6.4.1: 30 s after the last byte
  size_t max_inflight_bytes = size_t{1024} * 1024;  // per source, bytes handed to another worker
  size_t read_buffer_limit = size_t{80} * 1024;     // per connection (>= limits.max_head)
  uint32_t max_connections = 0;  // tcp_max_connections: accepts beyond it are closed; 0 = none

  // Authorization (RFC 4976 §6, docs/SECURITY.md): enforced by the engine whatever the route says.
  bool open_relay = false;  // msrp open_relay=1: none of the checks below (labs only)
  // This relay's names besides its listen addresses and use_path_addr: alias=, advertise ("host"
  // or "host:port"; a name without a port stands for every listen port).
  std::vector<std::string> own_names;
  unsigned max_to_path = 16;                               // a request with more To-Path URIs is refused
  unsigned max_self_passes = 3;                            // times one frame may pass through this relay
  unsigned auth_max_failures = 3;                          // failed AUTHs before a client's connection closes
  size_t unauth_memory_budget = size_t{32} * 1024 * 1024;  // buffered bytes of not-yet-successful peers

  // TLS (RFC 4976 §6.1, §9): the tls module's settings. One context serves the msrps listeners
  // (server side) and the outbound msrps connections to next hops (client side, presenting the
  // same certificate: RFC 4976 §9.2). A `listen` entry with proto "tls" needs a certificate.
  // Without any tls setting, outbound msrps still works with the system's CAs.
  net::TlsSettings tls;
  // DNS servers for next hops' names ("ip" or "ip:port"); empty: /etc/resolv.conf.
  std::vector<std::string> dns_servers;
};

class Worker;
class MailChannel;
class Engine;

// Posts to a worker from threads that may outlive the engine (the database pool): while the
// engine runs, fn runs on that worker's thread; after stop() it is dropped.
class WorkerPost {
 public:
  explicit WorkerPost(Engine* e) : engine_(e) {}
  bool post(unsigned worker, std::function<void(Worker&)> fn);
  void close();

 private:
  std::mutex mu_;
  Engine* engine_;  // guarded by mu_; null once closed
};

class Engine {
 public:
  Engine(EngineConfig cfg, Router& router);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Binds every listen address on every worker (SO_REUSEPORT), starts the workers.
  Result<void> start();
  // Closes everything, joins. Idempotent.
  void stop();
  std::vector<uint16_t> bound_ports() const;  // one per listen entry, in order
  ConnectionMap* cmap() { return cmap_.get(); }
  // RFC 4976 §6.2: the authorities this relay answers to (built by start()).
  const OwnUris& own_uris() const { return own_; }
  // The listen sockets as msrp_set_dst's sock names them (built by start(), with the bound ports).
  const LocalSockets& local_sockets() const { return sockets_; }
  OwnUris& mutable_own_uris() { return own_; }
  // RFC 4976 §6.3: every session URI of this relay's handed out in a Use-Path of a 200 to AUTH,
  // bound to the connection that AUTHed (until Expires or until it closes). Only conid and
  // expires of its items are used.
  ConnectionMap& bindings() { return bindings_; }
  const Stats& stats() const { return stats_; }
  const EngineConfig& config() const { return cfg_; }
  // The TLS context (after start()); null when it could not be built and nothing needs it.
  const net::TlsContext* tls_context() const { return tls_.get(); }

  // Internal (used by the workers).
  Stats& mutable_stats() { return stats_; }
  Router& router() { return router_; }
  Worker& worker(unsigned i) { return *workers_[i]; }
  AddressIndex& addresses() { return addresses_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // Open connections of all workers (inbound and outbound), for tcp_max_connections.
  std::atomic<uint64_t>& connection_count() { return connection_count_; }
  bool post_to(unsigned worker, std::function<void()> fn);
  // For threads that may outlive the engine (Router::ready's resume).
  const std::shared_ptr<WorkerPost>& worker_post() const { return worker_post_; }
  // Worker `from`'s batched traffic for worker `to` (relay/mailbox.h).
  MailChannel& channel(unsigned from, unsigned to) { return *channels_[from * workers_.size() + to]; }

 private:
  struct Threads;
  EngineConfig cfg_;
  Router& router_;
  Stats stats_;
  std::unique_ptr<ConnectionMap> cmap_;
  ConnectionMap bindings_{10};
  OwnUris own_;
  LocalSockets sockets_;
  std::unique_ptr<net::TlsContext> tls_;  // outlives the workers (declared before them)
  AddressIndex addresses_;
  std::unique_ptr<Threads> threads_;              // the net::Workers (declared before the workers' state)
  std::vector<std::unique_ptr<Worker>> workers_;  // per-worker engine state
  std::vector<std::unique_ptr<MailChannel>> channels_;  // [from * workers + to]
  std::vector<uint16_t> ports_;
  std::atomic<uint64_t> connection_count_{0};
  std::shared_ptr<WorkerPost> worker_post_ = std::make_shared<WorkerPost>(this);
  bool started_ = false;
};

}  // namespace msrpd::relay
