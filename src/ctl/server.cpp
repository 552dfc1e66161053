#include "ctl/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <list>
#include <stdexcept>
#include <thread>

#include "common/host_port.h"
#include "common/log.h"
#include "ctl/address.h"
#include "ctl/binrpc.h"
#include "ctl/http.h"

namespace msrpd::ctl {

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string in;
  std::string out;
  Clock::time_point deadline;
  bool closing = false;  // close once `out` is written
  bool dead = false;
};

// Answers every complete binrpc request in `in`. A packet that is not binrpc, or too large, gets
// a fault and the connection is closed (its framing is lost); a request whose records are bad
// gets a fault and the connection keeps serving.
void serve_binrpc(Conn& c, const Registry& reg, size_t max_body) {
  while (!c.closing) {
    binrpc::Header h;
    auto st = binrpc::read_header(c.in, max_body, h);
    if (st == binrpc::HeaderStatus::NeedMore) return;
    if (st == binrpc::HeaderStatus::Bad) {
      c.out += binrpc::encode_fault(0, 1, 400, "bad request: corrupted packet");
      c.closing = true;
      return;
    }
    if (c.in.size() < h.header_len + h.body_len) return;
    std::string_view body(c.in.data() + h.header_len, h.body_len);
    if (h.flags != binrpc::kFlagRequest) {
      c.out += binrpc::encode_fault(h.cookie, h.cookie_len, 400, "bad request: not a request");
    } else {
      auto req = binrpc::decode_request(body);
      if (!req) {
        c.out +=
            binrpc::encode_fault(h.cookie, h.cookie_len, 400, "bad request method: " + req.error().message);
      } else {
        auto r = reg.call(req->method, req->params);
        if (r) {
          c.out += binrpc::encode_reply(h.cookie, h.cookie_len, *r);
        } else {
          c.out += binrpc::encode_fault(h.cookie, h.cookie_len, r.error().status, r.error().message);
        }
      }
    }
    c.in.erase(0, h.header_len + h.body_len);
  }
}

void serve_http(Conn& c, const Registry& reg, const ControlConfig& cfg) {
  if (c.closing) return;
  HttpLimits limits{cfg.max_http_header, cfg.max_request};
  HttpRequest req;
  HttpParse p = parse_http_request(c.in, limits, req);
  if (p.status == HttpParse::Status::NeedMore) return;
  if (p.status == HttpParse::Status::Error) {
    c.out += http_error_response(p.error_status);
  } else {
    c.out += http_handle(req, reg, cfg.metrics);
  }
  c.in.clear();
  c.closing = true;
}

}  // namespace

struct ControlServer::Loop {
  enum class Proto { Binrpc, Http };
  Proto proto = Proto::Binrpc;
  std::string label;
  std::vector<int> listeners;
  struct UnixPath {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  std::vector<UnixPath> unix_paths;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;
  Registry* reg = nullptr;
  ControlConfig cfg;
  std::list<Conn> conns;

  ~Loop() {
    for (auto& c : conns) ::close(c.fd);
    for (int fd : listeners) ::close(fd);
    // Only our own socket file: another daemon may have replaced it meanwhile (same default path).
    for (const auto& p : unix_paths) {
      struct stat st {};
      if (::lstat(p.path.c_str(), &st) == 0 && st.st_dev == p.dev && st.st_ino == p.ino)
        ::unlink(p.path.c_str());
    }
    if (wake_fd >= 0) ::close(wake_fd);
  }

  std::chrono::milliseconds timeout() const {
    return proto == Proto::Http ? cfg.http_timeout : cfg.binrpc_idle;
  }

  void accept_all(int lfd) {
    for (;;) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (conns.size() >= cfg.max_connections) {
        ::close(fd);
        continue;
      }
      conns.push_back(Conn{fd, {}, {}, Clock::now() + timeout()});
    }
  }

