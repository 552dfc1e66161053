#include "net/connection.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "net/connector.h"
#include "net/listener.h"
#include "net/stream.h"
#include "recorder.h"

namespace msrpd::net {
namespace {

using testing::Echo;
using testing::Recorder;

// A connected client/server pair on one loop.
struct Pair {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  std::unique_ptr<Listener> listener;
  Connector connector{connections};
  Connection* server = nullptr;
  Connection* client = nullptr;
  uint64_t server_id = 0, client_id = 0;

  bool open(const std::string& ip, ConnectionHandler* server_h, ConnectionHandler* client_h,
            const ConnectionSettings& server_s = {}, const ConnectionSettings& client_s = {}) {
    ListenOptions lo;
    lo.ip = ip;
    lo.settings = server_s;
    auto l = Listener::open(connections, lo, [this, server_h](Connection& c) {
      c.set_handler(server_h);
      server = &c;
      server_id = c.id();
    });
    if (!l) {
      ADD_FAILURE() << l.error().message;
      return false;
    }
    listener = std::move(*l);
    ConnectOptions co;
    co.settings = client_s;
    bool failed = false;
    connector.connect(
        ip, listener->port(),
        [&, client_h](Result<Connection*> r) {
          if (!r) {
            failed = true;
            ADD_FAILURE() << r.error().message;
            return;
          }
          (*r)->set_handler(client_h);
          client = *r;
          client_id = client->id();
        },
        co);
    return loop.run_until([&] { return failed || (server && client); }, 3000) && !failed;
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + i / 4099) & 0xff);
  return s;
}

TEST(Connection, EchoOverLoopbackIpv4) {
  Echo server;
  Recorder client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  ASSERT_TRUE(p.client->send("MSRP a786hjs2 SEND\r\n").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.data.size() == 20; }, 2000));
  EXPECT_EQ(client.data, "MSRP a786hjs2 SEND\r\n");
  EXPECT_EQ(server.data, "MSRP a786hjs2 SEND\r\n");
  EXPECT_EQ(p.client->peer_ip(), "127.0.0.1");
  EXPECT_EQ(p.client->peer_port(), p.listener->port());
  EXPECT_EQ(p.server->local_port(), p.listener->port());
  EXPECT_EQ(p.server->peer_port(), p.client->local_port());
  EXPECT_TRUE(p.client->outbound());
  EXPECT_FALSE(p.server->outbound());
  EXPECT_EQ(p.client->transport(), Transport::tcp);
}

TEST(Connection, EchoOverLoopbackIpv6) {
  Echo server;
  Recorder client;
  Pair p;
  ASSERT_TRUE(p.open("::1", &server, &client));
  ASSERT_TRUE(p.client->send("hello over v6").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.data.size() == 13; }, 2000));
  EXPECT_EQ(client.data, "hello over v6");
  EXPECT_EQ(p.client->peer_ip(), "::1");
  EXPECT_EQ(p.server->local_ip(), "::1");
}

TEST(Connection, UnconsumedBytesAreHandedAgainWithTheNextRead) {
  Recorder server;
  server.consume_limit = 0;
  Recorder client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  struct Keep : ConnectionHandler {
    std::vector<std::string> views;
    size_t on_data(Connection&, std::string_view d) override {
      views.emplace_back(d);
      return d.size() >= 6 ? 6 : 0;  // a 6-byte "frame" needs all its bytes
    }
  } keep;
  p.server->set_handler(&keep);
  ASSERT_TRUE(p.client->send("abc").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return keep.views.size() == 1; }, 2000));
  ASSERT_TRUE(p.client->send("defgh").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return keep.views.size() == 2; }, 2000));
  EXPECT_EQ(keep.views[0], "abc");
  EXPECT_EQ(keep.views[1], "abcdefgh");
  EXPECT_EQ(p.server->buffered_bytes(), 2u);  // "gh" kept at the buffer start
}

