// The auth module: Digest (RFC 2617, qop=auth, MD5) for MSRP AUTH (RFC 4976 §9.1), over the relay
// layer's digest functions and nonce store.
//
// pv_www_authenticate(realm, password, flags[, method]) returns Kamailio's codes:
//    1  authenticated
//   -1  error: malformed Authorization header (or the auth module is not loaded)
//   -2  invalid password (wrong response), or a uri= other than the AUTH's rightmost To-Path URI
//       (RFC 4976 §9.1; without uri=, as RFC 4976 §7's grammar and AG msrplib have it, that URI is
//       the digest URI). A wrong uri= is a failed authentication, not a 400: credentials made for
//       another relay, which the script answers 401 with a fresh challenge and the engine counts
//       towards auth_max_failures like a wrong password.
//   -4  stale nonce (genuine but expired): the next challenge carries stale=true
//   -5  no credentials (no Authorization header, or none for this realm)
//   -6  nonce not issued by us (forged, altered), nc replayed, or an opaque missing or other than
//       the one the challenge of that nonce carried (RFC 2617 §3.2.2)
// (-3 "invalid user" and -8 "auth user mismatch" of Kamailio do not occur: there is no user table.)

#include "msrp/frame_writer.h"
#include "relay/digest.h"
#include "script/internal.h"

namespace msrpd::script {

struct AuthState {
  std::unique_ptr<relay::NonceStore> nonces;
};

std::shared_ptr<AuthState> make_auth_state(const Config& config) {
  auto a = std::make_shared<AuthState>();
  a->nonces = std::make_unique<relay::NonceStore>(std::chrono::seconds(config.auth.nonce_expire),
                                                  config.auth.nonce_count != 0);
  return a;
}

int fn_pv_www_authenticate(Run& run, const Call& c) {
  int rc = [&]() {
    if (!run.s.auth) return -1;
    auto h = run.ctx.header("Authorization");
    if (!h) return -5;
    auto creds = relay::parse_authorization(*h);
    if (!creds) {
      run.log(kLogDbg, run.s.where(c.loc) + ": pv_www_authenticate: " + creds.error().message + "\n");
      return -1;
    }
    std::string s1, s2, s3;
    std::string_view realm = arg_str(run, c.args[0], s1);
    if (creds->realm != realm) return -5;
    std::string_view password = arg_str(run, c.args[1], s2);
    std::string_view method = c.args.size() > 3 ? arg_str(run, c.args[3], s3) : run.ctx.method();
    if (run.ctx.kind() == relay::MessageKind::msrp_request) {
      // RFC 4976 §9.1: the digest URI is the rightmost To-Path URI (lasthop).
      relay::Value last = run.ctx.msrp(relay::MsrpKey::lasthop);
      if (last.kind != relay::Value::Kind::string) return -1;
      if (!relay::resolve_digest_uri(*creds, last.s)) {
        run.log(kLogDbg, run.s.where(c.loc) + ": pv_www_authenticate: uri is not the last To-Path URI\n");
        return -2;
      }
    } else if (!creds->uri_given) {
      return -1;  // RFC 2617 §3.2.2: outside MSRP, uri is required
    }
    if (!relay::verify(*creds, method, password)) return -2;
    if (!run.s.auth->nonces->opaque_matches(creds->nonce, creds->opaque)) {
      run.log(kLogDbg, run.s.where(c.loc) + ": pv_www_authenticate: opaque missing or not the nonce's\n");
      return -6;
    }
    switch (run.s.auth->nonces->use(creds->nonce, creds->nc)) {
      case relay::NonceStore::Check::ok:
        // RFC 4976 §9.1: every 200 to this AUTH must carry Authentication-Info; the engine adds
        // it to the 200 that msrp_cmap_save or msrp_reply sends.
        run.ctx.auth_succeeded(relay::authentication_info_value(*creds, password));
        return 1;
      case relay::NonceStore::Check::stale:
        return -4;
      case relay::NonceStore::Check::unknown:
      case relay::NonceStore::Check::replay:
        return -6;
    }
    return -1;
  }();
  run.env.last_auth = rc;
  return rc;
}

int fn_auth_get_www_authenticate(Run& run, const Call& c) {
  if (!run.s.auth) return -1;
  std::string s1;
  std::string_view realm = arg_str(run, c.args[0], s1);
  std::string value;
  relay::NonceStore& nonces = *run.s.auth->nonces;
  std::string nonce = nonces.issue();
  msrp::write_header(
      value, msrp::HeaderId::www_authenticate,
      relay::www_authenticate_value(realm, nonce, nonces.opaque_for(nonce), run.env.last_auth == -4));
  return assign_pv(run, *c.args[2].out, Val::of_string(std::move(value))) ? 1 : -1;
}

// For SIP, Kamailio removes the Authorization header before forwarding; an MSRP AUTH is answered
// by this relay and never forwarded, so there is nothing to remove.
int fn_consume_credentials(Run&, const Call&) {
  return 1;
}

namespace {
Val auth_part(Run& run, bool user) {
  auto h = run.ctx.header("Authorization");
  if (!h) return Val::null();
  auto creds = relay::parse_authorization(*h);
  if (!creds) return Val::null();
  return Val::of_view(user ? creds->username : creds->realm);
}
}  // namespace

Val auth_username(Run& run) {
  return auth_part(run, true);
}
Val auth_realm(Run& run) {
  return auth_part(run, false);
}

}  // namespace msrpd::script
