#include "sip/message.h"

#include <string>

#include "common/ascii.h"

namespace msrpd::sip {
namespace {

Error fail(uint16_t status, std::string message) {
  return make_error(status, std::move(message));
}

// Content-Length value (RFC 3261 §20.14: 1*DIGIT). Returns false when it is not a number.
bool parse_length(std::string_view s, size_t& out) {
  s = ascii::trim_space(s);
  return s.size() <= 10 && ascii::parse_uint(s, out);
}

}  // namespace

size_t leading_crlf_length(std::string_view bytes) {
  size_t n = 0;
  while (n + 1 < bytes.size() && bytes[n] == '\r' && bytes[n + 1] == '\n') n += 2;
  return n;
}

std::string_view expand_compact_name(std::string_view name) {
  if (name.size() != 1) return name;
  // RFC 3261 §7.3.3 and §20: the compact forms.
  switch (ascii::lower(name[0])) {
    case 'c':
      return "Content-Type";
    case 'e':
      return "Content-Encoding";
    case 'f':
      return "From";
    case 'i':
      return "Call-ID";
    case 'k':
      return "Supported";
    case 'l':
      return "Content-Length";
    case 'm':
      return "Contact";
    case 's':
      return "Subject";
    case 't':
      return "To";
    case 'v':
      return "Via";
    default:
      return name;
  }
}

// ---- SipReader ----

Result<size_t> SipReader::check(std::string_view buffered) {
  if (header_end_ == 0) {
    if (scanned_ == start_) {
      // Nothing but CRLFs seen so far: they are not part of the header block (RFC 3261 §7.5).
      start_ = leading_crlf_length(buffered);
      scanned_ = start_;
    }
    size_t from = scanned_ >= start_ + 3 ? scanned_ - 3 : start_;
    size_t end = buffered.find("\r\n\r\n", from);
    if (end == std::string_view::npos) {
      scanned_ = buffered.size();
      if (buffered.size() - start_ > max_header_) return fail(413, "SIP header block too large");
      return size_t{0};
    }
    header_end_ = end + 4;
    if (header_end_ - start_ > max_header_) return fail(413, "SIP header block too large");

    // Content-Length, or compact `l` (RFC 3261 §20.14); absent means no body.
    std::string_view block = buffered.substr(start_, header_end_ - start_);
    size_t pos = block.find("\r\n") + 2;  // past the start line
    bool seen = false;
    while (pos < block.size()) {
      size_t eol = block.find("\r\n", pos);
      std::string_view line = block.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty() || ascii::is_wsp(line[0])) continue;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;  // SipMessage::parse reports it
      std::string_view name = ascii::trim_space(line.substr(0, colon));
      if (!ascii::iequals(expand_compact_name(name), "Content-Length")) continue;
      size_t length = 0;
      if (!parse_length(line.substr(colon + 1), length)) return fail(400, "bad Content-Length");
      if (seen && length != body_length_) return fail(400, "conflicting Content-Length headers");
      if (length > max_body_) return fail(413, "SIP body too large");
      seen = true;
      body_length_ = length;
    }
  }
  size_t total = header_end_ + body_length_;
  return buffered.size() >= total ? total : size_t{0};
}

// ---- SipMessage ----

Result<void> SipMessage::parse(std::string_view text) {
  text_ = text;
  headers_.clear();
  request_ = false;
  method_ = request_uri_ = reason_ = body_ = {};
  status_ = 0;

  size_t pos = leading_crlf_length(text);
  size_t eol = text.find("\r\n", pos);
  if (eol == std::string_view::npos) return fail(400, "missing CRLF after start line");
  start_line_ = text.substr(pos, eol - pos);
  std::string_view line = start_line_;

  if (line.size() >= 8 && ascii::iequals(line.substr(0, 8), "SIP/2.0 ")) {
    // RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
    std::string_view code = line.substr(8, 3);
    if (code.size() != 3 || !ascii::is_digit(code[0]) || !ascii::is_digit(code[1]) ||
        !ascii::is_digit(code[2]) || (line.size() > 11 && line[11] != ' '))
      return fail(400, "bad status code");
    status_ = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status_ < 100) return fail(400, "bad status code");
    reason_ = line.size() > 12 ? line.substr(12) : std::string_view();
  } else {
    // RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return fail(400, "bad request line");
    if (!ascii::kSipToken.all_of(line.substr(0, sp1))) return fail(400, "bad method");
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return fail(400, "bad request line");
    if (!ascii::iequals(line.substr(sp2 + 1), "SIP/2.0")) return fail(400, "bad SIP version");
    request_ = true;
    method_ = line.substr(0, sp1);
    request_uri_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
  }

  pos = eol + 2;
  size_t value_start = 0;
  for (;;) {
    eol = text.find("\r\n", pos);
    if (eol == std::string_view::npos) return fail(400, "missing blank line after headers");
    if (eol == pos) break;
    if (ascii::is_wsp(text[pos])) {
      // RFC 3261 §7.3.1: a line starting with white space continues the previous header.
      if (headers_.empty()) return fail(400, "continuation line before any header at " + std::to_string(pos));
      headers_.back().value = ascii::trim_space(text.substr(value_start, eol - value_start));
    } else {
      size_t colon = text.substr(pos, eol - pos).find(':');
      if (colon == std::string_view::npos)
        return fail(400, "missing ':' in header at " + std::to_string(pos));
      std::string_view raw = ascii::trim_space(text.substr(pos, colon));
      if (raw.empty()) return fail(400, "empty header name at " + std::to_string(pos));
      if (!ascii::kSipToken.all_of(raw)) return fail(400, "bad header name at " + std::to_string(pos));
      value_start = pos + colon + 1;
      headers_.push_back(
          {expand_compact_name(raw), raw, ascii::trim_space(text.substr(value_start, eol - value_start))});
    }
    pos = eol + 2;
  }
  body_ = text.substr(eol + 2);
  size_t length = 0;
  if (const SipHeader* cl = find("Content-Length");
      cl && parse_length(cl->value, length) && length < body_.size())
    body_ = body_.substr(0, length);
  return {};
}

const SipHeader* SipMessage::find(std::string_view name) const {
  std::string_view full = expand_compact_name(name);
  for (const SipHeader& h : headers_)
    if (ascii::iequals(h.name, full)) return &h;
  return nullptr;
}

}  // namespace msrpd::sip
