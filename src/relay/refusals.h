#pragma once
// Refusals: what the engine's protections refuse (docs/SECURITY.md), each counted in Stats and
// logged at most once a second per rule on each worker, so that a flood of hostile frames costs a
// counter bump, not a log line each: the next line says how many were left out.

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "relay/stats.h"

namespace msrpd::relay {

enum class Rule : uint8_t {
  foreign_uri,         // RFC 4976 §6.2: the first To-Path URI is not this relay's
  no_session,          // RFC 4976 §6.3: a session URI this relay never handed out (or expired)
  not_authorized,      // RFC 4976 §6.4: neither from nor to the connection that AUTHed
  loop,                // To-Path too long, or too many passes through this relay
  auth_limit,          // RFC 4976 §6.3: too many failed AUTHs on one connection
  budget,              // the memory budget of not-yet-successful connections
  unmatched_response,  // RFC 4976 §6.4.3: a response to no transaction of this relay
  bad_frame,           // RFC 4975 §7.2: a frame the parser rejected (answered or dropped, skipped)
  message_stopped,     // RFC 4975 §10.5: a next hop answered 413 to a message (message_stop.h)
  stopped_chunk,       // RFC 4975 §10.5: a later chunk of such a message, answered 413
  relay_again,         // msrp_relay() called again for a frame that is relayed once (still streaming in)
  no_socket,           // msrp_set_dst's sock (from a variable) names no listen socket: not relayed
};
inline constexpr size_t kRuleCount = 12;

std::string_view rule_name(Rule r);  // "foreign_uri", ...
Stats::Counter& rule_counter(Stats& st, Rule r);

// One per worker (not thread-safe).
class Refusals {
 public:
  explicit Refusals(Stats& st) : stats_(st) {}
  // Counts the refusal and logs "refused (<rule>): <what> from <who>", at most one line per rule
  // per second (with the number of refusals not logged since the previous line).
  void refuse(Rule r, std::string_view who, std::string_view what);
  // The same, counted only (the caller logs).
  void count(Rule r) { Stats::bump(rule_counter(stats_, r)); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Limiter {
    Clock::time_point last{};
    uint64_t skipped = 0;
    bool logged = false;
  };
  Stats& stats_;
  std::array<Limiter, kRuleCount> limiters_{};
};

}  // namespace msrpd::relay
