#include "net/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "common/host_port.h"
#include "net/address.h"

namespace msrpd::net {

namespace {
std::once_flag g_ares_init;

unsigned be16(const unsigned char* p) {
  return (unsigned{p[0]} << 8) | p[1];
}
uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The smallest TTL of the answer records (c-ares' SRV parser does not return TTLs).
int min_answer_ttl(const unsigned char* abuf, int alen) {
  if (alen < HFIXEDSZ) return 0;
  int qd = static_cast<int>(be16(abuf + 4));
  int an = static_cast<int>(be16(abuf + 6));
  const unsigned char* p = abuf + HFIXEDSZ;
  const unsigned char* end = abuf + alen;
  for (int i = 0; i < qd; ++i) {
    char* name = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) return 0;
    ares_free_string(name);
    p += len + QFIXEDSZ;
    if (p > end) return 0;
  }
  int ttl = -1;
  for (int i = 0; i < an; ++i) {
    char* name = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) break;
    ares_free_string(name);
    p += len;
    if (p + RRFIXEDSZ > end) break;
    int t = static_cast<int>(be32(p + 4) & 0x7fffffff);
    int rdlen = static_cast<int>(be16(p + 8));
    p += RRFIXEDSZ + rdlen;
    if (t >= 0 && (ttl < 0 || t < ttl)) ttl = t;
    if (p > end) break;
  }
  return ttl < 0 ? 0 : ttl;
}
}  // namespace

struct Resolver::Watch final : IoHandler {
  Resolver* resolver;
  int fd;
  bool registered = false;
  Watch(Resolver* r, int f) : resolver(r), fd(f) {}
  void on_io(uint32_t events) override { resolver->process(fd, events); }
};

struct Resolver::AddrQuery {
  Resolver* self;
  std::string key;
  std::string host;
  int family;
  AddressesFn fn;
};

struct Resolver::SrvQuery {
  Resolver* self;
  std::string name;
  SrvFn fn;
};

Result<std::unique_ptr<Resolver>> Resolver::create(EventLoop& loop, const ResolverOptions& opts) {
  std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  std::unique_ptr<Resolver> r(new Resolver(loop, opts));
  ares_options o{};
  o.timeout = static_cast<int>(opts.timeout_ms);
  o.tries = std::max(1, opts.tries);
  o.sock_state_cb = reinterpret_cast<ares_sock_state_cb>(&Resolver::on_sock_state);
  o.sock_state_cb_data = r.get();
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  ares_channel ch = nullptr;
  int st = ares_init_options(&ch, &o, mask);
  if (st != ARES_SUCCESS) return make_error(0, std::string("c-ares init: ") + ares_strerror(st));
  r->channel_ = ch;
  if (!opts.servers.empty()) {
    std::string csv;
    for (auto& s : opts.servers) csv += (csv.empty() ? "" : ",") + s;
    st = ares_set_servers_ports_csv(ch, csv.c_str());
    if (st != ARES_SUCCESS) return make_error(0, "c-ares servers '" + csv + "': " + ares_strerror(st));
  }
  return r;
}

Resolver::Resolver(EventLoop& loop, const ResolverOptions& opts)
    : loop_(loop),
      opts_(opts),
      timer_(loop, [this] { process(-1, 0); }),
      alive_(std::make_shared<bool>(true)) {}

Resolver::~Resolver() {
  *alive_ = false;  // callbacks fired by ares_destroy (ARES_EDESTRUCTION) are dropped
  if (channel_) ares_destroy(channel_);
  for (auto& [fd, w] : watches_)
    if (w->registered) loop_.remove(fd);
}

void Resolver::clear_cache() {
  addr_cache_.clear();
  srv_cache_.clear();
}

void Resolver::on_sock_state(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  auto& w = self->watches_[fd];
  if (!w) w = std::make_unique<Watch>(self, fd);
  uint32_t ev = (readable ? uint32_t{EPOLLIN} : 0u) | (writable ? uint32_t{EPOLLOUT} : 0u);
  if (ev == 0) {
    if (w->registered) self->loop_.remove(fd);
    w->registered = false;  // the Watch object stays (it may be running on_io right now)
  } else if (w->registered) {
    (void)self->loop_.modify(fd, ev);
  } else {
    w->registered = self->loop_.add(fd, ev, w.get()).ok();
  }
}

void Resolver::process(int fd, uint32_t events) {
  int bad = ARES_SOCKET_BAD;
  int rfd = (fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) ? fd : bad;
  int wfd = (fd >= 0 && (events & EPOLLOUT)) ? fd : bad;
  ares_process_fd(channel_, rfd, wfd);
  schedule_timeout();
}

void Resolver::schedule_timeout() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv)) {
    auto ms = static_cast<uint32_t>(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
    timer_.start(ms);
  } else {
    timer_.cancel();
  }
}

template <typename Fn, typename V>
void Resolver::deliver(Fn fn, V value) {
  // Always through the inbox: the caller's stack is never re-entered.
  loop_.post([alive = alive_, fn = std::move(fn), value = std::move(value)]() mutable {
    if (*alive) fn(std::move(value));
  });
}

