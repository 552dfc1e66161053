#include "ctl/address.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/host_port.h"

namespace msrpd::ctl {

namespace {

Error sys_error(const std::string& what) {
  return make_error(0, what + ": " + std::strerror(errno));
}

bool fill_unix(const std::string& path, sockaddr_un& sa) {
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return true;
}

struct AddrInfo {
  addrinfo* ai = nullptr;
  ~AddrInfo() {
    if (ai != nullptr) freeaddrinfo(ai);
  }
};

Result<void> resolve(const CtlAddress& a, bool passive, AddrInfo& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  std::string port = std::to_string(a.port);
  int rc = getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &out.ai);
  if (rc != 0) return make_error(0, a.to_string() + ": " + gai_strerror(rc));
  return {};
}

}  // namespace

std::string CtlAddress::to_string() const {
  if (kind == Kind::Unix) return "unix:" + path;
  std::string s = "tcp:";
  append_host(s, host);
  s.push_back(':');
  append_port(s, port);
  return s;
}

Result<CtlAddress> parse_ctl_address(std::string_view spec, uint16_t default_port) {
  CtlAddress a;
  auto bad = [&] { return make_error(0, "bad control address '" + std::string(spec) + "'"); };
  std::string_view rest = spec;
  if (rest.starts_with("unix:") || rest.starts_with("unixs:")) {
    rest.remove_prefix(rest.find(':') + 1);
    if (rest.empty()) return bad();
    a.path = std::string(rest);
    return a;
  }
  if (rest.starts_with("/")) {
    a.path = std::string(rest);
    return a;
  }
  if (rest.starts_with("tcp:")) {
    rest.remove_prefix(4);
  }
  a.kind = CtlAddress::Kind::Tcp;
  a.port = default_port;
  // Port 0: the system picks one (the server reports the bound port).
  auto hp = HostPort::parse(rest, /*zero_port_ok=*/true);
  if (!hp || spec.back() == ':') return bad();
  a.host = std::move(hp->host);
  if (hp->port_given) a.port = hp->port;
  return a;
}

Result<int> connect_ctl(const CtlAddress& a, int timeout_ms) {
  auto finish = [&](int fd, const sockaddr* sa, socklen_t len) -> Result<int> {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = ::connect(fd, sa, len);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, timeout_ms);
      if (rc <= 0) {
        ::close(fd);
        errno = rc == 0 ? ETIMEDOUT : errno;
        return sys_error("connect " + a.to_string());
      }
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err != 0) {
        ::close(fd);
        errno = err;
        return sys_error("connect " + a.to_string());
      }
    } else if (rc != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return sys_error("connect " + a.to_string());
    }
    fcntl(fd, F_SETFL, fl);
    return fd;
  };
  if (a.kind == CtlAddress::Kind::Unix) {
    sockaddr_un sa{};
    if (!fill_unix(a.path, sa)) return make_error(0, "bad unix socket path '" + a.path + "'");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket");
    return finish(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  AddrInfo ai;
  if (auto r = resolve(a, false, ai); !r) return r.error();
  Error last = make_error(0, "connect " + a.to_string() + ": no address");
  for (addrinfo* p = ai.ai; p != nullptr; p = p->ai_next) {
    int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
    if (fd < 0) continue;
    auto r = finish(fd, p->ai_addr, p->ai_addrlen);
    if (r) return r;
    last = r.error();
  }
  return last;
}

Result<int> listen_ctl(const CtlAddress& a, const UnixSocketOptions& uo, UnixSocketFile* made) {
  if (a.kind == CtlAddress::Kind::Unix) {
    sockaddr_un sa{};
    if (!fill_unix(a.path, sa)) return make_error(0, "bad unix socket path '" + a.path + "'");
    struct stat st {};
    bool exists = ::lstat(a.path.c_str(), &st) == 0;
    if (exists && !S_ISSOCK(st.st_mode))
      return make_error(0, "listen " + a.to_string() + ": the file exists and is not a socket");
    if (exists) {
      // Another instance may be serving it (the same default path): ask before replacing. Only
      // "connection refused" means nobody listens; a full backlog (EAGAIN) is a live one, and any
      // other answer (EACCES: someone else's socket) is not ours to replace.
      int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (probe < 0) return sys_error("socket");
      int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      int e = errno;
      ::close(probe);
      if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
        return make_error(0, "listen " + a.to_string() +
                                 ": a running process answers on this control socket; not taking it over "
                                 "(give this instance its own modparam(\"ctl\", \"binrpc\"))");
      if (e != ECONNREFUSED) {
        errno = e;
        return sys_error("listen " + a.to_string() + ": cannot tell whether the socket file is in use");
      }
    }
    // Bound under a private name first: nobody can connect before the mode and owner are set and
    // listen() is called, and the public name appears (rename/link) only when it is ready.
    std::string tmp = a.path + "." + std::to_string(::getpid()) + ".tmp";
    sockaddr_un ts{};
    if (!fill_unix(tmp, ts)) return make_error(0, "unix socket path '" + a.path + "' is too long");
    ::unlink(tmp.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return sys_error("socket");
    auto fail = [&](const std::string& what) -> Result<int> {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = e;
      return sys_error(what);
    };
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ts), sizeof ts) != 0) return fail("listen " + a.to_string());
    if (::chmod(tmp.c_str(), static_cast<mode_t>(uo.mode)) != 0) return fail("chmod " + a.to_string());
    if ((uo.uid != static_cast<uid_t>(-1) || uo.gid != static_cast<gid_t>(-1)) &&
        ::chown(tmp.c_str(), uo.uid, uo.gid) != 0)
      return fail("chown " + a.to_string());
    if (::listen(fd, 64) != 0) return fail("listen " + a.to_string());
    struct stat mine {};
    if (::lstat(tmp.c_str(), &mine) != 0) return fail("stat " + tmp);
    // No file before: link() fails if one appeared meanwhile (never replace a racing instance's);
    // a stale one is replaced atomically.
    if (!exists) {
      if (::link(tmp.c_str(), a.path.c_str()) != 0) return fail("listen " + a.to_string());
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), a.path.c_str()) != 0) {
      return fail("listen " + a.to_string());
    }
    if (made != nullptr) *made = {mine.st_dev, mine.st_ino};
    return fd;
  }
  AddrInfo ai;
  if (auto r = resolve(a, true, ai); !r) return r.error();
  for (addrinfo* p = ai.ai; p != nullptr; p = p->ai_next) {
    int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, p->ai_addr, p->ai_addrlen) == 0 && ::listen(fd, 64) == 0) return fd;
    int e = errno;
    ::close(fd);
    errno = e;
  }
  return sys_error("listen " + a.to_string());
}

namespace {
bool loopback_sockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    return IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127;
  }
  return false;
}
}  // namespace

bool is_loopback(const CtlAddress& a) {
  if (a.kind == CtlAddress::Kind::Unix) return true;
  if (a.host.empty()) return false;
  AddrInfo ai;
  if (!resolve(a, true, ai)) return false;
  bool any = false;
  for (addrinfo* p = ai.ai; p != nullptr; p = p->ai_next) {
    if (!loopback_sockaddr(p->ai_addr)) return false;
    any = true;
  }
  return any;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace msrpd::ctl
