#include "client/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <random>

#include "common/ascii.h"
#include "msrp/frame_parser.h"
#include "relay/digest.h"

namespace msrpd::client {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Error sys_error(const std::string& what) {
  return make_error(0, what + ": " + std::strerror(errno));
}

}  // namespace

std::string ReceivedFrame::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (ascii::iequals(n, name)) return v;
  }
  return {};
}

bool ReceivedFrame::has_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (ascii::iequals(h.first, name)) return true;
  }
  return false;
}

Client::~Client() {
  close();
}

Client::Client(Client&& o) noexcept {
  *this = std::move(o);
}

Client& Client::operator=(Client&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    local_port_ = o.local_port_;
    local_ip_ = std::move(o.local_ip_);
    buf_ = std::move(o.buf_);
    start_ = o.start_;
    eof_ = o.eof_;
  }
  return *this;
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<Client> Client::connect(const std::string& ip, uint16_t port, int timeout_ms) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  } else {
    return make_error(0, "not a numeric address: " + ip);
  }
  Client c;
  c.fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd_ < 0) return sys_error("socket");
  int one = 1;
  setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) {
    return sys_error("connect " + ip + ":" + std::to_string(port));
  }
  pollfd p{c.fd_, POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return make_error(0, "connect " + ip + ": timeout");
  int err = 0;
  socklen_t elen = sizeof(err);
  getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) {
    errno = err;
    return sys_error("connect " + ip + ":" + std::to_string(port));
  }
  sockaddr_storage local{};
  socklen_t llen = sizeof(local);
  getsockname(c.fd_, reinterpret_cast<sockaddr*>(&local), &llen);
  char text[INET6_ADDRSTRLEN] = {};
  if (local.ss_family == AF_INET) {
    auto* l4 = reinterpret_cast<sockaddr_in*>(&local);
    inet_ntop(AF_INET, &l4->sin_addr, text, sizeof(text));
    c.local_port_ = ntohs(l4->sin_port);
  } else {
    auto* l6 = reinterpret_cast<sockaddr_in6*>(&local);
    inet_ntop(AF_INET6, &l6->sin6_addr, text, sizeof(text));
    c.local_port_ = ntohs(l6->sin6_port);
  }
  c.local_ip_ = text;
  return c;
}

Result<void> Client::send(std::string_view bytes, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return sys_error("send");
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1) return make_error(0, "send: timeout");
  }
  return {};
}

// Reads what is available (waiting up to timeout_ms for the first byte); 0 means EOF.
Result<size_t> Client::fill(int timeout_ms) {
  if (eof_) return size_t{0};
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r == 0) return make_error(0, "read: timeout");
  if (r < 0) return sys_error("poll");
  size_t old = buf_.size();
  buf_.resize(old + 65536);
  ssize_t n = ::recv(fd_, buf_.data() + old, 65536, 0);
  if (n < 0) {
    buf_.resize(old);
    if (errno == EAGAIN || errno == EINTR) return size_t{1};  // spurious: try again
    return sys_error("recv");
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  return static_cast<size_t>(n);
}

Result<ReceivedFrame> Client::read_frame(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (start_ > 0) {  // drop the frames already returned
    buf_.erase(0, start_);
    start_ = 0;
  }
  msrp::FrameParser parser;
  ReceivedFrame out;
  size_t frame_start = start_;
  size_t pos = start_;  // parser input starts here
  for (;;) {
    std::string_view in(buf_.data() + pos, buf_.size() - pos);
    msrp::Step s = parser.feed(in);
    switch (s.event) {
      case msrp::Event::head: {
        const msrp::Frame& f = parser.frame();
        out.request = f.is_request();
        out.tid = f.transaction_id();
        out.method = f.method();
        out.code = f.status_code();
        out.comment = f.comment();
        for (const auto& h : f.headers()) out.headers.emplace_back(h.name, h.value);
        pos += s.consumed;
        continue;
      }
      case msrp::Event::body:
        out.body.append(s.body);
        pos += s.consumed;
        continue;
      case msrp::Event::end:
        pos += s.consumed;
        out.flag = s.flag;
        out.raw.assign(buf_.data() + frame_start, pos - frame_start);
        start_ = pos;
        return out;
      case msrp::Event::error:
      case msrp::Event::skip:  // only after an error, which ends the read
        return make_error(s.status, "bad frame from peer: " + std::string(s.message));
      case msrp::Event::need_more:
        break;
    }
    // Positions stay valid: fill() only appends (the parser keeps offsets, not pointers).
    auto got = fill(remaining_ms(deadline));
    if (!got) return got.error();
    if (*got == 0) return make_error(0, "read: connection closed by peer");
  }
}

bool Client::wait_closed(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!eof_) {
    int left = remaining_ms(deadline);
    if (left == 0) return false;
    auto got = fill(left);
    if (!got) return errno == ECONNRESET;
  }
  return true;
}

std::string make_send(std::string_view tid, std::string_view to_path, std::string_view from_path,
                      std::string_view message_id, std::string_view body, std::string_view content_type,
                      char flag, std::string_view extra_headers) {
  std::string s;
  s.reserve(body.size() + 256);
  append_send(s, tid, to_path, from_path, message_id, body, content_type, flag, extra_headers);
  return s;
}

