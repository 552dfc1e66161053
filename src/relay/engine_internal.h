#pragma once
// The engine's per-worker state and per-connection handler (internal to src/relay).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "msrp/frame_parser.h"
#include "msrp/frame_writer.h"
#include "net/connection.h"
#include "net/connector.h"
#include "net/event_loop.h"
#include "net/listener.h"
#include "net/resolver.h"
#include "relay/cmap.h"
#include "relay/engine.h"
#include "relay/frame_context.h"
#include "relay/mailbox.h"
#include "relay/transactions.h"
#include "sip/message.h"

namespace msrpd::relay {

class Worker;

// Which frame a write belongs to: the source connection and its relayed-frame number. src == 0:
// a whole frame written at once (a reply, a REPORT).
struct FrameKey {
  uint64_t src = 0;
  uint64_t seq = 0;
  bool operator==(const FrameKey&) const = default;
};

// The outgoing side of the frame a Link is relaying.
struct RelayOut {
  enum class State : uint8_t { none, local, remote, connecting, failed };
  State state = State::none;
  uint64_t dest = 0;  // destination connection id (local, remote)
  unsigned dest_worker = 0;
  uint64_t seq = 0;          // which relayed frame (late notifications about older frames are ignored)
  std::string pending;       // bytes written while connecting
  bool finished = false;     // the end-line was written
  bool close_after = false;  // send flag 2: close the destination once the frame is written
  bool track = false;        // register a transaction when finished (a response is expected)
  bool has_report = false;   // a REPORT goes upstream on failure (SEND, Failure-Report yes/partial)
  ReportInfo report;
  std::string tid;
  msrp::Method method = msrp::Method::other;

  // Interrupting a SEND chunk being streamed, so that frames waiting for its destination go out
  // (RFC 4975 §7.1.1: a chunk ends with '+' and the message goes on in a new chunk with a new
  // transaction; RFC 4976 §6.4.1: relays may split chunks, keeping the order and Message-ID).
  bool interruptible = false;  // a streamed SEND whose continuation head is known
  bool interrupt = false;      // asked by the destination: end this chunk after its first body piece
  bool cont_pending = false;   // the chunk was ended: the next bytes start with continue_chunk()
  std::string cont_paths;      // the relayed head's To-Path and From-Path lines
  std::string cont_rest;       // its other header lines without Byte-Range, and the blank line
  uint64_t range_start = 1;    // the original chunk's first byte in the message
  std::optional<uint64_t> range_end, range_total;
  uint64_t piece_body = 0;  // body bytes written in the current chunk
};

// One per connection (inbound or outbound): parses frames, routes them, relays them.
class Link final : public net::ConnectionHandler {
 public:
  Link(Worker& w, net::Connection& c, bool outbound);

  size_t on_data(net::Connection& c, std::string_view data) override;
  void on_drained(net::Connection& c) override;
  void on_close(net::Connection& c, net::CloseReason reason, std::string_view detail) override;

  Worker& worker() { return w_; }
  net::Connection* connection() { return conn_; }
  uint64_t id() const { return id_; }
  const Source& source() const { return source_; }
  std::string_view srcaddr() const { return srcaddr_; }
  std::string_view srcsock() const { return srcsock_; }
  bool secure() const { return secure_; }
  Destination& destination() { return dst_; }
  // An outbound connection opened for a next hop named by a host name: recorded in the
  // AddressIndex under that name too, so later frames to the same URI host reuse it (RFC 4975
  // §5.4), until it closes.
  void set_name_alias(std::string_view host, uint16_t port);

  // Sends whole frames on this connection (replies, REPORTs); honours reply flag 2 (close after
  // send). Like every write, it waits while another frame is being streamed here.
  bool send(std::string_view bytes, bool close_after = false);
  // The one way bytes go out on this connection. A frame's bytes may come in several writes (a
  // body relayed as it arrives): while one frame is mid-write, writes of other frames are held,
  // in arrival order, and go out when it ends, so no frame ever lands inside another (RFC 4975
  // §7.1). `ends`: these bytes end the frame. False when the connection is gone.
  bool output(FrameKey key, std::string_view bytes, bool ends, bool close_after = false);
  // Bytes queued on the connection plus bytes held: above the write high watermark, sources stop.
  bool over_limit() const;
  void succeeded();  // RFC 4976 §6.1: a request succeeded; probation ends
  // msrp_relay found no way to deliver the frame: logged, and a REPORT upstream for a SEND that
  // wants one (RFC 4976 §6.4.1).
  void relay_undeliverable(const msrp::Frame& f, const FrameBytes& bytes, uint16_t code);

  // Backpressure bits (reading stops while any is set).
  static constexpr unsigned kPauseDestination = 1;  // a same-worker destination is above its watermark
  static constexpr unsigned kPauseInflight = 2;     // too many bytes handed to another worker
  static constexpr unsigned kPauseConnecting = 4;   // the destination is being connected
  void pause(unsigned bit);
  void unpause(unsigned bit);

  // Notifications from the destination side.
  void credit(size_t n);
  void relay_failed(uint64_t seq, std::string_view why, uint16_t code);
  // A destination holds frames behind this link's streamed chunk `seq`: end it soon.
  void interrupt(uint64_t seq);
  void connected(uint64_t seq, net::Connection& dest);
  void add_waiter(uint64_t src) { waiters_.push_back(src); }
  struct Credit {
    unsigned worker;
    uint64_t src;
    size_t bytes;
  };
  void hold_credit(const Credit& c) { credits_.push_back(c); }

