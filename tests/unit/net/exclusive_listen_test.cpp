// ListenOptions::exclusive: the first listener of a group refuses an address another socket holds
// (a plain listener, or another process's SO_REUSEPORT group), so that SO_REUSEPORT spreads
// connections among our own listeners only (issue 11 part 7).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "net/connection.h"
#include "net/listener.h"

namespace msrpd::net {
namespace {

// A listening socket of "another process": bound to an ephemeral port of ip, with or without
// SO_REUSEPORT. -1 when the address family is not available.
int foreign_listener(int family, bool reuse_port, uint16_t& port) {
  int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                 : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

ListenOptions exclusive_on(const std::string& ip, uint16_t port) {
  ListenOptions lo;
  lo.ip = ip;
  lo.port = port;
  lo.exclusive = true;
  return lo;
}

TEST(ExclusiveListen, PlainListenerOfAnotherProcessIsAddressAlreadyInUse) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  uint16_t port = 0;
  int fd = foreign_listener(AF_INET, false, port);
  ASSERT_GE(fd, 0);
  auto l = Listener::open(connections, exclusive_on("127.0.0.1", port), [](Connection&) {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message, "listen 127.0.0.1:" + std::to_string(port) + ": address already in use");
  ::close(fd);
}

TEST(ExclusiveListen, ReusePortListenerOfAnotherProcessIsAddressAlreadyInUse) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  uint16_t port = 0;
  int fd = foreign_listener(AF_INET, true, port);
  ASSERT_GE(fd, 0);
  // Without the claim the kernel lets an SO_REUSEPORT socket of the same user join.
  ListenOptions join = exclusive_on("127.0.0.1", port);
  join.exclusive = false;
  auto joined = Listener::open(connections, join, [](Connection&) {});
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  joined->reset();
  auto l = Listener::open(connections, exclusive_on("127.0.0.1", port), [](Connection&) {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message, "listen 127.0.0.1:" + std::to_string(port) + ": address already in use");
  ::close(fd);
}

TEST(ExclusiveListen, Ipv6AddressIsNamedInBrackets) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  uint16_t port = 0;
  int fd = foreign_listener(AF_INET6, true, port);
  if (fd < 0) GTEST_SKIP() << "no IPv6 loopback here";
  auto l = Listener::open(connections, exclusive_on("::1", port), [](Connection&) {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message, "listen [::1]:" + std::to_string(port) + ": address already in use");
  ::close(fd);
}

TEST(ExclusiveListen, OurOwnListenersJoinTheFirstOne) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  uint16_t port = 0;
  int fd = foreign_listener(AF_INET, false, port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // a port that was free a moment ago
  auto first = Listener::open(connections, exclusive_on("127.0.0.1", port), [](Connection&) {});
  ASSERT_TRUE(first.ok()) << first.error().message;
  ListenOptions join = exclusive_on("127.0.0.1", port);
  join.exclusive = false;
  auto second = Listener::open(connections, join, [](Connection&) {});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ((*second)->port(), port);
  // A second group on the same address is refused while ours holds it.
  auto other = Listener::open(connections, exclusive_on("127.0.0.1", port), [](Connection&) {});
  ASSERT_FALSE(other.ok());
}

}  // namespace
}  // namespace msrpd::net
