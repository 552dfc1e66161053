#pragma once
// AddressIndex: every open connection of the process by (transport, peer ip, peer port), so that
// a frame relayed to an address (msrp_set_dst, or the next To-Path URI) reuses a connection that
// another worker owns (RFC 4975 §5.4: reuse a connection to the same host, port and scheme; seed
// send flag 1: never open a new one). A connection is recorded a second time with its local
// address, for msrp_set_dst's sock: the route chose where traffic leaves from, and a connection
// from another local address does not do. Sharded: a mutex per shard, no global lock.

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace msrpd::relay {

class AddressIndex {
 public:
  // Records conid as the connection to use for that address (the newest one wins), and, with
  // local_ip, for that address from that local address.
  void add(bool tls, std::string_view ip, uint16_t port, uint64_t conid, std::string_view local_ip = {});
  // Forgets conid (only if it is still the one recorded for the address).
  void remove(bool tls, std::string_view ip, uint16_t port, uint64_t conid, std::string_view local_ip = {});
  // The connection to that address (from local_ip when given), 0 if none.
  uint64_t find(bool tls, std::string_view ip, uint16_t port, std::string_view local_ip = {}) const;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, uint64_t> by_addr;
  };
  // "t|ip|port" or "t|ip|port|local": built in a thread-local buffer, so a lookup allocates
  // nothing once warm.
  static const std::string& key(bool tls, std::string_view ip, uint16_t port, std::string_view local_ip);
  Shard& shard_of(const std::string& k) const { return shards_[std::hash<std::string>{}(k) % kShards]; }
  void add_key(const std::string& k, uint64_t conid);
  void remove_key(const std::string& k, uint64_t conid);
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace msrpd::relay
