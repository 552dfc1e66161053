#include "relay/refusals.h"

#include "common/log.h"

namespace msrpd::relay {

std::string_view rule_name(Rule r) {
  switch (r) {
    case Rule::foreign_uri:
      return "foreign_uri";
    case Rule::no_session:
      return "no_session";
    case Rule::not_authorized:
      return "not_authorized";
    case Rule::loop:
      return "loop";
    case Rule::auth_limit:
      return "auth_limit";
    case Rule::budget:
      return "budget";
    case Rule::unmatched_response:
      return "unmatched_response";
    case Rule::bad_frame:
      return "bad_frame";
    case Rule::message_stopped:
      return "message_stopped";
    case Rule::stopped_chunk:
      return "stopped_chunk";
    case Rule::relay_again:
      return "relay_again";
    case Rule::no_socket:
      return "no_socket";
  }
  return "?";
}

Stats::Counter& rule_counter(Stats& st, Rule r) {
  switch (r) {
    case Rule::foreign_uri:
      return st.refused_foreign_uri;
    case Rule::no_session:
      return st.refused_no_session;
    case Rule::not_authorized:
      return st.refused_not_authorized;
    case Rule::loop:
      return st.refused_loop;
    case Rule::auth_limit:
      return st.auth_limit_closes;
    case Rule::budget:
      return st.budget_closes;
    case Rule::unmatched_response:
      return st.responses_unmatched;
    case Rule::bad_frame:
      return st.parse_errors;
    case Rule::message_stopped:
      return st.messages_stopped;
    case Rule::stopped_chunk:
      return st.stopped_chunks;
    case Rule::relay_again:
      return st.refused_relay_again;
    case Rule::no_socket:
      return st.refused_no_socket;
  }
  return st.refused_loop;
}

void Refusals::refuse(Rule r, std::string_view who, std::string_view what) {
  count(r);
  Limiter& l = limiters_[static_cast<size_t>(r)];
  Clock::time_point now = Clock::now();
  if (l.logged && now - l.last < std::chrono::seconds(1)) {
    ++l.skipped;
    return;
  }
  std::string_view name = rule_name(r);
  if (l.skipped > 0) {
    LM_INFO("refused (%.*s): %.*s from %.*s (%llu more not logged)", static_cast<int>(name.size()),
            name.data(), static_cast<int>(what.size()), what.data(), static_cast<int>(who.size()), who.data(),
            static_cast<unsigned long long>(l.skipped));
  } else {
    LM_INFO("refused (%.*s): %.*s from %.*s", static_cast<int>(name.size()), name.data(),
            static_cast<int>(what.size()), what.data(), static_cast<int>(who.size()), who.data());
  }
  l.last = now;
  l.logged = true;
  l.skipped = 0;
}

}  // namespace msrpd::relay
