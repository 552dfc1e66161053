#pragma once
// Link: the relay's side of one connection (inbound or outbound). It tells MSRP from SIP on the
// first bytes, runs the frame parser over what arrives, routes each frame's head (the Router,
// through a FrameContext), answers frames the parser rejects, and relays what the route sends on
// (its Forward). Every write to its own connection goes through its OutputGate.
//
// Ownership: the net::Connection owns its Link (Connection::set_handler(unique_ptr)); the Link
// dies with it, at the end of the loop iteration in which on_close ran. Until then conn_ is null
// after on_close and every write to the Link fails. Nobody keeps a Link* across iterations:
// others hold the connection id and find the Link again (Worker::link).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "msrp/frame_parser.h"
#include "net/connection.h"
#include "relay/forward.h"
#include "relay/frame_context.h"
#include "relay/message_stop.h"
#include "relay/output_gate.h"
#include "relay/refusals.h"
#include "sip/message.h"

namespace msrpd::relay {

class Worker;

class Link final : public net::ConnectionHandler, public FrameOrigin, private GateSink {
 public:
  // What the Link is reading.
  enum class Input : uint8_t {
    sniffing,   // no byte yet says MSRP or SIP
    msrp_head,  // MSRP: between frames, or a head in part
    msrp_body,  // MSRP: the body of a routed frame is still arriving (relayed by forward_ or dropped)
    msrp_skip,  // MSRP: a frame the parser rejected, answered; its bytes are dropped to its end-line
    sip,        // SIP requests (request_route) on the MSRP port
    closed,     // on_close ran
  };
  static std::string_view name(Input i);

  // self: one end of the worker's self link (next hops that are this relay itself).
  Link(Worker& w, net::Connection& c, bool outbound, bool self = false);

  // net::ConnectionHandler
  size_t on_data(net::Connection& c, std::string_view data) override;
  void on_drained(net::Connection& c) override;
  void on_close(net::Connection& c, net::CloseReason reason, std::string_view detail) override;

  // FrameOrigin (what a FrameContext reads and asks of this connection)
  const Source& source() const override { return source_; }
  std::string_view srcaddr() const override { return srcaddr_; }
  std::string_view srcsock() const override { return srcsock_; }
  uint64_t id() const override { return id_; }
  bool secure() const override { return secure_; }
  // A whole frame (a reply, a REPORT) on this connection; honours close_after (reply flag 2).
  bool send(std::string_view bytes, bool close_after) override { return gate_.send(bytes, close_after); }
  bool send_at_end(std::string_view bytes, bool close_after) override;
  void succeeded() override;  // RFC 4976 §6.1: a request succeeded; probation ends
  // msrp_relay found no way to deliver the frame: logged, and a REPORT upstream for a SEND that
  // wants one (RFC 4976 §6.4.1).
  void relay_undeliverable(const msrp::Frame& f, const FrameBytes& bytes, uint16_t code) override;
  // RFC 4976 §6.3: counts this client's failed AUTHs; true (refused, counted) at auth_max_failures.
  bool auth_failed() override;
  void auth_succeeded() override { auth_failures_ = 0; }
  void session_bound(uint32_t seconds) override { keep_for_session(seconds); }
  void report_failure(const msrp::Frame& f, const FrameBytes& bytes, uint16_t code) override;

  Worker& worker() { return w_; }
  // The Forward of the frame being read (or the last one); Forwards parked for a connect aside.
  Forward& forward() { return *forward_; }
  // A new relayed-frame number (FrameKey::seq): unique per Link, parked Forwards included.
  uint64_t take_seq() { return next_seq_++; }
  // The next hop a frame of this link waits for was connected (dest) or could not be: the frame
  // with that seq (the current one or a parked one) goes on (link_connect.cpp).
  void hop_connected(uint64_t seq, uint64_t dest);
  void hop_failed(uint64_t seq, std::string_view why, uint16_t report_code);
  // The bytes waiting for connects changed: above the write high watermark the link stops
  // reading (kPauseConnecting) until connects take them.
  void connect_buffered();
  // An outbound connection opened for a next hop named by a host name: recorded in the
  // AddressIndex under that name too, so later frames to the same URI host reuse it (RFC 4975
  // §5.4), until it closes.
  void set_name_alias(std::string_view host, uint16_t port);