TEST(Connection, ConsumerThatConsumesNothingPausesReadingAtTheBound) {
  Recorder server;
  server.consume_limit = 0;
  Recorder client;
  ConnectionSettings ss;
  ss.read_buffer_initial = 1024;
  ss.read_buffer_limit = 10000;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client, ss));
  std::string big = pattern(1 << 20);
  ASSERT_TRUE(p.client->send(big).ok());
  ASSERT_TRUE(p.loop.run_until([&] { return p.server->read_buffer_full(); }, 3000));
  p.loop.run_for(50);
  EXPECT_EQ(p.server->buffered_bytes(), 10000u);
  EXPECT_EQ(p.server->read_buffer_capacity(), 10000u);
  EXPECT_EQ(server.last_view, 10000u);
  size_t calls = server.calls;
  p.loop.run_for(50);
  EXPECT_EQ(server.calls, calls);  // paused: not called again

  // The consumer catches up: resume hands over the buffered bytes, then the rest flows.
  server.consume_limit = SIZE_MAX;
  p.server->resume_reading();
  ASSERT_TRUE(p.loop.run_until([&] { return server.data.size() == big.size(); }, 5000)) << server.data.size();
  EXPECT_TRUE(server.data == big);
  EXPECT_LE(p.server->read_buffer_capacity(), 10000u);
}

constexpr size_t kTotal = 10 * 1024 * 1024;
constexpr size_t kChunk = 32 * 1024;

TEST(Connection, TenMegabytesThroughASlowReaderArriveInOrderWithWatermarks) {
  const std::string data = pattern(kTotal);

  // Reader: takes at most 64 KB per call, then pauses for 1 ms.
  struct Slow : ConnectionHandler {
    std::string got;
    Timer* resume = nullptr;
    int calls = 0;
    size_t on_data(Connection& c, std::string_view d) override {
      size_t n = std::min<size_t>(d.size(), 64 * 1024);
      got.append(d.substr(0, n));
      c.pause_reading();
      resume->start(++calls % 4 == 0 ? 1 : 0);
      return n;
    }
  } reader;

  // Writer: sends until above the high watermark, continues from on_drained.
  struct Writer : ConnectionHandler {
    const std::string* src = nullptr;
    size_t sent = 0;
    size_t max_queued = 0;
    int drained = 0;
    int blocked = 0;
    void pump(Connection& c) {
      while (sent < src->size() && !c.above_high_watermark()) {
        size_t n = std::min(kChunk, src->size() - sent);
        ASSERT_TRUE(c.send(std::string_view(*src).substr(sent, n)).ok());
        sent += n;
        max_queued = std::max(max_queued, c.queued_bytes());
      }
      if (sent < src->size()) ++blocked;
    }
    size_t on_data(Connection&, std::string_view d) override { return d.size(); }
    void on_drained(Connection& c) override {
      ++drained;
      EXPECT_LE(c.queued_bytes(), c.settings().write_low_watermark);
      pump(c);
    }
  } writer;
  writer.src = &data;

  ConnectionSettings cs;
  cs.write_high_watermark = 256 * 1024;
  cs.write_low_watermark = 64 * 1024;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &reader, &writer, {}, cs));
  Timer resume(p.loop, [&] { p.server->resume_reading(); });
  reader.resume = &resume;
  writer.pump(*p.client);
  ASSERT_TRUE(p.loop.run_until([&] { return reader.got.size() == kTotal; }, 60000)) << reader.got.size();
  EXPECT_TRUE(reader.got == data);
  EXPECT_GT(writer.blocked, 0);
  EXPECT_GT(writer.drained, 0);
  EXPECT_LE(writer.max_queued, cs.write_high_watermark + kChunk);
  EXPECT_EQ(p.client->queued_bytes(), 0u);
}

TEST(Connection, CloseAfterFlushDeliversEverythingThenCloses) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  std::string big = pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(p.server->send(big).ok());
  p.server->close_after_flush();
  EXPECT_FALSE(p.server->is_open());
  EXPECT_FALSE(p.server->send("late").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.closed && server.closed; }, 10000));
  EXPECT_TRUE(client.data == big);
  EXPECT_EQ(client.reason, CloseReason::peer_closed);
  EXPECT_EQ(server.reason, CloseReason::local);
}

TEST(Connection, CloseIsImmediateAndReportsLocalOnce) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  p.client->close();
  EXPECT_TRUE(client.closed);
  EXPECT_EQ(client.reason, CloseReason::local);
  EXPECT_EQ(p.connections.find(p.client_id), nullptr);
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed; }, 2000));
  EXPECT_EQ(server.reason, CloseReason::peer_closed);
}

TEST(ConnectionRegistry, CloseAllNotifiesEveryHandlerWithShutdown) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  EXPECT_EQ(p.connections.size(), 2u);
  p.connections.close_all();
  EXPECT_TRUE(server.closed);
  EXPECT_TRUE(client.closed);
  EXPECT_EQ(server.reason, CloseReason::shutdown);
  EXPECT_EQ(client.reason, CloseReason::shutdown);
  EXPECT_EQ(p.connections.size(), 0u);
}

