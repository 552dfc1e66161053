#pragma once
// Connector: outbound non-blocking TCP connects on one loop, bounded by a timeout.
//
//   connector.connect("127.0.0.1", 2855, [&](Result<Connection*> r) {
//     if (!r) return log(r.error().message);      // "connect 127.0.0.1:2855: Connection refused"
//     (*r)->set_handler(&h);
//   });
//
// The callback runs on the loop's thread, exactly once, never inside connect() itself. On
// success the Connection is registered in loop.connections() (so it joins the reuse pool) and
// must get a handler in the callback, or it is closed when the callback returns. Destroying the
// Connector abandons the attempts in progress without calling their callbacks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "net/connection.h"
#include "net/event_loop.h"

namespace msrpd::net {

class Resolver;

struct ConnectOptions {
  uint32_t timeout_ms = 5000;  // whole attempt, resolution included
  ConnectionSettings settings;
};

class Connector {
 public:
  using ConnectFn = std::function<void(Result<Connection*>)>;

  // resolver: needed only by connect_host() for names that are not numeric addresses.
  explicit Connector(EventLoop& loop, Resolver* resolver = nullptr);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // ip must be numeric (IPv4, IPv6, or [IPv6]).
  void connect(std::string_view ip, uint16_t port, ConnectFn fn, const ConnectOptions& opts = {});
  // host may be a name: A/AAAA lookup, then the addresses are tried in order until one connects.
  void connect_host(std::string_view host, uint16_t port, ConnectFn fn, const ConnectOptions& opts = {});

  size_t pending() const { return attempts_.size(); }

 private:
  struct Attempt;
  void finish(Attempt* a, Result<Connection*> r);
  void fail_soon(ConnectFn fn, std::string msg);

  EventLoop& loop_;
  Resolver* resolver_;
  uint64_t next_attempt_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Attempt>> attempts_;
  std::shared_ptr<bool> alive_;
};

}  // namespace msrpd::net
