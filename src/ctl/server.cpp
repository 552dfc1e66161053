#include "ctl/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <list>
#include <stdexcept>
#include <thread>

#include "common/ascii.h"
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
  std::string client;      // "tcp 192.0.2.7" or "unix uid 1000": the per-client limit's key
  std::string peer;        // for log lines: "192.0.2.7:40112", "uid 1000"
  std::string local_host;  // HTTP: the address the client reached (a Host it may send)
  Clock::time_point last_activity;
  Clock::time_point request_start;  // when the request being read began
  short revents = 0;
  bool closing = false;  // close once `out` is written
  bool dead = false;
  bool idle() const { return in.empty() && out.empty(); }
};

std::string peer_text(const sockaddr_storage& ss, bool with_port) {
  char buf[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    }
    port = ntohs(a->sin6_port);
  }
  std::string out = buf;
  if (with_port) out += ":" + std::to_string(port);
  return out;
}

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

}  // namespace

struct ControlServer::Counters {
  // One per HttpRefusal kind (none unused), then timeouts and evictions.
  std::array<std::atomic<uint64_t>, 5> refused{};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> evicted{0};
};

namespace {

// At most one log line a second per kind and thread; the next says how many were left out.
struct LogLimiter {
  Clock::time_point last{};
  uint64_t skipped = 0;
  bool logged = false;
  template <typename F>
  void log(F&& line) {
    auto now = Clock::now();
    if (logged && now - last < std::chrono::seconds(1)) {
      ++skipped;
      return;
    }
    line(skipped);
    last = now;
    logged = true;
    skipped = 0;
  }
};

std::string more_text(uint64_t skipped) {
  return skipped == 0 ? std::string() : " (" + std::to_string(skipped) + " more not logged)";
}

}  // namespace

struct ControlServer::Loop {
  enum class Proto { Binrpc, Http };
  Proto proto = Proto::Binrpc;
  std::string label;
  std::vector<int> listeners;
  struct UnixPath {
    std::string path;
    UnixSocketFile file;
  };
  std::vector<UnixPath> unix_paths;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread thread;
  Registry* reg = nullptr;
  ControlConfig cfg;
  HttpAccess access;  // Http
  Counters* counters = nullptr;
  std::list<Conn> conns;
  std::array<LogLimiter, 7> limiters;  // HttpRefusal kinds, then 5 timeouts, 6 evictions

  ~Loop() {
    for (auto& c : conns)
      if (c.fd >= 0) ::close(c.fd);
    for (int fd : listeners) ::close(fd);
    // Only our own socket file: another daemon may have replaced it meanwhile (same default path).
    for (const auto& p : unix_paths) {
      struct stat st {};
      if (::lstat(p.path.c_str(), &st) == 0 && st.st_dev == p.file.dev && st.st_ino == p.file.ino)
        ::unlink(p.path.c_str());
    }
    if (wake_fd >= 0) ::close(wake_fd);
  }

  Clock::time_point deadline(const Conn& c) const {
    auto d = c.last_activity + cfg.idle_timeout;
    // HTTP: one request per connection, from the accept; binrpc: from its first byte.
    if (proto == Proto::Http || !c.in.empty()) d = std::min(d, c.request_start + cfg.request_timeout);
    return d;
  }

  void drop(Conn& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.dead = true;
  }

  // Makes room for a new connection: closes the least recently active one among those `in`
  // selects, preferring one between requests.
  template <typename Pred>
  void evict(Pred in, const char* why) {
    Conn* pick = nullptr;
    for (auto& c : conns) {
      if (c.dead || !in(c)) continue;
      if (pick == nullptr || (c.idle() && !pick->idle()) ||
          (c.idle() == pick->idle() && c.last_activity < pick->last_activity))
        pick = &c;
    }
    if (pick == nullptr) return;
    counters->evicted.fetch_add(1, std::memory_order_relaxed);
    std::string peer = pick->peer;
    bool idle = pick->idle();
    limiters[6].log([&](uint64_t skipped) {
      LM_INFO("refused (ctl_limit): %s: closed the %s connection from %s for a new one%s", why,
              idle ? "least recently active idle" : "least recently active", peer.c_str(),
              more_text(skipped).c_str());
    });
    drop(*pick);
  }

