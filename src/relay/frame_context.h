#pragma once
// FrameContext: relay::Context over one received MSRP frame (its parsed head and the part of its
// body already received) and the connection it came in on. The route's actions either act at
// once (msrp_reply, msrp_cmap_save send a reply on the source connection) or record a decision
// (msrp_relay, msrp_set_dst, flags) that the engine carries out when the route returns.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "msrp/frame.h"
#include "relay/buffers.h"
#include "relay/context.h"

namespace msrpd::net {
class ConnectionRegistry;
}

namespace msrpd::relay {

struct EngineConfig;
struct Stats;
class ConnectionMap;
class AddressIndex;
struct CmapItem;
class Refusals;
class OwnUris;
class LocalSockets;

// Where msrp_relay sends the frame, when set by msrp_set_dst, msrp_cmap_lookup or a matched
// transaction (responses go back on the connection the request came from).
struct Destination {
  uint64_t conid = 0;       // a known connection (takes precedence)
  std::string host;         // else an address
  uint16_t port = 0;        // 2855 when the URI has none (RFC 4976 §8)
  bool port_given = false;  // false: resolve per RFC 4976 §8 (SRV first) when host is a name
  bool secure = false;      // msrps: TLS, the certificate checked against host (RFC 4976 §9)
  bool set = false;
  bool self = false;  // this relay itself: routed inside the process (the worker's self link)
  // msrp_set_dst's sock: the local address (numeric) the connection to it is made from, and the
  // only one a reused connection may have (empty: any).
  std::string local_ip;
  bool no_socket = false;  // the sock names no listen socket of msrpd: relaying there fails
  // A response travels only back along the transaction it answers (RFC 4976 §6.4.3).
  enum class Answer : uint8_t {
    unmatched,  // no transaction of this relay's: not relayed (a forged or late response)
    back,       // conid is the connection its request came in on
    ends_here,  // it answers a piece of a chunk this relay split: consumed
  } answer = Answer::unmatched;
  void clear() {
    conid = 0;
    host.clear();
    port = 0;
    port_given = false;
    secure = false;
    set = false;
    self = false;
    local_ip.clear();
    no_socket = false;
    answer = Answer::unmatched;
  }
};

// One msrp_relay() call: where the frame goes and the send flags set before the call (Kamailio
// sends at the call, so a flag set after it does not apply to it).
struct RelayOrder {
  Destination dst;
  int flags = 0;
};

// The relays one route asked for, in call order. Kept by the caller across frames (the entries
// and their strings are reused: no allocation once warm). A frame whose body is still arriving
// when the route runs (longer than route_body_limit) is relayed once; a whole frame up to kMax
// times (Kamailio sends it on each call).
struct RelayOrders {
  static constexpr size_t kMax = 8;
  std::vector<RelayOrder> items;  // the first `count` are this frame's
  size_t count = 0;
  const RelayOrder& operator[](size_t i) const { return items[i]; }
  RelayOrder& operator[](size_t i) { return items[i]; }
  // The entry the next order is written into (committed by ++count).
  RelayOrder& next() {
    if (items.size() == count) items.emplace_back();
    return items[count];
  }
};

// The received bytes of a frame, all views into the source connection's buffer.
struct FrameBytes {
  std::string_view buf;   // head + body so far (+ CRLF and end-line when complete)
  std::string_view body;  // body bytes so far, without the CRLF before the end-line
  bool complete = false;  // the end-line is in `buf`
  char flag = 0;          // its flag when complete
};

// Where a frame came from, as its context needs it: the engine's Link, or a stand-in (benchmarks).
class FrameOrigin {
 public:
  virtual ~FrameOrigin() = default;
  virtual const Source& source() const = 0;
  virtual std::string_view srcaddr() const = 0;  // $msrp(srcaddr): "msrp://ip:port"
  virtual std::string_view srcsock() const = 0;  // $msrp(srcsock): "tcp:ip:port"
  virtual uint64_t id() const = 0;               // the connection id ($msrp(conid))
  virtual bool secure() const = 0;               // TLS
  // A whole frame on this connection (a reply); close_after: reply flag 2. False when it is gone.
  virtual bool send(std::string_view bytes, bool close_after) = 0;
  // The same once the frame's end-line has arrived (its body may still be streaming in): the 200
  // to a SEND chunk (RFC 4976 §6.4.1). Dropped if the frame breaks off. Here: at once.
  virtual bool send_at_end(std::string_view bytes, bool close_after) { return send(bytes, close_after); }
  virtual void succeeded() = 0;  // RFC 4976 §6.1: a request succeeded
  // RFC 4976 §6.3: an AUTH from a directly connected client was answered 401/403 (true: that was
  // the last one allowed, close once the answer is out) or 200 (the count starts again).
  virtual bool auth_failed() { return false; }
  virtual void auth_succeeded() {}
  // RFC 4976 §6.5: a 200 to an AUTH handed out a session on this connection for `seconds`: it is
  // not closed for idleness before then.
  virtual void session_bound(uint32_t seconds) {}
  // msrp_relay found no way to deliver the frame (logged; a REPORT upstream when one is wanted).
  virtual void relay_undeliverable(const msrp::Frame& f, const FrameBytes& bytes, uint16_t code) = 0;
  // A REPORT with `code` upstream when the request wants one (RFC 4976 §6.4.1), nothing else.
  virtual void report_failure(const msrp::Frame& f, const FrameBytes& bytes, uint16_t code) = 0;
};

// Where a next hop that is this relay itself goes: the worker's self link (a connection pair
// inside the process), created on first use. 0 when it cannot be made.
class SelfRoute {
 public:
  virtual ~SelfRoute() = default;
  virtual uint64_t self_link() = 0;
};

// What a worker offers the contexts of its frames. connections may be null (no reuse by address).
struct RouteEnv {
  const EngineConfig* config = nullptr;
  Stats* stats = nullptr;
  ConnectionMap* cmap = nullptr;  // null: msrp_cmap_* fail (cmap_size 0)
  AddressIndex* addresses = nullptr;
  net::ConnectionRegistry* connections = nullptr;
  BufferPool* buffers = nullptr;
  CmapItem* lookup_item = nullptr;  // msrp_cmap_lookup's kept record (no allocation per lookup)
  Refusals* refusals = nullptr;     // the worker's counted, rate-limited refusal log
  // RFC 4976 §6 (docs/SECURITY.md). own: this relay's authorities (null: no self hops, no
  // checks); bindings: the session URIs handed out in Use-Path (null: open_relay, not checked).
  OwnUris* own = nullptr;
  ConnectionMap* bindings = nullptr;
  SelfRoute* self = nullptr;
  // msrpd's listen sockets, for msrp_set_dst's sock (null: the sock is not looked at).
  const LocalSockets* sockets = nullptr;
};

class FrameContext final : public Context {
 public:
  // dst: where the route's decisions about the destination are recorded; relays: each
  // msrp_relay() call's destination and flags (both kept by the caller; relays is emptied here).
  FrameContext(FrameOrigin& origin, const RouteEnv& env, Destination& dst, RelayOrders& relays,
               const msrp::Frame& frame, const FrameBytes& bytes);

