#include "relay/sip_context.h"

#include "common/log.h"
#include "relay/buffers.h"
#include "sip/reply.h"

namespace msrpd::relay {

const Source& SipContext::source() const {
  return origin_.source();
}

std::optional<std::string_view> SipContext::header(std::string_view name) const {
  const sip::SipHeader* h = msg_.find(name);
  if (!h) return std::nullopt;
  return h->value;
}

int SipContext::sl_send_reply(int code, std::string_view reason) {
  BufferPool::Lease buf = buffers_.take();
  std::string& out = *buf;
  if (auto r = sip::build_reply(msg_, code, reason, out); !r) {
    LM_WARN("sl_send_reply: cannot answer %.*s from %.*s: %s", static_cast<int>(msg_.method().size()),
            msg_.method().data(), static_cast<int>(origin_.srcaddr().size()), origin_.srcaddr().data(),
            r.error().message.c_str());
    return -1;
  }
  replied_ = true;
  return origin_.send(out, false) ? 1 : -1;
}

}  // namespace msrpd::relay
