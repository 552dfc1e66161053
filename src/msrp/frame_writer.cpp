#include "msrp/frame_writer.h"

#include <sys/random.h>

#include <charconv>
#include <cstring>
#include <random>

#include "common/ascii.h"
#include "common/host_port.h"
#include "msrp/status.h"

namespace msrpd::msrp {
namespace {

void append_path_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// RFC 4975 §7.2: "MSRP tid code[ comment]" CRLF (code is three digits).
void append_status_line(std::string& out, std::string_view tid, uint16_t code, std::string_view comment) {
  char digits[3] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                    static_cast<char>('0' + code % 10)};
  out.append("MSRP ", 5);
  out.append(tid);
  out.push_back(' ');
  out.append(digits, 3);
  if (!comment.empty()) {
    out.push_back(' ');
    out.append(comment);
  }
  out.append("\r\n", 2);
}

// RFC 4975 §9: req-start = "MSRP" SP transact-id SP method CRLF
void append_request_line(std::string& out, std::string_view tid, std::string_view method) {
  out.append("MSRP ", 5);
  out.append(tid);
  out.push_back(' ');
  out.append(method);
  out.append("\r\n", 2);
}

// RFC 4975 §9: "Byte-Range: " range-start "-" range-end "/" total CRLF, "*" for an unknown end or total.
void append_byte_range(std::string& out, uint64_t first, std::optional<uint64_t> end,
                       std::optional<uint64_t> total) {
  out.append("Byte-Range: ", 12);
  append_uint(out, first);
  out.push_back('-');
  if (end) {
    append_uint(out, *end);
  } else {
    out.push_back('*');
  }
  out.push_back('/');
  if (total) {
    append_uint(out, *total);
  } else {
    out.push_back('*');
  }
  out.append("\r\n", 2);
}

bool last_line_is_content_type(std::string_view headers) {
  if (headers.size() < 2 || !headers.ends_with("\r\n")) return false;
  std::string_view lines = headers.substr(0, headers.size() - 2);
  size_t nl = lines.rfind('\n');
  std::string_view last = nl == std::string_view::npos ? lines : lines.substr(nl + 1);
  size_t colon = last.find(':');
  return colon != std::string_view::npos && header_id(last.substr(0, colon)) == HeaderId::content_type;
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

std::string_view relay_popped_uri(const Frame& f) {
  auto to = f.to_path();
  return to.empty() ? std::string_view{} : to[0];
}

namespace {

Result<void> relayed_head(const Frame& f, std::string& out, std::string_view new_tid,
                          const ByteRange* range) {
  auto to = f.to_path();
  auto headers = f.headers();
  if (to.size() < 2 || headers.size() < 2) return make_error(Status::bad_request, "To-Path has no next hop");
  std::string_view tid = new_tid.empty() ? f.transaction_id() : new_tid;
  // The start line after the transaction id: " SEND" or " 200 OK".
  std::string_view tail = f.start_line().substr(5 + f.transaction_id().size());
  out.append("MSRP ", 5);
  out.append(tid);
  out.append(tail);
  out.append("\r\n", 2);
  // RFC 4976 §6.4.1: remove our URI from To-Path and insert it first in From-Path. The parser split
  // To-Path on single spaces, so the rest of the list is the value after the first URI and its space.
  std::string_view to_value = headers[0].value;
  append_path_line(out, "To-Path", to_value.substr(to[0].size() + 1));
  out.append("From-Path: ", 11);
  out.append(to[0]);
  out.push_back(' ');
  out.append(headers[1].value);
  out.append("\r\n", 2);
  // Every other header is copied as received, not re-serialised (RFC 4976 §6.4.1 changes only paths).
  const Header* br = range ? f.find(HeaderId::byte_range) : nullptr;
  for (size_t i = 2; i < headers.size(); ++i) {
    if (&headers[i] == br) {
      append_byte_range(out, range->start, range->end, range->total);
    } else {
      out.append(headers[i].line);
    }
  }
  if (f.has_body()) out.append("\r\n", 2);
  return {};
}

}  // namespace

Result<void> write_relayed_head(const Frame& f, std::string& out, std::string_view new_tid) {
  return relayed_head(f, out, new_tid, nullptr);
}

Result<void> write_relayed_head(const Frame& f, std::string& out, std::string_view new_tid,
                                const ByteRange& range) {
  return relayed_head(f, out, new_tid, &range);
}

void write_end_line(std::string& out, std::string_view tid, char flag, EndLine where) {
  if (where == EndLine::after_body) out.append("\r\n", 2);
  out.append("-------", 7);
  out.append(tid);
  out.push_back(flag);
  out.append("\r\n", 2);
}

void write_response(std::string& out, std::string_view tid, uint16_t code, std::string_view comment,
                    std::string_view to_path, std::string_view from_path, std::string_view extra_headers) {
  append_status_line(out, tid, code, comment);
  append_path_line(out, "To-Path", to_path);
  append_path_line(out, "From-Path", from_path);
  out.append(extra_headers);
  // RFC 4975 §7.2: responses carry no body and always end with '$'.
  write_end_line(out, tid, '$', EndLine::after_headers);
}

void write_rejection(std::string& out, std::string_view tid, uint16_t code, std::string_view to_path,
                     std::string_view from_path) {
  append_status_line(out, tid, code, reason_phrase(code));
  if (!to_path.empty()) append_path_line(out, "To-Path", to_path);
  if (!from_path.empty()) append_path_line(out, "From-Path", from_path);
  write_end_line(out, tid, '$', EndLine::after_headers);
}

namespace {

// The value of the first header line `name` in a raw head, up to the first line that is empty or
// not complete (the head may be broken: no validation).
std::string_view raw_header(std::string_view head, std::string_view name) {
  size_t p = 0;
  while (true) {
    size_t nl = head.find("\r\n", p);
    if (nl == std::string_view::npos || nl == p) return {};
    std::string_view line = head.substr(p, nl - p);
    if (line.size() > name.size() + 1 && line[name.size()] == ':' &&
        ascii::iequals(line.substr(0, name.size()), name)) {
      return ascii::ltrim(line.substr(name.size() + 1));
    }
    p = nl + 2;
  }
}

std::string_view first_uri(std::string_view list) {
  return list.substr(0, list.find(' '));
}

}  // namespace

bool write_rejection_of_head(std::string& out, std::string_view raw_head, std::string_view tid, bool is_send,
                             uint16_t code) {
  std::string_view to = raw_header(raw_head, "To-Path");
  std::string_view from = raw_header(raw_head, "From-Path");
  if (from.empty()) return false;
  // RFC 4975 §7.2: To-Path = the request's From-Path (its first URI for SEND), From-Path = the
  // first To-Path URI.
  write_rejection(out, tid, code, is_send ? first_uri(from) : from, first_uri(to));
  return true;
}

void write_continuation_head(std::string& out, std::string_view tid, std::string_view path_lines,
                             uint64_t first, std::optional<uint64_t> end, std::optional<uint64_t> total,
                             std::string_view other_lines) {
  append_request_line(out, tid, "SEND");
  out.append(path_lines);
  append_byte_range(out, first, end, total);
  out.append(other_lines);
}

Result<void> write_request(std::string& out, std::string_view tid, std::string_view method,
                           std::string_view to_path, std::string_view from_path, std::string_view headers,
                           std::string_view body, char flag) {
  const bool has_body = last_line_is_content_type(headers);
  if (!body.empty() && !has_body)
    return make_error(Status::bad_request, "a body needs Content-Type as the last header");
  append_request_line(out, tid, method);
  append_path_line(out, "To-Path", to_path);
  append_path_line(out, "From-Path", from_path);
  out.append(headers);
  if (has_body) {
    // RFC 4975 §9: Content-Type 2CRLF data CRLF end-line.
    out.append("\r\n", 2);
    out.append(body);
    write_end_line(out, tid, flag, EndLine::after_body);
  } else {
    write_end_line(out, tid, flag, EndLine::after_headers);
  }
  return {};
}

void write_header(std::string& out, HeaderId id, std::string_view value) {
  append_path_line(out, header_name(id), value);
}

void write_header(std::string& out, HeaderId id, uint64_t value) {
  out.append(header_name(id));
  out.append(": ", 2);
  append_uint(out, value);
  out.append("\r\n", 2);
}

void write_use_path(std::string& out, bool secure, std::string_view address, std::string_view local_ip,
                    uint16_t local_port, std::string_view session_id) {
  out.append(secure ? "Use-Path: msrps://" : "Use-Path: msrp://");
  for (std::string_view scheme : {"msrp://", "msrps://"}) {
    if (address.size() > scheme.size() && ascii::istarts_with(address, scheme))
      address.remove_prefix(scheme.size());
  }
  if (!address.empty()) {
    out.append(address);
  } else {
    append_host(out, local_ip);
    out.push_back(':');
    append_port(out, local_port);
  }
  out.push_back('/');
  out.append(session_id);
  out.append(";tcp\r\n");
}

void write_report(std::string& out, std::string_view tid, std::string_view to_path,
                  std::string_view from_path, const ReportStatus& report) {
  append_request_line(out, tid, "REPORT");
  append_path_line(out, "To-Path", to_path);
  append_path_line(out, "From-Path", from_path);
  if (!report.message_id.empty()) write_header(out, HeaderId::message_id, report.message_id);
  // RFC 4975 §7.1.2: the Byte-Range of a REPORT covers the bytes the reporter received.
  append_byte_range(out, report.range_start, report.range_end, report.total);
  // RFC 4975 §9: Status = namespace SP status-code [SP text-reason]; namespace 000 is MSRP's.
  out.append("Status: 000 ");
  append_uint(out, report.code);
  std::string_view comment = report.comment.empty() ? reason_phrase(report.code) : report.comment;
  if (!comment.empty()) {
    out.push_back(' ');
    out.append(comment);
  }
  out.append("\r\n", 2);
  write_end_line(out, tid, '$', EndLine::after_headers);
}

TransactionIdGenerator::TransactionIdGenerator() {
  uint64_t seed[4] = {0, 0, 0, 0};
  ssize_t got = getrandom(seed, sizeof seed, 0);
  if (got != static_cast<ssize_t>(sizeof seed)) {
    std::random_device rd;
    for (auto& s : seed) s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  std::memcpy(s_, seed, sizeof s_);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // xoshiro must not start at all-zero
}

TransactionIdGenerator::TransactionIdGenerator(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t TransactionIdGenerator::next64() {
  // xoshiro256** (Blackman, Vigna).
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::string_view TransactionIdGenerator::next(Buffer& buf) {
  // Two 64-bit draws, 8 base-62 digits each (62^8 < 2^64): about 95 bits per id.
  for (size_t half = 0; half < 2; ++half) {
    uint64_t r = next64();
    for (size_t i = 0; i < 8; ++i) {
      buf[half * 8 + i] = kAlphabet[r % 62];
      r /= 62;
    }
  }
  return {buf.data(), buf.size()};
}

void TransactionIdGenerator::append(std::string& out) {
  Buffer buf;
  out.append(next(buf));
}

}  // namespace msrpd::msrp
