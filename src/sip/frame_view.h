#pragma once
// The "sipmsg" view of an MSRP frame (the seed's §8 Usage): a SIP request built from a fixed prefix
// and the frame's start line and header block, so that SIP functions ($hdr, $rm, $ci...) work in
// event_route[msrp:frame-in]. Only the head of the frame is used, never its body, so frames of any
// size get a view (Kamailio gives none from 11239 bytes on).

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "sip/message.h"

namespace msrpd::sip {

// The fixed start of every view; the frame's start line follows it.
inline constexpr std::string_view kSipMsgPrefix =
    "MSRP sip:a@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa\r\n"
    "From: <b@127.0.0.1>;tag=a\r\n"
    "To: <a@127.0.0.1>\r\n"
    "Call-ID: a\r\n"
    "CSeq: 1 MSRP\r\n"
    "Content-Length: 0\r\n"
    "MSRP-First-Line: ";

// The value of one of the prefix's fixed headers (Via, From, To, Call-ID, CSeq, Content-Length;
// name case-insensitive), so $hdr() and $ci see them without building the view; nullopt otherwise.
std::optional<std::string_view> sipmsg_fixed_header(std::string_view name);

// Writes the view's text into `out` (cleared first, capacity kept): the prefix, then `frame_head` (the
// frame's start line and header lines, with or without the blank line after them), ended by the blank
// line.
void build_sipmsg(std::string_view frame_head, std::string& out);

// The view with its parsed headers, both reused from frame to frame.
class FrameSipView {
 public:
  FrameSipView() = default;
  FrameSipView(const FrameSipView&) = delete;
  FrameSipView& operator=(const FrameSipView&) = delete;

  // Builds and parses the view of one frame. Errors (status 400) when the head is not made of
  // `name: value` lines.
  Result<void> build(std::string_view frame_head);

  std::string_view text() const { return text_; }
  const SipMessage& message() const { return message_; }
  // $hdr(name): the first header of that name, case-insensitive; empty if absent.
  std::string_view header(std::string_view name) const { return message_.header(name); }

 private:
  std::string text_;
  SipMessage message_;
};

}  // namespace msrpd::sip