  // Bytes of frame `key` for this connection (OutputGate::output). False when it is gone.
  bool output(FrameKey key, std::string_view bytes, bool ends, bool close_after = false) {
    return gate_.output(key, bytes, ends, close_after);
  }
  // Bytes queued on the connection plus bytes held: above the write high watermark, sources stop.
  bool over_limit() const;
  // A transaction for frame `key` of this connection is registered: its timeout starts now (armed)
  // unless the gate still holds the frame's end, and then when the gate writes it (GateSink::ended).
  // RFC 4975 §7.1.1, RFC 4976 §6.4.1: 30 s from the last byte sent, not from its hand-over.
  bool arms_now(FrameKey key) const { return !gate_.holds(key); }
  void arm_when_written(FrameKey key, std::string_view tid);

  // Backpressure bits (reading stops while any is set).
  static constexpr unsigned kPauseDestination = 1;  // a same-worker destination is above its watermark
  static constexpr unsigned kPauseInflight = 2;     // too many bytes handed to another worker
  static constexpr unsigned kPauseConnecting = 4;   // too many bytes wait for next hops being connected
  void pause(unsigned bit);
  void unpause(unsigned bit);
  // Bytes handed to another worker for this link's destination, and their credit coming back.
  void add_inflight(size_t n);
  void credit(size_t n);
  // A same-worker source paused on this connection's watermark.
  void add_waiter(uint64_t src) { waiters_.push_back(src); }
  // Another worker's bytes queued here while above the watermark: credited once it drains.
  struct Credit {
    unsigned worker;
    uint64_t src;
    size_t bytes;
  };
  void hold_credit(const Credit& c) { credits_.push_back(c); }
  // RFC 4975 §10.5: a next hop answered 413 to a chunk this link relayed (message_stop.cpp).
  void message_stopped(StopNotice n);

 private:
  size_t on_msrp(std::string_view data);
  size_t on_sip(std::string_view data);
  // A frame the parser rejected (RFC 4975 §7.2): answered, counted; the link then skips to its
  // end-line, or closes when the stream cannot be resynchronised. The frame's bytes begin at
  // frame_start in `data` (the paths of the answer are taken from them); the parser's input goes
  // on at `resume`. Returns where on_msrp goes on (data.size() once closing).
  size_t reject(const msrp::Step& s, std::string_view data, size_t frame_start, size_t resume);
  // Input::msrp_skip: drops the rejected frame's bytes from `pos` on; false when more are needed.
  bool skip_rejected(std::string_view data, size_t& pos);
  // RFC 4975 §7.2: the answer to a rejected request, its paths taken from the raw head (best
  // effort); not sent (counted as dropped) when the head has no From-Path to address it to.
  void answer_rejected(std::string_view head, std::string_view tid, bool is_send, uint16_t status);
  void route(const msrp::Frame& f, const FrameBytes& bytes);
  // Frames the parser takes but the relay cannot relay without holding a destination (a SEND
  // with a malformed Byte-Range): refused and answered (link_reject.cpp); false then.
  bool relayable(const msrp::Frame& f, const FrameBytes& fb);
  // message_stop.cpp: a 413 that answers no transaction, to the chunk being written here, goes to
  // its source (the response ends here); a SEND chunk of a message stopped on this connection is
  // answered 413 before the route (true: the frame is done with).
  void stop_streamed_chunk(const msrp::Frame& f);
  bool refuse_stopped(const msrp::Frame& f, const FrameBytes& fb);
  void answer_stopped();  // the 413 in place of the route's 200 waiting in at_end_
  // link_relay.cpp: carries out the route's msrp_relay() calls, in order (a response with the id
  // its request came in with, answer_tid; must_reach as admit() set it).
  void relay_out(const msrp::Frame& f, const FrameBytes& fb, std::string_view answer_tid,
                 uint64_t must_reach);
  // RFC 4976 §6.2-6.4 before the route runs (docs/SECURITY.md): false when the frame is refused
  // (answered as the rule says). Sets must_reach: the only destination allowed (0: any).
  bool admit(const msrp::Frame& f, const FrameBytes& fb, uint64_t& must_reach);
  bool own_authority(std::string_view uri);
  // RFC 4975 §5.4, RFC 4976 §6.4.2: a relay that connected to this one is reached back over the
  // same connection: its URI (the first From-Path URI of the requests it relays) is recorded for
  // this connection when the connection proves it (the URI's host is the peer's address, or a
  // name in its verified certificate).
  void learn_prev_hop(const msrp::Frame& f);
  void refuse(Rule rule, const msrp::Frame& f, const FrameBytes& fb, uint16_t code, std::string_view what);
  // link_connect.cpp: the frame forward_ holds waits for a new connection to d's next hop (a
  // connect already pending to it is joined); the complete frame is parked when the next one comes.
  void open_next_hop(const Destination& d);
  void park();
  Forward* waiting_forward(uint64_t seq);
  void release_parked();
  // A frame below its bound (whole_bound) whose end-line has not arrived: wait (true) with
  // its bytes unconsumed; frame_in() tells, as more arrive, when to parse and route it.
  bool wait_for_end(std::string_view frame, size_t head_len, size_t parsed, size_t bound);
  // The body bytes frame `f` is waited for up to before it is routed: route_body_preview, and a
  // non-SEND request's whole body (RFC 4975 §7.1).
  size_t whole_bound(const msrp::Frame& f) const;
  // Whether the frame just parsed may be routed now: only an AUTH request asks the router
  // (Router::ready, link_wait.cpp); false: it waits unconsumed, the parser reset and reading
  // paused, until the router's resume routes it again.
  bool ready_to_route() {
    const msrp::Frame& f = parser_.frame();
    return !f.is_request() || f.method_id() != msrp::Method::auth || auth_ready();
  }
  bool auth_ready();
  void resume_routing();
  bool frame_in(std::string_view frame);
  // RFC 4976 §6.5: a session lives on this connection for `seconds`: no idle close before then.
  void keep_for_session(uint32_t seconds);
  void keep_path_for_session(const msrp::Frame& answer, uint64_t source);
  void wake_waiters();

