#include "relay/address_index.h"

#include <charconv>

namespace msrpd::relay {

const std::string& AddressIndex::key(bool tls, std::string_view ip, uint16_t port,
                                     std::string_view local_ip) {
  thread_local std::string k;
  k.clear();
  k.push_back(tls ? 's' : 't');
  k.append(ip);
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof(buf), port);
  k.push_back('|');
  k.append(buf, r.ptr);
  if (!local_ip.empty()) k.append("|").append(local_ip);
  return k;
}

void AddressIndex::add_key(const std::string& k, uint64_t conid) {
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  s.by_addr[k] = conid;
}

void AddressIndex::remove_key(const std::string& k, uint64_t conid) {
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  auto it = s.by_addr.find(k);
  if (it == s.by_addr.end() || it->second != conid) return;
  s.by_addr.erase(it);
  // Empty again: the buckets go too (made by a worker somewhere in its heap, they pinned a page
  // each after the load: see ConnectionMap's erase_list).
  if (s.by_addr.empty()) decltype(s.by_addr)().swap(s.by_addr);
}

void AddressIndex::add(bool tls, std::string_view ip, uint16_t port, uint64_t conid,
                       std::string_view local_ip) {
  add_key(key(tls, ip, port, {}), conid);
  if (!local_ip.empty()) add_key(key(tls, ip, port, local_ip), conid);
}

void AddressIndex::remove(bool tls, std::string_view ip, uint16_t port, uint64_t conid,
                          std::string_view local_ip) {
  remove_key(key(tls, ip, port, {}), conid);
  if (!local_ip.empty()) remove_key(key(tls, ip, port, local_ip), conid);
}

uint64_t AddressIndex::find(bool tls, std::string_view ip, uint16_t port, std::string_view local_ip) const {
  const std::string& k = key(tls, ip, port, local_ip);
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  auto it = s.by_addr.find(k);
  return it == s.by_addr.end() ? 0 : it->second;
}

}  // namespace msrpd::relay
