#include "ctl/http.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/ascii.h"
#include "ctl/json.h"

namespace msrpd::ctl {

namespace {

using ascii::iequals;

// RFC 9110 §5.6.2: method and field names are tokens.
bool is_token(std::string_view s) {
  return ascii::kHttpToken.all_of(s);
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HttpParse error(int status) {
  HttpParse p;
  p.status = HttpParse::Status::Error;
  p.error_status = status;
  return p;
}

nlohmann::json rpc_error(int code, std::string_view message, const nlohmann::json& id) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}, {"id", id}};
}

// One request object -> its response, or null for a notification.
nlohmann::json rpc_one(const nlohmann::json& req, const Registry& reg) {
  using nlohmann::json;
  if (!req.is_object()) return rpc_error(-32600, "Invalid Request", nullptr);
  bool notification = !req.contains("id");
  json id = notification ? json(nullptr) : req["id"];
  if (!id.is_null() && !id.is_string() && !id.is_number())
    return rpc_error(-32600, "Invalid Request", nullptr);
  auto ver = req.find("jsonrpc");
  if (ver != req.end() && *ver != "2.0") return rpc_error(-32600, "Invalid Request", id);
  auto m = req.find("method");
  if (m == req.end() || !m->is_string()) return rpc_error(-32600, "Invalid Request", id);
  Params params;
  auto p = req.find("params");
  if (p != req.end()) {
    if (!p->is_array()) return notification ? json() : rpc_error(-32602, "Invalid params", id);
    for (const auto& e : *p) params.push_back(from_json(e));
  }
  std::string method = m->get<std::string>();
  if (!reg.has(method)) return notification ? json() : rpc_error(-32601, "Method not found", id);
  auto r = reg.call(method, params);
  if (notification) return json();
  if (!r) return rpc_error(r.error().status, r.error().message, id);
  return json{{"jsonrpc", "2.0"}, {"result", to_json(*r)}, {"id", id}};
}

void escape_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!ascii::is_alnum(c) && c != '_') c = '_';
  }
  return out;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

HttpParse parse_http_request(std::string_view buf, const HttpLimits& limits, HttpRequest& out) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 > limits.max_header) {
    if (end != std::string_view::npos || buf.size() > limits.max_header) return error(431);
    // A request line that is not HTTP at all is refused at once, without waiting for more bytes.
    size_t line_end = buf.find("\r\n");
    if (line_end != std::string_view::npos &&
        buf.substr(0, line_end).find(" HTTP/") == std::string_view::npos) {
      return error(400);
    }
    return HttpParse{};
  }
  std::string_view head = buf.substr(0, end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  out = HttpRequest{};
  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return error(400);
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out.version = std::string(line.substr(sp2 + 1));
  if (!is_token(out.method) || out.target.empty() || out.target[0] != '/' ||
      (out.version != "HTTP/1.1" && out.version != "HTTP/1.0")) {
    return error(400);
  }
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || !is_token(h.substr(0, colon))) return error(400);
    out.headers.emplace_back(std::string(h.substr(0, colon)), std::string(ascii::trim(h.substr(colon + 1))));
  }
  if (out.header("Transfer-Encoding") != nullptr) return error(501);
  size_t body_len = 0;
  bool have_len = false;
  for (const auto& [n, v] : out.headers) {
    if (!iequals(n, "Content-Length")) continue;
    size_t len = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), len);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size() || v.empty()) return error(400);
    if (have_len && len != body_len) return error(400);
    body_len = len;
    have_len = true;
  }
  if (body_len > limits.max_body) return error(413);
  size_t total = end + 4 + body_len;
  if (buf.size() < total) return HttpParse{};
  out.body = std::string(buf.substr(end + 4, body_len));
  HttpParse p;
  p.status = HttpParse::Status::Ok;
  p.consumed = total;
  return p;
}

std::string http_response(int status, std::string_view content_type, std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out.append(body);
  return out;
}

std::string http_error_response(int status) {
  return http_response(status, "text/plain", std::string(reason(status)) + "\n");
}

