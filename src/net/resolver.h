#pragma once
// Resolver: asynchronous DNS on an EventLoop with c-ares. Its sockets are watched by the loop's
// epoll and its timeouts run on the loop's timers, so a lookup never blocks the worker.
// A/AAAA lookups (resolve) and SRV lookups (resolve_srv, RFC 4976 §8: "_msrps._tcp.<domain>"),
// with answers cached for their TTL (capped by ResolverOptions::max_ttl_s).
//
// Callbacks run on the loop's thread, always after the call has returned (never re-entrantly),
// exactly once per call, unless the Resolver is destroyed first (then never).
// Numeric addresses are answered without DNS. One Resolver per loop; not thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/event_loop.h"

struct ares_channeldata;  // c-ares types, kept out of this header
struct ares_addrinfo;

namespace msrpd::net {

struct ResolverOptions {
  uint32_t timeout_ms = 2000;  // per try, per server
  int tries = 2;
  std::vector<std::string> servers;  // "ip" or "ip:port"; empty = /etc/resolv.conf
  uint32_t max_ttl_s = 3600;
  size_t max_cache_entries = 10000;
};

struct SrvTarget {
  std::string host;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

class Resolver {
 public:
  using AddressesFn = std::function<void(Result<std::vector<std::string>>)>;  // numeric IPs
  using SrvFn = std::function<void(Result<std::vector<SrvTarget>>)>;

  // Start-up: fails if c-ares cannot initialise (or a server address is malformed).
  static Result<std::unique_ptr<Resolver>> create(EventLoop& loop, const ResolverOptions& opts = {});
  ~Resolver();

  // family: AF_INET, AF_INET6 or AF_UNSPEC (both). Result: at least one address, or an error.
  void resolve(std::string_view host, AddressesFn fn, int family = 0 /* AF_UNSPEC */);
  // Result: the SRV records as received (sorting by priority/weight is the caller's policy).
  void resolve_srv(std::string_view name, SrvFn fn);

  size_t cache_size() const { return addr_cache_.size() + srv_cache_.size(); }
  void clear_cache();

 private:
  struct Watch;
  struct AddrQuery;
  struct SrvQuery;
  template <typename T>
  struct Cached {
    int64_t expires = 0;
    T value;
  };

  explicit Resolver(EventLoop& loop, const ResolverOptions& opts);
  static void on_sock_state(void* data, int fd, int readable, int writable);
  static void on_addrinfo(void* arg, int status, int timeouts, ::ares_addrinfo* res);
  static void on_srv(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void process(int fd, uint32_t events);
  void schedule_timeout();
  template <typename Fn, typename V>
  void deliver(Fn fn, V value);

  EventLoop& loop_;
  ResolverOptions opts_;
  ::ares_channeldata* channel_ = nullptr;
  std::unordered_map<int, std::unique_ptr<Watch>> watches_;
  Timer timer_;
  std::shared_ptr<bool> alive_;
  std::unordered_map<std::string, Cached<std::vector<std::string>>> addr_cache_;
  std::unordered_map<std::string, Cached<std::vector<SrvTarget>>> srv_cache_;
};

}  // namespace msrpd::net
