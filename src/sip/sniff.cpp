#include "sip/sniff.h"

#include "common/ascii.h"

namespace msrpd::sip {
namespace {

enum class Fit : uint8_t { no, maybe, yes };

Fit fit_msrp(std::string_view s) {
  constexpr std::string_view kPrefix = "MSRP ";
  if (s.size() < kPrefix.size()) return kPrefix.substr(0, s.size()) == s ? Fit::maybe : Fit::no;
  return s.substr(0, kPrefix.size()) == kPrefix ? Fit::yes : Fit::no;
}

// Matches `literal` case-insensitively at s[pos...]; Fit::maybe when s ends inside it.
Fit fit_literal(std::string_view s, size_t& pos, std::string_view literal) {
  for (char want : literal) {
    if (pos >= s.size()) return Fit::maybe;
    if (ascii::lower(s[pos]) != ascii::lower(want)) return Fit::no;
    ++pos;
  }
  return Fit::yes;
}

// RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
Fit fit_request_line(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size() && ascii::kSipToken(s[pos])) ++pos;
  if (pos == s.size()) return Fit::maybe;
  if (pos == 0 || s[pos] != ' ') return Fit::no;
  size_t uri_start = ++pos;
  while (pos < s.size() && s[pos] > 0x20 && s[pos] < 0x7f) ++pos;
  if (pos == s.size()) return Fit::maybe;
  if (pos == uri_start || s[pos] != ' ') return Fit::no;
  ++pos;
  // RFC 3261 §7.1: the SIP-Version string is case-insensitive.
  return fit_literal(s, pos, "SIP/2.0\r\n");
}

// RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
Fit fit_status_line(std::string_view s) {
  size_t pos = 0;
  if (Fit f = fit_literal(s, pos, "SIP/2.0 "); f != Fit::yes) return f;
  for (int i = 0; i < 3; ++i, ++pos) {
    if (pos >= s.size()) return Fit::maybe;
    if (!ascii::is_digit(s[pos])) return Fit::no;
  }
  if (pos >= s.size()) return Fit::maybe;
  if (s[pos] != ' ') return Fit::no;
  for (++pos; pos < s.size(); ++pos) {
    if (s[pos] == '\r') {
      if (pos + 1 >= s.size()) return Fit::maybe;
      return s[pos + 1] == '\n' ? Fit::yes : Fit::no;
    }
    if (s[pos] == '\n') return Fit::no;
  }
  return Fit::maybe;
}

}  // namespace

Protocol sniff(std::string_view first_bytes) {
  if (fit_msrp(first_bytes) == Fit::yes) return Protocol::msrp;
  // Only the first line matters; a long undecided prefix is garbage, not a reason to buffer forever.
  std::string_view s = first_bytes.substr(0, kMaxSniffBytes);
  Fit request = fit_request_line(s);
  Fit status = fit_status_line(s);
  if (request == Fit::yes || status == Fit::yes) return Protocol::sip;
  if (request == Fit::maybe || status == Fit::maybe || fit_msrp(s) == Fit::maybe) {
    return first_bytes.size() >= kMaxSniffBytes ? Protocol::garbage : Protocol::need_more;
  }
  return Protocol::garbage;
}

}  // namespace msrpd::sip