std::string jsonrpc_handle(std::string_view body, const Registry& reg) {
  using nlohmann::json;
  // from_json/to_json recurse: a body of nested brackets (the port takes 1 MiB) would overflow the
  // control thread's stack. More than 32 levels of objects and arrays (the request object and
  // params included) is an Invalid Request (JSON-RPC 2.0 §5.1); the parser stops building at once.
  constexpr int kMaxJsonDepth = 32;
  bool too_deep = false;
  auto depth_limit = [&too_deep](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      too_deep = true;
    }
    return !too_deep;
  };
  json req = json::parse(body, depth_limit, false);
  if (too_deep) return rpc_error(-32600, "Invalid Request", nullptr).dump();
  if (req.is_discarded()) return rpc_error(-32700, "Parse error", nullptr).dump();
  if (req.is_array()) {
    if (req.empty()) return rpc_error(-32600, "Invalid Request", nullptr).dump();
    json out = json::array();
    for (const auto& r : req) {
      json one = rpc_one(r, reg);
      if (!one.is_null()) out.push_back(std::move(one));
    }
    return out.empty() ? std::string() : out.dump();
  }
  json one = rpc_one(req, reg);
  return one.is_null() ? std::string() : one.dump();
}

MetricName metric_name(std::string_view stat) {
  MetricName m;
  size_t colon = stat.find(':');
  std::string_view group = colon == std::string_view::npos ? std::string_view("msrp") : stat.substr(0, colon);
  std::string_view name = colon == std::string_view::npos ? stat : stat.substr(colon + 1);
  auto labelled = [&](std::string_view prefix, const char* family, const char* label, bool up) {
    if (group != "msrp" || !name.starts_with(prefix) || name.size() == prefix.size()) return false;
    std::string v(name.substr(prefix.size()));
    m.family = family;
    m.labels = std::string(label) + "=\"";
    escape_label(m.labels, up ? ascii::to_upper(v) : v);
    m.labels += "\"";
    return true;
  };
  if (labelled("frames_in_", "msrpd_frames_in_total", "method", true)) return m;
  if (labelled("frames_out_", "msrpd_frames_out_total", "method", true)) return m;
  if (labelled("replies_", "msrpd_replies_sent_total", "code", false)) return m;
  m.gauge = group == "cmap" || name.starts_with("current_");
  m.family = "msrpd_";
  if (group != "msrp") m.family += sanitize(group) + "_";
  m.family += sanitize(name);
  if (!m.gauge) m.family += "_total";
  return m;
}

std::string prometheus_text(const StatsSnapshot& stats) {
  struct Family {
    bool gauge = false;
    std::string samples;
  };
  std::vector<std::string> order;
  std::map<std::string, Family> families;
  for (const auto& [stat, value] : stats) {
    MetricName m = metric_name(stat);
    auto [it, fresh] = families.try_emplace(m.family);
    if (fresh) {
      order.push_back(m.family);
      it->second.gauge = m.gauge;
    }
    std::string& s = it->second.samples;
    s += m.family;
    if (!m.labels.empty()) s += "{" + m.labels + "}";
    s += " " + std::to_string(value) + "\n";
  }
  std::string out;
  for (const auto& name : order) {
    const Family& f = families[name];
    out += "# TYPE " + name + (f.gauge ? " gauge\n" : " counter\n");
    out += f.samples;
  }
  return out;
}

std::string_view refusal_name(HttpRefusal r) {
  switch (r) {
    case HttpRefusal::none:
      return "none";
    case HttpRefusal::token:
      return "token";
    case HttpRefusal::host:
      return "host";
    case HttpRefusal::origin:
      return "origin";
    case HttpRefusal::content_type:
      return "content_type";
  }
  return "none";
}

bool equal_secret(std::string_view a, std::string_view b) {
  // Every byte of the longer one is looked at; the length difference counts as a difference.
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

// "host", "host:port", "[v6]", "[v6]:port" -> host (lower case, brackets kept off) and port text.
bool split_authority(std::string_view v, std::string& host, std::string_view& port) {
  port = {};
  if (v.starts_with('[')) {
    size_t close = v.find(']');
    if (close == std::string_view::npos) return false;
    host = ascii::to_lower(std::string(v.substr(1, close - 1)));
    v.remove_prefix(close + 1);
    if (v.empty()) return true;
    if (v[0] != ':') return false;
    port = v.substr(1);
    return true;
  }
  size_t colon = v.find(':');
  host = ascii::to_lower(std::string(v.substr(0, colon)));
  if (colon != std::string_view::npos) port = v.substr(colon + 1);
  return !host.empty();
}

bool host_allowed(std::string_view value, const HttpAccess& access) {
  std::string host;
  std::string_view port;
  if (!split_authority(value, host, port)) return false;
  // No port: the default one (a browser always writes another); scripts often leave it out.
  if (!port.empty()) {
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p != access.port) return false;
  }
  if (host == "localhost") return true;
  for (const auto& h : access.hosts)
    if (h == host) return true;
  return false;
}