 private:
  size_t on_msrp(std::string_view data);
  size_t on_sip(std::string_view data);
  size_t handle_error(const msrp::Step& s, std::string_view data, size_t frame_start);
  void route(const msrp::Frame& f, const FrameBytes& bytes);
  void start_relay(FrameContext& ctx);
  void write_out(std::string_view bytes);
  void write_out(std::string_view bytes, bool ends);
  void register_transaction();  // the response to what was just relayed is expected back
  void save_continuation(const msrp::Frame& f, std::string_view relayed_head);
  void end_chunk();
  void continue_chunk();
  void ask_interrupt(FrameKey owner);
  void release_held();
  void wake_waiters();
  void track_out();
  void abort_out(std::string_view why, uint16_t report_code);

  Worker& w_;
  net::Connection* conn_;
  uint64_t id_;
  bool outbound_;
  bool secure_ = false;
  enum class Proto : uint8_t { unknown, msrp, sip, closed } proto_ = Proto::unknown;
  sip::SipReader sip_reader_;  // SIP on the MSRP port (Proto::sip)
  sip::SipMessage sip_msg_;
  msrp::FrameParser parser_;
  bool streaming_ = false;  // body pieces of a routed frame are still arriving
  bool stream_has_body_ = false;
  Destination dst_;
  RelayOut out_;
  uint64_t next_seq_ = 1;
  unsigned paused_ = 0;
  size_t inflight_ = 0;
  std::vector<uint64_t> waiters_;  // same-worker sources paused on this connection's watermark
  std::vector<Credit> credits_;    // other workers' bytes queued here while above the watermark
  // The output gate (output()): the frame mid-write, and what waits for it to end.
  struct Held {
    FrameKey key;
    std::string bytes;
    bool ends = false;
    bool close_after = false;
    bool done = false;
  };
  FrameKey owner_;
  FrameKey interrupt_asked_;  // the owner already asked to interrupt its chunk
  std::vector<Held> held_;
  size_t held_bytes_ = 0;
  std::string srcaddr_, srcsock_, peer_ip_, local_ip_, proto_name_;
  std::string alias_host_;  // set_name_alias
  uint16_t alias_port_ = 0;
  Source source_;
};

class Worker {
 public:
  Worker(Engine& e, unsigned index, net::EventLoop& loop);
  ~Worker();

  Engine& engine() { return engine_; }
  const EngineConfig& config() const { return engine_.config(); }
  Stats& stats() { return engine_.mutable_stats(); }
  unsigned index() const { return index_; }
  net::EventLoop& loop() { return loop_; }
  net::Connector& connector() { return connector_; }
  net::Resolver* resolver() { return resolver_.get(); }
  // Opens a connection to a next hop: TLS for msrps (the certificate checked against d.host,
  // RFC 4976 §9), a URI without a port resolved per RFC 4976 §8 (SRV, then A/AAAA on 2855).
  // fn runs once, on this worker, never inside the call.
  void connect_to(const Destination& d, net::Connector::ConnectFn fn);
  Transactions& transactions() { return txns_; }
  msrp::TransactionIdGenerator& tids() { return tids_; }
  std::string& scratch() { return scratch_; }
  std::string& scratch2() { return scratch2_; }
  CmapItem& lookup_item() { return lookup_item_; }
  const net::ConnectionSettings& outbound_settings() const { return outbound_; }

  Result<void> listen(const ListenAddr& a, uint16_t port, uint16_t* bound);
  void on_start();
  Link* link(uint64_t id);
  Link& adopt(net::Connection& c, bool outbound);
  void drop(uint64_t id);  // after on_close
  void close_all();

  // Cross-worker: bytes for `dest` (owned here) from `src` on `src_worker`.
  void remote_write(uint64_t dest, uint64_t src, unsigned src_worker, uint64_t seq, std::string_view bytes,
                    bool ends, bool close_after);
  void remote_track(const Transaction& t);
  // This iteration's batch for worker `to`; handed over at the end of the iteration.
  MailBatch& outbox(unsigned to);
  void hand_over_mail();
  void receive_mail(unsigned from);
  // Sends bytes (a REPORT, a relayed response) on a connection owned by this worker.
  void send_on(uint64_t conid, std::string_view bytes);
  // A response arrived for a transaction: REPORT upstream when needed.
  void transaction_answered(const Transaction& t, uint16_t code, std::string_view comment);
  void transaction_timed_out(const Transaction& t);
  void send_report(uint64_t src, const ReportInfo& info, uint16_t code, std::string_view comment);

 private:
  Engine& engine_;
  unsigned index_;
  net::EventLoop& loop_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unique_ptr<net::Resolver> resolver_;
  net::Connector connector_;
  Transactions txns_;
  msrp::TransactionIdGenerator tids_;
  std::unordered_map<uint64_t, std::unique_ptr<Link>> links_;
  std::unique_ptr<net::Timer> clean_timer_;
  net::ConnectionSettings inbound_, outbound_;
  std::string scratch_, scratch2_;
  CmapItem lookup_item_;
  int64_t last_refusal_log_ = -1000000;  // tcp_max_connections warnings: at most one a second
};

}  // namespace msrpd::relay
