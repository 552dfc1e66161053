#pragma once
// binrpc, the wire format of Kamailio's ctl module, as kamcmd speaks it (written from the public
// protocol description and from bytes observed between kamcmd and a ctl socket):
//
//   packet  = 0xA1 (magic 0xA, version 1)
//             flags<<4 | (length_bytes-1)<<2 | (cookie_bytes-1)
//             body length (length_bytes, big-endian), cookie (cookie_bytes, big-endian), body
//   flags   = 0 request, 1 reply, 3 fault reply (reply|error)
//   record  = S<<7 | size<<4 | type, then the value. S=0: size is the value's length (0..7);
//             S=1: size is how many bytes of length follow (big-endian), then the value.
//   types   = 0 int (big-endian, minimal bytes, negatives as 4 bytes), 1 string (NUL-terminated,
//             the NUL counted), 2 double (an int of value*1000), 3 struct, 4 array, 5 struct
//             member name (a string, followed by the member's value record), 6 bytes.
//             Struct/array: a record with S=0 size=0 opens, one with S=1 size=0 closes.
//   request = string method, then the parameters; reply = the values; fault = int code, string.
//
// Ints are 32 bits on this wire: a value outside [INT32_MIN, UINT32_MAX] (a 64-bit counter) is sent
// as its decimal string, which kamcmd prints the same way. A double outside ±2^31/1000 likewise.
// Null is sent as an empty string.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ctl/rpc.h"

namespace msrpd::ctl::binrpc {

constexpr uint8_t kMagicVersion = 0xA1;
constexpr uint8_t kFlagRequest = 0;
constexpr uint8_t kFlagReply = 1;
constexpr uint8_t kFlagError = 2;
constexpr size_t kMaxHeader = 2 + 4 + 4;
constexpr size_t kMaxDepth = 32;

struct Header {
  uint8_t flags = 0;
  size_t header_len = 0;  // bytes before the body
  size_t body_len = 0;
  uint32_t cookie = 0;
  unsigned cookie_len = 4;
};

enum class HeaderStatus { NeedMore, Ok, Bad };
// Reads a packet header at the start of buf. Bad: not binrpc (magic/version) or a body over max_body.
HeaderStatus read_header(std::string_view buf, size_t max_body, Header& out);

// Encodes one value as records (a List as an array record).
void encode_value(std::string& out, const Value& v);
// Wraps a body into a packet.
std::string encode_packet(uint8_t flags, uint32_t cookie, unsigned cookie_len, std::string_view body);

std::string encode_request(uint32_t cookie, std::string_view method, const Params& params);
// A top-level List becomes consecutive records (Kamailio's repeated rpc->add); Null an empty body.
std::string encode_reply(uint32_t cookie, unsigned cookie_len, const Value& v);
std::string encode_fault(uint32_t cookie, unsigned cookie_len, int code, std::string_view message);

// The body's top-level records as values. Error: truncated or inconsistent records.
Result<std::vector<Value>> decode_body(std::string_view body);

struct Request {
  std::string method;
  Params params;
};
// A request body: the method (first record, a string) and the parameters.
Result<Request> decode_request(std::string_view body);

struct Reply {
  bool is_fault = false;
  int fault_code = 0;
  std::string fault_message;
  std::vector<Value> values;  // the top-level records of a reply
};
Result<Reply> decode_reply(const Header& h, std::string_view body);

}  // namespace msrpd::ctl::binrpc