  size_t live() const {
    size_t n = 0;
    for (const auto& c : conns) n += c.dead ? 0 : 1;
    return n;
  }

  void accept_all(int lfd) {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      Conn c;
      c.fd = fd;
      c.last_activity = c.request_start = Clock::now();
      if (ss.ss_family == AF_UNIX) {
        ucred cred{};
        socklen_t cl = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
          c.peer = "uid " + std::to_string(cred.uid);
        } else {
          c.peer = "unix";
        }
        c.client = "unix " + c.peer;
      } else {
        c.client = "tcp " + peer_text(ss, false);
        c.peer = peer_text(ss, true);
        if (proto == Proto::Http) {
          sockaddr_storage ls{};
          socklen_t ll = sizeof ls;
          if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &ll) == 0)
            c.local_host = peer_text(ls, false);
        }
      }
      size_t same = 0;
      for (const auto& o : conns) same += !o.dead && o.client == c.client ? 1 : 0;
      if (same >= cfg.max_client_connections)
        evict([&](const Conn& o) { return o.client == c.client; }, "max_client_connections");
      if (live() >= cfg.max_connections) evict([](const Conn&) { return true; }, "max_connections");
      conns.push_back(std::move(c));
    }
  }

  void refuse(HttpRefusal r, const Conn& c, const HttpRequest& req) {
    size_t k = static_cast<size_t>(r);
    counters->refused[k].fetch_add(1, std::memory_order_relaxed);
    std::string_view name = refusal_name(r);
    limiters[k].log([&](uint64_t skipped) {
      LM_INFO("refused (ctl_%.*s): %s %s from %s%s", static_cast<int>(name.size()), name.data(),
              req.method.c_str(), req.target.c_str(), c.peer.c_str(), more_text(skipped).c_str());
    });
  }

  void serve_http(Conn& c) {
    if (c.closing) return;
    HttpLimits limits{cfg.max_http_header, cfg.max_request};
    HttpRequest req;
    HttpParse p = parse_http_request(c.in, limits, req);
    if (p.status == HttpParse::Status::NeedMore) return;
    if (p.status == HttpParse::Status::Error) {
      c.out += http_error_response(p.error_status);
    } else {
      HttpAccess a = access;
      if (!c.local_host.empty()) a.hosts.push_back(ascii::to_lower(c.local_host));
      std::string refusal;
      HttpRefusal r = http_check_access(req, a, refusal);
      if (r != HttpRefusal::none) {
        refuse(r, c, req);
        c.out += refusal;
      } else {
        c.out += http_handle(req, *reg, cfg.metrics, a);
      }
    }
    c.in.clear();
    c.closing = true;
  }

  void read_some(Conn& c) {
    char buf[16384];
    size_t cap = cfg.max_request + cfg.max_http_header + binrpc::kMaxHeader;
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        auto now = Clock::now();
        if (c.in.empty() && proto == Proto::Binrpc) c.request_start = now;
        c.last_activity = now;
        c.in.append(buf, static_cast<size_t>(n));
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
      serve_http(c);
    }
    if (peer_done) c.closing = true;
  }

  void write_some(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        c.last_activity = Clock::now();
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
        next = std::min(next, deadline(c));
      }
      int wait_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1));
      int rc = ::poll(pfds.data(), pfds.size(), wait_ms);
      if (rc < 0 && errno != EINTR) break;
      if (stopping.load()) break;
      // Each connection's events first (the list is as it was when pfds was built), then the
      // accepts, which may close (evict) some of them.
      size_t k = 1 + listeners.size();
      for (auto& c : conns) c.revents = pfds[k++].revents;
      size_t i = 1;
      for (int fd : listeners) {
        if (pfds[i++].revents & POLLIN) accept_all(fd);
      }
      now = Clock::now();
      for (auto it = conns.begin(); it != conns.end();) {
        Conn& c = *it;
        if (!c.dead && (c.revents & (POLLIN | POLLHUP | POLLERR))) read_some(c);
        if (!c.dead && !c.out.empty()) write_some(c);
        if (!c.dead && c.closing && c.out.empty()) c.dead = true;
        if (!c.dead && now >= deadline(c)) {
          if (proto == Proto::Http && c.out.empty() && !c.closing && !c.in.empty()) {
            // Too slow: say so, best effort, and close.
            std::string r = http_error_response(408);
            (void)::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL);
          }
          counters->timeouts.fetch_add(1, std::memory_order_relaxed);
          bool started = !c.in.empty();
          limiters[5].log([&](uint64_t skipped) {
            LM_INFO("refused (ctl_timeout): %s connection from %s closed%s",
                    started ? "a request not complete in request_timeout on the" : "an idle", c.peer.c_str(),
                    more_text(skipped).c_str());
          });
          c.dead = true;
        }
        if (c.dead) {
          if (c.fd >= 0) ::close(c.fd);
          it = conns.erase(it);
        } else {
          c.revents = 0;
          ++it;
        }
      }
    }
    if (pidx >= 0) cfg.processes->remove(pidx);
  }
};

