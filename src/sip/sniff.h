#pragma once
// Telling MSRP from SIP on a shared TCP/TLS port, from the first bytes of a connection.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace msrpd::sip {

enum class Protocol : uint8_t {
  need_more,  // the bytes so far fit MSRP or SIP: read more
  msrp,       // starts with "MSRP " (case-sensitive, as Kamailio decides)
  sip,        // a complete SIP request line or status line
  garbage,    // neither: close the connection
};

// A first line longer than this, still undecided, is garbage.
inline constexpr size_t kMaxSniffBytes = 8192;

// Classifies the first bytes received on a connection:
//   MSRP:  "MSRP " ...                                     (RFC 4975 §9 req-start / resp-start)
//   SIP:   Method SP Request-URI SP "SIP/2.0" CRLF         (RFC 3261 §7.1)
//          "SIP/2.0" SP 3DIGIT SP Reason-Phrase CRLF       (RFC 3261 §7.2)
// MSRP is known as soon as its 5-byte prefix is there; SIP when its whole first line is. Leading CRLFs
// are not skipped: a connection must begin with its first message.
Protocol sniff(std::string_view first_bytes);

}  // namespace msrpd::sip