  // GateSink (this connection's OutputGate)
  bool open() const override { return conn_ && conn_->is_open(); }
  bool write(std::string_view bytes) override { return conn_->send(bytes).ok(); }
  void close_after_flush() override { conn_->close_after_flush(); }
  void make_way(FrameKey owner) override;
  void released() override;
  void ended(FrameKey key) override;

  Worker& w_;
  net::Connection* conn_;  // null once closed
  uint64_t id_;
  bool outbound_;
  bool self_;
  bool secure_ = false;
  Input input_ = Input::sniffing;
  // The status to answer a rejected request with once its whole head is in (0: none pending).
  uint16_t reject_status_ = 0;
  sip::SipReader sip_reader_;  // Input::sip
  sip::SipMessage sip_msg_;
  msrp::FrameParser parser_;
  Destination dst_;         // where the route sends the current frame
  RelayOrders relays_;      // each msrp_relay() of the current frame (link_relay.cpp)
  std::string answer_tid_;  // a response's id on the way back (its request's id on the way in)
  // wait_for_end: the frame's "\r\n-------<tid>", how far it was searched, where waiting stops.
  std::string wait_marker_;
  size_t wait_scan_ = 0;
  size_t wait_until_ = 0;  // 0: not waiting
  bool waited_ = false;    // the bound was reached: route the frame with what is here
  // send_at_end: the route's 200 to the SEND being received, sent when its end-line arrives.
  std::string at_end_;
  bool at_end_close_ = false;
  bool has_at_end_ = false;
  std::unique_ptr<Forward> forward_;
  // Complete frames waiting for a connect, oldest first (RFC 4975 §7.1: in order per next hop),
  // and Forwards kept for reuse.
  std::vector<std::unique_ptr<Forward>> parked_;
  std::vector<std::unique_ptr<Forward>> spare_;
  uint64_t next_seq_ = 1;
  OutputGate gate_;
  StoppedMessages stopped_;  // messages a next hop answered 413 (message_stop.h)
  unsigned paused_ = 0;
  unsigned auth_failures_ = 0;  // 401/403 answers to this client's AUTHs since its last 200
  size_t inflight_ = 0;
  std::vector<uint64_t> waiters_;  // same-worker sources paused on this connection's watermark
  std::vector<Credit> credits_;    // other workers' bytes queued here while above the watermark
  // Transactions of frames the gate holds, armed when it writes their end (arm_when_written).
  struct Unarmed {
    FrameKey key;
    std::string tid;  // kept for its capacity
  };
  std::vector<Unarmed> unarmed_;
  size_t unarmed_count_ = 0;  // the first entries of unarmed_ in use
  std::string srcaddr_, srcsock_, peer_ip_, local_ip_, proto_name_;
  std::string own_host_;  // the last first-To-Path authority found to be this relay's (own_authority)
  uint16_t own_port_ = 0;
  std::string prev_host_;  // learn_prev_hop
  uint16_t prev_port_ = 0;
  std::string alias_host_;  // set_name_alias
  uint16_t alias_port_ = 0;
  Source source_;
};

}  // namespace msrpd::relay
