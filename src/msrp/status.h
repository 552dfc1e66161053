#pragma once
// MSRP status codes and request methods (RFC 4975 §9, §10; RFC 4976; RFC 7701; IANA "MSRP Parameters").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace msrpd::msrp {

// The registered MSRP status codes. The numeric value is the code on the wire.
enum class Status : uint16_t {
  ok = 200,                      // RFC 4975 §10.1
  bad_request = 400,             // RFC 4975 §10.2 (request unintelligible)
  unauthorized = 401,            // RFC 4976 §10.3 (AUTH without / with bad credentials)
  forbidden = 403,               // RFC 4975 §10.3 (action not allowed)
  not_found = 404,               // RFC 7701 (recipient does not exist)
  request_timeout = 408,         // RFC 4975 §10.4 (only in REPORTs)
  stop_sending = 413,            // RFC 4975 §10.5 (stop sending this message / too large)
  unsupported_media_type = 415,  // RFC 4975 §10.6
  interval_out_of_bounds = 423,  // RFC 4975 §10.7, RFC 4976 §6.3 (Expires out of bounds)
  nickname_usage_failed = 424,   // RFC 7701
  nickname_in_use = 425,         // RFC 7701 (nickname reserved or already in use)
  private_not_supported = 428,   // RFC 7701 (private messages not supported)
  session_does_not_exist = 481,  // RFC 4975 §10.8
  method_not_understood = 501,   // RFC 4975 §10.9
  session_already_in_use = 506,  // RFC 4975 §10.10
};

constexpr uint16_t code_of(Status s) {
  return static_cast<uint16_t>(s);
}

}  // namespace msrpd::msrp

namespace msrpd {
// An error answered with an MSRP status (beside make_error(uint16_t, ...) for codes carried through).
inline Error make_error(msrp::Status s, std::string message) {
  return Error{msrp::code_of(s), std::move(message)};
}
}  // namespace msrpd

namespace msrpd::msrp {

// The Status for a registered code, or nullopt.
std::optional<Status> status_from_code(uint16_t code);

// A reason phrase for the comment of a response ("OK", "Bad Request"...); empty for unregistered codes.
std::string_view reason_phrase(Status s);
std::string_view reason_phrase(uint16_t code);

// RFC 4975 §9: method = mSEND / mREPORT / other-method; RFC 4976 AUTH; RFC 7701 NICKNAME.
enum class Method : uint8_t { send, report, auth, nickname, other };

// RFC 4975 §9: other-method = 1*UPALPHA (methods are case-sensitive). Clients send more (sipsimple's
// FILE_OFFSET), so: an upper-case letter, then upper-case letters, digits and the other RFC 4975
// token characters ("_", "-", "."...). Lower-case letters stay errors ("send" is a broken SEND), and
// so does a leading digit ("2000" is a broken status code).
bool is_method_token(std::string_view token);

// The Method of a start-line token, matched case-sensitively ("send" is Method::other, and is not
// a valid token at all: check is_method_token first).
Method method_from_token(std::string_view token);

// "SEND", "REPORT", "AUTH", "NICKNAME"; empty for Method::other.
std::string_view method_name(Method m);

}  // namespace msrpd::msrp
