#pragma once
// The socket system calls of src/net, in one file (Redis anet.c): listening, accepting,
// connecting, socket options, addresses, and the non-blocking reads and writes of a stream.
// Everything else in src/net calls these; none of them blocks.
//
// Errors: the functions that open a socket return its fd or an error whose text names the call
// and the address ("bind 127.0.0.1:5060: Address already in use"); the I/O calls return an
// IoResult (errno in err) and retry EINTR themselves.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "net/address.h"
#include "net/stream.h"

namespace msrpd::net::sock {

// A non-blocking, close-on-exec TCP socket bound to addr and listening. SO_REUSEADDR always,
// SO_REUSEPORT when reuse_port (one accepting socket per worker), IPV6_V6ONLY for IPv6.
// Errors: "socket: <why>", "bind <where>: <why>" (also when listen() fails).
Result<int> listen_tcp(const SockAddr& addr, std::string_view where, bool reuse_port, int backlog);

// Checks that no socket in the system holds addr, by binding a probe without SO_REUSEPORT (and
// closing it): a listener of another process, with or without SO_REUSEPORT, makes the bind fail.
// Done before the first of our SO_REUSEPORT listeners binds, so that the kernel's spreading is
// shared only among our own workers. Errors: "listen <where>: address already in use",
// "listen <where>: <why>".
Result<void> claim_address(const SockAddr& addr, std::string_view where);

// One pending connection of a listening socket: non-blocking, close-on-exec, TCP_NODELAY.
// -1 when none is left (or on an error that drops it); out_of_fds is set when the process or
// the system lacks fds or memory: the connection stays queued, stop accepting for a moment.
int accept_tcp(int listen_fd, bool& out_of_fds);

// Starts a non-blocking connect (TCP_NODELAY): the fd is writable once it completed or failed
// (connect_error() says which). Errors: "connect <target>: <why>". local: bound to that address
// first (port 0: the kernel picks one); "bind <local> for <target>: <why>".
Result<int> connect_tcp(const SockAddr& addr, std::string_view target, const SockAddr* local = nullptr);
// SO_ERROR of the socket: 0 once connected, EINPROGRESS while connecting, else the errno.
int connect_error(int fd);
// The pending socket error (SO_ERROR), EIO if there is none.
int pending_error(int fd);

SockAddr local_addr(int fd);  // getsockname; family AF_UNSPEC on error
SockAddr peer_addr(int fd);   // getpeername; family AF_UNSPEC on error

// recv / sendmsg on a connected non-blocking socket. MSG_NOSIGNAL: a peer reset is an error
// value, never SIGPIPE. would_block carries the readiness to wait for.
IoResult read(int fd, char* buf, size_t len);
IoResult writev(int fd, const iovec* iov, int count);
// Raw recv/send for the TLS socket BIO: the byte count, or -1 with errno (EINTR retried).
ssize_t recv_some(int fd, void* buf, size_t len, int flags = 0);
ssize_t send_some(int fd, const void* buf, size_t len);
void shutdown_write(int fd);  // FIN
void close(int fd);

}  // namespace msrpd::net::sock
