#pragma once
// Frame: the parsed start line and headers of one MSRP request or response (RFC 4975 §7, §9).
// Every string_view points into the bytes the FrameParser was fed: a Frame is valid until the caller
// drops those bytes (or the parser reports the next head). The parser owns the Frame and reuses its
// storage, so parsing a frame allocates nothing once the vectors are warm.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "msrp/headers.h"
#include "msrp/status.h"

namespace msrpd::msrp {

struct Header {
  HeaderId id = HeaderId::other;
  std::string_view name;   // as written
  std::string_view value;  // after ": ", up to (not including) CRLF
  std::string_view line;   // the whole line including its CRLF (copied byte-for-byte when relaying)
};

class Frame {
 public:
  Frame() { known_.fill(-1); }

  bool is_request() const { return request_; }
  bool is_response() const { return !request_; }
  std::string_view transaction_id() const { return tid_; }
  // Requests: the method token and its id.
  std::string_view method() const { return method_; }
  Method method_id() const { return method_id_; }
  // Responses: the 3-digit status code and the optional comment.
  uint16_t status_code() const { return status_code_; }
  std::string_view comment() const { return comment_; }

  std::string_view start_line() const { return start_line_; }  // without CRLF
  // The start line and headers with their CRLFs, plus the blank line when a body follows.
  std::string_view head() const { return head_; }
  // RFC 4975 §7.1: a body follows the blank line after Content-Type.
  bool has_body() const { return has_body_; }

  std::span<const Header> headers() const { return headers_; }
  // O(1): the first header with this id, or nullptr.
  const Header* find(HeaderId id) const {
    int i = id == HeaderId::other ? -1 : known_[static_cast<int>(id)];
    return i < 0 ? nullptr : &headers_[static_cast<size_t>(i)];
  }
  bool has(HeaderId id) const { return find(id) != nullptr; }
  std::optional<std::string_view> header(HeaderId id) const;
  // The first header of that name, case-insensitive (a linear scan: for unknown headers).
  std::optional<std::string_view> header(std::string_view name) const;

  // RFC 4975 §9: the To-Path / From-Path URIs (already validated as non-empty lists by the parser).
  std::span<const std::string_view> to_path() const { return to_path_; }
  std::span<const std::string_view> from_path() const { return from_path_; }

  // Typed values. A malformed value is a 400 error; absent headers give the RFC default or nullopt.
  Result<std::string_view> message_id() const;  // 400 when absent or not an ident
  Result<std::optional<ByteRange>> byte_range() const;
  Result<bool> success_report() const;                        // RFC 4975 §7.1.1: absent = no
  Result<FailureReport> failure_report() const;               // RFC 4975 §7.1.1: absent = yes
  Result<std::optional<StatusHeader>> report_status() const;  // the Status header (REPORTs)
  Result<std::optional<uint32_t>> expires() const;
  Result<std::optional<uint32_t>> min_expires() const;
  Result<std::optional<uint32_t>> max_expires() const;
  // RFC 4976 §4.2: Use-Path URIs appended to `out` (the caller's reused vector); false if absent.
  Result<bool> use_path(std::vector<std::string_view>& out) const;
  std::optional<std::string_view> content_type() const { return header(HeaderId::content_type); }
  std::optional<std::string_view> www_authenticate() const { return header(HeaderId::www_authenticate); }
  std::optional<std::string_view> authorization() const { return header(HeaderId::authorization); }
  std::optional<std::string_view> authentication_info() const {
    return header(HeaderId::authentication_info);
  }

 private:
  friend class FrameParser;
  void clear();
  Result<std::optional<uint32_t>> seconds(HeaderId id) const;

  bool request_ = true;
  bool has_body_ = false;
  Method method_id_ = Method::other;
  uint16_t status_code_ = 0;
  std::string_view tid_;
  std::string_view method_;
  std::string_view comment_;
  std::string_view start_line_;
  std::string_view head_;
  std::vector<Header> headers_;
  std::vector<std::string_view> to_path_;
  std::vector<std::string_view> from_path_;
  std::array<int16_t, kKnownHeaderCount> known_{};
};

}  // namespace msrpd::msrp
