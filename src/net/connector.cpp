#include "net/connector.h"

#include <cerrno>
#include <cstring>
#include <optional>

#include "net/resolver.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/tls_stream.h"

namespace msrpd::net {

struct Connector::Attempt final : IoHandler {
  Connector& owner;
  uint64_t id;
  int fd = -1;
  std::string target;
  ConnectFn fn;
  ConnectOptions opts;
  Timer timer;
  std::unique_ptr<TlsHandshake> handshake;

  Attempt(Connector& o, uint64_t i, std::string t, ConnectFn f, const ConnectOptions& op)
      : owner(o), id(i), target(std::move(t)), fn(std::move(f)), opts(op), timer(o.loop_, [this] {
          owner.finish(this, make_error(0, "connect " + target + ": timeout"));
        }) {}
  ~Attempt() override {
    if (fd >= 0) {
      owner.loop_.remove(fd);
      sock::close(fd);
    }
  }

  void on_io(uint32_t) override {
    int err = sock::connect_error(fd);
    if (err == EINPROGRESS) return;
    if (err) {
      owner.finish(this, make_error(0, "connect " + target + ": " + std::strerror(err)));
      return;
    }
    owner.loop_.remove(fd);
    int cfd = fd;
    fd = -1;  // now owned by the stream (or the handshake)
    if (opts.transport == Transport::tls) return start_tls(cfd);
    Connection& c = owner.connections_.adopt(make_tcp_stream(cfd), opts.settings, true);
    owner.finish(this, &c);
  }

  void start_tls(int cfd) {
    auto h = TlsHandshake::connect(
        owner.loop_, cfd, *opts.tls, opts.verify_host, target, [this](Result<std::unique_ptr<Stream>> r) {
          if (!r) return owner.finish(this, r.error());  // destroys this
          Connection& c = owner.connections_.adopt(std::move(*r), opts.settings, true);
          owner.finish(this, &c);
        });
    if (!h) return owner.finish(this, h.error());
    handshake = std::move(*h);
  }
};

Connector::Connector(ConnectionRegistry& connections, Resolver* resolver)
    : connections_(connections),
      loop_(connections.loop()),
      resolver_(resolver),
      alive_(std::make_shared<bool>(true)) {}

Connector::~Connector() {
  *alive_ = false;
  attempts_.clear();
}

void Connector::fail_soon(ConnectFn fn, std::string msg) {
  loop_.post([alive = alive_, fn = std::move(fn), msg = std::move(msg)] {
    if (*alive) fn(make_error(0, msg));
  });
}

void Connector::connect(std::string_view ip, uint16_t port, ConnectFn fn, const ConnectOptions& opts) {
  auto addr = SockAddr::parse(ip, port);
  if (!addr) return fail_soon(std::move(fn), addr.error().message);
  std::string target = addr->str();
  if (opts.transport == Transport::tls && !opts.tls)
    return fail_soon(std::move(fn), "connect " + target + ": tls without a TlsContext");
  std::optional<SockAddr> local;
  if (!opts.local_ip.empty()) {
    auto l = SockAddr::parse(opts.local_ip, 0);
    if (!l)
      return fail_soon(std::move(fn),
                       "connect " + target + " from " + opts.local_ip + ": " + l.error().message);
    local = *l;
  }
  auto started = sock::connect_tcp(*addr, target, local ? &*local : nullptr);
  if (!started) return fail_soon(std::move(fn), started.error().message);
  int fd = *started;
  uint64_t id = next_attempt_++;
  auto a = std::make_unique<Attempt>(*this, id, std::move(target), std::move(fn), opts);
  // connect() of an IP: the server certificate must match that IP (connector.h).
  if (a->opts.transport == Transport::tls && a->opts.verify_host.empty()) a->opts.verify_host = addr->ip();
  // Writable (or error) when the connect completes, also when it already did.
  if (auto r = loop_.add(fd, EPOLLOUT, a.get()); !r) {
    sock::close(fd);
    return fail_soon(std::move(a->fn), r.error().message);
  }
  a->fd = fd;
  a->timer.start(opts.timeout_ms);
  attempts_.emplace(id, std::move(a));
}

void Connector::finish(Attempt* a, Result<Connection*> r) {
  auto it = attempts_.find(a->id);
  if (it == attempts_.end()) return;
  std::unique_ptr<Attempt> owned = std::move(it->second);
  attempts_.erase(it);
  ConnectFn fn = std::move(owned->fn);
  owned.reset();  // closes the socket of a failed attempt, cancels its timer
  uint64_t id = r ? (*r)->id() : 0;
  fn(std::move(r));
  if (id) {
    Connection* c = connections_.find(id);
    if (c && !c->handler()) c->close(CloseReason::local);
  }
}

void Connector::connect_host(std::string_view host, uint16_t port, ConnectFn fn, const ConnectOptions& opts) {
  if (SockAddr::is_numeric(host)) return connect(host, port, std::move(fn), opts);
  if (opts.transport == Transport::tls && opts.verify_host.empty()) {
    // RFC 4975 §6: the certificate must match the name of the URI, not the address it resolved to.
    ConnectOptions named = opts;
    named.verify_host = std::string(host);
    return connect_host(host, port, std::move(fn), named);
  }
  if (!resolver_) return fail_soon(std::move(fn), "connect " + std::string(host) + ": no resolver");
  struct Walk {
    Connector* self;
    std::vector<std::string> ips;
    size_t next = 0;
    uint16_t port;
    ConnectFn fn;
    ConnectOptions opts;
    int64_t deadline;
    std::string last_error;
  };
  auto w =
      std::make_shared<Walk>(Walk{this, {}, 0, port, std::move(fn), opts, loop_.now() + opts.timeout_ms, {}});
  auto alive = alive_;
  // Tries the addresses one after the other; each gets what is left of the timeout.
  auto try_next = std::make_shared<std::function<void()>>();
  *try_next = [w, try_next_weak = std::weak_ptr<std::function<void()>>(try_next)] {
    Connector* self = w->self;
    int64_t left = w->deadline - self->loop_.now();
    if (w->next >= w->ips.size() || left <= 0) {
      w->fn(make_error(0, left <= 0 && w->next < w->ips.size() ? "connect: timeout" : w->last_error));
      return;
    }
    ConnectOptions o = w->opts;
    o.timeout_ms = static_cast<uint32_t>(left);
    const std::string& ip = w->ips[w->next++];
    auto again = try_next_weak.lock();
    self->connect(
        ip, w->port,
        [w, again](Result<Connection*> r) {
          if (r) return w->fn(std::move(r));
          w->last_error = r.error().message;
          (*again)();
        },
        o);
  };
  resolver_->resolve(host, [w, alive, try_next](Result<std::vector<std::string>> r) {
    if (!*alive) return;
    if (!r) return w->fn(r.error());
    w->ips = std::move(*r);
    (*try_next)();
  });
}

}  // namespace msrpd::net
