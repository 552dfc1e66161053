#include "msrp/frame_parser.h"

#include <cstring>

#include "common/ascii.h"

namespace msrpd::msrp {
namespace {

constexpr std::string_view kDashes = "-------";

bool is_flag(char c) {
  return c == '$' || c == '+' || c == '#';
}
using ascii::is_digit;

// RFC 4975 §9: hname = ALPHA *token, with MSRP's own token (it also allows "# $ & ^ { | }", which
// RFC 3261's does not). A table: one load per byte, no branch.
bool is_hname(std::string_view s) {
  bool ok = ascii::is_alpha(s[0]);
  for (char c : s) ok &= ascii::kMsrpToken(c);
  return ok;
}

// RFC 4975 §9: header values and comments are utf8text: no control characters except HTAB.
// Branch-free over the whole value, so the compiler vectorizes it (values are mostly URIs).
bool is_text(std::string_view s) {
  unsigned bad = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bad |= static_cast<unsigned>((c < 0x20) & (c != '\t')) | static_cast<unsigned>(c == 0x7f);
  }
  return bad == 0;
}

}  // namespace

FrameParser::FrameParser(Limits limits) : limits_(limits) {
  // Offsets are 32-bit: keep the head limit within that.
  if (limits_.max_head > UINT32_MAX) limits_.max_head = UINT32_MAX;
  raw_.reserve(16);
}

void FrameParser::reset() {
  phase_ = Phase::head;
  error_status_ = 0;
  error_message_ = {};
  start_frame();
}

void FrameParser::start_frame() {
  scan_ = 0;
  line_start_ = 0;
  lines_ = 0;
  raw_.clear();
  request_ = true;
  method_id_ = Method::other;
  status_code_ = 0;
  tid_len_ = 0;
  end_len_ = 0;
  end_flag_ = 0;
  body_bytes_ = 0;
  limit_body_ = false;
}

// RFC 4975 §7.1: every frame ends with "-------" transaction-id flag CRLF, and its sender makes sure
// that line occurs nowhere else in it. With the transaction id read, the frame's end can be found
// however broken the frame is, and the stream goes on after it.
Step FrameParser::fail(Status status, std::string_view message) {
  if (tid_len_ == 0) return fail_stream(status, message);
  phase_ = phase_ == Phase::body ? Phase::skip_body : Phase::skip_head;
  scan_ = 0;
  Step s;
  s.event = Event::error;
  s.status = code_of(status);
  s.message = message;
  return s;
}

Step FrameParser::fail_stream(Status status, std::string_view message) {
  phase_ = Phase::failed;
  error_status_ = code_of(status);
  error_message_ = message;
  Step s;
  s.event = Event::error;
  s.status = error_status_;
  s.message = message;
  s.fatal = true;
  return s;
}

Step FrameParser::skipped(size_t consumed) {
  if (consumed == 0) return {};
  Step s;
  s.event = Event::skip;
  s.consumed = consumed;
  return s;
}

Step FrameParser::end_frame(size_t consumed, char flag) {
  Step s;
  s.event = Event::end;
  s.consumed = consumed;
  s.flag = flag;
  phase_ = Phase::head;
  start_frame();
  return s;
}

Step FrameParser::feed(std::string_view in) {
  switch (phase_) {
    case Phase::head:
      return feed_head(in);
    case Phase::body:
      return feed_body(in);
    case Phase::end_pending:
      if (in.size() < end_len_) return {};
      return end_frame(end_len_, end_flag_);
    case Phase::skip_head:
      return feed_skip_head(in);
    case Phase::skip_body:
      return feed_skip_body(in);
    case Phase::failed:
      break;
  }
  Step s;
  s.event = Event::error;
  s.status = error_status_;
  s.message = error_message_;
  s.fatal = true;
  return s;
}

