#pragma once
// Worker: the engine's state on one worker thread: its listeners, the Links of the connections
// its loop owns, outbound connects to next hops, transactions and REPORTs, and the batched mail
// to and from the other workers (relay/mailbox.h). Everything here runs on the worker's thread.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "msrp/frame_writer.h"
#include "net/connection.h"
#include "net/connector.h"
#include "net/event_loop.h"
#include "net/listener.h"
#include "net/resolver.h"
#include "relay/buffers.h"
#include "relay/cmap.h"
#include "relay/engine.h"
#include "relay/frame_context.h"
#include "relay/mailbox.h"
#include "relay/message_stop.h"
#include "relay/output_gate.h"
#include "relay/refusals.h"
#include "relay/transactions.h"

namespace msrpd::relay {

class Link;

class Worker final : public SelfRoute {
 public:
  Worker(Engine& e, unsigned index, net::ConnectionRegistry& connections);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Engine& engine() { return engine_; }
  const EngineConfig& config() const { return engine_.config(); }
  Stats& stats() { return engine_.mutable_stats(); }
  unsigned index() const { return index_; }
  net::EventLoop& loop() { return loop_; }
  Transactions& transactions() { return txns_; }
  msrp::TransactionIdGenerator& tids() { return tids_; }
  BufferPool& buffers() { return buffers_; }
  const RouteEnv& route_env() const { return env_; }
  Refusals& refusals() { return refusals_; }

  Result<void> listen(const ListenAddr& a, uint16_t port, uint16_t* bound);
  void on_start();
  void close_all();

  // The Link of an open connection of this worker, or null (unknown, or closed already).
  Link* link(uint64_t id);
  // Gives connection c a Link (the connection owns it).
  Link& adopt(net::Connection& c, bool outbound, bool self = false);
  // SelfRoute: the outbound end of this worker's self link, a connection pair inside the process
  // for next hops that are this relay itself (made on first use, again after it closed).
  uint64_t self_link() override;
  void self_link_closed(uint64_t id);
  // msrp's kept record for session binding lookups (no allocation per lookup).
  CmapItem& binding_item() { return binding_item_; }

  // Opens a connection to a next hop: TLS for msrps (the certificate checked against d.host,
  // RFC 4976 §9), a URI without a port resolved per RFC 4976 §8 (SRV, then A/AAAA on 2855).
  // fn runs once, on this worker, never inside the call.
  void connect_to(const Destination& d, net::Connector::ConnectFn fn);
  // A connection to d's next hop for frame `waiter` of a Link of this worker: a connect already
  // pending to the same hop (host, port, msrps or not) is joined, so the hop gets one connection
  // and its frames in the order they came (Link::hop_connected / hop_failed, for each in turn).
  void connect_for(const Destination& d, FrameKey waiter);
  // True when a frame of connection `src` waits for a connect to d's next hop.
  bool waits_on_hop(const Destination& d, uint64_t src) const;

  // This iteration's batch for worker `to`; handed over at the end of the iteration.
  MailBatch& outbox(unsigned to);
  // Sends a REPORT (RFC 4976 §6.4.1) to connection src, on whichever worker owns it.
  void send_report(uint64_t src, const ReportInfo& info, uint16_t code, std::string_view comment);
  // A response arrived for a transaction: REPORT upstream when needed.
  void transaction_answered(const Transaction& t, uint16_t code, std::string_view comment);
  // RFC 4975 §10.5: tells connection src's Link, on whichever worker owns it, that a next hop
  // answered 413 (message_stop.cpp).
  void stop_message(uint64_t src, StopNotice n);
  // A 413 sent to the chunk being written found it ended: matched against the transactions of
  // the destination's worker instead (message_stop.cpp).
  void match_stop_again(StopNotice n);

 private:
  void hand_over_mail();
  void receive_mail(unsigned from);
  // Cross-worker: bytes for `dest` (owned here) from `src` on `src_worker`.
  void remote_write(uint64_t dest, uint64_t src, unsigned src_worker, uint64_t seq, std::string_view bytes,
                    bool ends, bool close_after);
  void remote_track(const Transaction& t);
  void send_on(uint64_t conid, std::string_view bytes);
  void transaction_timed_out(const Transaction& t);
  void trim();
  void accepted(net::Connection& c);
  void budget_closing(net::Connection& c);  // counted and logged (Rule::budget)
  // A connect in progress to a next hop, and the frames waiting for it (connect_for).
  struct PendingHop {
    std::string host;
    uint16_t port = 0;
    bool port_given = false;
    bool secure = false;
    std::string local_ip;           // msrp_set_dst's sock: a connect from another address is another hop
    std::vector<FrameKey> waiters;  // oldest first
    bool is(const Destination& d) const {
      return port == d.port && secure == d.secure && port_given == d.port_given && host == d.host &&
             local_ip == d.local_ip;
    }
  };
  void hop_done(PendingHop* hop, Result<net::Connection*> r);

  Engine& engine_;
  unsigned index_;
  net::EventLoop& loop_;
  net::ConnectionRegistry& connections_;  // this worker's connections, beside its loop (net::Workers)
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unique_ptr<net::Resolver> resolver_;
  net::Connector connector_;
  Transactions txns_;
  msrp::TransactionIdGenerator tids_;
  BufferPool buffers_;
  CmapItem lookup_item_;
  CmapItem binding_item_;
  uint64_t self_out_ = 0, self_in_ = 0;  // the self link's two ends
  Refusals refusals_;
  RouteEnv env_;
  std::vector<std::unique_ptr<PendingHop>> pending_hops_;
  std::unique_ptr<net::Timer> clean_timer_;
  std::unique_ptr<net::Timer> trim_timer_;  // trim(): pools back to what the present load needs
  uint64_t trim_bytes_in_ = 0;              // stats().bytes_in at the last trim()
  bool busy_since_trim_ = false;
  uint64_t quiet_ticks_ = 0;  // trim() calls in a row without a byte read
  net::ConnectionSettings inbound_, outbound_;
  int64_t last_refusal_log_ = -1000000;  // tcp_max_connections warnings: at most one a second
};

}  // namespace msrpd::relay