TEST(Connection, HandlerMayCloseInsideOnData) {
  struct Closer : ConnectionHandler {
    int closes = 0;
    size_t on_data(Connection& c, std::string_view d) override {
      c.close();
      return d.size();
    }
    void on_close(Connection&, CloseReason, std::string_view) override { ++closes; }
  } server;
  Recorder client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  ASSERT_TRUE(p.client->send("x").ok());
  ASSERT_TRUE(p.loop.run_until([&] { return client.closed; }, 2000));
  EXPECT_EQ(server.closes, 1);
}

TEST(Connection, IdleTimeoutClosesAQuietConnection) {
  Recorder server, client;
  ConnectionSettings ss;
  ss.idle_timeout_ms = 60;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client, ss));
  // Traffic keeps it open...
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(p.client->send("ping").ok());
    p.loop.run_for(25);
  }
  EXPECT_FALSE(server.closed);
  // ...silence closes it.
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed && client.closed; }, 2000));
  EXPECT_EQ(server.reason, CloseReason::idle_timeout);
  EXPECT_EQ(client.reason, CloseReason::peer_closed);
}

// RFC 4976 §6.5: a connection carrying a session outlives the idle timeout until the session
// ends, then the idle timeout applies again.
TEST(Connection, KeptConnectionOutlivesTheIdleTimeoutUntilItsSessionEnds) {
  Recorder server, client;
  ConnectionSettings ss;
  ss.idle_timeout_ms = 50;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client, ss));
  p.server->keep_while_idle_for(300);
  EXPECT_GE(p.server->kept_until(), p.loop.now() + 250);
  p.server->keep_while_idle_for(100);  // a shorter session does not shorten the longer one
  p.loop.run_for(200);
  EXPECT_FALSE(server.closed) << "closed for idleness while its session lives";
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed; }, 2000));
  EXPECT_EQ(server.reason, CloseReason::idle_timeout);
}

TEST(Connection, KeptConnectionActiveWhenItsSessionEndsGetsAFullIdleTimeout) {
  Recorder server, client;
  ConnectionSettings ss;
  ss.idle_timeout_ms = 200;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client, ss));
  p.server->keep_while_idle_for(300);
  p.loop.run_for(250);
  ASSERT_TRUE(p.client->send("ping").ok());  // traffic shortly before the session ends
  p.loop.run_for(120);                       // past the session's end, 120 ms after the traffic
  EXPECT_FALSE(server.closed);
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed; }, 2000));
  EXPECT_EQ(server.reason, CloseReason::idle_timeout);
}

TEST(Connection, LifetimeLimitClosesEvenABusyConnection) {
  Recorder server, client;
  ConnectionSettings ss;
  ss.lifetime_ms = 80;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client, ss));
  ASSERT_TRUE(p.loop.run_until(
      [&] {
        if (!client.closed) (void)p.client->send("x");
        return server.closed;
      },
      2000));
  EXPECT_EQ(server.reason, CloseReason::lifetime);
}

TEST(Connection, ProbationTimerClosesWhenNotDisarmed) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  p.server->arm_probation(40);
  EXPECT_TRUE(p.server->probation_armed());
  ASSERT_TRUE(p.loop.run_until([&] { return server.closed; }, 2000));
  EXPECT_EQ(server.reason, CloseReason::probation);
}

TEST(Connection, DisarmedProbationKeepsTheConnection) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  p.server->arm_probation(40);
  p.server->disarm_probation();
  p.loop.run_for(100);
  EXPECT_FALSE(server.closed);
  EXPECT_TRUE(p.server->is_open());
}

