#pragma once
// The HTTP side of the control server: a bounded HTTP/1.1 request parser (no I/O), JSON-RPC 2.0
// over the registry, and the Prometheus text exposition of the statistics.
//
//   POST / or /RPC   a JSON-RPC 2.0 request or batch      -> 200 application/json (204: only
//                                                            notifications)
//   GET /metrics     Prometheus text format 0.0.4          -> 200 text/plain
//   GET /health      200 "OK"
// Anything malformed gets 400 (431 headers too large, 413 body too large, 501 Transfer-Encoding,
// 404 unknown path, 405 wrong method); refused access 401/403/415 (HttpAccess); every response
// closes the connection.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctl/commands.h"
#include "ctl/rpc.h"

namespace msrpd::ctl {

struct HttpLimits {
  size_t max_header = size_t{16} * 1024;  // request line + headers
  size_t max_body = size_t{1024} * 1024;
};

struct HttpRequest {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;
  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct HttpParse {
  enum class Status { NeedMore, Ok, Error };
  Status status = Status::NeedMore;
  int error_status = 0;  // Error: the HTTP status to answer (400, 413, 431, 501)
  size_t consumed = 0;   // Ok: bytes of buf the request used
};
// Parses one request at the start of buf.
HttpParse parse_http_request(std::string_view buf, const HttpLimits& limits, HttpRequest& out);

// A complete response with Connection: close.
std::string http_response(int status, std::string_view content_type, std::string_view body);
std::string http_error_response(int status);

// JSON-RPC 2.0 (single or batch) against the registry; "" when nothing is to be answered (only
// notifications). Faults become {"code": fault code, "message": text}.
std::string jsonrpc_handle(std::string_view body, const Registry& reg);

// One stat's Prometheus name: "msrp:frames_in_send" -> family msrpd_frames_in_total with label
// method="SEND" (docs/CONTROL.md has the whole mapping).
struct MetricName {
  std::string family;  // msrpd_frames_in_total
  std::string labels;  // method="SEND" (without braces), or empty
  bool gauge = false;
};
MetricName metric_name(std::string_view stat);
std::string prometheus_text(const StatsSnapshot& stats);

// Who may call a listener (docs/CONTROL.md "Access"). The checks keep a web page in the operator's
// browser from calling RPC (a cross-site POST, DNS rebinding) and a stranger without the token out.
struct HttpAccess {
  bool rpc = true;    // false: a read-only listener (GET /metrics, /health only; no checks)
  std::string token;  // non-empty: every request needs "Authorization: Bearer TOKEN"
  // Host values accepted (lower case, without port): the listener's name or address, the
  // connection's local address, "localhost". The port, when given, must be `port`.
  std::vector<std::string> hosts;
  uint16_t port = 0;
};

// Why a request was refused before it reached a handler (each is counted and logged).
enum class HttpRefusal : uint8_t {
  none,
  token,         // 401: no or wrong bearer token
  host,          // 403: Host names neither this listener nor localhost (DNS rebinding)
  origin,        // 403: Origin is not this listener's own (a cross-site request)
  content_type,  // 415: a POST that is not application/json (a form or text/plain)
};
std::string_view refusal_name(HttpRefusal r);  // "token", "host", ...

// The access checks for one request: HttpRefusal::none, or the refusal and its response in `out`.
HttpRefusal http_check_access(const HttpRequest& req, const HttpAccess& access, std::string& out);

// Token comparison that takes the same time wherever the first difference is.
bool equal_secret(std::string_view a, std::string_view b);

// Routes a parsed request: JSON-RPC, /metrics (stats may be empty: no statistics), /health, or an
// error. With access.rpc false only /metrics and /health are served.
std::string http_handle(const HttpRequest& req, const Registry& reg, const StatsSource& stats,
                        const HttpAccess& access = {});

}  // namespace msrpd::ctl