Step FrameParser::feed_head(std::string_view in) {
  if (in.size() < scan_) {
    // The caller presented less than before (against the contract): read the head again.
    start_frame();
  }
  const char* base = in.data();
  const size_t n = in.size();
  for (;;) {
    if (lines_ == 0) {
      // Fail fast on something that is not MSRP at all.
      size_t k = n < 5 ? n : 5;
      if (std::memcmp(base, "MSRP ", k) != 0)
        return fail_stream(Status::bad_request, "start line does not begin with \"MSRP \"");
    }
    // A head never extends past max_head bytes: do not search further than that.
    const size_t limit = n < limits_.max_head ? n : limits_.max_head;
    const char* nl =
        scan_ < limit ? static_cast<const char*>(std::memchr(base + scan_, '\n', limit - scan_)) : nullptr;
    if (!nl) {
      if (limit - line_start_ > limits_.max_line) return fail(Status::bad_request, "header line too long");
      // No line of the first max_head bytes ended the head: no end-line within reach.
      if (n >= limits_.max_head) return fail_stream(Status::stop_sending, "message head too large");
      scan_ = limit;
      return {};
    }
    const size_t end = static_cast<size_t>(nl - base);  // offset of '\n'
    const size_t line_len = end + 1 - line_start_;      // with CRLF
    // The same answer as when the line's bytes come one at a time (then the length is found too
    // long before its LF arrives): checked before what the LF says.
    if (end - line_start_ > limits_.max_line) return fail(Status::bad_request, "header line too long");
    // RFC 4975 §9: lines end in CRLF; a bare LF is a syntax error, and a peer that ends its lines
    // so will not end a frame with a CRLF end-line either: nothing to resynchronise on.
    if (end == line_start_ || base[end - 1] != '\r')
      return fail_stream(Status::bad_request, "line ends in a bare LF");
    if (line_len > limits_.max_line) return fail(Status::bad_request, "header line too long");
    std::string_view line(base + line_start_, line_len - 2);
    const size_t off = line_start_;
    scan_ = line_start_ = end + 1;
    ++lines_;

    if (lines_ == 1) {
      if (const char* err = parse_start_line(line, off)) return fail(Status::bad_request, err);
      continue;
    }
    if (line.empty()) {
      // RFC 4975 §7.1, §9: the blank line separates the headers from a body, which only requests
      // have and only after Content-Type as the last header.
      if (lines_ < 4) return fail(Status::bad_request, "To-Path or From-Path missing");
      if (!request_) return fail(Status::bad_request, "response with a body");
      if (raw_.back().id != HeaderId::content_type)
        return fail(Status::bad_request, "body not preceded by Content-Type");
      return finish_head(in, end + 1, true);
    }
    if (line.size() >= kDashes.size() && line.starts_with(kDashes)) {
      // RFC 4975 §9: end-line = "-------" transact-id continuation-flag CRLF, right after the
      // headers when there is no body.
      if (lines_ < 4) return fail(Status::bad_request, "To-Path or From-Path missing");
      std::string_view rest = line.substr(kDashes.size());
      if (rest.size() != tid_len_ + 1 || rest.substr(0, tid_len_) != transaction_id() ||
          !is_flag(rest.back())) {
        return fail(Status::bad_request, "malformed end-line");
      }
      end_len_ = line_len;
      end_flag_ = rest.back();
      return finish_head(in, off, false);
    }
    if (const char* err = parse_header_line(line, off, line_len)) return fail(Status::bad_request, err);
  }
}