void Resolver::resolve(std::string_view host, AddressesFn fn, int family) {
  host = strip_brackets(host);
  if (auto a = SockAddr::parse(host, 0)) {
    if (family != AF_UNSPEC && family != a->family()) {
      deliver(std::move(fn), Result<std::vector<std::string>>(make_error(0, "address family mismatch")));
    } else {
      deliver(std::move(fn), Result<std::vector<std::string>>(std::vector<std::string>{a->ip()}));
    }
    return;
  }
  std::string key = std::to_string(family) + "/" + std::string(host);
  if (auto it = addr_cache_.find(key); it != addr_cache_.end()) {
    if (it->second.expires > loop_.now()) {
      deliver(std::move(fn), Result<std::vector<std::string>>(it->second.value));
      return;
    }
    addr_cache_.erase(it);
  }
  auto* q = new AddrQuery{this, std::move(key), std::string(host), family, std::move(fn)};
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(channel_, q->host.c_str(), nullptr, &hints, &Resolver::on_addrinfo, q);
  schedule_timeout();
}

void Resolver::on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
  std::unique_ptr<AddrQuery> q(static_cast<AddrQuery*>(arg));
  Resolver* self = q->self;
  if (status == ARES_EDESTRUCTION || !*self->alive_) {
    if (res) ares_freeaddrinfo(res);
    return;
  }
  std::vector<std::string> ips;
  int ttl = -1;
  if (status == ARES_SUCCESS && res) {
    for (ares_addrinfo_node* n = res->nodes; n; n = n->ai_next) {
      std::string ip = SockAddr::from(n->ai_addr, n->ai_addrlen).ip();
      if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
      if (ttl < 0 || n->ai_ttl < ttl) ttl = n->ai_ttl;
    }
  }
  if (res) ares_freeaddrinfo(res);
  if (ips.empty() && q->host == "localhost") {
    // RFC 6761 §6.3: "localhost" is the loopback, whether or not /etc/hosts says so.
    if (q->family != AF_INET6) ips.push_back("127.0.0.1");
    if (q->family != AF_INET) ips.push_back("::1");
    ttl = 0;
  }
  if (ips.empty()) {
    std::string msg =
        "resolve " + q->host + ": " + ares_strerror(status == ARES_SUCCESS ? ARES_ENODATA : status);
    self->deliver(std::move(q->fn), Result<std::vector<std::string>>(make_error(0, std::move(msg))));
    return;
  }
  if (ttl > 0) {
    if (self->addr_cache_.size() >= self->opts_.max_cache_entries) self->addr_cache_.clear();
    int64_t life = std::min<int64_t>(ttl, self->opts_.max_ttl_s) * 1000;
    self->addr_cache_[q->key] = {self->loop_.now() + life, ips};
  }
  self->deliver(std::move(q->fn), Result<std::vector<std::string>>(std::move(ips)));
}

void Resolver::resolve_srv(std::string_view name, SrvFn fn) {
  std::string n(name);
  if (auto it = srv_cache_.find(n); it != srv_cache_.end()) {
    if (it->second.expires > loop_.now()) {
      deliver(std::move(fn), Result<std::vector<SrvTarget>>(it->second.value));
      return;
    }
    srv_cache_.erase(it);
  }
  auto* q = new SrvQuery{this, std::move(n), std::move(fn)};
  ares_query(channel_, q->name.c_str(), ns_c_in, ns_t_srv, &Resolver::on_srv, q);
  schedule_timeout();
}

void Resolver::on_srv(void* arg, int status, int, unsigned char* abuf, int alen) {
  std::unique_ptr<SrvQuery> q(static_cast<SrvQuery*>(arg));
  Resolver* self = q->self;
  if (status == ARES_EDESTRUCTION || !*self->alive_) return;
  std::vector<SrvTarget> out;
  if (status == ARES_SUCCESS) {
    ares_srv_reply* srv = nullptr;
    status = ares_parse_srv_reply(abuf, alen, &srv);
    if (status == ARES_SUCCESS) {
      for (ares_srv_reply* s = srv; s; s = s->next) out.push_back({s->host, s->port, s->priority, s->weight});
      ares_free_data(srv);
    }
  }
  if (out.empty()) {
    std::string msg = "SRV " + q->name + ": " + ares_strerror(status == ARES_SUCCESS ? ARES_ENODATA : status);
    self->deliver(std::move(q->fn), Result<std::vector<SrvTarget>>(make_error(0, std::move(msg))));
    return;
  }
  int ttl = min_answer_ttl(abuf, alen);
  if (ttl > 0) {
    if (self->srv_cache_.size() >= self->opts_.max_cache_entries) self->srv_cache_.clear();
    int64_t life = std::min<int64_t>(ttl, self->opts_.max_ttl_s) * 1000;
    self->srv_cache_[q->name] = {self->loop_.now() + life, out};
  }
  self->deliver(std::move(q->fn), Result<std::vector<SrvTarget>>(std::move(out)));
}

}  // namespace msrpd::net
