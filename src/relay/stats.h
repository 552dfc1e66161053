#pragma once
// Engine counters: atomics bumped on the workers' threads, read by anyone (RPC, metrics, tests).
// Relaxed ordering: each counter is a statistic, not a synchronisation point.

#include <array>
#include <atomic>
#include <cstdint>

#include "msrp/status.h"

namespace msrpd::relay {

struct Stats {
  using Counter = std::atomic<uint64_t>;
  static constexpr int kMethods = 5;  // msrp::Method: send, report, auth, nickname, other

  std::array<Counter, kMethods> requests_in{};   // by msrp::Method
  std::array<Counter, kMethods> requests_out{};  // relayed requests, by msrp::Method
  Counter responses_in{0};
  Counter responses_out{0};                  // relayed responses
  std::array<Counter, 1000> replies_sent{};  // replies this relay generated, by status code
  Counter reports_sent{0};                   // REPORTs this relay generated (RFC 4976 §6.4.1)
  Counter bytes_in{0};                       // MSRP bytes received (frames)
  Counter bytes_relayed{0};                  // bytes written towards next hops
  Counter connections_accepted{0};
  Counter connections_refused{0};  // closed at accept: tcp_max_connections reached
  Counter connections_opened{0};   // outbound connects that succeeded
  Counter connections_closed{0};
  Counter connect_failures{0};
  Counter relay_failures{0};       // frames that could not be delivered
  Counter chunks_split{0};         // streamed SEND chunks ended early so that waiting frames could go
  Counter messages_stopped{0};     // messages a next hop answered 413 (RFC 4975 §10.5)
  Counter stopped_chunks{0};       // their chunks not relayed: ended with '#' mid-write, or answered 413
  Counter chunks_capped{0};        // SEND chunks cut at the next hop's max_chunk_size (one per cut)
  Counter responses_unmatched{0};  // responses that answer no transaction of this relay: dropped
  // Refusals of the authorization rules (RFC 4976 §6, docs/SECURITY.md).
  Counter refused_foreign_uri{0};     // the first To-Path URI is not this relay's (§6.2)
  Counter refused_no_session{0};      // to forward, but the session URI was never handed out here (§6.3)
  Counter refused_not_authorized{0};  // the session's client neither sent it nor receives it (§6.4)
  Counter refused_loop{0};            // To-Path too long, or too many passes through this relay
  Counter refused_relay_again{0};     // msrp_relay() again for a frame relayed once (issue 12 item 13)
  Counter refused_no_socket{0};       // msrp_set_dst's sock names no listen socket: not relayed
  Counter auth_limit_closes{0};       // connections closed after too many failed AUTHs (§6.3)
  Counter budget_closes{0};           // not-yet-successful connections closed over the memory budget
  Counter self_hops{0};               // frames routed to this relay itself, inside the process
  Counter parse_errors{0};            // frames the parser rejected (answered 400/413 when a request)
  Counter parse_dropped{0};  // of those, not answered: responses, REPORTs, no From-Path (RFC 4975 §7.2)
  Counter parse_closes{0};   // connections closed on a frame error that cannot be resynchronised past
  Counter auth_failures{0};  // 401 replies to AUTH
  Counter sip_requests{0};

  static uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  static void bump(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  uint64_t requests(msrp::Method m) const { return get(requests_in[static_cast<int>(m)]); }
  uint64_t relayed(msrp::Method m) const { return get(requests_out[static_cast<int>(m)]); }
  uint64_t replies(uint16_t code) const { return code < 1000 ? get(replies_sent[code]) : 0; }
};

}  // namespace msrpd::relay
