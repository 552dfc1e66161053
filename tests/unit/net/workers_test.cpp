#include "net/workers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "net/listener.h"

namespace msrpd::net {
namespace {

struct Sink : ConnectionHandler {
  std::atomic<size_t> bytes{0};
  size_t on_data(Connection&, std::string_view d) override {
    bytes += d.size();
    return d.size();
  }
};

// A blocking client socket to 127.0.0.1:port (the test thread plays the peer).
int dial(uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    ::close(s);
    return -1;
  }
  return s;
}

bool wait_for(const std::function<bool()>& done, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(Workers, PostToRunsOnThatWorkersThread) {
  Workers w(2);
  w.start();
  std::promise<std::thread::id> a, b;
  ASSERT_TRUE(w.post_to(0, [&] { a.set_value(std::this_thread::get_id()); }));
  ASSERT_TRUE(w.post_to(1, [&] { b.set_value(std::this_thread::get_id()); }));
  EXPECT_FALSE(w.post_to(2, [] {}));
  auto fa = a.get_future(), fb = b.get_future();
  ASSERT_EQ(fa.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  ASSERT_EQ(fb.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_NE(fa.get(), fb.get());
  w.stop();
  EXPECT_FALSE(w.running());
}

TEST(Workers, ReusePortLetsTwoWorkersAcceptOnOnePort) {
  Workers w(2);
  Sink sink[2];
  std::atomic<int> accepted[2] = {0, 0};
  std::vector<std::atomic<uint64_t>> ids(64);
  std::atomic<int> nids{0};
  std::unique_ptr<Listener> l[2];
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  lo.port = 0;
  for (unsigned i = 0; i < 2; ++i) {
    auto r = Listener::open(w.connections(i), lo, [&, i](Connection& c) {
      c.set_handler(&sink[i]);
      ++accepted[i];
      ids[nids++] = c.id();
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
    l[i] = std::move(*r);
    lo.port = l[0]->port();  // the second binds the port the first got
  }
  EXPECT_EQ(l[0]->port(), l[1]->port());
  w.start();

  std::vector<int> socks;
  for (int i = 0; i < 40; ++i) {
    int s = dial(lo.port);
    ASSERT_GE(s, 0);
    ASSERT_EQ(::write(s, "hi", 2), 2);
    socks.push_back(s);
  }
  ASSERT_TRUE(wait_for([&] { return accepted[0] + accepted[1] == 40; }, 3000));
  EXPECT_GT(accepted[0].load(), 0);
  EXPECT_GT(accepted[1].load(), 0);
  ASSERT_TRUE(wait_for([&] { return sink[0].bytes + sink[1].bytes == 80; }, 3000));

  // Any thread can find a connection's owner from its id and reach it there.
  for (int k = 0; k < nids.load(); ++k) {
    uint64_t id = ids[k];
    unsigned owner = Workers::worker_of(id);
    ASSERT_LT(owner, 2u);
    std::promise<bool> found;
    w.post_to(owner, [&, id, owner] { found.set_value(w.connections(owner).find(id) != nullptr); });
    auto f = found.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  w.stop();
  for (int s : socks) ::close(s);
  l[0].reset();
  l[1].reset();
}

}  // namespace
}  // namespace msrpd::net
