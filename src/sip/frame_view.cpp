#include "sip/frame_view.h"

namespace msrpd::sip {

void build_sipmsg(std::string_view frame_head, std::string& out) {
  out.clear();
  out.reserve(kSipMsgPrefix.size() + frame_head.size() + 4);
  out += kSipMsgPrefix;
  out += frame_head;
  // End with the blank line whether or not the head carried it (a bodiless frame has none).
  auto ends_with = [&](std::string_view s) {
    return out.size() >= s.size() && std::string_view(out).substr(out.size() - s.size()) == s;
  };
  if (ends_with("\r\n\r\n")) return;
  out += ends_with("\r\n") ? "\r\n" : "\r\n\r\n";
}

Result<void> FrameSipView::build(std::string_view frame_head) {
  build_sipmsg(frame_head, text_);
  return message_.parse(text_);
}

}  // namespace msrpd::sip
