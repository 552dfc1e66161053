#pragma once
// The HTTP side of the control server: a bounded HTTP/1.1 request parser (no I/O), JSON-RPC 2.0
// over the registry, and the Prometheus text exposition of the statistics.
//
//   POST / or /RPC   a JSON-RPC 2.0 request or batch      -> 200 application/json (204: only
//                                                            notifications)
//   GET /metrics     Prometheus text format 0.0.4          -> 200 text/plain
// Anything malformed gets 400 (431 headers too large, 413 body too large, 501 Transfer-Encoding,
// 404 unknown path, 405 wrong method); every response closes the connection.

#include <cstddef>
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

// Routes a parsed request: JSON-RPC, /metrics (stats may be empty: no statistics), or an error.
std::string http_handle(const HttpRequest& req, const Registry& reg, const StatsSource& stats);

}  // namespace msrpd::ctl
