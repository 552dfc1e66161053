#pragma once
// FrameParser: an incremental, zero-copy MSRP frame parser (RFC 4975 §7, §9). No I/O.
//
// Caller contract (like picohttpparser):
//   * feed(in) looks at `in` = every byte received and not yet consumed, oldest first.
//   * It returns one Step. `consumed` bytes at the start of `in` are done: the caller drops them and
//     presents the unconsumed rest again at the start of the next feed, followed by new bytes.
//     The rest may be moved to another buffer between feeds; the parser keeps offsets, not pointers.
//   * need_more: nothing to report; feed again when more bytes arrived (bytes already scanned are
//     not scanned again, so feeding one byte at a time is O(n)).
//   * head: the start line and headers are complete; frame() describes them, with views into `in`
//     that stay valid until the caller drops those bytes. `consumed` = the head length (including
//     the blank line when a body follows). The caller may keep those bytes (to route on them) and
//     present only the rest next time.
//   * body: `body` is a piece of the body (a view into `in`, consumed = body.size()). The CRLF that
//     precedes the end-line is not body (RFC 4975 §7.1). When the end of the input could be the start
//     of the end-line, those bytes are held back (not consumed) until more input decides.
//   * end: the end-line of this frame; `flag` is '$' (complete), '+' (more chunks) or '#' (aborted).
//     The parser is ready for the next frame, which may follow in the same input (pipelining).
//   * error: `status` is the MSRP status that describes the problem (400 syntax, 413 over a limit) and
//     `message` a static text. The stream cannot be resynchronised: MSRP has no length prefix and a
//     broken head gives no clean point to restart from. The caller should close the connection; when
//     transaction_id() is not empty and the frame was a request, it may first answer it with
//     `status` (RFC 4975 §7.2) and then close. Further feeds repeat the error until reset().
//
// Limits keep memory bounded whatever the peer sends: a head over max_head is a 413, a line over
// max_line or more than max_headers headers a 400, a non-SEND request body over max_non_send_body a 413
// (RFC 4975 §7.1). SEND bodies are unbounded: they stream through in pieces.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "msrp/frame.h"

namespace msrpd::msrp {

struct Limits {
  size_t max_head = 65536;
  size_t max_line = 16384;
  size_t max_headers = 64;
  size_t max_non_send_body = 10240;  // RFC 4975 §7.1
};

enum class Event : uint8_t { need_more, head, body, end, error };

struct Step {
  Event event = Event::need_more;
  size_t consumed = 0;
  std::string_view body;     // Event::body
  char flag = 0;             // Event::end: '$', '+' or '#'
  uint16_t status = 0;       // Event::error: the MSRP status (400, 413)
  std::string_view message;  // Event::error: what went wrong (static text)
};

class FrameParser {
 public:
  explicit FrameParser(Limits limits = {});

  Step feed(std::string_view in);
  // The frame of the last head event.
  const Frame& frame() const { return frame_; }
  // Forget everything (including an error) and expect a new frame at the next byte.
  void reset();

  // The transaction id of the frame being parsed, copied out of the input (valid across feeds and
  // after an error); empty before its start line was read.
  std::string_view transaction_id() const { return {marker_ + 9, tid_len_}; }
  // True once the start line of the current frame was read and it is a request.
  bool current_is_request() const { return tid_len_ != 0 && request_; }
  bool in_body() const { return phase_ == Phase::body; }
  bool failed() const { return phase_ == Phase::failed; }
  // Body bytes handed out so far for the current frame.
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class Phase : uint8_t { head, end_pending, body, failed };
  struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
  };
  struct RawHeader {
    HeaderId id = HeaderId::other;
    Span name;
    Span value;
    Span line;
  };

  Step feed_head(std::string_view in);
  Step feed_body(std::string_view in);
  Step fail(Status status, std::string_view message);
  Step end_frame(size_t consumed, char flag);
  void start_frame();
  // Validates one complete line (without CRLF) at offset `off`; returns an error message or null.
  const char* parse_start_line(std::string_view line, size_t off);
  const char* parse_header_line(std::string_view line, size_t off, size_t line_len);
  Step finish_head(std::string_view in, size_t head_len, bool body);

  Limits limits_;
  Phase phase_ = Phase::head;
  // Head phase: offsets into the unconsumed input.
  size_t scan_ = 0;        // bytes already searched for '\n'
  size_t line_start_ = 0;  // start of the line being read
  size_t lines_ = 0;       // complete lines so far (start line included)
  std::vector<RawHeader> raw_;
  bool request_ = true;
  Method method_id_ = Method::other;
  uint16_t status_code_ = 0;
  Span tid_span_;
  Span method_span_;
  Span comment_span_;
  Span start_span_;
  // End of a body-less frame, already validated while reading the head.
  size_t end_len_ = 0;
  char end_flag_ = 0;
  // Body phase.
  uint64_t body_bytes_ = 0;
  bool limit_body_ = false;
  // "\r\n-------" + transaction id: the body ends at its first occurrence followed by flag CRLF.
  char marker_[9 + 32] = {'\r', '\n', '-', '-', '-', '-', '-', '-', '-'};
  size_t tid_len_ = 0;
  uint16_t error_status_ = 0;
  std::string_view error_message_;
  Frame frame_;
};

}  // namespace msrpd::msrp
