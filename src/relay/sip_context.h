#pragma once
// SipContext: the action API for a SIP request that reached an MSRP port (SIP and MSRP on one
// port, as Kamailio allows): request_route runs for it, and sl_send_reply answers it statelessly
// on the connection it came in on. The msrp_* actions do not apply to SIP and fail.

#include <string>
#include <string_view>

#include "relay/buffers.h"
#include "relay/context.h"
#include "relay/frame_context.h"
#include "sip/message.h"

namespace msrpd::relay {

class SipContext final : public Context {
 public:
  SipContext(FrameOrigin& origin, BufferPool& buffers, const sip::SipMessage& msg)
      : origin_(origin), buffers_(buffers), msg_(msg) {}

  MessageKind kind() const override {
    return msg_.is_request() ? MessageKind::sip_request : MessageKind::sip_reply;
  }
  const Source& source() const override;
  Value msrp(MsrpKey) override { return Value::null_value(); }
  std::string_view method() const override { return msg_.method(); }
  std::optional<std::string_view> header(std::string_view name) const override;
  std::string_view head() const override { return msg_.text(); }

  int msrp_relay() override { return -1; }
  int msrp_reply(std::string_view, std::string_view, std::string_view) override { return -1; }
  int msrp_set_dst(std::string_view, std::string_view) override { return -1; }
  int msrp_relay_flags(int) override { return -1; }
  int msrp_reply_flags(int) override { return -1; }
  int msrp_cmap_save() override { return -1; }
  int msrp_cmap_lookup() override { return -1; }
  int sl_send_reply(int code, std::string_view reason) override;

  bool replied() const { return replied_; }

 private:
  FrameOrigin& origin_;
  BufferPool& buffers_;
  const sip::SipMessage& msg_;
  bool replied_ = false;
};

}  // namespace msrpd::relay