std::vector<std::string> default_binrpc_candidates() {
  std::vector<std::string> out{kDefaultBinrpc};
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (::geteuid() != 0 && xdg != nullptr && xdg[0] == '/')
    out.push_back(std::string("unix:") + xdg + "/msrpd/msrpd_ctl");
  return out;
}

std::string default_binrpc_client() {
  for (const auto& c : default_binrpc_candidates()) {
    struct stat st {};
    if (::stat(c.c_str() + 5, &st) == 0 && S_ISSOCK(st.st_mode)) return c;
  }
  return kDefaultBinrpc;
}

std::string default_binrpc_server(std::string& why) {
  for (const auto& c : default_binrpc_candidates()) {
    std::string dir = c.substr(5, c.rfind('/') - 5);
    // /run/msrpd as Kamailio's init scripts make /run/kamailio (systemd: RuntimeDirectory); the
    // per-user one private to the user.
    bool own = dir != "/run/msrpd";
    if (::mkdir(dir.c_str(), own ? 0700 : 0755) != 0 && errno != EEXIST) {
      why += (why.empty() ? "" : "; ") + dir + ": " + std::strerror(errno);
      continue;
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      why += (why.empty() ? "" : "; ") + dir + ": " + std::strerror(errno);
      continue;
    }
    return c;
  }
  return {};
}

std::optional<Exposure> find_exposure(const ControlConfig& config) {
  if (!config.binrpc_allow_remote) {
    for (size_t i = 0; i < config.binrpc.size(); ++i) {
      auto a = parse_ctl_address(config.binrpc[i]);
      if (!a || a->kind != CtlAddress::Kind::Tcp || is_loopback(*a)) continue;
      return Exposure{
          false, i,
          "binrpc on " + a->to_string() +
              " can be reached from other hosts and binrpc has no authentication: listen on a "
              "loopback address or a unix socket, or set modparam(\"ctl\", \"binrpc_allow_remote\", 1)"};
    }
  }
  if (!config.http.empty() && config.http_token.empty()) {
    auto a = parse_ctl_address(config.http, 80);
    if (a && a->kind == CtlAddress::Kind::Tcp && !is_loopback(*a))
      return Exposure{
          true, 0,
          "JSON-RPC on " + a->to_string() +
              " can be reached from other hosts without a token: set modparam(\"ctl\", "
              "\"http_token\", \"...\") or listen on 127.0.0.1 (modparam(\"ctl\", \"metrics\", ...) "
              "serves /metrics read-only)"};
  }
  return std::nullopt;
}

