#pragma once
// The minimal SIP that msrpd needs on a shared port (request_route, sl_send_reply): an incremental
// reader that finds where a message ends on a TCP stream, and a parsed view of one message.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace msrpd::sip {

inline constexpr size_t kMaxSipHeaderBytes = size_t{64} * 1024;
inline constexpr size_t kMaxSipBodyBytes = size_t{1024} * 1024;

// Finds the end of one SIP message in a TCP byte stream (RFC 3261 §18.3): the header block up to
// CRLFCRLF, then Content-Length (or compact `l`) body bytes. Keeps its scan position between calls,
// so each byte of the header block is looked at once.
class SipReader {
 public:
  explicit SipReader(size_t max_header_bytes = kMaxSipHeaderBytes, size_t max_body_bytes = kMaxSipBodyBytes)
      : max_header_(max_header_bytes), max_body_(max_body_bytes) {}

  // `buffered` holds every byte received so far for the current message, from its first byte (the
  // bytes of earlier calls plus what arrived since). Returns 0 while the message is incomplete, then
  // its length (leading CRLFs, header block and body); bytes past it belong to the next message.
  // Errors: 413 when the header block or the body is over its bound, 400 for a bad Content-Length.
  // A missing Content-Length means no body (as Kamailio's tcp_accept_no_cl does).
  Result<size_t> check(std::string_view buffered);

  // Forget the current message (call after a complete message, before the next one).
  void reset() { *this = SipReader(max_header_, max_body_); }

 private:
  size_t max_header_;
  size_t max_body_;
  size_t start_ = 0;       // first byte after leading CRLFs (RFC 3261 §7.5)
  size_t scanned_ = 0;     // bytes searched for CRLFCRLF so far
  size_t header_end_ = 0;  // one past the CRLFCRLF, 0 while not found
  size_t body_length_ = 0;
};

// RFC 3261 §7.5: CRLFs before a start-line are ignored (also the RFC 5626 keep-alive "\r\n\r\n").
// Returns how many such bytes begin `bytes`, so a caller can drop them.
size_t leading_crlf_length(std::string_view bytes);

struct SipHeader {
  std::string_view name;      // full name: a compact form (i, f, t, v, l, m...) is given its long name
  std::string_view raw_name;  // as written
  std::string_view value;     // trimmed; folded lines stay inside
};

// A parsed SIP message: views into the text given to parse(), valid while that text is.
// Reusable: parse() keeps the header vector's capacity.
class SipMessage {
 public:
  // Parses a whole message (as SipReader delimited it). Errors carry status 400.
  Result<void> parse(std::string_view text);

  bool is_request() const { return request_; }
  std::string_view method() const { return method_; }            // requests
  std::string_view request_uri() const { return request_uri_; }  // requests
  int status() const { return status_; }                         // responses
  std::string_view reason() const { return reason_; }            // responses
  std::string_view start_line() const { return start_line_; }    // without CRLF
  std::string_view text() const { return text_; }
  std::string_view body() const { return body_; }
  const std::vector<SipHeader>& headers() const { return headers_; }

  // The first header of that name (case-insensitive; compact names too), nullptr if none.
  const SipHeader* find(std::string_view name) const;
  // Its value, empty if absent.
  std::string_view header(std::string_view name) const {
    const SipHeader* h = find(name);
    return h ? h->value : std::string_view();
  }

 private:
  std::string_view text_;
  std::string_view start_line_;
  bool request_ = false;
  std::string_view method_;
  std::string_view request_uri_;
  int status_ = 0;
  std::string_view reason_;
  std::vector<SipHeader> headers_;
  std::string_view body_;
};

// The long name of a compact header name (RFC 3261 §7.3.3), or the name itself.
std::string_view expand_compact_name(std::string_view name);

}  // namespace msrpd::sip
