#include "msrp/headers.h"

#include <array>

#include "common/ascii.h"
#include "msrp/status.h"

namespace msrpd::msrp {
namespace {

constexpr std::array<std::string_view, kKnownHeaderCount> kNames = {
    "To-Path",        "From-Path", "Message-ID",       "Byte-Range",    "Success-Report",
    "Failure-Report", "Status",    "Content-Type",     "Expires",       "Min-Expires",
    "Max-Expires",    "Use-Path",  "WWW-Authenticate", "Authorization", "Authentication-Info",
};

using ascii::lower;
// Trailing spaces/tabs are tolerated in typed values (senders pad them; they carry no meaning).
using ascii::rtrim;

// RFC 4975 §9: ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
constexpr ascii::CharClass kIdentChar{true, ".-+%="};

Error bad(const char* what) {
  return make_error(Status::bad_request, what);
}

// 1*DIGIT into uint64, at most 19 digits (they always fit; a longer value is refused).
bool parse_u64(std::string_view s, uint64_t& out) {
  return s.size() <= 19 && ascii::parse_uint(s, out);
}

}  // namespace

HeaderId header_id(std::string_view name) {
  // Dispatch on length and first letter so that a header costs one or two comparisons.
  if (name.empty()) return HeaderId::other;
  auto is = [&](HeaderId id) { return ascii::iequals(name, kNames[static_cast<int>(id)]); };
  switch (name.size()) {
    case 6:
      return is(HeaderId::status) ? HeaderId::status : HeaderId::other;
    case 7:
      if (lower(name[0]) == 't') return is(HeaderId::to_path) ? HeaderId::to_path : HeaderId::other;
      return is(HeaderId::expires) ? HeaderId::expires : HeaderId::other;
    case 8:
      return is(HeaderId::use_path) ? HeaderId::use_path : HeaderId::other;
    case 9:
      return is(HeaderId::from_path) ? HeaderId::from_path : HeaderId::other;
    case 10:
      if (lower(name[0]) == 'm') return is(HeaderId::message_id) ? HeaderId::message_id : HeaderId::other;
      return is(HeaderId::byte_range) ? HeaderId::byte_range : HeaderId::other;
    case 11:
      if (lower(name[1]) == 'i') return is(HeaderId::min_expires) ? HeaderId::min_expires : HeaderId::other;
      return is(HeaderId::max_expires) ? HeaderId::max_expires : HeaderId::other;
    case 12:
      return is(HeaderId::content_type) ? HeaderId::content_type : HeaderId::other;
    case 13:
      return is(HeaderId::authorization) ? HeaderId::authorization : HeaderId::other;
    case 14:
      if (lower(name[0]) == 's')
        return is(HeaderId::success_report) ? HeaderId::success_report : HeaderId::other;
      return is(HeaderId::failure_report) ? HeaderId::failure_report : HeaderId::other;
    case 16:
      return is(HeaderId::www_authenticate) ? HeaderId::www_authenticate : HeaderId::other;
    case 19:
      return is(HeaderId::authentication_info) ? HeaderId::authentication_info : HeaderId::other;
    default:
      return HeaderId::other;
  }
}

std::string_view header_name(HeaderId id) {
  if (id == HeaderId::other) return {};
  return kNames[static_cast<int>(id)];
}

bool is_ident(std::string_view s) {
  return s.size() >= 4 && s.size() <= 32 && ascii::is_alnum(s[0]) && kIdentChar.all_of(s.substr(1));
}

Result<ByteRange> parse_byte_range(std::string_view value) {
  value = rtrim(value);
  size_t dash = value.find('-');
  size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return bad("malformed Byte-Range");
  }
  ByteRange r;
  std::string_view s = value.substr(0, dash);
  std::string_view e = value.substr(dash + 1, slash - dash - 1);
  std::string_view t = value.substr(slash + 1);
  // RFC 4975 §7.1.1: the first octet of a message is 1.
  if (!parse_u64(s, r.start) || r.start == 0) return bad("malformed Byte-Range start");
  if (e != "*") {
    uint64_t v;
    if (!parse_u64(e, v)) return bad("malformed Byte-Range end");
    r.end = v;
  }
  if (t != "*") {
    uint64_t v;
    if (!parse_u64(t, v)) return bad("malformed Byte-Range total");
    r.total = v;
  }
  // An empty message is "1-0/0" (RFC 4975 §7.1.1), so end = start - 1 is allowed.
  if (r.end && *r.end + 1 < r.start) return bad("Byte-Range end before start");
  if (r.end && r.total && *r.end > *r.total) return bad("Byte-Range end after total");
  return r;
}

Result<FailureReport> parse_failure_report(std::string_view value) {
  value = rtrim(value);
  if (value == "yes") return FailureReport::yes;
  if (value == "no") return FailureReport::no;
  if (value == "partial") return FailureReport::partial;
  return bad("malformed Failure-Report");
}

Result<bool> parse_success_report(std::string_view value) {
  value = rtrim(value);
  if (value == "yes") return true;
  if (value == "no") return false;
  return bad("malformed Success-Report");
}

Result<StatusHeader> parse_status_header(std::string_view value) {
  value = rtrim(value);
  // namespace SP status-code [SP text-reason]
  if (value.size() < 7 || value[3] != ' ') return bad("malformed Status");
  StatusHeader h;
  for (int i = 0; i < 3; ++i) {
    if (!ascii::is_digit(value[i]) || !ascii::is_digit(value[4 + i])) return bad("malformed Status");
    h.ns = static_cast<uint16_t>(h.ns * 10 + (value[i] - '0'));
    h.code = static_cast<uint16_t>(h.code * 10 + (value[4 + i] - '0'));
  }
  if (value.size() > 7) {
    if (value[7] != ' ') return bad("malformed Status");
    h.comment = value.substr(8);
  }
  return h;
}

Result<uint32_t> parse_delta_seconds(std::string_view value) {
  value = rtrim(value);
  uint64_t v;
  if (!parse_u64(value, v) || v > UINT32_MAX) return bad("malformed expiry value");
  return static_cast<uint32_t>(v);
}

Result<void> split_uri_list(std::string_view value, std::vector<std::string_view>& out) {
  if (value.empty()) return bad("empty URI list");
  size_t pos = 0;
  for (;;) {
    size_t sp = value.find(' ', pos);
    size_t end = sp == std::string_view::npos ? value.size() : sp;
    if (end == pos) return bad("empty URI in list");
    out.push_back(value.substr(pos, end - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  return {};
}

}  // namespace msrpd::msrp
