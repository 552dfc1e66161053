#pragma once
// MSRP header names and the typed parsers of their values (RFC 4975 §9, RFC 4976 §4).
// Parsers take the raw header value (after "Name: ") and return 400 errors for malformed values.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace msrpd::msrp {

// The headers the relay knows by name; everything else is HeaderId::other (RFC 4975 §12: unknown
// headers are ignored, and a relay copies them unchanged).
enum class HeaderId : uint8_t {
  to_path,
  from_path,
  message_id,
  byte_range,
  success_report,
  failure_report,
  status,
  content_type,
  expires,
  min_expires,
  max_expires,
  use_path,
  www_authenticate,
  authorization,
  authentication_info,
  other,
};
inline constexpr int kKnownHeaderCount = static_cast<int>(HeaderId::other);

// The id of a header name, matched case-insensitively (RFC 4234 quoted strings).
HeaderId header_id(std::string_view name);
// The canonical spelling ("To-Path"); empty for HeaderId::other.
std::string_view header_name(HeaderId id);

// RFC 4975 §9: ident = ALPHANUM 3*31ident-char; ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="
// (transact-id and Message-ID).
bool is_ident(std::string_view s);

// RFC 4975 §9: Byte-Range: range-start "-" range-end "/" total; `*` = unknown.
struct ByteRange {
  uint64_t start = 1;
  std::optional<uint64_t> end;    // nullopt = "*"
  std::optional<uint64_t> total;  // nullopt = "*"
  bool operator==(const ByteRange&) const = default;
};
Result<ByteRange> parse_byte_range(std::string_view value);

// RFC 4975 §9: Failure-Report: "yes" / "no" / "partial".
enum class FailureReport : uint8_t { yes, no, partial };
Result<FailureReport> parse_failure_report(std::string_view value);
// RFC 4975 §9: Success-Report: "yes" / "no".
Result<bool> parse_success_report(std::string_view value);

// RFC 4975 §9: Status: namespace SP status-code [SP text-reason]; namespace "000" for MSRP codes.
struct StatusHeader {
  uint16_t ns = 0;
  uint16_t code = 0;
  std::string_view comment;
};
Result<StatusHeader> parse_status_header(std::string_view value);

// RFC 4976 §4.4-4.6: Expires / Min-Expires / Max-Expires = 1*DIGIT (seconds, fits 32 bits).
Result<uint32_t> parse_delta_seconds(std::string_view value);

// RFC 4975 §9: a URI list (To-Path, From-Path, Use-Path) is MSRP-URIs separated by single spaces.
// Appends the URIs to `out` (views into `value`); 400 on an empty list or an empty element.
Result<void> split_uri_list(std::string_view value, std::vector<std::string_view>& out);

}  // namespace msrpd::msrp
