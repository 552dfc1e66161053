#include "net/listener.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "net/stream.h"
#include "net/tls_stream.h"

namespace msrpd::net {

namespace {
constexpr int kMaxAcceptsPerEvent = 64;

std::string where(const std::string& ip, uint16_t port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}
}  // namespace

Result<std::unique_ptr<Listener>> Listener::open(EventLoop& loop, const ListenOptions& opts,
                                                 AcceptFn on_accept) {
  auto addr = SockAddr::parse(opts.ip, opts.port);
  if (!addr) return addr.error();
  if (opts.transport == Transport::tls && (!opts.tls || !opts.tls->has_certificate()))
    return make_error(0, "listen tls:" + where(opts.ip, opts.port) + ": no TLS certificate configured");
  int fd = ::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(0, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (opts.reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr->family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr->sa(), addr->len) < 0 || ::listen(fd, opts.backlog) < 0) {
    int e = errno;
    ::close(fd);
    return make_error(0, "bind " + where(opts.ip, opts.port) + ": " + std::strerror(e));
  }
  std::unique_ptr<Listener> l(new Listener(loop, fd, opts, std::move(on_accept)));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    SockAddr bound = SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
    l->ip_ = bound.ip();
    l->port_ = bound.port();
  }
  if (auto r = loop.add(fd, EPOLLIN, l.get()); !r) return r.error();
  return l;
}

Listener::Listener(EventLoop& loop, int fd, const ListenOptions& opts, AcceptFn fn)
    : loop_(loop),
      fd_(fd),
      ip_(opts.ip),
      port_(opts.port),
      settings_(opts.settings),
      on_accept_(std::move(fn)),
      transport_(opts.transport),
      tls_(opts.tls),
      backoff_(loop, [this] { (void)loop_.modify(fd_, EPOLLIN); }) {}

Listener::~Listener() {
  handshakes_.clear();  // abandons the handshakes in progress (closes their sockets)
  loop_.remove(fd_);
  ::close(fd_);
}

void Listener::on_io(uint32_t) {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    int cfd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The pending connection stays queued; level-triggered epoll would spin on it.
        (void)loop_.modify(fd_, 0);
        backoff_.start(100);
      }
      return;  // EAGAIN: nothing more to accept
    }
    int one = 1;
    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++accepted_;
    if (transport_ == Transport::tls) {
      start_handshake(cfd);
      continue;
    }
    Connection& c = loop_.connections().adopt(make_tcp_stream(cfd), settings_, false);
    uint64_t id = c.id();
    if (on_accept_) on_accept_(c);
    Connection* still = loop_.connections().find(id);
    if (still && !still->handler()) still->close(CloseReason::local);
  }
}

}  // namespace msrpd::net

namespace msrpd::net {

void Listener::start_handshake(int fd) {
  std::string peer = "?";
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    SockAddr a = SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
    peer = where(a.ip(), a.port());
  }
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
  Connection& c = loop_.connections().adopt(std::move(*r), settings_, false);
  uint64_t id = c.id();
  if (on_accept_) on_accept_(c);
  Connection* still = loop_.connections().find(id);
  if (still && !still->handler()) still->close(CloseReason::local);
}

}  // namespace msrpd::net
