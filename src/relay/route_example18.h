#pragma once
// The seed's Example 1.18 event_route[msrp:frame-in] as a C++ route (a test fixture and the
// benchmark route): AUTH answered with Digest (realm "myrealm", password "xyz123") then
// msrp_cmap_save; SEND/REPORT to a saved session relayed over the AUTHed connection (flag 1) after
// a 200; frames with more hops relayed; unknown sessions 481; other methods 501.

#include <string>

#include "relay/digest.h"
#include "relay/engine.h"

namespace msrpd::relay {

class Example18Route : public Router {
 public:
  explicit Example18Route(std::string realm = "myrealm", std::string password = "xyz123");
  void msrp_frame(Context& ctx, unsigned worker) override;
  // request_route of the example: every SIP request gets 403 "No SIP Here".
  void sip_request(Context& ctx, unsigned worker) override;

 private:
  enum class Auth { ok, challenge, stale };
  // pv_www_authenticate(realm, passwd, "0", "$msrp(method)") of the auth module.
  Auth authenticate(Context& ctx, std::string& authentication_info);

  std::string realm_;
  std::string password_;
  NonceStore nonces_;
};

}  // namespace msrpd::relay