ControlServer::ControlServer() : counters_(std::make_unique<Counters>()) {}
ControlServer::~ControlServer() {
  stop();
}

void ControlServer::start(const ControlConfig& config, Registry& registry) {
  stop();
  if (auto e = find_exposure(config)) throw std::runtime_error("ctl: " + e->message);
  auto make_loop = [&](Loop::Proto proto, std::string label) {
    auto l = std::make_unique<Loop>();
    l->proto = proto;
    l->label = std::move(label);
    l->reg = &registry;
    l->cfg = config;
    l->counters = counters_.get();
    l->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0) throw std::runtime_error("ctl: eventfd failed");
    return l;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::string> baddrs;
  if (!config.binrpc.empty()) {
    auto l = make_loop(Loop::Proto::Binrpc, "ctl binrpc");
    for (const auto& spec : config.binrpc) {
      auto a = parse_ctl_address(spec);
      if (!a) throw std::runtime_error("ctl: " + a.error().message);
      UnixSocketFile made;
      auto fd = listen_ctl(*a, config.unix_socket, &made);
      if (!fd) throw std::runtime_error("ctl: " + fd.error().message);
      l->listeners.push_back(*fd);
      if (a->kind == CtlAddress::Kind::Unix) {
        l->unix_paths.push_back({a->path, made});
      } else if (a->port == 0) {
        a->port = bound_port(*fd);
      }
      baddrs.push_back(a->to_string());
    }
    loops.push_back(std::move(l));
  }
  auto http_loop = [&](const std::string& spec, std::string label, bool rpc, std::string& addr) {
    auto l = make_loop(Loop::Proto::Http, std::move(label));
    auto a = parse_ctl_address(spec, 80);
    if (!a || a->kind != CtlAddress::Kind::Tcp)
      throw std::runtime_error("ctl: bad http address '" + spec + "'");
    auto fd = listen_ctl(*a);
    if (!fd) throw std::runtime_error("ctl: " + fd.error().message);
    l->listeners.push_back(*fd);
    if (a->port == 0) a->port = bound_port(*fd);
    l->access.rpc = rpc;
    l->access.token = config.http_token;
    l->access.port = a->port;
    // The listener's own name or address (a wildcard has none: the connection's local address is
    // added per request), and this host's name.
    if (!a->host.empty() && a->host != "0.0.0.0" && a->host != "::")
      l->access.hosts.push_back(ascii::to_lower(a->host));
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0')
      l->access.hosts.push_back(ascii::to_lower(name));
    addr.clear();
    append_host(addr, a->host);
    addr.push_back(':');
    append_port(addr, a->port);
    loops.push_back(std::move(l));
  };
  std::string haddr, maddr;
  if (!config.http.empty()) http_loop(config.http, "http", true, haddr);
  if (!config.metrics_listen.empty()) http_loop(config.metrics_listen, "http metrics", false, maddr);
  for (auto& l : loops) {
    Loop* p = l.get();
    p->thread = std::thread([p] { p->run(); });
  }
  loops_ = std::move(loops);
  binrpc_addrs_ = std::move(baddrs);
  http_addr_ = std::move(haddr);
  metrics_addr_ = std::move(maddr);
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
std::string ControlServer::metrics_address() const {
  return metrics_addr_;
}

StatsSnapshot ControlServer::counters() const {
  StatsSnapshot out;
  for (HttpRefusal r :
       {HttpRefusal::token, HttpRefusal::host, HttpRefusal::origin, HttpRefusal::content_type}) {
    out.emplace_back("ctl:refused_" + std::string(refusal_name(r)),
                     static_cast<int64_t>(counters_->refused[static_cast<size_t>(r)].load()));
  }
  out.emplace_back("ctl:timeouts", static_cast<int64_t>(counters_->timeouts.load()));
  out.emplace_back("ctl:evicted", static_cast<int64_t>(counters_->evicted.load()));
  return out;
}

}  // namespace msrpd::ctl
