#pragma once
// The action API: what a route (the routing script, a KEMI callback or a C++ route) can read of
// the message it runs for, and the decisions it can take. The relay engine implements Context for
// each message in flight; the script layer calls it and knows nothing else of the engine.
//
// Return values follow Kamailio's conventions, because scripts test them: positive = true,
// negative = false/failure, 0 = stop the route.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace msrpd::relay {

// The keys of $msrp(key), as the seed names them (21 keys).
enum class MsrpKey : uint8_t {
  buf,
  body,
  code,
  hdrs,
  msgid,
  method,
  buflen,
  sessid,
  reason,
  crthop,
  bodylen,
  transid,
  prevhop,
  nexthop,
  lasthop,
  firsthop,
  prevhops,
  nexthops,
  srcaddr,
  srcsock,
  conid,
};
inline constexpr int kMsrpKeyCount = 21;

// A value read from a message: null, an integer, or a string (with its integer form when numeric,
// as Kamailio's PV_VAL_INT|PV_VAL_STR). Strings stay valid while the route runs.
struct Value {
  enum class Kind : uint8_t { null, integer, string };
  Kind kind = Kind::null;
  int64_t i = 0;
  std::string_view s;

  static Value null_value() { return {}; }
  static Value of_int(int64_t v) { return {Kind::integer, v, {}}; }
  static Value of_str(std::string_view v) { return {Kind::string, 0, v}; }
  bool is_null() const { return kind == Kind::null; }
};

enum class MessageKind : uint8_t { msrp_request, msrp_reply, sip_request, sip_reply };

// Where the message came from and on which local socket ($si, $sp, $Ri, $Rp, $proto).
struct Source {
  std::string_view ip;  // "127.0.0.1" or "::1"
  uint16_t port = 0;
  std::string_view local_ip;  // the receiving socket
  uint16_t local_port = 0;
  std::string_view proto;  // "tcp" or "tls"
  uint64_t conid = 0;      // connection id
};

// Routes a waiting frame again (Router::ready): callable from any thread, once; runs fn (may be
// empty) on the frame's worker thread, then the frame's connection reads again and the frame is
// routed. Dropped when the connection or the engine is gone by then.
using Resume = std::function<void(std::function<void()> fn)>;

class Context {
 public:
  virtual ~Context() = default;

  virtual MessageKind kind() const = 0;
  virtual const Source& source() const = 0;

  // $msrp(key); null where the key does not apply (see docs/ and research/kamailio-msrp.md §2).
  virtual Value msrp(MsrpKey key) = 0;

  // The request method: the MSRP method for MSRP frames (the config keyword `method`, $rm gives
  // "MSRP" for frames as Kamailio's SIP view does), the SIP method for SIP requests.
  virtual std::string_view method() const = 0;
  // $hdr(name): first header of that name (case-insensitive), value trimmed; the SIP view of a
  // frame exposes the frame's headers plus MSRP-First-Line.
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  // The message bytes up to the end of its headers (for $mb-like uses and logging).
  virtual std::string_view head() const = 0;

  // msrp module functions (seed §4). Strings are the already-evaluated parameters.
  virtual int msrp_relay() = 0;
  virtual int msrp_reply(std::string_view code, std::string_view text, std::string_view hdrs) = 0;
  virtual int msrp_set_dst(std::string_view addr, std::string_view sock) = 0;
  virtual int msrp_relay_flags(int flags) = 0;
  virtual int msrp_reply_flags(int flags) = 0;
  virtual int msrp_cmap_save() = 0;
  virtual int msrp_cmap_lookup() = 0;
  bool msrp_is_request() const { return kind() == MessageKind::msrp_request; }
  bool msrp_is_reply() const { return kind() == MessageKind::msrp_reply; }

  // sl module: a stateless reply to a SIP request (no-op returning -1 for MSRP frames).
  virtual int sl_send_reply(int code, std::string_view reason) = 0;

  // The auth module verified this AUTH's Digest credentials. `authentication_info` is the value of
  // the Authentication-Info header that RFC 4976 §9.1 requires in every 200 to an AUTH: the engine
  // adds it to the 200 that msrp_cmap_save or msrp_reply sends for this frame.
  virtual void auth_succeeded(std::string_view authentication_info) {}
};

}  // namespace msrpd::relay
