#pragma once
// Writing MSRP frames (RFC 4975 §7, §9; RFC 4976 §6.4). Every function appends to the caller's
// std::string, which the caller reuses: once its capacity is warm, writing allocates nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "msrp/frame.h"

namespace msrpd::msrp {

// RFC 4976 §3, §6.4.1: the URI a relay removes from the front of To-Path (its own) and puts at the
// front of From-Path when it forwards a frame. Empty if the frame has no To-Path.
std::string_view relay_popped_uri(const Frame& f);

// Writes the head of `f` as a relay forwards it (RFC 4976 §6.4.1 requests, §6.4.3 responses):
//   the start line, with the transaction id replaced by new_tid when it is not empty
//   (RFC 4976 §6.4: a relay generally needs its own transaction ids on the next hop);
//   "To-Path: " + To-Path without its first URI;
//   "From-Path: " + that URI + " " + the original From-Path;
//   every other header line byte-for-byte; then the blank line when the frame has a body.
// The body (if any) and the end-line follow with write_end_line(..., EndLine::after_body).
// 400 error (nothing written) when To-Path has a single URI: there is no next hop.
Result<void> write_relayed_head(const Frame& f, std::string& out, std::string_view new_tid = {});
// The same, with the frame's (first) Byte-Range line written as `range` in its place instead of
// copied: RFC 4975 §7.1.1, a chunk the relay may interrupt says range-end "*", and a piece of a
// chunk the relay splits says the bytes it carries. No Byte-Range line: none is written.
Result<void> write_relayed_head(const Frame& f, std::string& out, std::string_view new_tid,
                                const ByteRange& range);

// Where an end-line goes: right after the headers (no body), or after body bytes, in which case the
// CRLF that terminates the body is written first (RFC 4975 §7.1: that CRLF is not part of the body).
enum class EndLine : uint8_t { after_headers, after_body };

// Appends ["\r\n"] "-------" tid flag "\r\n"; flag is '$', '+' or '#'.
void write_end_line(std::string& out, std::string_view tid, char flag, EndLine where);

// RFC 4975 §7.2: a response. "MSRP tid code[ comment]", To-Path (the caller chooses: the first
// From-Path URI of a SEND, the whole From-Path for other methods), From-Path, the extra header
// lines as given (each ending in CRLF), and the end-line with '$'. No body.
void write_response(std::string& out, std::string_view tid, uint16_t code, std::string_view comment,
                    std::string_view to_path, std::string_view from_path,
                    std::string_view extra_headers = {});

// RFC 4975 §7.2: the response to a request the parser rejected (its head may be broken, so the
// caller takes the paths from the raw bytes, best effort): "MSRP tid code reason", a To-Path line
// when to_path is not empty, a From-Path line when from_path is not empty, the end-line.
void write_rejection(std::string& out, std::string_view tid, uint16_t code, std::string_view to_path,
                     std::string_view from_path);
// The same, the paths found in the raw bytes of the rejected frame's head (the first To-Path and
// From-Path lines; for a SEND only the first From-Path URI). False, nothing written, when the head
// has no From-Path: the response would have no To-Path.
bool write_rejection_of_head(std::string& out, std::string_view raw_head, std::string_view tid, bool is_send,
                             uint16_t code);

// The head of a chunk that goes on with a SEND this relay split (RFC 4975 §7.1.1; RFC 4976 §6.4.1):
// "MSRP tid SEND", the relayed head's path lines as given, "Byte-Range: first-end/total" (end or
// total "*" when unknown), then the relayed head's other lines as given (ending in the blank line).
void write_continuation_head(std::string& out, std::string_view tid, std::string_view path_lines,
                             uint64_t first, std::optional<uint64_t> end, std::optional<uint64_t> total,
                             std::string_view other_lines);

// A request (REPORTs the relay originates, test clients). `headers` are complete lines ending in CRLF
// after To-Path/From-Path. A body is written when the last header line is Content-Type (RFC 4975
// §7.1: Content-Type announces a body and is the last header); it is followed by the end-line with
// `flag`. 400 error (nothing written) when `body` is not empty and there is no Content-Type last.
Result<void> write_request(std::string& out, std::string_view tid, std::string_view method,
                           std::string_view to_path, std::string_view from_path, std::string_view headers,
                           std::string_view body, char flag = '$');

// One header line, "Name: value\r\n", with the canonical name of `id` (not HeaderId::other).
void write_header(std::string& out, HeaderId id, std::string_view value);
// The same with a decimal value (Expires, Min-Expires, Max-Expires: RFC 4976 §4.4-4.6).
void write_header(std::string& out, HeaderId id, uint64_t value);

// RFC 4976 §5.1, §7.1: the Use-Path line of the 200 to an AUTH, the URI that reaches this relay for
// the session: "Use-Path: msrp[s]://<authority>/<session_id>;tcp\r\n". The authority is `address`
// when set ("host:port"; a leading "msrp://" or "msrps://" is dropped, as configs may write it),
// else the local address the AUTH came in on (an IPv6 address bracketed, RFC 3986 §3.2.2).
void write_use_path(std::string& out, bool secure, std::string_view address, std::string_view local_ip,
                    uint16_t local_port, std::string_view session_id);

// What a REPORT says about a SEND (RFC 4975 §7.1.2, §9): the bytes received and the status.
struct ReportStatus {
  std::string_view message_id;  // the SEND's Message-ID; no Message-ID line when empty
  uint64_t range_start = 1;     // Byte-Range: range_start-range_end/total
  uint64_t range_end = 0;
  std::optional<uint64_t> total;  // nullopt = "*"
  uint16_t code = 200;            // the status, as received or decided (carried through)
  std::string_view comment;       // empty: the reason phrase of a registered code
};

// RFC 4975 §7.1.2, RFC 4976 §7.3: a REPORT a relay originates, without a body:
//   "MSRP tid REPORT", To-Path, From-Path, [Message-ID,] Byte-Range, "Status: 000 code[ comment]",
//   and the end-line with '$'.
void write_report(std::string& out, std::string_view tid, std::string_view to_path,
                  std::string_view from_path, const ReportStatus& report);

// Random transaction ids (RFC 4975 §7.1: at least 64 bits of randomness so concurrent transactions
// never collide): 16 characters of [A-Za-z0-9], about 95 bits. A xoshiro256** generator seeded from
// the kernel's CSPRNG (getrandom): fast, unique in practice, but not meant for secrets (session ids
// and nonces must come from a CSPRNG directly). Not thread-safe: one per worker.
class TransactionIdGenerator {
 public:
  static constexpr size_t kLength = 16;
  using Buffer = std::array<char, kLength>;

  TransactionIdGenerator();                        // seeded from getrandom()
  explicit TransactionIdGenerator(uint64_t seed);  // deterministic, for tests

  // Writes a new id into `buf` and returns a view of it.
  std::string_view next(Buffer& buf);
  void append(std::string& out);

 private:
  uint64_t next64();
  uint64_t s_[4] = {0, 0, 0, 0};
};

}  // namespace msrpd::msrp
