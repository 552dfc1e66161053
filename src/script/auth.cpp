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
// (-3 "invalid user" and -8 "auth user mismatch" of Kamailio do not occur: there is no user table;
// auth_db's www_authorize and auth_check return -3 for an unknown user.)
// flags bit 1: the password argument is an HA1 (32 hex digits; anything else is -1, logged).

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

size_t sweep_nonces(AuthState& a) {
  return a.nonces->sweep(relay::NonceStore::Clock::now());
}

int digest_authenticate(Run& run, Loc loc, const char* fname, std::string_view realm, std::string_view method,
                        const std::function<Secret(const relay::DigestCredentials&)>& secret) {
  int rc = [&]() {
    if (!run.s.auth) return -1;
    auto h = run.ctx.header("Authorization");
    if (!h) return -5;
    auto creds = relay::parse_authorization(*h);
    if (!creds) {
      run.log(kLogDbg, run.s.where(loc) + ": " + fname + ": " + creds.error().message + "\n");
      return -1;
    }
    if (creds->realm != realm) return -5;
    if (run.ctx.kind() == relay::MessageKind::msrp_request) {
      // RFC 4976 §9.1: the digest URI is the rightmost To-Path URI (lasthop).
      relay::Value last = run.ctx.msrp(relay::MsrpKey::lasthop);
      if (last.kind != relay::Value::Kind::string) return -1;
      if (!relay::resolve_digest_uri(*creds, last.s)) {
        run.log(kLogDbg, run.s.where(loc) + ": " + fname + ": uri is not the last To-Path URI\n");
        return -2;
      }
    } else if (!creds->uri_given) {
      return -1;  // RFC 2617 §3.2.2: outside MSRP, uri is required
    }
    Secret sec = secret(*creds);
    if (sec.code < 0) return sec.code;
    bool good =
        sec.is_ha1 ? relay::verify_ha1(*creds, method, sec.value) : relay::verify(*creds, method, sec.value);
    if (!good) return -2;
    if (!run.s.auth->nonces->opaque_matches(creds->nonce, creds->opaque)) {
      run.log(kLogDbg, run.s.where(loc) + ": " + fname + ": opaque missing or not the nonce's\n");
      return -6;
    }
    switch (run.s.auth->nonces->use(creds->nonce, creds->nc)) {
      case relay::NonceStore::Check::ok:
        // RFC 4976 §9.1: every 200 to this AUTH must carry Authentication-Info; the engine adds
        // it to the 200 that msrp_cmap_save or msrp_reply sends.
        run.ctx.auth_succeeded(sec.is_ha1 ? relay::authentication_info_value_ha1(*creds, sec.value)
                                          : relay::authentication_info_value(*creds, sec.value));
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

// flags bit 1 (value 1): the password argument is the HA1, MD5(user:realm:password) in hex, as
// Kamailio's auth module reads it. The other bits build challenges into AVPs there: msrpd builds
// its challenge with auth_get_www_authenticate.
constexpr int64_t kPasswordIsHa1 = 1;

int fn_pv_www_authenticate(Run& run, const Call& c) {
  std::string s1, s2, s3;
  std::string_view realm = arg_str(run, c.args[0], s1);
  std::string_view method = c.args.size() > 3 ? arg_str(run, c.args[3], s3) : run.ctx.method();
  auto flags = arg_int(run, c.args[2]);
  bool is_ha1 = flags && (*flags & kPasswordIsHa1) != 0;
  return digest_authenticate(run, c.loc, "pv_www_authenticate", realm, method,
                             [&](const relay::DigestCredentials&) {
                               std::string_view password = arg_str(run, c.args[1], s2);
                               if (is_ha1 && !relay::is_ha1_hex(password)) {
                                 run.log(kLogErr, run.s.where(c.loc) +
                                                      ": pv_www_authenticate: flag 1 and a password that is "
                                                      "not 32 hex digits (an HA1)\n");
                                 return Secret{{}, true, -1};
                               }
                               return Secret{password, is_ha1};
                             });
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
