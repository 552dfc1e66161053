#pragma once
// OwnUris: the authorities (host and port) this relay answers to, for RFC 4976 §6.2: a request
// whose first To-Path URI is not one of them is not for this relay, and a next hop that is one of
// them is this relay itself (routed inside the process, never over a connection to itself).
//
// Built once at start (after the listeners are bound), read by every worker without a lock:
//  - each listen address with its port; a wildcard listen (0.0.0.0, ::) stands for every address
//    of the machine's interfaces and for the local address a connection arrived on;
//  - names from the config (alias=, listen ... advertise, use_path_addr) and the dNSName entries of
//    the TLS certificate: with a port, that port; without, every listen port;
//  - the machine's host name, on every listen port (Kamailio's auto_aliases), and "localhost" on
//    the ports of loopback and wildcard listens (RFC 6761 §6.3).
// Hosts compare case-insensitively, IPv6 without brackets; a URI without a port means 2855
// (RFC 4976 §8). The scheme and the session part do not matter here.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

class OwnUris {
 public:
  OwnUris() = default;
  // Start-up only (the learned names are not carried over).
  OwnUris& operator=(OwnUris&& o) noexcept {
    entries_ = std::move(o.entries_);
    listen_ports_ = std::move(o.listen_ports_);
    wildcard_ports_ = std::move(o.wildcard_ports_);
    return *this;
  }
  static constexpr uint16_t kDefaultPort = 2855;

  // A listen address after binding ("0.0.0.0" / "::" for a wildcard).
  void add_listen(std::string_view ip, uint16_t port);
  // A name or address of the relay's, "host", "host:port", "[v6]:port" or "msrp://host:port"
  // (use_path_addr's forms). Without a port: every listen port (add names after the listens).
  void add_name(std::string_view text);
  // The interfaces' addresses for the wildcard listens (getifaddrs) and the host name.
  void add_machine_addresses();

  // A name the route itself hands out as this relay's (a Use-Path written by the script, as the
  // seed's Example 1.17 does): taken as one of its names from now on. Any thread; true if new.
  bool learn(std::string_view host, uint16_t port);

  // Is host:port (host as written in a URI, brackets allowed) one of this relay's? local_ip: the
  // address the frame's connection arrived on (a wildcard listen's port matches it).
  bool is_own(std::string_view host, uint16_t port, std::string_view local_ip) const;
  // The same for an MSRP URI's authority; false for a URI that does not parse.
  bool is_own_uri(std::string_view uri, std::string_view local_ip) const;

  size_t size() const { return entries_.size(); }
  std::string describe() const;  // "127.0.0.1:2855 relay.example.net:2855 ..." (start-up log)

 private:
  struct Entry {
    std::string host;  // lower case, no brackets; empty: a wildcard listen (any local address)
    uint16_t port;
  };
  void add(std::string_view host, uint16_t port);
  bool is_learned(std::string_view host, uint16_t port) const;
  std::vector<Entry> entries_;
  // Learned at run time (learn()): rare, behind a lock; the static entries are read without one.
  mutable std::mutex learned_mutex_;
  std::vector<Entry> learned_;
  std::atomic<bool> any_learned_{false};
  std::vector<uint16_t> listen_ports_;
  std::vector<uint16_t> wildcard_ports_;
};

// The authority of an MSRP URI: "msrp://host:port/session;tcp" -> host (brackets kept) and port
// (kDefaultPort when absent). False when there is no host or the port is not a number 1-65535.
bool uri_authority(std::string_view uri, std::string_view& host, uint16_t& port);
// The session part of an MSRP URI ("" when none): between the '/' after the authority and ';'.
std::string_view uri_session(std::string_view uri);

}  // namespace msrpd::relay
