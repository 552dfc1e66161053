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
//     `message` a static text; nothing is consumed, so the caller still sees the frame's bytes (to
//     take the paths of its answer from them, best effort). When transaction_id() is not empty and
//     the frame was a request other than REPORT, the caller answers it with `status` (RFC 4975 §7.2,
//     §7.1.2: a REPORT is never answered, a response never).
//     `fatal` false: the stream can be resynchronised. The frame ends at its end-line
//     ("-------" transaction-id flag CRLF, RFC 4975 §7.1), and the next feeds skip to it: `skip`
//     steps (bytes of the rejected frame, to drop), then `end` (its end-line, and any skipped bytes
//     before it, consumed); then the next frame. A broken head must end (its end-line, or the blank
//     line before a body) within max_head bytes of its start, as a good head does, and is not
//     consumed before: the first step after an error in the head consumes that whole head (or the
//     whole frame), so the caller can answer from it. A body is skipped whatever its length. A head
//     that does not end in time gives a fatal error.
//     `fatal` true: the stream cannot be resynchronised (not MSRP, no transaction id, lines ending in
//     LF only, a head over max_head, no end-line within reach): the caller closes the connection.
//     Further feeds repeat the error until reset().
//   * skip: `consumed` bytes of a rejected frame, to drop (see error).
//
// Limits keep memory bounded whatever the peer sends: a head over max_head is a 413, a line over
// max_line or more than max_headers headers a 400, a non-SEND request body over max_non_send_body a 413
// (RFC 4975 §7.1). SEND bodies are unbounded: they stream through in pieces.
//
// Methods: RFC 4975 §9 says other-method = 1*UPALPHA, but clients send other tokens (sipsimple's
// FILE_OFFSET): a method is an upper-case letter followed by RFC 4975 token characters other than
// lower-case letters (is_method_token), and its id is Method::other unless it is one of the four the
// relay knows. A lower-case letter ("send") or a leading digit (a broken status code) is a malformed
// start line.

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

enum class Event : uint8_t { need_more, head, body, end, error, skip };

struct Step {
  Event event = Event::need_more;
  size_t consumed = 0;
  std::string_view body;     // Event::body
  char flag = 0;             // Event::end: '$', '+' or '#'
  uint16_t status = 0;       // Event::error: the MSRP status (400, 413)
  std::string_view message;  // Event::error: what went wrong (static text)
  bool fatal = false;        // Event::error: the stream cannot be resynchronised (close it)
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
  // True once the start line of the current frame was read and it is a request (a start line whose
  // method or status is malformed counts as a request unless that word begins with a digit).
  bool current_is_request() const { return tid_len_ != 0 && request_; }
  // The method of the current request (Method::other when unknown or malformed).
  Method current_method() const { return method_id_; }
  bool in_body() const { return phase_ == Phase::body; }
  // A frame error the stream can be resynchronised past: the parser is skipping that frame.
  bool skipping() const { return phase_ == Phase::skip_head || phase_ == Phase::skip_body; }
  // Skipping a frame whose head has not ended yet: nothing of it was consumed so far.
  bool skipping_head() const { return phase_ == Phase::skip_head; }
  // A fatal error (see Event::error): until reset().
  bool failed() const { return phase_ == Phase::failed; }
  // Body bytes handed out so far for the current frame.
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class Phase : uint8_t {
    head,         // reading a start line and headers; nothing of them consumed until the head event
    end_pending,  // a body-less head was reported; its end-line (end_len_ bytes) follows it
    body,         // the body of a reported head: handed out up to the end-line carrying tid
    skip_head,    // a frame error in the head: looking for its end-line or blank line (nothing consumed)
    skip_body,    // a frame error, past its head: dropping bytes up to its end-line
    failed,       // the stream cannot be resynchronised: every feed repeats the error
  };
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
  Step feed_skip_head(std::string_view in);
  Step feed_skip_body(std::string_view in);
  // The body bytes of `in` before this frame's end-line: the offset of the end-line's CRLF when it
  // is there (found), else of the first byte that could start it (held back).
  size_t find_end_line(std::string_view in, bool& found) const;
  // A frame error: resynchronisable when the transaction id is known, else fatal.
  Step fail(Status status, std::string_view message);
  // An error the stream cannot be resynchronised past.
  Step fail_stream(Status status, std::string_view message);
  Step skipped(size_t consumed);
  Step end_frame(size_t consumed, char flag);
  void start_frame();
  // Validates one complete line (without CRLF) at offset `off`; returns an error message or null.
  const char* parse_start_line(std::string_view line, size_t off);
  const char* parse_header_line(std::string_view line, size_t off, size_t line_len);
  Step finish_head(std::string_view in, size_t head_len, bool body);

  Limits limits_;
  Phase phase_ = Phase::head;
  // Head phase: offsets into the unconsumed input.
  size_t scan_ = 0;        // bytes already searched for '\n' (skip_head: for the head's end)
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
