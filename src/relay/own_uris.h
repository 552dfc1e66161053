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
//  - the machine's host name, on every listen port (Kamailio's auto_aliases).
// Hosts compare case-insensitively, IPv6 without brackets; a URI without a port means 2855
// (RFC 4976 §8). The scheme and the session part do not matter here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

class OwnUris {
 public:
  static constexpr uint16_t kDefaultPort = 2855;

  // A listen address after binding ("0.0.0.0" / "::" for a wildcard).
  void add_listen(std::string_view ip, uint16_t port);
  // A name or address of the relay's, "host", "host:port", "[v6]:port" or "msrp://host:port"
  // (use_path_addr's forms). Without a port: every listen port (add names after the listens).
  void add_name(std::string_view text);
  // The interfaces' addresses for the wildcard listens (getifaddrs) and the host name.
  void add_machine_addresses();

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
  std::vector<Entry> entries_;
  std::vector<uint16_t> listen_ports_;
  std::vector<uint16_t> wildcard_ports_;
};

// The authority of an MSRP URI: "msrp://host:port/session;tcp" -> host (brackets kept) and port
// (kDefaultPort when absent). False when there is no host or the port is not a number 1-65535.
bool uri_authority(std::string_view uri, std::string_view& host, uint16_t& port);
// The session part of an MSRP URI ("" when none): between the '/' after the authority and ';'.
std::string_view uri_session(std::string_view uri);

}  // namespace msrpd::relay
