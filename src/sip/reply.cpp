#include "sip/reply.h"

#include <cstdint>

#include "common/ascii.h"

namespace msrpd::sip {
namespace {

// The first via-parm's branch parameter value, or the whole first via-parm when it has none.
std::string_view top_branch(std::string_view via) {
  std::string_view first = via.substr(0, via.find(','));
  size_t pos = 0;
  while ((pos = first.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view param = first.substr(pos, first.find(';', pos) - pos);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && ascii::iequals(ascii::trim_space(param.substr(0, eq)), "branch"))
      return ascii::trim_space(param.substr(eq + 1));
  }
  return first;
}

void fnv1a(uint64_t& h, std::string_view s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;  // separator, so that ("ab","c") and ("a","bc") differ
  h *= 0x100000001b3ULL;
}

}  // namespace

bool has_tag_param(std::string_view value) {
  // Header parameters follow the name-addr's '>' or, in the addr-spec form, its first ';'
  // (RFC 3261 §20.10: an addr-spec with ';' is read as header parameters).
  size_t params = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // quoted-pair
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      size_t close = value.find('>', i);
      if (close == std::string_view::npos) return false;
      params = close + 1;
      break;
    } else if (c == ';') {
      params = i;
      break;
    }
  }
  if (params == std::string_view::npos) return false;
  std::string_view rest = value.substr(params);
  size_t pos = 0;
  while ((pos = rest.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view param = rest.substr(pos, rest.find(';', pos) - pos);
    if (ascii::iequals(ascii::trim_space(param.substr(0, param.find('='))), "tag")) return true;
  }
  return false;
}

std::string reply_to_tag(const SipMessage& req) {
  uint64_t h = 0xcbf29ce484222325ULL;
  fnv1a(h, req.header("Call-ID"));
  fnv1a(h, req.header("CSeq"));
  fnv1a(h, top_branch(req.header("Via")));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) tag[i] = kHex[h & 0xf];
  return tag;
}

Result<void> build_reply(const SipMessage& req, int code, std::string_view reason, std::string& out) {
  if (!req.is_request()) return make_error(0, "cannot reply to a SIP response");
  // RFC 3261 §17.1.1.3: ACK is never answered.
  if (req.method() == "ACK") return make_error(0, "no reply to ACK");
  if (code < 100 || code > 699) return make_error(0, "reply code out of range 100..699");
  if (reason.find_first_of("\r\n") != std::string_view::npos)
    return make_error(0, "CR or LF in reply reason");
  const SipHeader* from = req.find("From");
  const SipHeader* to = req.find("To");
  const SipHeader* call_id = req.find("Call-ID");
  const SipHeader* cseq = req.find("CSeq");
  if (!req.find("Via")) return make_error(400, "request without Via");
  if (!from) return make_error(400, "request without From");
  if (!to) return make_error(400, "request without To");
  if (!call_id) return make_error(400, "request without Call-ID");
  if (!cseq) return make_error(400, "request without CSeq");

  out.clear();
  out += "SIP/2.0 ";
  out += std::to_string(code);
  out += ' ';
  out += reason;
  out += "\r\n";
  // RFC 3261 §8.2.6.2: the Via values, in the same order; From, Call-ID and CSeq copied; To copied,
  // with a tag added when the request had none.
  for (const SipHeader& h : req.headers()) {
    if (!ascii::iequals(h.name, "Via")) continue;
    out += "Via: ";
    out += h.value;
    out += "\r\n";
  }
  out += "From: ";
  out += from->value;
  out += "\r\nTo: ";
  out += to->value;
  if (!has_tag_param(to->value)) {
    out += ";tag=";
    out += reply_to_tag(req);
  }
  out += "\r\nCall-ID: ";
  out += call_id->value;
  out += "\r\nCSeq: ";
  out += cseq->value;
  out += "\r\nServer: msrpd\r\nContent-Length: 0\r\n\r\n";
  return {};
}

}  // namespace msrpd::sip