  void read_some(Conn& c) {
    char buf[16384];
    size_t cap = cfg.max_request + cfg.max_http_header + binrpc::kMaxHeader;
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (proto == Proto::Binrpc) c.deadline = Clock::now() + timeout();
        if (c.in.size() > cap) break;  // the parsers refuse it below
        continue;
      }
      if (n == 0) {
        c.closing = true;  // the peer is done sending: answer what we have, then close
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c.dead = true;
      }
      break;
    }
    if (c.dead) return;
    bool peer_done = c.closing;
    c.closing = false;
    if (proto == Proto::Binrpc) {
      serve_binrpc(c, *reg, cfg.max_request);
    } else {
      serve_http(c, *reg, cfg);
    }
    if (peer_done) c.closing = true;
  }

  void write_some(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      c.dead = true;
      return;
    }
    if (c.closing) c.dead = true;
  }

  void run() {
    int pidx = -1;
    if (cfg.processes != nullptr) pidx = cfg.processes->add(current_thread_id(), label);
    common::log_set_thread_label(label);
    std::vector<pollfd> pfds;
    while (!stopping.load()) {
      pfds.clear();
      pfds.push_back({wake_fd, POLLIN, 0});
      for (int fd : listeners) pfds.push_back({fd, POLLIN, 0});
      auto now = Clock::now();
      auto next = now + std::chrono::seconds(1);
      for (auto& c : conns) {
        short ev = c.closing ? 0 : POLLIN;
        if (!c.out.empty()) ev |= POLLOUT;
        pfds.push_back({c.fd, ev, 0});
        next = std::min(next, c.deadline);
      }
      int wait_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1));
      int rc = ::poll(pfds.data(), pfds.size(), wait_ms);
      if (rc < 0 && errno != EINTR) break;
      if (stopping.load()) break;
      size_t i = 1;
      for (int fd : listeners) {
        if (pfds[i++].revents & POLLIN) accept_all(fd);
      }
      now = Clock::now();
      size_t k = 0;
      for (auto it = conns.begin(); it != conns.end(); ++k) {
        Conn& c = *it;
        size_t pi = 1 + listeners.size() + k;
        // Connections accepted in this round have no pollfd yet.
        short rev = pi < pfds.size() && pfds[pi].fd == c.fd ? pfds[pi].revents : 0;
        if (rev & (POLLIN | POLLHUP | POLLERR)) read_some(c);
        if (!c.dead && !c.out.empty()) write_some(c);
        if (!c.dead && c.closing && c.out.empty()) c.dead = true;
        if (!c.dead && now >= c.deadline) {
          if (proto == Proto::Http && c.out.empty() && !c.closing) {
            // Too slow: say so, best effort, and close.
            std::string r = http_error_response(408);
            (void)::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL);
          }
          c.dead = true;
        }
        if (c.dead) {
          ::close(c.fd);
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (pidx >= 0) cfg.processes->remove(pidx);
  }
};

ControlServer::ControlServer() = default;
ControlServer::~ControlServer() {
  stop();
}

void ControlServer::start(const ControlConfig& config, Registry& registry) {
  stop();
  auto make_loop = [&](Loop::Proto proto, std::string label) {
    auto l = std::make_unique<Loop>();
    l->proto = proto;
    l->label = std::move(label);
    l->reg = &registry;
    l->cfg = config;
    l->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0) throw std::runtime_error("ctl: eventfd failed");
    return l;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::string> baddrs;
  std::string haddr;
  if (!config.binrpc.empty()) {
    auto l = make_loop(Loop::Proto::Binrpc, "ctl binrpc");
    for (const auto& spec : config.binrpc) {
      auto a = parse_ctl_address(spec);
      if (!a) throw std::runtime_error("ctl: " + a.error().message);
      auto fd = listen_ctl(*a, config.unix_mode);
      if (!fd) throw std::runtime_error("ctl: " + fd.error().message);
      l->listeners.push_back(*fd);
      if (a->kind == CtlAddress::Kind::Unix) {
        struct stat st {};
        if (::lstat(a->path.c_str(), &st) == 0) l->unix_paths.push_back({a->path, st.st_dev, st.st_ino});
      } else if (a->port == 0) {
        a->port = bound_port(*fd);
      }
      baddrs.push_back(a->to_string());
    }
    loops.push_back(std::move(l));
  }
  if (!config.http.empty()) {
    auto l = make_loop(Loop::Proto::Http, "http");
    auto a = parse_ctl_address(config.http, 80);
    if (!a || a->kind != CtlAddress::Kind::Tcp)
      throw std::runtime_error("ctl: bad http address '" + config.http + "'");
    auto fd = listen_ctl(*a, config.unix_mode);
    if (!fd) throw std::runtime_error("ctl: " + fd.error().message);
    l->listeners.push_back(*fd);
    if (a->port == 0) a->port = bound_port(*fd);
    haddr.clear();
    append_host(haddr, a->host);
    haddr.push_back(':');
    append_port(haddr, a->port);
    loops.push_back(std::move(l));
  }
  for (auto& l : loops) {
    Loop* p = l.get();
    p->thread = std::thread([p] { p->run(); });
  }
  loops_ = std::move(loops);
  binrpc_addrs_ = std::move(baddrs);
  http_addr_ = std::move(haddr);
}

void ControlServer::stop() {
  for (auto& l : loops_) {
    l->stopping.store(true);
    uint64_t one = 1;
    (void)::write(l->wake_fd, &one, sizeof one);
  }
  for (auto& l : loops_) {
    if (l->thread.joinable()) l->thread.join();
  }
  loops_.clear();
}

std::vector<std::string> ControlServer::binrpc_addresses() const {
  return binrpc_addrs_;
}
std::string ControlServer::http_address() const {
  return http_addr_;
}

}  // namespace msrpd::ctl
