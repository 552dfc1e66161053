#include "ctl/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <random>

#include "ctl/address.h"

namespace msrpd::ctl {

Result<binrpc::Reply> binrpc_call(std::string_view address, std::string_view method, const Params& params,
                                  int timeout_ms) {
  auto a = parse_ctl_address(address);
  if (!a) return a.error();
  auto fdr = connect_ctl(*a, timeout_ms);
  if (!fdr) return fdr.error();
  int fd = *fdr;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  uint32_t cookie = std::random_device{}();
  std::string req = binrpc::encode_request(cookie, method, params);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, ms.count()));
  };
  size_t sent = 0;
  while (sent < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, left()) <= 0) return make_error(0, "timeout sending to " + a->to_string());
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) return make_error(0, "send failed: " + a->to_string());
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string in;
  binrpc::Header h;
  constexpr size_t kMaxReply = size_t{1} << 30;
  for (;;) {
    auto st = binrpc::read_header(in, kMaxReply, h);
    if (st == binrpc::HeaderStatus::Bad) return make_error(0, "not a binrpc reply");
    if (st == binrpc::HeaderStatus::Ok && in.size() >= h.header_len + h.body_len) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left()) <= 0)
      return make_error(0, "timeout waiting for the reply from " + a->to_string());
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return make_error(0, "connection closed by " + a->to_string());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return make_error(0, "receive failed: " + a->to_string());
    }
    in.append(buf, static_cast<size_t>(n));
  }
  if (h.cookie != cookie && !(h.flags & binrpc::kFlagError)) return make_error(0, "reply cookie mismatch");
  return binrpc::decode_reply(h, std::string_view(in).substr(h.header_len, h.body_len));
}

}  // namespace msrpd::ctl
