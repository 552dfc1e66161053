#include "net/socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace msrpd::net::sock {

namespace {
void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Error failure(std::string_view call, std::string_view where, int err) {
  std::string m(call);
  if (!where.empty()) m.append(" ").append(where);
  m.append(": ").append(std::strerror(err));
  return make_error(0, std::move(m));
}

SockAddr name_of(int fd, int (*get)(int, sockaddr*, socklen_t*)) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
}
}  // namespace

Result<int> listen_tcp(const SockAddr& addr, std::string_view where, bool reuse_port, int backlog) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure("socket", {}, errno);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.sa(), addr.len) < 0 || ::listen(fd, backlog) < 0) {
    int e = errno;
    ::close(fd);
    return failure("bind", where, e);
  }
  return fd;
}

Result<void> claim_address(const SockAddr& addr, std::string_view where) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure("socket", {}, errno);
  // SO_REUSEADDR as the listeners have it: a connection of ours in TIME_WAIT is no holder.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rc = ::bind(fd, addr.sa(), addr.len);
  int e = errno;
  ::close(fd);
  if (rc == 0) return {};
  if (e == EADDRINUSE) return make_error(0, "listen " + std::string(where) + ": address already in use");
  return failure("listen", where, e);
}

int accept_tcp(int listen_fd, bool& out_of_fds) {
  out_of_fds = false;
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    out_of_fds = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    return -1;
  }
  set_nodelay(fd);
  return fd;
}

Result<int> connect_tcp(const SockAddr& addr, std::string_view target, const SockAddr* local) {
  if (local && local->family() != addr.family())
    return make_error(
        0, "bind " + local->str() + " for " + std::string(target) + ": not the same address family");
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure("connect", target, errno);
  set_nodelay(fd);
  if (local) {
    if (::bind(fd, local->sa(), local->len) < 0) {
      int e = errno;
      ::close(fd);
      return failure("bind", local->str() + " for " + std::string(target), e);
    }
  }
  int rc;
  do rc = ::connect(fd, addr.sa(), addr.len);
  while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    return failure("connect", target, e);
  }
  return fd;
}

int connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  return err;
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err ? err : EIO;
}

SockAddr local_addr(int fd) {
  return name_of(fd, ::getsockname);
}

SockAddr peer_addr(int fd) {
  return name_of(fd, ::getpeername);
}

IoResult read(int fd, char* buf, size_t len) {
  for (;;) {
    ssize_t n = ::recv(fd, buf, len, 0);
    if (n > 0) return IoResult::ok(static_cast<size_t>(n));
    if (n == 0) return {IoResult::Status::eof, 0, 0, IoResult::Want::none};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return {IoResult::Status::would_block, 0, 0, IoResult::Want::read};
    return {IoResult::Status::error, 0, errno, IoResult::Want::none};
  }
}

IoResult writev(int fd, const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return IoResult::ok(static_cast<size_t>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return {IoResult::Status::would_block, 0, 0, IoResult::Want::write};
    return {IoResult::Status::error, 0, errno, IoResult::Want::none};
  }
}

ssize_t recv_some(int fd, void* buf, size_t len, int flags) {
  ssize_t n;
  do n = ::recv(fd, buf, len, flags);
  while (n < 0 && errno == EINTR);
  return n;
}

ssize_t send_some(int fd, const void* buf, size_t len) {
  ssize_t n;
  do n = ::send(fd, buf, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

void shutdown_write(int fd) {
  ::shutdown(fd, SHUT_WR);
}

void close(int fd) {
  ::close(fd);
}

}  // namespace msrpd::net::sock
