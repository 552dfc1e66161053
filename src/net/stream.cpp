#include "net/stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace msrpd::net {

namespace {

class TcpStream final : public Stream {
 public:
  explicit TcpStream(int fd) : fd_(fd) {}
  ~TcpStream() override { ::close(fd_); }

  int fd() const override { return fd_; }
  Transport transport() const override { return Transport::tcp; }

  IoResult read(char* buf, size_t len) override {
    for (;;) {
      ssize_t n = ::recv(fd_, buf, len, 0);
      if (n > 0) return IoResult::ok(static_cast<size_t>(n));
      if (n == 0) return {IoResult::Status::eof, 0, 0, IoResult::Want::none};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return {IoResult::Status::would_block, 0, 0, IoResult::Want::read};
      return {IoResult::Status::error, 0, errno, IoResult::Want::none};
    }
  }

  IoResult writev(const iovec* iov, int count) override {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(count);
    for (;;) {
      // MSG_NOSIGNAL: a peer reset is an error value, not SIGPIPE.
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n >= 0) return IoResult::ok(static_cast<size_t>(n));
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return {IoResult::Status::would_block, 0, 0, IoResult::Want::write};
      return {IoResult::Status::error, 0, errno, IoResult::Want::none};
    }
  }

  void shutdown_write() override { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

}  // namespace

std::string Stream::error_text(int err) const {
  return std::strerror(err);
}

std::unique_ptr<Stream> make_tcp_stream(int fd) {
  return std::make_unique<TcpStream>(fd);
}

}  // namespace msrpd::net
