#pragma once
// A DNS server for the net tests: UDP on 127.0.0.1 (an ephemeral port), on the test's loop. It
// answers SRV and A questions from its tables (NOERROR without answers for a known name asked for
// another type, NXDOMAIN for an unknown one) and counts the questions it was asked, so a test can
// say "no DNS query was made". silent = true: it reads the questions and never answers.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ascii.h"
#include "net/event_loop.h"
#include "net/resolver.h"

namespace msrpd::net::testing {

class FakeDns final : IoHandler {
 public:
  static constexpr uint16_t kA = 1, kAaaa = 28, kSrv = 33;

  explicit FakeDns(EventLoop& loop) : loop_(loop) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_TRUE(loop_.add(fd_, EPOLLIN, this).ok());
  }
  ~FakeDns() override {
    loop_.remove(fd_);
    ::close(fd_);
  }

  // For ResolverOptions::servers.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  ResolverOptions options() const {
    ResolverOptions o;
    o.timeout_ms = 300;
    o.tries = 1;
    o.servers = {server()};
    return o;
  }

  void add_srv(const std::string& name, SrvTarget t) { srv_[name].push_back(std::move(t)); }
  void add_a(const std::string& name, const std::string& ip) { a_[name].push_back(ip); }
  bool silent = false;

  int questions() const { return static_cast<int>(asked_.size()); }
  // How often `name` was asked for `type`.
  int asked(const std::string& name, uint16_t type) const {
    int n = 0;
    for (auto& [q, t] : asked_) n += q == name && t == type;
    return n;
  }
  int asked_type(uint16_t type) const {
    int n = 0;
    for (auto& q : asked_) n += q.second == type;
    return n;
  }

 private:
  void on_io(uint32_t) override {
    unsigned char buf[1500];
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t n;
    while ((n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen)) > 0) {
      std::vector<unsigned char> reply = answer(buf, static_cast<size_t>(n));
      if (!silent && !reply.empty())
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
      flen = sizeof from;
    }
  }

  static void put16(std::vector<unsigned char>& out, unsigned v) {
    out.push_back(static_cast<unsigned char>(v >> 8));
    out.push_back(static_cast<unsigned char>(v));
  }
  static void put_name(std::vector<unsigned char>& out, const std::string& name) {
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out.push_back(static_cast<unsigned char>(dot - start));
      out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    out.push_back(0);
  }

  std::vector<unsigned char> answer(const unsigned char* q, size_t len) {
    if (len < 12) return {};
    size_t p = 12;
    std::string name;
    while (p < len && q[p] != 0) {
      size_t l = q[p++];
      if (p + l > len) return {};
      if (!name.empty()) name.push_back('.');
      for (size_t i = 0; i < l; ++i) name.push_back(ascii::lower(static_cast<char>(q[p + i])));
      p += l;
    }
    if (p + 5 > len) return {};
    ++p;  // the root label
    uint16_t type = static_cast<uint16_t>((q[p] << 8) | q[p + 1]);
    p += 4;  // type, class
    asked_.emplace_back(name, type);

    std::vector<unsigned char> out(q, q + 2);  // the id
    bool known = srv_.count(name) || a_.count(name);
    put16(out, known ? 0x8180 : 0x8183);  // response, RD, RA; NOERROR or NXDOMAIN
    put16(out, 1);
    size_t ancount_at = out.size();
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    out.insert(out.end(), q + 12, q + p);  // the question as asked
    unsigned answers = 0;
    auto record = [&](uint16_t rtype, const std::vector<unsigned char>& rdata) {
      put16(out, 0xc00c);  // the question's name
      put16(out, rtype);
      put16(out, 1);  // IN
      put16(out, 0);  // TTL 0: nothing cached between the steps of a test
      put16(out, 0);
      put16(out, static_cast<unsigned>(rdata.size()));
      out.insert(out.end(), rdata.begin(), rdata.end());
      ++answers;
    };
    if (type == kSrv && srv_.count(name)) {
      for (const SrvTarget& t : srv_[name]) {
        std::vector<unsigned char> rd;
        put16(rd, t.priority);
        put16(rd, t.weight);
        put16(rd, t.port);
        put_name(rd, t.host);
        record(kSrv, rd);
      }
    }
    if (type == kA && a_.count(name)) {
      for (const std::string& ip : a_[name]) {
        std::vector<unsigned char> rd(4);
        ::inet_pton(AF_INET, ip.c_str(), rd.data());
        record(kA, rd);
      }
    }
    out[ancount_at] = static_cast<unsigned char>(answers >> 8);
    out[ancount_at + 1] = static_cast<unsigned char>(answers);
    return out;
  }

  EventLoop& loop_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::map<std::string, std::vector<SrvTarget>> srv_;
  std::map<std::string, std::vector<std::string>> a_;
  std::vector<std::pair<std::string, uint16_t>> asked_;
};

}  // namespace msrpd::net::testing
