#pragma once
// Stateless SIP replies (what sl_send_reply sends), RFC 3261 §8.2.6.

#include <string>
#include <string_view>

#include "common/result.h"
#include "sip/message.h"

namespace msrpd::sip {

// Writes into `out` (cleared first, capacity kept) a response to `req`:
//   SIP/2.0 <code> <reason>, every Via in order, From, To (with a ;tag= added when the request's To
//   has none), Call-ID, CSeq, "Server: msrpd", "Content-Length: 0".
// The added tag is a hash of Call-ID, CSeq and the top Via branch, so a retransmitted request gets
// the same tag. Errors: `req` is a response or an ACK (never answered), code outside 100..699, a
// reason with CR/LF, or a request without Via/From/To/Call-ID/CSeq.
Result<void> build_reply(const SipMessage& req, int code, std::string_view reason, std::string& out);

// The tag build_reply adds: 16 lower-case hex digits.
std::string reply_to_tag(const SipMessage& req);

// Whether a To/From header value carries a tag parameter (RFC 3261 §19.3).
bool has_tag_param(std::string_view value);

}  // namespace msrpd::sip
