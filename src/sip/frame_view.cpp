#include "sip/frame_view.h"

#include "common/ascii.h"

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

std::optional<std::string_view> sipmsg_fixed_header(std::string_view name) {
  struct Fixed {
    std::string_view name, value;
  };
  // The values written in kSipMsgPrefix.
  static constexpr Fixed kFixed[] = {
      {"Via", "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa"},
      {"From", "<b@127.0.0.1>;tag=a"},
      {"To", "<a@127.0.0.1>"},
      {"Call-ID", "a"},
      {"CSeq", "1 MSRP"},
      {"Content-Length", "0"},
  };
  std::string_view full = expand_compact_name(name);
  for (const Fixed& f : kFixed) {
    if (ascii::iequals(full, f.name)) return f.value;
  }
  return std::nullopt;
}

}  // namespace msrpd::sip