TEST(Connection, IdsAreUniqueAndCarryTheWorkerIndex) {
  EventLoop loop(5);
  ConnectionRegistry connections{loop};
  Recorder server, client;
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  std::vector<uint64_t> ids;
  auto l = Listener::open(connections, lo, [&](Connection& c) {
    c.set_handler(&server);
    ids.push_back(c.id());
  });
  ASSERT_TRUE(l.ok());
  Connector conn(connections);
  for (int i = 0; i < 3; ++i)
    conn.connect("127.0.0.1", (*l)->port(), [&](Result<Connection*> r) {
      ASSERT_TRUE(r.ok());
      (*r)->set_handler(&client);
      ids.push_back((*r)->id());
    });
  ASSERT_TRUE(loop.run_until([&] { return ids.size() == 6; }, 3000));
  for (uint64_t id : ids) {
    EXPECT_EQ(Connection::worker_of(id), 5u);
    EXPECT_NE(connections.find(id), nullptr);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(connections.size(), 6u);
}

TEST(ConnectionRegistry, ReusePoolFindsAnOpenConnectionToTheSameAddress) {
  Recorder server, client;
  Pair p;
  ASSERT_TRUE(p.open("127.0.0.1", &server, &client));
  auto& reg = p.connections;
  EXPECT_EQ(reg.find_reusable(Transport::tcp, "127.0.0.1", p.listener->port()), p.client);
  EXPECT_EQ(reg.find_reusable(Transport::tls, "127.0.0.1", p.listener->port()), nullptr);
  EXPECT_EQ(reg.find_reusable(Transport::tcp, "127.0.0.2", p.listener->port()), nullptr);
  // The inbound side is found by the client's address too.
  EXPECT_EQ(reg.find_reusable(Transport::tcp, "127.0.0.1", p.client->local_port()), p.server);
  p.client->close();
  // Seed flag 1 ("never open a new connection"): lookup says none.
  EXPECT_EQ(reg.find_reusable(Transport::tcp, "127.0.0.1", p.listener->port()), nullptr);
}

TEST(Connector, ConnectToAClosedPortReportsAnError) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  ::close(s);  // bound, never listening, now closed: nothing listens there

  EventLoop loop;
  ConnectionRegistry connections{loop};
  Connector c(connections);
  std::string error;
  bool done = false;
  c.connect("127.0.0.1", port, [&](Result<Connection*> r) {
    done = true;
    if (!r) error = r.error().message;
  });
  EXPECT_FALSE(done);  // never inside connect()
  ASSERT_TRUE(loop.run_until([&] { return done; }, 3000));
  EXPECT_EQ(error, "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  EXPECT_EQ(c.pending(), 0u);
}

TEST(Connector, NonNumericAddressIsAnErrorWithoutResolver) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  Connector c(connections);
  std::string error;
  c.connect("not-an-ip", 1, [&](Result<Connection*> r) { error = r ? "connected" : r.error().message; });
  ASSERT_TRUE(loop.run_until([&] { return !error.empty(); }, 1000));
  EXPECT_EQ(error, "not a numeric IP address: not-an-ip");
}

TEST(Listener, PortInUseWithoutReusePortIsAnError) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  lo.reuse_port = false;
  auto a = Listener::open(connections, lo, [](Connection&) {});
  ASSERT_TRUE(a.ok());
  lo.port = (*a)->port();
  auto b = Listener::open(connections, lo, [](Connection&) {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "bind 127.0.0.1:" + std::to_string(lo.port) + ": Address already in use");
}

TEST(Listener, AcceptWithoutHandlerClosesTheConnection) {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  ListenOptions lo;
  lo.ip = "127.0.0.1";
  auto l = Listener::open(connections, lo, [](Connection&) {});
  ASSERT_TRUE(l.ok());
  Connector c(connections);
  Recorder client;
  c.connect("127.0.0.1", (*l)->port(), [&](Result<Connection*> r) {
    ASSERT_TRUE(r.ok());
    (*r)->set_handler(&client);
  });
  ASSERT_TRUE(loop.run_until([&] { return client.closed; }, 2000));
  EXPECT_EQ(client.reason, CloseReason::peer_closed);
}

TEST(Connector, ConnectThatNeverCompletesTimesOut) {
  // A listener that never accepts, with a full backlog: further SYNs go unanswered.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);

  EventLoop loop;
  ConnectionRegistry connections{loop};
  Connector c(connections);
  ConnectOptions co;
  co.timeout_ms = 100;
  std::vector<std::string> errors;
  int ok = 0;
  for (int i = 0; i < 8; ++i)
    c.connect(
        "127.0.0.1", port,
        [&](Result<Connection*> r) {
          if (r) {
            ++ok;
            (*r)->close();
          } else {
            errors.push_back(r.error().message);
          }
        },
        co);
  ASSERT_TRUE(loop.run_until([&] { return ok + errors.size() == 8; }, 3000));
  ::close(s);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "connect 127.0.0.1:" + std::to_string(port) + ": timeout");
}

// ---- deferred, gathering writes ----