const char* FrameParser::parse_start_line(std::string_view line, size_t off) {
  // RFC 4975 §9: req-start = "MSRP" SP transact-id SP method CRLF
  //              resp-start = "MSRP" SP transact-id SP status-code [SP comment] CRLF
  if (!line.starts_with("MSRP ")) return "start line does not begin with \"MSRP \"";
  size_t sp = line.find(' ', 5);
  if (sp == std::string_view::npos) return "start line without method or status";
  std::string_view tid = line.substr(5, sp - 5);
  if (!is_ident(tid)) return "malformed transaction id";
  // From here on the frame's end-line is known: an error in the rest of the frame can be skipped.
  std::memcpy(marker_ + 9, tid.data(), tid.size());
  tid_len_ = tid.size();
  std::string_view rest = line.substr(sp + 1);
  const auto rel = [&](std::string_view v) {
    return Span{static_cast<uint32_t>(off + static_cast<size_t>(v.data() - line.data())),
                static_cast<uint32_t>(v.size())};
  };
  if (rest.size() >= 3 && is_digit(rest[0]) && is_digit(rest[1]) && is_digit(rest[2]) &&
      (rest.size() == 3 || rest[3] == ' ')) {
    request_ = false;
    status_code_ = static_cast<uint16_t>((rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0'));
    std::string_view comment = rest.size() > 3 ? rest.substr(4) : std::string_view{};
    if (!is_text(comment)) return "control character in comment";
    method_span_ = rel(rest.substr(0, 0));
    comment_span_ = rel(comment);
  } else if (is_method_token(rest)) {
    request_ = true;
    method_id_ = method_from_token(rest);
    method_span_ = rel(rest);
    comment_span_ = rel(rest.substr(rest.size()));
  } else {
    // A word led by a digit is a broken status code: a response, which is never answered.
    request_ = rest.empty() || !is_digit(rest[0]);
    return "malformed method or status code";
  }
  tid_span_ = rel(tid);
  start_span_ = Span{static_cast<uint32_t>(off), static_cast<uint32_t>(line.size())};
  // RFC 4975 §7.1: non-SEND request bodies are limited (they cannot be interrupted).
  limit_body_ = request_ && method_id_ != Method::send;
  return nullptr;
}

const char* FrameParser::parse_header_line(std::string_view line, size_t off, size_t line_len) {
  // RFC 4975 §9: header = hname ":" SP hval CRLF
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return "malformed header line";
  std::string_view name = line.substr(0, colon);
  if (!is_hname(name)) return "malformed header name";
  if (colon + 1 >= line.size() || line[colon + 1] != ' ') {
    return "header without \": \"";
  }
  std::string_view value = line.substr(colon + 2);
  if (!is_text(value)) return "control character in header value";
  if (raw_.size() >= limits_.max_headers) return "too many headers";
  HeaderId id = header_id(name);
  // RFC 4975 §9: headers = To-Path CRLF From-Path CRLF 1*(header CRLF), each path exactly once.
  const size_t index = raw_.size();
  if (index == 0 && id != HeaderId::to_path) return "To-Path is not the first header";
  if (index == 1 && id != HeaderId::from_path) return "From-Path is not the second header";
  if (index >= 2 && (id == HeaderId::to_path || id == HeaderId::from_path))
    return "repeated To-Path or From-Path";
  if (value.empty() && (id == HeaderId::to_path || id == HeaderId::from_path)) return "empty path";
  raw_.push_back(RawHeader{id, Span{static_cast<uint32_t>(off), static_cast<uint32_t>(colon)},
                           Span{static_cast<uint32_t>(off + colon + 2), static_cast<uint32_t>(value.size())},
                           Span{static_cast<uint32_t>(off), static_cast<uint32_t>(line_len)}});
  return nullptr;
}

Step FrameParser::finish_head(std::string_view in, size_t head_len, bool body) {
  const char* base = in.data();
  auto view = [base](Span s) { return std::string_view(base + s.off, s.len); };
  Frame& f = frame_;
  f.clear();
  f.request_ = request_;
  f.has_body_ = body;
  f.method_id_ = method_id_;
  f.status_code_ = status_code_;
  f.tid_ = view(tid_span_);
  f.method_ = view(method_span_);
  f.comment_ = view(comment_span_);
  f.start_line_ = view(start_span_);
  f.head_ = std::string_view(base, head_len);
  for (const RawHeader& r : raw_) {
    if (r.id != HeaderId::other && f.known_[static_cast<int>(r.id)] < 0) {
      f.known_[static_cast<int>(r.id)] = static_cast<int16_t>(f.headers_.size());
    }
    f.headers_.push_back(Header{r.id, view(r.name), view(r.value), view(r.line)});
  }
  // RFC 4975 §9: To-Path / From-Path = SP MSRP-URI *(SP MSRP-URI).
  if (!split_uri_list(f.headers_[0].value, f.to_path_)) return fail(Status::bad_request, "malformed To-Path");
  if (!split_uri_list(f.headers_[1].value, f.from_path_))
    return fail(Status::bad_request, "malformed From-Path");
  phase_ = body ? Phase::body : Phase::end_pending;
  Step s;
  s.event = Event::head;
  s.consumed = head_len;
  return s;
}

size_t FrameParser::find_end_line(std::string_view in, bool& found) const {
  const char* base = in.data();
  const size_t n = in.size();
  const size_t m = 9 + tid_len_;  // "\r\n-------" + tid
  const size_t full = m + 3;      // + flag CRLF
  size_t pos = 0;
  found = false;
  // RFC 4975 §7.1: the body ends at the first CRLF + end-line carrying this frame's transaction id;
  // the sender guarantees it does not occur inside the body. Any other "-------..." line is data.
  // memchr finds candidate CRs at memory speed; the marker is compared only there.
  while (pos < n) {
    const char* cr = static_cast<const char*>(std::memchr(base + pos, '\r', n - pos));
    if (!cr) break;
    const size_t q = static_cast<size_t>(cr - base);
    const size_t avail = n - q;
    if (avail >= full) {
      if (std::memcmp(cr, marker_, m) == 0 && is_flag(cr[m]) && cr[m + 1] == '\r' && cr[m + 2] == '\n') {
        found = true;
        return q;
      }
    } else {
      // The input ends inside a possible end-line: hold these bytes back until more arrive.
      const size_t k = avail < m ? avail : m;
      if (std::memcmp(cr, marker_, k) == 0 && (avail <= m || is_flag(cr[m])) &&
          (avail <= m + 1 || cr[m + 1] == '\r')) {
        return q;
      }
    }
    pos = q + 1;
  }
  return n;
}

Step FrameParser::feed_body(std::string_view in) {
  bool found = false;
  const size_t body_end = find_end_line(in, found);  // bytes before this offset are body for sure
  if (body_end == 0) {
    if (found) {
      if (limit_body_ && body_bytes_ > limits_.max_non_send_body) {
        return fail(Status::stop_sending, "non-SEND request body too large");
      }
      return end_frame(9 + tid_len_ + 3, in[9 + tid_len_]);
    }
    return {};
  }
  if (limit_body_ && body_bytes_ + body_end > limits_.max_non_send_body) {
    return fail(Status::stop_sending, "non-SEND request body too large");
  }
  body_bytes_ += body_end;
  Step s;
  s.event = Event::body;
  s.consumed = body_end;
  s.body = in.substr(0, body_end);
  return s;
}

// The head of a rejected frame ends at its end-line (no body) or at its blank line (RFC 4975 §9:
// a body follows), whichever comes first, looked for from the frame's first byte. It gets the room
// a good head gets, its end within max_head bytes of its start, and like a good head it is not
// consumed until its end is found: the caller then has the whole head (to answer it from).
Step FrameParser::feed_skip_head(std::string_view in) {
  const char* base = in.data();
  const size_t n = in.size();
  const size_t m = 9 + tid_len_;
  const size_t full = m + 3;
  const size_t room = limits_.max_head;
  if (n < scan_) scan_ = 0;  // the caller presented less than before (against the contract)
  size_t pos = scan_;
  while (pos < n) {
    const char* cr = static_cast<const char*>(std::memchr(base + pos, '\r', n - pos));
    if (!cr) break;
    const size_t q = static_cast<size_t>(cr - base);
    // Neither a blank line nor an end-line starting here ends within max_head.
    if (q + 4 > room) return fail_stream(Status::bad_request, "no end-line after a frame error");
    const size_t avail = n - q;
    if (avail >= full && std::memcmp(cr, marker_, m) == 0 && is_flag(cr[m]) && cr[m + 1] == '\r' &&
        cr[m + 2] == '\n') {
      if (q + full > room) return fail_stream(Status::bad_request, "no end-line after a frame error");
      return end_frame(q + full, cr[m]);
    }
    if (avail >= 4 && std::memcmp(cr, "\r\n\r\n", 4) == 0) {
      phase_ = Phase::skip_body;
      return skipped(q + 4);
    }
    // The input ends inside what could be either: look here again when more arrived.
    const size_t k = avail < m ? avail : m;
    const bool end_line = avail < full && std::memcmp(cr, marker_, k) == 0 &&
                          (avail <= m || is_flag(cr[m])) && (avail <= m + 1 || cr[m + 1] == '\r');
    const bool blank = avail < 4 && std::memcmp(cr, "\r\n\r\n", avail) == 0;
    if (end_line || blank) {
      scan_ = q;
      return {};
    }
    pos = q + 1;
  }
  if (n + 3 >= room) return fail_stream(Status::bad_request, "no end-line after a frame error");
  scan_ = n;
  return {};
}

Step FrameParser::feed_skip_body(std::string_view in) {
  bool found = false;
  const size_t at = find_end_line(in, found);
  if (found) return end_frame(at + 9 + tid_len_ + 3, in[at + 9 + tid_len_]);
  return skipped(at);
}

}  // namespace msrpd::msrp
