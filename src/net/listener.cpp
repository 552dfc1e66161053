#include "net/listener.h"

#include "common/log.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/tls_stream.h"

namespace msrpd::net {

namespace {
constexpr int kMaxAcceptsPerEvent = 64;
}  // namespace

Result<std::unique_ptr<Listener>> Listener::open(ConnectionRegistry& connections, const ListenOptions& opts,
                                                 AcceptFn on_accept) {
  auto addr = SockAddr::parse(opts.ip, opts.port);
  if (!addr) return addr.error();
  std::string where = endpoint_text(opts.ip, opts.port);
  if (opts.transport == Transport::tls && (!opts.tls || !opts.tls->has_certificate()))
    return make_error(0, "listen tls:" + where + ": no TLS certificate configured");
  if (opts.exclusive && opts.port != 0) {
    if (auto c = sock::claim_address(*addr, where); !c) return c.error();
  }
  auto fd = sock::listen_tcp(*addr, where, opts.reuse_port, opts.backlog);
  if (!fd) return fd.error();
  std::unique_ptr<Listener> l(new Listener(connections, *fd, opts, std::move(on_accept)));
  SockAddr bound = sock::local_addr(*fd);
  if (bound.family() != AF_UNSPEC) {
    l->ip_ = bound.ip();
    l->port_ = bound.port();
  }
  if (auto r = connections.loop().add(*fd, EPOLLIN, l.get()); !r) return r.error();
  return l;
}

Listener::Listener(ConnectionRegistry& connections, int fd, const ListenOptions& opts, AcceptFn fn)
    : connections_(connections),
      loop_(connections.loop()),
      fd_(fd),
      ip_(opts.ip),
      port_(opts.port),
      settings_(opts.settings),
      on_accept_(std::move(fn)),
      transport_(opts.transport),
      tls_(opts.tls),
      backoff_(loop_, [this] { (void)loop_.modify(fd_, EPOLLIN); }) {}

Listener::~Listener() {
  handshakes_.clear();  // abandons the handshakes in progress (closes their sockets)
  loop_.remove(fd_);
  sock::close(fd_);
}

void Listener::on_io(uint32_t) {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    bool out_of_fds = false;
    int cfd = sock::accept_tcp(fd_, out_of_fds);
    if (cfd < 0) {
      if (out_of_fds) {
        // The pending connection stays queued; level-triggered epoll would spin on it.
        (void)loop_.modify(fd_, 0);
        backoff_.start(100);
      }
      return;  // EAGAIN: nothing more to accept
    }
    ++accepted_;
    if (transport_ == Transport::tls) {
      start_handshake(cfd);
    } else {
      accepted(make_tcp_stream(cfd));
    }
  }
}

void Listener::accepted(std::unique_ptr<Stream> stream) {
  Connection& c = connections_.adopt(std::move(stream), settings_, false);
  uint64_t id = c.id();
  if (on_accept_) on_accept_(c);
  // The callback must set a handler or close the connection (listener.h): one left without is
  // closed here.
  Connection* still = connections_.find(id);
  if (still && !still->handler()) still->close(CloseReason::local);
}

void Listener::start_handshake(int fd) {
  SockAddr a = sock::peer_addr(fd);
  std::string peer = a.family() != AF_UNSPEC ? a.str() : "?";
  uint64_t key = next_handshake_++;
  auto h = TlsHandshake::accept(
      loop_, fd, *tls_, std::move(peer),
      [this, key](Result<std::unique_ptr<Stream>> r) { handshake_done(key, std::move(r)); });
  if (!h) {
    ++handshake_failures_;
    last_handshake_error_ = h.error().message;
    LM_ERR("%s", last_handshake_error_.c_str());
    return;
  }
  handshakes_.emplace(key, std::move(*h));
}

void Listener::handshake_done(uint64_t key, Result<std::unique_ptr<Stream>> r) {
  // Destroys the handshake (it has finished with itself before calling us).
  handshakes_.erase(key);
  if (!r) {
    ++handshake_failures_;
    last_handshake_error_ = r.error().message;
    LM_INFO("%s", last_handshake_error_.c_str());
    return;
  }
  accepted(std::move(*r));
}

}  // namespace msrpd::net