// A TCP stream that counts the writes reaching the socket.
class CountingStream : public Stream {
 public:
  CountingStream(int fd, int* writes) : inner_(make_tcp_stream(fd)), writes_(writes) {}
  int fd() const override { return inner_->fd(); }
  Transport transport() const override { return inner_->transport(); }
  IoResult read(char* buf, size_t len) override { return inner_->read(buf, len); }
  IoResult writev(const iovec* iov, int count) override {
    ++*writes_;
    return inner_->writev(iov, count);
  }
  void shutdown_write() override { inner_->shutdown_write(); }

 private:
  std::unique_ptr<Stream> inner_;
  int* writes_;
};

// Reads from fd (made blocking) until `n` bytes arrived, bounded by a receive timeout.
std::string read_exactly(int fd, size_t n) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    ssize_t r = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// A Connection over one end of a socketpair, counting the writes that reach the socket; the test
// talks to `peer`, the other end.
struct Socketpair {
  EventLoop loop;
  ConnectionRegistry connections{loop};
  int writes = 0;
  int peer = -1;
  Connection* c = nullptr;

  explicit Socketpair(ConnectionHandler* h) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
      ADD_FAILURE() << "socketpair failed";
      return;
    }
    peer = sv[1];
    c = &connections.adopt(std::make_unique<CountingStream>(sv[0], &writes), {}, false);
    c->set_handler(h);
  }
  ~Socketpair() {
    if (peer >= 0) ::close(peer);
  }
  void close_peer() {
    ::close(peer);
    peer = -1;
  }
};

TEST(Connection, SendsOfOneIterationLeaveInOneWriteAtItsEnd) {
  Recorder h;
  Socketpair sp(&h);
  Connection& c = *sp.c;
  ASSERT_TRUE(c.send("MSRP a SEND\r\n").ok());
  ASSERT_TRUE(c.send(std::string(20000, 'x')).ok());  // spans two write blocks
  ASSERT_TRUE(c.send("-------a$\r\n").ok());
  EXPECT_EQ(sp.writes, 0);  // nothing is written inside send()
  EXPECT_EQ(c.queued_bytes(), 13u + 20000u + 11u);
  sp.loop.run_once(0);
  EXPECT_EQ(sp.writes, 1);
  EXPECT_EQ(c.queued_bytes(), 0u);
  EXPECT_EQ(read_exactly(sp.peer, 20024), "MSRP a SEND\r\n" + std::string(20000, 'x') + "-------a$\r\n");
  // An iteration that sends nothing writes nothing.
  sp.loop.run_once(0);
  EXPECT_EQ(sp.writes, 1);
}

TEST(Connection, RepliesSentFromOnDataLeaveTogetherAfterAllInputIsRead) {
  struct Replier : Recorder {
    size_t on_data(Connection& c, std::string_view d) override {
      // One reply per line, as the relay answers each frame of a read.
      size_t used = 0;
      for (size_t nl; (nl = d.find('\n', used)) != std::string_view::npos; used = nl + 1)
        EXPECT_TRUE(c.send("ok:" + std::string(d.substr(used, nl + 1 - used))).ok());
      return used;
    }
  } h;
  Socketpair sp(&h);
  const std::string in = "a\nb\nc\nd\n";
  ASSERT_EQ(::write(sp.peer, in.data(), in.size()), static_cast<ssize_t>(in.size()));
  ASSERT_TRUE(sp.loop.run_until([&] { return sp.writes > 0; }, 2000));
  EXPECT_EQ(sp.writes, 1);
  EXPECT_EQ(read_exactly(sp.peer, 20), "ok:a\nok:b\nok:c\nok:d\n");
}

TEST(Connection, AWriteErrorFoundAtTheFlushClosesWithError) {
  Recorder h;
  Socketpair sp(&h);
  uint64_t id = sp.c->id();
  sp.close_peer();
  EXPECT_TRUE(sp.c->send("to nobody").ok());  // queued: the error is found when it is written
  EXPECT_FALSE(h.closed);
  ASSERT_TRUE(sp.loop.run_until([&] { return h.closed; }, 2000));
  EXPECT_TRUE(h.reason == CloseReason::error || h.reason == CloseReason::peer_closed)
      << close_reason_name(h.reason);
  EXPECT_EQ(sp.connections.find(id), nullptr);
}