void append_send(std::string& s, std::string_view tid, std::string_view to_path, std::string_view from_path,
                 std::string_view message_id, std::string_view body, std::string_view content_type, char flag,
                 std::string_view extra_headers) {
  s.append("MSRP ").append(tid).append(" SEND\r\n");
  s.append("To-Path: ").append(to_path).append("\r\n");
  s.append("From-Path: ").append(from_path).append("\r\n");
  s.append("Message-ID: ").append(message_id).append("\r\n");
  s.append(extra_headers);
  if (!body.empty() || !content_type.empty()) {
    s.append("Content-Type: ").append(content_type).append("\r\n\r\n");
    s.append(body).append("\r\n");
  }
  s.append("-------").append(tid).push_back(flag);
  s.append("\r\n");
}

std::string make_request(std::string_view tid, std::string_view method, std::string_view to_path,
                         std::string_view from_path, std::string_view extra_headers) {
  std::string s;
  s.append("MSRP ").append(tid).append(" ").append(method).append("\r\n");
  s.append("To-Path: ").append(to_path).append("\r\n");
  s.append("From-Path: ").append(from_path).append("\r\n");
  s.append(extra_headers);
  s.append("-------").append(tid).append("$\r\n");
  return s;
}

std::string make_response(std::string_view tid, int code, std::string_view comment, std::string_view to_path,
                          std::string_view from_path) {
  std::string s;
  append_response(s, tid, code, comment, to_path, from_path);
  return s;
}

void append_response(std::string& s, std::string_view tid, int code, std::string_view comment,
                     std::string_view to_path, std::string_view from_path) {
  char num[12];
  auto r = std::to_chars(num, num + sizeof num, code);
  s.append("MSRP ").append(tid).append(" ").append(num, r.ptr);
  if (!comment.empty()) s.append(" ").append(comment);
  s.append("\r\nTo-Path: ").append(to_path).append("\r\n");
  s.append("From-Path: ").append(from_path).append("\r\n");
  s.append("-------").append(tid).append("$\r\n");
}

std::string digest_param(std::string_view v, std::string_view name) {
  size_t i = 0;
  while (i < v.size()) {
    size_t eq = v.find('=', i);
    if (eq == std::string_view::npos) return {};
    size_t ks = v.find_last_of(" ,", eq);
    ks = ks == std::string_view::npos || ks < i ? i : ks + 1;
    std::string_view key = v.substr(ks, eq - ks);
    size_t vs = eq + 1, ve;
    std::string_view val;
    if (vs < v.size() && v[vs] == '"') {
      ve = v.find('"', vs + 1);
      if (ve == std::string_view::npos) return {};
      val = v.substr(vs + 1, ve - vs - 1);
      ++ve;
    } else {
      ve = v.find(',', vs);
      if (ve == std::string_view::npos) ve = v.size();
      val = v.substr(vs, ve - vs);
      while (!val.empty() && val.back() == ' ') val.remove_suffix(1);
    }
    if (ascii::iequals(key, name)) return std::string(val);
    i = ve;
  }
  return {};
}

std::string random_id(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(n, 'x');
  for (auto& ch : s) ch = kAlphabet[rng() % 36];
  return s;
}

Result<AuthResult> authenticate(Client& c, std::string_view relay_uri, std::string_view my_uri,
                                std::string_view user, std::string_view password, int expires,
                                int timeout_ms) {
  AuthResult r;
  std::string extra;
  if (expires >= 0) extra = "Expires: " + std::to_string(expires) + "\r\n";
  std::string tid = random_id();
  if (auto s = c.send(make_request(tid, "AUTH", relay_uri, my_uri, extra)); !s) return s.error();
  auto challenge = c.read_frame(timeout_ms);
  if (!challenge) return challenge.error();
  r.challenge = std::move(*challenge);
  if (r.challenge.code != msrp::code_of(msrp::Status::unauthorized)) {
    r.answer = r.challenge;
    return r;
  }
  std::string www = r.challenge.header("WWW-Authenticate");
  std::string realm = digest_param(www, "realm"), nonce = digest_param(www, "nonce");
  std::string opaque = digest_param(www, "opaque");
  std::string cnonce = random_id(16), nc = "00000001";
  // RFC 4976 §9.1: the digest-uri is the rightmost To-Path URI.
  std::string uri(
      relay_uri.substr(relay_uri.rfind(' ') == std::string_view::npos ? 0 : relay_uri.rfind(' ') + 1));
  relay::DigestCredentials cr;
  cr.username = user;
  cr.realm = realm;
  cr.nonce = nonce;
  cr.uri = uri;
  cr.cnonce = cnonce;
  cr.nc = nc;
  cr.qop = "auth";
  std::string response = relay::response_for(cr, "AUTH", password);
  std::string auth = "Authorization: Digest username=\"" + std::string(user) + "\", realm=\"" + realm +
                     "\", nonce=\"" + nonce + "\", uri=\"" + uri + "\", response=\"" + response +
                     "\", qop=auth, cnonce=\"" + cnonce + "\", nc=" + nc;
  if (!opaque.empty()) auth += ", opaque=\"" + opaque + "\"";
  auth += "\r\n";
  tid = random_id();
  if (auto s = c.send(make_request(tid, "AUTH", relay_uri, my_uri, auth + extra)); !s) return s.error();
  auto answer = c.read_frame(timeout_ms);
  if (!answer) return answer.error();
  r.answer = std::move(*answer);
  std::string up = r.answer.header("Use-Path");
  for (size_t i = 0; i < up.size();) {
    size_t sp = up.find(' ', i);
    if (sp == std::string::npos) sp = up.size();
    if (sp > i) r.use_path.emplace_back(up.substr(i, sp - i));
    i = sp + 1;
  }
  return r;
}

}  // namespace msrpd::client
