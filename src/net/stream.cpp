#include "net/stream.h"

#include <cstring>

#include "net/socket.h"

namespace msrpd::net {

namespace {

class TcpStream final : public Stream {
 public:
  explicit TcpStream(int fd) : fd_(fd) {}
  ~TcpStream() override { sock::close(fd_); }

  int fd() const override { return fd_; }
  Transport transport() const override { return Transport::tcp; }
  IoResult read(char* buf, size_t len) override { return sock::read(fd_, buf, len); }
  IoResult writev(const iovec* iov, int count) override { return sock::writev(fd_, iov, count); }
  void shutdown_write() override { sock::shutdown_write(fd_); }

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
