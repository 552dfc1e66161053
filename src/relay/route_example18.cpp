#include "relay/route_example18.h"

#include "msrp/frame_writer.h"

namespace msrpd::relay {

Example18Route::Example18Route(std::string realm, std::string password)
    : realm_(std::move(realm)), password_(std::move(password)) {}

Example18Route::Auth Example18Route::authenticate(Context& ctx, std::string& authentication_info) {
  auto header = ctx.header("Authorization");
  if (!header) return Auth::challenge;
  auto creds = parse_authorization(*header);
  if (!creds) return Auth::challenge;
  Value lasthop = ctx.msrp(MsrpKey::lasthop);
  if (creds->realm != realm_ || !resolve_digest_uri(*creds, lasthop.s)) return Auth::challenge;
  if (!verify(*creds, "AUTH", password_)) return Auth::challenge;
  if (!nonces_.opaque_matches(creds->nonce, creds->opaque)) return Auth::challenge;
  switch (nonces_.use(creds->nonce, creds->nc)) {
    case NonceStore::Check::ok:
      break;
    case NonceStore::Check::stale:
      return Auth::stale;
    default:
      return Auth::challenge;
  }
  authentication_info = authentication_info_value(*creds, password_);
  return Auth::ok;
}

void Example18Route::msrp_frame(Context& ctx, unsigned worker) {
  ctx.msrp_reply_flags(1);
  if (ctx.msrp_is_reply()) {
    ctx.msrp_relay();
    return;
  }
  std::string_view method = ctx.msrp(MsrpKey::method).s;
  int64_t nexthops = ctx.msrp(MsrpKey::nexthops).i;
  if (method == "AUTH") {
    if (nexthops > 0) {
      ctx.msrp_relay();
      return;
    }
    std::string info;
    Auth a = authenticate(ctx, info);
    if (a != Auth::ok) {
      std::string wauth;
      std::string nonce = nonces_.issue();
      msrp::write_header(wauth, msrp::HeaderId::www_authenticate,
                         www_authenticate_value(realm_, nonce, nonces_.opaque_for(nonce), a == Auth::stale));
      ctx.msrp_reply("401", "Unauthorized", wauth);
      return;
    }
    ctx.auth_succeeded(info);
    ctx.msrp_cmap_save();
  } else if (method == "SEND" || method == "REPORT") {
    if (nexthops > 1) {
      if (method != "REPORT") ctx.msrp_reply("200", "OK", {});
      ctx.msrp_relay();
      return;
    }
    if (ctx.msrp_cmap_lookup() > 0) {
      if (method != "REPORT") ctx.msrp_reply("200", "OK", {});
      ctx.msrp_relay_flags(1);
      ctx.msrp_relay();
    } else {
      ctx.msrp_reply("481", "Session-does-not-exist", {});
    }
  } else {
    ctx.msrp_reply("501", "Request-method-not-understood", {});
  }
}

void Example18Route::sip_request(Context& ctx, unsigned worker) {
  ctx.sl_send_reply(403, "No SIP Here");
}

}  // namespace msrpd::relay
