#include "relay/address_index.h"

#include <charconv>

namespace msrpd::relay {

const std::string& AddressIndex::key(bool tls, std::string_view ip, uint16_t port) {
  thread_local std::string k;
  k.clear();
  k.push_back(tls ? 's' : 't');
  k.append(ip);
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof(buf), port);
  k.push_back('|');
  k.append(buf, r.ptr);
  return k;
}

void AddressIndex::add(bool tls, std::string_view ip, uint16_t port, uint64_t conid) {
  const std::string& k = key(tls, ip, port);
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  s.by_addr[k] = conid;
}

void AddressIndex::remove(bool tls, std::string_view ip, uint16_t port, uint64_t conid) {
  const std::string& k = key(tls, ip, port);
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  auto it = s.by_addr.find(k);
  if (it != s.by_addr.end() && it->second == conid) s.by_addr.erase(it);
}

uint64_t AddressIndex::find(bool tls, std::string_view ip, uint16_t port) const {
  const std::string& k = key(tls, ip, port);
  Shard& s = shard_of(k);
  std::lock_guard lock(s.mu);
  auto it = s.by_addr.find(k);
  return it == s.by_addr.end() ? 0 : it->second;
}

}  // namespace msrpd::relay
