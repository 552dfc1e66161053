// libFuzzer target for the control plane's HTTP side (src/ctl/http.h), driven as the server's
// serve_http drives it: parse_http_request over the bytes received so far (the input arriving in
// pieces), then http_handle on the parsed request with a registry and a statistics source.
// Checked on every input:
// - over growing prefixes the outcome only goes NeedMore -> one final answer: once a prefix is
//   Ok or Error, every longer one gives the same (pipelined bytes do not change a request);
// - a parsed request holds what RFC 9112 §3 allows (token method, origin-form target, HTTP/1.0 or
//   1.1, token header names with trimmed values, the body Content-Length says), and written back
//   as text it parses to the same request, consuming exactly that text;
// - every response is one HTTP/1.1 response whose Content-Length is its body's length, and a
//   JSON-RPC answer is valid JSON made of JSON-RPC 2.0 response objects (RFC 8259, JSON-RPC §5).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "ctl/http.h"
#include "ctl/json.h"
#include "ctl/rpc.h"

namespace {

using msrpd::ctl::HttpLimits;
using msrpd::ctl::HttpParse;
using msrpd::ctl::HttpRequest;
using msrpd::ctl::Registry;
using msrpd::ctl::Value;

void check(bool ok) {
  if (!ok) std::abort();
}

// Small limits, so that inputs of a few KiB reach 431 and 413 too.
constexpr HttpLimits kLimits{512, 1024};

const Registry& registry() {
  static Registry* reg = [] {
    auto* r = new Registry;
    r->add("core.echo", "Returns its parameters.",
           [](const msrpd::ctl::Params& p) -> msrpd::Result<Value> { return Value::list(p); });
    r->add("core.fault", "Always fails.",
           [](const msrpd::ctl::Params&) -> msrpd::Result<Value> { return msrpd::ctl::fault(400, "bad"); });
    return r;
  }();
  return *reg;
}

msrpd::ctl::StatsSnapshot stats() {
  return {{"msrp:frames_in_send", 3}, {"msrp:replies_200", 2}, {"cmap:entries", 1}, {"tcp:x\"y", 4}};
}

bool same(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.version == b.version && a.headers == b.headers &&
         a.body == b.body;
}

void check_request(const HttpRequest& req) {
  check(msrpd::ascii::kHttpToken.all_of(req.method));
  check(!req.target.empty() && req.target[0] == '/');
  check(req.version == "HTTP/1.1" || req.version == "HTTP/1.0");
  size_t length = 0;
  for (const auto& [name, value] : req.headers) {
    check(msrpd::ascii::kHttpToken.all_of(name));
    check(msrpd::ascii::trim(value) == value);
    if (msrpd::ascii::iequals(name, "Content-Length")) length = std::stoul(value);
    check(!msrpd::ascii::iequals(name, "Transfer-Encoding"));
  }
  check(req.body.size() == length && length <= kLimits.max_body);
  std::string text = req.method;
  text.append(" ").append(req.target).append(" ").append(req.version).append("\r\n");
  for (const auto& [name, value] : req.headers) text.append(name).append(": ").append(value).append("\r\n");
  text.append("\r\n").append(req.body);
  HttpRequest again;
  HttpParse p = msrpd::ctl::parse_http_request(text, kLimits, again);
  check(p.status == HttpParse::Status::Ok && p.consumed == text.size() && same(again, req));
}

void check_jsonrpc_object(const nlohmann::json& r) {
  check(r.is_object() && r.value("jsonrpc", "") == "2.0" && r.contains("id"));
  check(r.contains("result") != r.contains("error"));
  if (r.contains("error")) check(r["error"]["code"].is_number_integer() && r["error"]["message"].is_string());
}

// "HTTP/1.1 200 OK\r\n...": one response, Content-Length right (HEAD: the length of what GET sends).
void check_response(std::string_view resp, bool head) {
  check(resp.starts_with("HTTP/1.1 ") && resp.size() > 12);
  int status = std::stoi(std::string(resp.substr(9, 3)));
  check(status >= 200 && status < 600);
  size_t end = resp.find("\r\n\r\n");
  check(end != std::string_view::npos);
  std::string_view headers = resp.substr(0, end + 2), body = resp.substr(end + 4);
  size_t cl = headers.find("\r\nContent-Length: ");
  check(cl != std::string_view::npos && headers.find("\r\nConnection: close\r\n") != std::string_view::npos);
  size_t length = std::stoul(std::string(headers.substr(cl + 18)));
  check(head ? body.empty() : body.size() == length);
  if (status == 204) check(length == 0);
  if (headers.find("Content-Type: application/json") == std::string_view::npos) return;
  auto j = nlohmann::json::parse(body, nullptr, false);
  check(!j.is_discarded());
  if (j.is_array()) {
    check(!j.empty());
    for (const auto& r : j) check_jsonrpc_object(r);
  } else {
    check_jsonrpc_object(j);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  HttpRequest req;
  HttpParse whole = msrpd::ctl::parse_http_request(in, kLimits, req);
  check(whole.consumed <= size);
  if (whole.status == HttpParse::Status::Ok) {
    check(whole.consumed == in.find("\r\n\r\n") + 4 + req.body.size());
    check_request(req);
  }

  // The bytes as they may arrive: every prefix of a small input, a sample of a larger one.
  bool final = false;
  for (size_t k = 0; k < size; k += size <= 256 ? 1 : 1 + k / 16) {
    HttpRequest part;
    HttpParse p = msrpd::ctl::parse_http_request(in.substr(0, k), kLimits, part);
    if (p.status == HttpParse::Status::NeedMore) {
      check(!final);
      continue;
    }
    final = true;
    check(p.status == whole.status && p.error_status == whole.error_status && p.consumed == whole.consumed);
    if (p.status == HttpParse::Status::Ok) check(same(part, req));
  }

  if (whole.status == HttpParse::Status::Error) {
    check(whole.error_status == 400 || whole.error_status == 413 || whole.error_status == 431 ||
          whole.error_status == 501);
    check_response(msrpd::ctl::http_error_response(whole.error_status), false);
  } else if (whole.status == HttpParse::Status::Ok) {
    std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    bool head = req.method == "HEAD" && (path == "/metrics" || path == "/health");
    check_response(msrpd::ctl::http_handle(req, registry(), stats), head);
    // The access checks (Host, Origin, bearer token, Content-Type) on the same request.
    msrpd::ctl::HttpAccess access;
    access.token = "fuzz-token";
    access.hosts = {"127.0.0.1", "msrpd.example"};
    access.port = 8080;
    std::string refusal;
    msrpd::ctl::HttpRefusal r = msrpd::ctl::http_check_access(req, access, refusal);
    if (r == msrpd::ctl::HttpRefusal::none) {
      check(refusal.empty());
      check_response(msrpd::ctl::http_handle(req, registry(), stats, access), head);
    } else {
      check_response(refusal, false);
    }
  }
  // The body alone as JSON-RPC, whatever the framing around it was.
  std::string answer = msrpd::ctl::jsonrpc_handle(in, registry());
  if (!answer.empty()) check_response(msrpd::ctl::http_response(200, "application/json", answer), false);
  return 0;
}
