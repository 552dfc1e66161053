#pragma once
// A seed config (etc/msrpd.cfg, examples/*.cfg) rewritten for one test's msrpd: no mi_fifo, the
// ctl module on a private unix socket and an HTTP port of its own (so tests can read counters with
// stats.get_statistics over JSON-RPC), optionally without use_path_addr and with extra msrp
// modparams. The rest of the file, the route above all, is kept as written.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace msrpd::itest {

struct ConfigEdits {
  bool drop_use_path_addr = false;      // Use-Path from the AUTHing connection's local socket
  std::vector<std::string> lines;       // added right after loadmodule "msrp.so", e.g. modparam(...)
  std::vector<std::string> core_lines;  // core parameters (alias=...), after the #!KAMAILIO line
  // A line of the file starting with `first` becomes `second` (a setting the file has already,
  // e.g. {"tcp_connection_lifetime=", "tcp_connection_lifetime=1"}).
  std::vector<std::pair<std::string, std::string>> replace;
};

// One rewritten config in a private directory, removed with it.
class TestConfig {
 public:
  TestConfig() = default;
  TestConfig(const TestConfig&) = delete;
  TestConfig& operator=(const TestConfig&) = delete;
  ~TestConfig() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // False (with error() saying why) when the source has no loadmodule "ctl.so" or "msrp.so".
  bool write(const std::string& source, const ConfigEdits& edits = {}) {
    char tmpl[] = "/tmp/msrpd-itest-cfgdir-XXXXXX";
    if (!::mkdtemp(tmpl)) return fail("mkdtemp");
    dir_ = tmpl;
    http_port_ = free_port();
    const std::string text = read_file(source);
    std::string out;
    bool ctl = false, msrp = false;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.find("mi_fifo") != std::string::npos) continue;
      if (line.find("modparam(\"ctl\"") != std::string::npos) continue;
      if (edits.drop_use_path_addr && line.find("\"use_path_addr\"") != std::string::npos) continue;
      // A KEMI script named relative to the config (examples/kemi/): the copy names it absolutely.
      const std::string lua = "modparam(\"app_lua\", \"load\", \"";
      if (size_t at = line.find(lua); at != std::string::npos && line[at + lua.size()] != '/')
        line.insert(at + lua.size(), source.substr(0, source.rfind('/') + 1));
      for (const auto& [prefix, with] : edits.replace)
        if (line.rfind(prefix, 0) == 0) line = with + "\n";
      out += line;
      if (line.rfind("#!KAMAILIO", 0) == 0)
        for (const auto& l : edits.core_lines) out += l + "\n";
      if (line.rfind("loadmodule \"ctl.so\"", 0) == 0) {
        ctl = true;
        out += "modparam(\"ctl\", \"binrpc\", \"unix:" + dir_ + "/ctl.sock\")\n";
        out += "modparam(\"ctl\", \"http\", \"tcp:127.0.0.1:" + std::to_string(http_port_) + "\")\n";
      }
      if (line.rfind("loadmodule \"msrp.so\"", 0) == 0) {
        msrp = true;
        for (const auto& l : edits.lines) out += l + "\n";
      }
    }
    if (!ctl || !msrp) return fail(source + ": no loadmodule \"ctl.so\" or \"msrp.so\" line");
    path_ = dir_ + "/msrpd.cfg";
    std::ofstream(path_) << out;
    return true;
  }

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  uint16_t http_port() const { return http_port_; }

  // stats.get_statistics NAME over JSON-RPC: the value ("msrp:refused_loop = 1" -> 1), -1 when the
  // control port does not answer or the counter is unknown.
  int64_t stat(const std::string& name) const {
    std::string body =
        R"({"jsonrpc":"2.0","id":1,"method":"stats.get_statistics","params":[")" + name + R"("]})";
    std::string reply = http_exchange(
        "POST /RPC HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    std::string key = "\"" + name + " = ";
    size_t at = reply.find(key);
    if (at == std::string::npos) return -1;
    at += key.size();
    size_t end = at;
    while (end < reply.size() && reply[end] >= '0' && reply[end] <= '9') ++end;
    return end == at ? -1 : std::stoll(reply.substr(at, end - at));
  }

  // The counter once it reaches `expected` (counters are bumped beside the writes, on the worker
  // threads), or its value after `timeout_ms`.
  int64_t stat_when(const std::string& name, int64_t expected, int timeout_ms = 2000) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int64_t v = stat(name);
    while (v != expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      v = stat(name);
    }
    return v;
  }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  std::string http_exchange(const std::string& request) const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(http_port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return got;
    }
    size_t off = 0;
    while (off < request.size()) {
      ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return got;
  }

  std::string dir_, path_, error_;
  uint16_t http_port_ = 0;
};

// A TCP listener on a free loopback port that accepts nothing by itself: accepted_within() says
// whether anybody connected (RFC 4976 §6: a relay must not be made to open connections for strangers).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }
  bool ok() const { return fd_ >= 0; }
  bool accepted_within(int timeout_ms) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// The session part of a relay URI: msrp://127.0.0.1:5060/SESSION;tcp -> SESSION.
inline std::string session_of(const std::string& uri) {
  size_t slash = uri.rfind('/');
  size_t semi = uri.find(';', slash);
  return uri.substr(slash + 1, semi - slash - 1);
}

}  // namespace msrpd::itest