std::string refused(int status, std::string_view extra_header = {}) {
  std::string body = std::string(reason(status)) + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  if (!extra_header.empty()) out.append(extra_header).append("\r\n");
  out += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
  return out;
}

}  // namespace

HttpRefusal http_check_access(const HttpRequest& req, const HttpAccess& access, std::string& out) {
  if (!access.rpc) return HttpRefusal::none;
  // RFC 9112 §3.2: a request without Host is a 400 (HTTP/1.1); a browser always sends one, so a
  // wrong one is a page that reached us under another name (DNS rebinding).
  const std::string* host = req.header("Host");
  if (host == nullptr && req.version == "HTTP/1.1") {
    out = http_error_response(400);
    return HttpRefusal::host;
  }
  if (host != nullptr && !host_allowed(*host, access)) {
    out = refused(403);
    return HttpRefusal::host;
  }
  // RFC 6454 §7: browsers send Origin on cross-origin requests (and on POSTs). Only the origin
  // this listener is (http:// + the Host the request was sent to) may call it.
  if (const std::string* origin = req.header("Origin"); origin != nullptr) {
    std::string_view o = *origin;
    bool same = host != nullptr && o.size() > 7 && ascii::iequals(o.substr(0, 7), "http://") &&
                ascii::iequals(o.substr(7), *host);
    if (!same) {
      out = refused(403);
      return HttpRefusal::origin;
    }
  }
  if (!access.token.empty()) {
    // RFC 6750 §2.1: Authorization: Bearer b64token; the scheme is case-insensitive (RFC 9110 §11.1).
    const std::string* auth = req.header("Authorization");
    std::string_view given;
    bool bearer = auth != nullptr && auth->size() > 7 &&
                  ascii::iequals(std::string_view(*auth).substr(0, 7), "Bearer ");
    if (bearer) given = ascii::trim(std::string_view(*auth).substr(7));
    if (!bearer || !equal_secret(given, access.token)) {
      // RFC 6750 §3: no credentials: the challenge alone; wrong ones: error="invalid_token".
      out = refused(401, bearer ? "WWW-Authenticate: Bearer realm=\"msrpd\", error=\"invalid_token\""
                                : "WWW-Authenticate: Bearer realm=\"msrpd\"");
      return HttpRefusal::token;
    }
  }
  if (req.method == "POST") {
    // A page can POST text/plain or a form without asking (no CORS preflight); JSON it cannot.
    const std::string* ct = req.header("Content-Type");
    std::string_view media = ct == nullptr ? std::string_view() : std::string_view(*ct);
    media = ascii::trim(media.substr(0, media.find(';')));
    if (!ascii::iequals(media, "application/json")) {
      out = refused(415);
      return HttpRefusal::content_type;
    }
  }
  return HttpRefusal::none;
}

std::string http_handle(const HttpRequest& req, const Registry& reg, const StatsSource& stats,
                        const HttpAccess& access) {
  std::string_view path = req.target;
  path = path.substr(0, path.find('?'));
  if (path == "/metrics") {
    if (req.method != "GET" && req.method != "HEAD") return http_error_response(405);
    std::string body = prometheus_text(stats ? stats() : StatsSnapshot{});
    std::string resp = http_response(200, "text/plain; version=0.0.4; charset=utf-8", body);
    if (req.method == "HEAD") resp.resize(resp.size() - body.size());
    return resp;
  }
  if (path == "/health") {
    if (req.method != "GET" && req.method != "HEAD") return http_error_response(405);
    std::string resp = http_response(200, "text/plain", "OK\n");
    if (req.method == "HEAD") resp.resize(resp.size() - 3);
    return resp;
  }
  if (access.rpc && (path == "/" || path == "/RPC")) {
    if (req.method != "POST") return http_error_response(405);
    std::string body = jsonrpc_handle(req.body, reg);
    if (body.empty()) return http_response(204, "", "");
    return http_response(200, "application/json", body);
  }
  return http_error_response(404);
}

}  // namespace msrpd::ctl