  MessageKind kind() const override;
  const Source& source() const override;
  Value msrp(MsrpKey key) override;
  std::string_view method() const override;
  std::optional<std::string_view> header(std::string_view name) const override;
  std::string_view head() const override { return frame_.head(); }

  int msrp_relay() override;
  int msrp_reply(std::string_view code, std::string_view text, std::string_view hdrs) override;
  int msrp_set_dst(std::string_view addr, std::string_view sock) override;
  int msrp_relay_flags(int flags) override;
  int msrp_reply_flags(int flags) override;
  int msrp_cmap_save() override;
  int msrp_cmap_lookup() override;
  int sl_send_reply(int code, std::string_view reason) override { return -1; }
  void auth_succeeded(std::string_view authentication_info) override;

  // Decisions, read by the engine after the route.
  const msrp::Frame& frame() const { return frame_; }
  const FrameBytes& bytes() const { return bytes_; }
  bool relay_requested() const { return relays_.count > 0; }
  const RelayOrders& relays() const { return relays_; }
  int reply_flags() const { return reply_flags_; }
  Destination& destination() { return dst_; }
  bool replied() const { return reply_code_ != 0; }
  uint16_t reply_code() const { return reply_code_; }

  // Sends a response to this frame on the source connection, honouring RFC 4975 §7.2 and the
  // Failure-Report header. 1 sent (or rightly not sent), -1 error.
  int reply(uint16_t code, std::string_view text, std::string_view extra_headers);
  // RFC 4976 §6.4: the request is for a session whose client did not send it: it may go only to
  // that client's connection (checked by msrp_relay, whatever the route chose). prev_hop: the
  // first From-Path URI of the AUTH that bound the session (the hop towards its client): a route
  // relaying to that next To-Path URI goes over the bound connection.
  void require_destination(uint64_t conid, std::string_view prev_hop) {
    must_reach_ = conid;
    must_prev_ = prev_hop;
  }

 private:
  FrameOrigin& origin_;
  const RouteEnv& env_;
  const msrp::Frame& frame_;
  FrameBytes bytes_;
  Destination& dst_;
  RelayOrders& relays_;
  int relay_flags_ = 0;
  int reply_flags_ = 0;
  uint16_t reply_code_ = 0;
  uint64_t must_reach_ = 0;
  std::string_view must_prev_;
  std::string auth_info_;

  // RFC 4976 §6.3, §6.5: the sessions a 200 to AUTH hands out (headers: its Use-Path, Expires).
  void bind_use_path(std::string_view headers);
};

}  // namespace msrpd::relay
