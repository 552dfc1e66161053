#include "relay/frame_context.h"

#include <cstdio>

#include "common/ascii.h"
#include "common/host_port.h"
#include "common/log.h"
#include "msrp/frame_writer.h"
#include "msrp/headers.h"
#include "msrp/status.h"
#include "msrp/uri.h"
#include "net/address.h"
#include "net/connection.h"
#include "relay/address_index.h"
#include "relay/cmap.h"
#include "relay/engine.h"
#include "relay/local_sockets.h"
#include "relay/own_uris.h"
#include "relay/refusals.h"
#include "relay/stats.h"
#include "sip/frame_view.h"

namespace msrpd::relay {

namespace {

using ascii::trim;
using msrp::code_of;
using msrp::Status;

// Kamailio's method ids of $msrp(method): SEND=1, AUTH=2, REPORT=3, other=0.
int64_t kamailio_method_id(msrp::Method m) {
  switch (m) {
    case msrp::Method::send:
      return 1;
    case msrp::Method::auth:
      return 2;
    case msrp::Method::report:
      return 3;
    default:
      return 0;
  }
}

// The session part of an MSRP URI (Kamailio's lenient splitting), empty if none.
std::string_view session_of(std::string_view uri) {
  auto parts = msrp::split_msrpuri(uri);
  if (!parts) return {};
  return trim(parts->session);
}

// host (brackets removed) and port of an MSRP URI; RFC 4976 §8: port 2855 when absent.
bool host_port_of(std::string_view uri, Destination& d) {
  auto parts = msrp::split_msrpuri(uri);
  if (!parts || parts->host.empty()) return false;
  std::string_view host = strip_brackets(parts->host);
  uint16_t port = 2855;
  if (!parts->port.empty() && (!ascii::parse_uint(parts->port, port) || port == 0)) return false;
  d.host.assign(host);
  d.port = port;
  d.port_given = !parts->port.empty();
  d.secure = parts->scheme.size() == 5;  // "msrps"
  d.set = true;
  return true;
}

// The same hop: host (case-insensitive), port and session of two MSRP URIs.
bool same_hop(std::string_view a, std::string_view b) {
  std::string_view ha, hb;
  uint16_t pa = 0, pb = 0;
  return uri_authority(a, ha, pa) && uri_authority(b, hb, pb) && pa == pb && ascii::iequals(ha, hb) &&
         uri_session(a) == uri_session(b);
}

}  // namespace

FrameContext::FrameContext(FrameOrigin& origin, const RouteEnv& env, Destination& dst, RelayOrders& relays,
                           const msrp::Frame& frame, const FrameBytes& bytes)
    : origin_(origin), env_(env), frame_(frame), bytes_(bytes), dst_(dst), relays_(relays) {
  relays_.count = 0;
}

MessageKind FrameContext::kind() const {
  return frame_.is_request() ? MessageKind::msrp_request : MessageKind::msrp_reply;
}

const Source& FrameContext::source() const {
  return origin_.source();
}

Value FrameContext::msrp(MsrpKey key) {
  auto to = frame_.to_path();
  auto from = frame_.from_path();
  switch (key) {
    case MsrpKey::buf:
      return Value::of_str(bytes_.buf);
    case MsrpKey::body:
      if (!frame_.has_body()) return Value::null_value();
      // Kamailio's body keeps the CRLF that precedes the end-line.
      if (bytes_.complete) return Value::of_str({bytes_.body.data(), bytes_.body.size() + 2});
      return Value::of_str(bytes_.body);
    case MsrpKey::code: {
      if (frame_.is_request()) return Value::null_value();
      std::string_view sl = frame_.start_line();
      std::string_view digits = sl.substr(5 + frame_.transaction_id().size() + 1, 3);
      return Value{Value::Kind::string, frame_.status_code(), digits};
    }
    case MsrpKey::hdrs: {
      std::string_view h = frame_.head();
      size_t start = frame_.start_line().size() + 2;
      size_t end = h.size() - (frame_.has_body() ? 2 : 0);
      return Value::of_str(start <= end ? h.substr(start, end - start) : std::string_view());
    }
    case MsrpKey::msgid: {
      auto v = frame_.header(msrp::HeaderId::message_id);
      return v ? Value::of_str(trim(*v)) : Value::null_value();
    }
    case MsrpKey::method:
      if (!frame_.is_request()) return Value::null_value();
      return Value{Value::Kind::string, kamailio_method_id(frame_.method_id()), frame_.method()};
    case MsrpKey::buflen:
      return Value::of_int(static_cast<int64_t>(bytes_.buf.size()));
    case MsrpKey::sessid: {
      std::string_view s = to.empty() ? std::string_view() : session_of(to[0]);
      return s.empty() ? Value::null_value() : Value::of_str(s);
    }
    case MsrpKey::reason:
      if (frame_.is_request()) return Value::null_value();
      return Value::of_str(trim(frame_.comment()));
    case MsrpKey::crthop:
      return to.empty() ? Value::null_value() : Value::of_str(to[0]);
    case MsrpKey::bodylen:
      // Kamailio counts the CRLF before the end-line as body.
      return Value::of_int(frame_.has_body() ? static_cast<int64_t>(bytes_.body.size()) + 2 : 0);
    case MsrpKey::transid:
      return Value::of_str(frame_.transaction_id());
    case MsrpKey::prevhop:
      return from.empty() ? Value::null_value() : Value::of_str(from[0]);
    case MsrpKey::nexthop:
      return to.size() < 2 ? Value::null_value() : Value::of_str(to[1]);
    case MsrpKey::lasthop:
      return to.empty() ? Value::null_value() : Value::of_str(to.back());
    case MsrpKey::firsthop:
      return from.empty() ? Value::null_value() : Value::of_str(from.back());
    case MsrpKey::prevhops:
      return Value::of_int(static_cast<int64_t>(from.size()));
    case MsrpKey::nexthops:
      return Value::of_int(to.empty() ? 0 : static_cast<int64_t>(to.size()) - 1);
    case MsrpKey::srcaddr:
      return Value::of_str(origin_.srcaddr());
    case MsrpKey::srcsock:
      return Value::of_str(origin_.srcsock());
    case MsrpKey::conid:
      return Value::of_int(static_cast<int64_t>(origin_.id()));
  }
  return Value::null_value();
}

std::string_view FrameContext::method() const {
  return frame_.is_request() ? frame_.method() : std::string_view();
}

std::optional<std::string_view> FrameContext::header(std::string_view name) const {
  // sipmsg=1 (the seed's §8): the route sees the frame as a SIP request whose first headers are
  // fixed (Via, From, To, Call-ID, CSeq, Content-Length), then MSRP-First-Line, then the frame's.
  if (env_.config->sipmsg) {
    if (auto fixed = sip::sipmsg_fixed_header(name)) return fixed;
  }
  if (ascii::iequals(name, "MSRP-First-Line")) return frame_.start_line();
  auto v = frame_.header(name);
  if (!v) return std::nullopt;
  return trim(*v);
}

int FrameContext::reply(uint16_t code, std::string_view text, std::string_view extra_headers) {
  // RFC 4975 §7.2: responses answer requests only; RFC 4975 §7.1.2: a REPORT is never answered.
  if (!frame_.is_request() || frame_.method_id() == msrp::Method::report) return 1;
  // RFC 4975 §7.2: Failure-Report "no": no response at all; "partial": only failures.
  auto fr = frame_.failure_report();
  msrp::FailureReport mode = fr ? *fr : msrp::FailureReport::yes;
  if (mode == msrp::FailureReport::no) return 1;
  if (mode == msrp::FailureReport::partial && code == code_of(Status::ok)) return 1;
  if (code < 100 || code > 999) return -1;
  if (text.empty()) text = msrp::reason_phrase(code);

  BufferPool::Lease extra_buf = env_.buffers->take();
  std::string& extra = *extra_buf;
  if (const msrp::Header* mid = frame_.find(msrp::HeaderId::message_id)) extra.append(mid->line);
  extra.append(extra_headers);
  if (!extra_headers.empty() && extra_headers.back() != '\n') extra.append("\r\n");
  // RFC 4976 §9.1: every 200 to an AUTH carries Authentication-Info.
  if (code == code_of(Status::ok) && frame_.method_id() == msrp::Method::auth && !auth_info_.empty()) {
    msrp::write_header(extra, msrp::HeaderId::authentication_info, auth_info_);
  }
  // RFC 4975 §7.2: the response's To-Path is the first From-Path URI for a SEND, the whole
  // From-Path otherwise; its From-Path is the receiving hop's own URI (the first To-Path URI).
  const msrp::Header* fp = frame_.find(msrp::HeaderId::from_path);
  std::string_view to_path = frame_.method_id() == msrp::Method::send ? frame_.from_path()[0]
                                                                      : (fp ? fp->value : std::string_view());
  if (code == code_of(Status::ok) && frame_.method_id() == msrp::Method::auth) bind_use_path(extra);
  BufferPool::Lease out_buf = env_.buffers->take();
  std::string& out = *out_buf;
  msrp::write_response(out, frame_.transaction_id(), code, text, to_path, frame_.to_path()[0], extra);
  // Counted before sending, so that whoever reads the reply also sees the counters.
  Stats::bump(env_.stats->replies_sent[code]);
  if (code == code_of(Status::unauthorized) && frame_.method_id() == msrp::Method::auth)
    Stats::bump(env_.stats->auth_failures);
  bool close_after = (reply_flags_ & 2) != 0;
  // RFC 4976 §6.3: failed AUTHs of a directly connected client (one From-Path URI; a relay peer
  // AUTHs for many) are counted on its connection, which closes at the limit after this answer.
  if (frame_.method_id() == msrp::Method::auth && frame_.from_path().size() == 1) {
    if (code == code_of(Status::unauthorized) || code == code_of(Status::forbidden)) {
      close_after = origin_.auth_failed() || close_after;
    } else if (code == code_of(Status::ok)) {
      origin_.auth_succeeded();
    }
  }
  // RFC 4976 §6.4.1: a 200 to a SEND says the chunk was received, so it leaves once the chunk's
  // end-line has (the body goes on streaming cut-through meanwhile); other answers leave now.
  bool at_end = code == code_of(Status::ok) && frame_.method_id() == msrp::Method::send && !bytes_.complete;
  if (!(at_end ? origin_.send_at_end(out, close_after) : origin_.send(out, close_after))) return -1;
  reply_code_ = code;
  if (code / 100 == 2) origin_.succeeded();
  return 1;
}

// RFC 4976 §6.3: the session URIs of this relay's in the Use-Path of a 200 to AUTH are valid on
// the AUTHing connection only, until they expire. Whether msrp_cmap_save wrote the Use-Path or the
// script did (Example 1.17), the engine records them here, from the headers being sent. RFC 4976
// §6.5: that connection then stays open while idle until they expire (open_relay too).
void FrameContext::bind_use_path(std::string_view headers) {
  std::string_view use_path, expires_text;
  size_t p = 0;
  while (p < headers.size()) {
    size_t nl = headers.find("\r\n", p);
    std::string_view line = headers.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
    p = nl == std::string_view::npos ? headers.size() : nl + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    if (ascii::iequals(name, "Use-Path")) {
      use_path = trim(line.substr(colon + 1));
    } else if (ascii::iequals(name, "Expires")) {
      expires_text = trim(line.substr(colon + 1));
    }
  }
  if (use_path.empty()) return;
  uint32_t expires = env_.config->auth_max_expires;
  if (uint32_t v = 0; !expires_text.empty() && ascii::parse_uint(expires_text, v)) {
    expires = v;
  } else if (auto ex = frame_.expires(); ex && *ex && **ex > 0) {
    expires = **ex;
  }
  origin_.session_bound(expires);
  if (!env_.bindings || !env_.own) return;  // open_relay: nothing is checked against them
  auto until = CmapItem::Clock::now() + std::chrono::seconds(expires);
  std::string_view local_ip = origin_.source().local_ip;
  while (!use_path.empty()) {
    size_t sp = use_path.find(' ');
    std::string_view uri = use_path.substr(0, sp);
    use_path = sp == std::string_view::npos ? std::string_view() : ascii::ltrim(use_path.substr(sp + 1));
    std::string_view session = uri_session(uri);
    std::string_view host;
    uint16_t port = 0;
    if (session.empty() || !uri_authority(uri, host, port)) continue;
    // The route hands this URI out as the relay's: so it is (Example 1.17 writes its address by
    // hand, which need not be a listen address: behind NAT it is the public one).
    if (!env_.own->is_own(host, port, local_ip) && env_.own->learn(host, port)) {
      LM_NOTICE("engine: the route hands out %.*s in a Use-Path: taken as one of this relay's addresses",
                static_cast<int>(uri.size()), uri.data());
    }
    CmapItem item;
    item.session_id.assign(session);
    item.conid = origin_.id();
    item.peer.assign(frame_.from_path()[0]);  // the hop towards the client (require_destination)
    item.expires = until;
    env_.bindings->save(std::move(item));
  }
}

int FrameContext::msrp_reply(std::string_view code, std::string_view text, std::string_view hdrs) {
  code = trim(code);
  uint16_t c = 0;
  if (code.size() != 3 || !ascii::parse_uint(code, c) || c < 100) {
    LM_ERR("msrp_reply: bad status code '%.*s'", static_cast<int>(code.size()), code.data());
    return -1;
  }
  return reply(c, text, hdrs);
}

int FrameContext::msrp_set_dst(std::string_view addr, std::string_view sock) {
  Destination d;
  if (!host_port_of(trim(addr), d)) {
    LM_ERR("msrp_set_dst: bad address '%.*s'", static_cast<int>(addr.size()), addr.data());
    return -1;
  }
  dst_.clear();
  dst_.host = std::move(d.host);
  dst_.port = d.port;
  dst_.port_given = d.port_given;
  dst_.secure = d.secure;
  dst_.set = true;
  sock = trim(sock);
  if (sock.empty() || !env_.sockets) return 1;
  // The local address the connection is made from (Kamailio forces the socket). A literal the
  // config names was checked at load; a value from a variable is checked here: none such, and
  // relaying there fails as a refused connect does.
  LocalSockets::IpText ip_buf;
  auto s = SockName::parse(sock);
  std::optional<std::string_view> ip = s ? env_.sockets->find(*s, ip_buf) : std::nullopt;
  if (!ip) {
    // Counted, logged at most once a second (a route's mistake, met by every frame it routes).
    if (env_.refusals) {
      BufferPool::Lease what = env_.buffers->take();
      what->append("msrp_set_dst's sock '").append(sock).append("' is not a listen socket of msrpd (");
      what->append(s ? env_.sockets->describe() : s.error().message).append("), not relayed");
      env_.refusals->refuse(Rule::no_socket, origin_.srcaddr(), *what);
    }
    dst_.no_socket = true;
    return -1;
  }
  dst_.local_ip.assign(*ip);
  return 1;
}

int FrameContext::msrp_relay_flags(int flags) {
  relay_flags_ |= flags & 3;
  return 1;
}

int FrameContext::msrp_reply_flags(int flags) {
  reply_flags_ |= flags & 3;
  return 1;
}

void FrameContext::auth_succeeded(std::string_view authentication_info) {
  auth_info_.assign(authentication_info);
}

int FrameContext::msrp_relay() {
  auto to = frame_.to_path();
  if (to.size() < 2) {
    // RFC 4976 §6.4.3: a response addressed to this relay only ends here.
    if (frame_.is_request()) LM_INFO("msrp_relay: To-Path has only one URI, nowhere to forward");
    return -1;
  }
  // Kamailio sends the frame on each call, to the destination set at that moment. A response goes
  // back once (RFC 4976 §6.4.3: along its transaction); a frame whose body is still arriving
  // (longer than route_body_limit) is streamed to one destination only; and at most kMax copies.
  if (relays_.count > 0) {
    std::string_view tid = frame_.transaction_id();
    const char* why = frame_.is_response() ? "a response goes back once"
                      : !bytes_.complete   ? "its body is longer than route_body_limit and still arriving"
                      : relays_.count == RelayOrders::kMax ? "a frame is relayed at most 8 times"
                                                           : nullptr;
    if (why) {
      // Counted, logged at most once a second: a sender's long frames meet it on every one.
      if (env_.refusals) {
        BufferPool::Lease what = env_.buffers->take();
        what->append("msrp_relay() again for ").append(tid).append(": ").append(why);
        env_.refusals->refuse(Rule::relay_again, origin_.srcaddr(), *what);
      }
      return -1;
    }
  }
  // This call's destination: the route's (msrp_set_dst / msrp_cmap_lookup / the transaction),
  // completed here; the route's own stays as it set it for the next call.
  RelayOrder& order = relays_.next();
  Destination& d = order.dst;
  d = dst_;
  if (frame_.is_response()) {
    // RFC 4976 §6.4.3: a response goes back only on the connection its request came in on,
    // found through the transaction this relay forwarded; any other is dropped and counted.
    if (d.answer == Destination::Answer::ends_here) return -1;
    if (d.answer != Destination::Answer::back) {
      if (env_.refusals) {
        env_.refusals->refuse(Rule::unmatched_response, origin_.srcaddr(),
                              "a response to no transaction of this relay");
      } else {
        Stats::bump(env_.stats->responses_unmatched);
      }
      return -1;
    }
    order.flags = relay_flags_;
    ++relays_.count;
    return 1;
  }
  // Where: msrp_set_dst / msrp_cmap_lookup, else the next To-Path URI.
  bool next_uri = !d.set;
  if (!d.set) {
    if (!host_port_of(to[1], d)) {
      LM_WARN("msrp_relay: cannot route to '%.*s'", static_cast<int>(to[1].size()), to[1].data());
      origin_.relay_undeliverable(frame_, bytes_, code_of(Status::bad_request));
      return -1;
    }
  }
  // msrp_set_dst's sock named no listen socket: as a connect that could not be made.
  if (d.no_socket) {
    origin_.relay_undeliverable(frame_, bytes_, code_of(Status::session_does_not_exist));
    return -1;
  }
  // A next hop that is this relay itself goes inside the process, never over a connection to its
  // own address (which may not even be reachable from here behind NAT).
  if (d.conid == 0 && env_.own && env_.self && env_.own->is_own(d.host, d.port, origin_.source().local_ip)) {
    d.conid = env_.self->self_link();
    d.self = d.conid != 0;
  }
  // RFC 4975 §5.4: reuse a connection to that address (with a sock, one from that local address
  // only: the route chose where its traffic leaves from).
  if (d.conid == 0 && net::SockAddr::is_numeric(d.host)) {
    net::Transport t = d.secure ? net::Transport::tls : net::Transport::tcp;
    if (net::Connection* c =
            env_.connections ? env_.connections->find_reusable(t, d.host, d.port, d.local_ip) : nullptr) {
      d.conid = c->id();
    } else {
      // A connection to that address owned by another worker.
      d.conid = env_.addresses->find(d.secure, d.host, d.port, d.local_ip);
    }
  } else if (d.conid == 0) {
    // RFC 4975 §5.4: a connection opened earlier for the same URI host, port and scheme.
    d.conid = env_.addresses->find(d.secure, d.host, d.port, d.local_ip);
  }
  // RFC 4976 §6.4: a request for a session whose client did not send it goes to that client only:
  // relayed to the next To-Path URI, when that is the hop the AUTH came from, it takes the
  // connection the AUTH came in on (a relay in front of the client may have connected from any
  // port); anywhere else it is refused.
  if (must_reach_ != 0 && d.conid != must_reach_ && next_uri && same_hop(to[1], must_prev_)) {
    d.conid = must_reach_;
    d.self = false;
  }
  if (must_reach_ != 0 && d.conid != must_reach_) {
    env_.refusals->refuse(Rule::not_authorized, origin_.srcaddr(),
                          "a request for a session of another connection, not towards it");
    if (!replied()) {
      reply(code_of(Status::forbidden), {}, {});
    } else {
      origin_.report_failure(frame_, bytes_, code_of(Status::forbidden));
    }
    return -1;
  }
  // Send flag 1: never open a new connection.
  if (d.conid == 0 && (relay_flags_ & 1)) {
    LM_WARN("msrp_relay: no connection to %s:%u (flag 1)", d.host.c_str(), d.port);
    origin_.relay_undeliverable(frame_, bytes_, code_of(Status::session_does_not_exist));
    return -1;
  }
  if (d.self) Stats::bump(env_.stats->self_hops);
  order.flags = relay_flags_;
  ++relays_.count;
  return 1;
}

int FrameContext::msrp_cmap_save() {
  if (!frame_.is_request() || frame_.method_id() != msrp::Method::auth) return -2;
  ConnectionMap* map = env_.cmap;
  if (!map) return -1;
  const EngineConfig& cfg = *env_.config;
  auto ex = frame_.expires();
  if (!ex) {
    reply(code_of(Status::bad_request), {}, {});
    return -1;
  }
  uint32_t expires = ex->value_or(cfg.auth_max_expires);
  std::string line;
  // RFC 4976 §6.3, §4.6: an Expires outside policy gets 423 with the bound it broke.
  if (expires < cfg.auth_min_expires) {
    msrp::write_header(line, msrp::HeaderId::min_expires, cfg.auth_min_expires);
    reply(code_of(Status::interval_out_of_bounds), {}, line);
    return -1;
  }
  if (expires > cfg.auth_max_expires) {
    msrp::write_header(line, msrp::HeaderId::max_expires, cfg.auth_max_expires);
    reply(code_of(Status::interval_out_of_bounds), {}, line);
    return -1;
  }
  CmapItem item;
  auto now = CmapItem::Clock::now();
  item.peer.assign(frame_.from_path().back());
  // A re-AUTH on the same connection for the same client (last From-Path URI) refreshes its
  // session: the same URI again with the new Expires, which bind_use_path then also gives the
  // engine's binding (RFC 4976 §6.3 binds a URI to its connection until Expires; refreshing is
  // not specified, AG msrprelay does the same). Anything else gets a fresh, unguessable id.
  if (!map->find_session(origin_.id(), item.peer, now, item.session_id))
    item.session_id = ConnectionMap::new_session_id();
  item.addr.assign(origin_.srcaddr());
  item.sock.assign(origin_.srcsock());
  item.conid = origin_.id();
  item.expires = now + std::chrono::seconds(expires);

  std::string hdrs;
  hdrs.reserve(128);
  const Source& s = origin_.source();
  msrp::write_use_path(hdrs, origin_.secure(), cfg.use_path_addr, s.local_ip, s.local_port, item.session_id);
  msrp::write_header(hdrs, msrp::HeaderId::expires, expires);
  map->save(std::move(item));
  return reply(code_of(Status::ok), {}, hdrs) > 0 ? 1 : -1;
}

int FrameContext::msrp_cmap_lookup() {
  if (frame_.is_request() && frame_.method_id() == msrp::Method::auth) return -2;
  ConnectionMap* map = env_.cmap;
  if (!map) return -1;
  std::string_view sessid = session_of(frame_.to_path()[0]);
  if (sessid.empty()) return -3;
  CmapItem& item = *env_.lookup_item;
  if (!map->lookup_into(sessid, CmapItem::Clock::now(), item)) return -4;
  dst_.clear();
  dst_.conid = item.conid;
  dst_.set = true;
  return 1;
}

}  // namespace msrpd::relay