TEST(Connection, ClosingAConnectionWaitingForItsFlushDropsItsQueue) {
  Recorder h;
  Socketpair sp(&h);
  ASSERT_TRUE(sp.c->send("dropped").ok());
  sp.c->close();
  sp.loop.run_once(0);  // the flush list no longer holds the closed (and now destroyed) connection
  sp.loop.run_once(0);
  EXPECT_EQ(sp.writes, 0);
  char b;
  EXPECT_EQ(::read(sp.peer, &b, 1), 0);  // EOF, none of the queued bytes
}

TEST(Connection, AnIdleConnectionHoldsNoBufferAndBlocksGoBackToTheLoop) {
  Recorder h;
  Socketpair sp(&h);
  Connection& c = *sp.c;
  EXPECT_EQ(c.read_buffer_capacity(), 0u);  // nothing taken before bytes arrive
  ASSERT_EQ(::write(sp.peer, "hello", 5), 5);
  ASSERT_TRUE(sp.loop.run_until([&] { return h.data == "hello"; }, 2000));
  EXPECT_EQ(c.read_buffer_capacity(), 0u);               // all consumed: the buffer went back
  EXPECT_GE(sp.connections.blocks().free_blocks(), 1u);  // ... to the loop's free list
  ASSERT_TRUE(c.send(std::string(40000, 'y')).ok());     // three write blocks
  sp.loop.run_once(0);
  EXPECT_EQ(c.queued_bytes(), 0u);
  EXPECT_GE(sp.connections.blocks().free_blocks(), 3u);  // written blocks are given back
  EXPECT_EQ(read_exactly(sp.peer, 40000), std::string(40000, 'y'));
}

TEST(Connection, DescribeNamesTheStateAndTheSetFlags) {
  Recorder h;
  Socketpair sp(&h);
  Connection& c = *sp.c;
  EXPECT_EQ(c.describe(), "open -");
  c.pause_reading();
  EXPECT_EQ(c.describe(), "open paused");
  ASSERT_TRUE(c.send("x").ok());
  EXPECT_EQ(c.describe(), "open paused|flush_queued");
  EXPECT_EQ(c.flags(), Connection::kPaused | Connection::kFlushQueued);
  sp.loop.run_once(0);
  EXPECT_EQ(c.describe(), "open paused");
  c.resume_reading();
  EXPECT_EQ(c.describe(), "open -");
  c.close_after_flush();
  EXPECT_EQ(c.describe(), "lingering -");  // nothing queued: the write side is shut at once
}

TEST(Connection, DescribeFlagsPrintsEveryBitByName) {
  EXPECT_EQ(Connection::describe_flags(0), "-");
  EXPECT_EQ(Connection::describe_flags(Connection::kReadWantsWrite | Connection::kWriteBlocked),
            "read_wants_write|write_blocked");
  EXPECT_EQ(Connection::describe_flags(0x1ff),
            "paused|read_full|over_high|redeliver|read_pending|read_wants_write|write_wants_read|"
            "write_blocked|flush_queued");
  EXPECT_EQ(Connection::describe_flags(Connection::kOverHigh | 0x3000), "over_high|0x3000");
}

TEST(BlockPool, KeepsAtMostItsBoundAndReusesBlocks) {
  BlockPool pool(2);
  void* a = pool.take();
  void* b = pool.take();
  void* c = pool.take();
  pool.give(a);
  pool.give(b);
  pool.give(c);  // over the bound: back to the allocator
  EXPECT_EQ(pool.free_blocks(), 2u);
  void* d = pool.take();
  EXPECT_TRUE(d == a || d == b);
  pool.give(d);
}

}  // namespace
}  // namespace msrpd::net

namespace msrpd::net {
namespace {

TEST(BlockPool, TrimGivesBackAllButTheKeptFreeBlocks) {
  BlockPool pool(16);
  std::vector<void*> taken;
  for (int i = 0; i < 20; ++i) taken.push_back(pool.take());
  for (void* b : taken) pool.give(b);
  EXPECT_EQ(pool.free_blocks(), 16u);  // max_free: the other 4 went back at once
  EXPECT_EQ(pool.trim(4), 12 * BlockPool::kBlockBytes);
  EXPECT_EQ(pool.free_blocks(), 4u);
  EXPECT_EQ(pool.trim(4), 0u);
  void* b = pool.take();  // a kept one
  EXPECT_EQ(pool.free_blocks(), 3u);
  pool.give(b);
}

}  // namespace
}  // namespace msrpd::net
