#include "relay/cmap.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/random.h"

namespace msrpd::relay {

struct ConnectionMap::Slot {
  mutable std::mutex mutex;
  std::map<std::string, CmapItem, std::less<>> items;  // by session id
};

struct ConnectionMap::ConnShard {
  std::mutex mutex;
  // conid -> the session ids saved for it. May hold ids whose item has since gone or moved to
  // another connection; removal checks the item's conid, so those are harmless.
  std::unordered_map<uint64_t, std::vector<std::string>> by_conn;
};

// Lock order, everywhere: a ConnShard mutex before a Slot mutex, and never two of a kind.

namespace {

constexpr size_t kMinConnShards = 16;

// A shard's index left empty gives its buckets back: a worker's thread made them, somewhere in
// its heap, when the first connection of the shard saved; kept, each pinned a page of that heap
// long after the load (the soak, bench/soak.sh: hundreds of 104-byte bucket arrays, ~2 MB of RSS).
template <class Map, class It>
void erase_list(Map& shard, It list) {
  shard.by_conn.erase(list);
  if (shard.by_conn.empty()) decltype(shard.by_conn)().swap(shard.by_conn);
}

bool expired(const CmapItem& item, CmapItem::Clock::time_point now) {
  return item.expires <= now;
}

void assign(CmapItem& out, const CmapItem& in) {
  out.citemid = in.citemid;
  out.session_id.assign(in.session_id);
  out.peer.assign(in.peer);
  out.addr.assign(in.addr);
  out.sock.assign(in.sock);
  out.conid = in.conid;
  out.flags = in.flags;
  out.expires = in.expires;
}

}  // namespace

ConnectionMap::ConnectionMap(unsigned size_exponent)
    : slot_count_(size_t{1} << std::min(size_exponent, kMaxSizeExponent)),
      conn_shard_count_(std::max(slot_count_, kMinConnShards)),
      slots_(new Slot[slot_count_]),
      conn_shards_(new ConnShard[conn_shard_count_]) {}

ConnectionMap::~ConnectionMap() = default;

std::string ConnectionMap::new_session_id() {
  return common::random_token(kSessionIdChars);
}

uint32_t ConnectionMap::citemid_of(std::string_view session_id) {
  // FNV-1a, case-sensitive: session ids compare case-sensitively (RFC 4975 §6.1).
  uint32_t h = 2166136261u;
  for (unsigned char c : session_id) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

ConnectionMap::Slot& ConnectionMap::slot_for(uint32_t citemid) const {
  return slots_[citemid & (slot_count_ - 1)];
}

ConnectionMap::ConnShard& ConnectionMap::shard_for(uint64_t conid) const {
  uint64_t h = conid * 0x9E3779B97F4A7C15ull;  // spread sequential ids over the shards
  return conn_shards_[(h >> 32) & (conn_shard_count_ - 1)];
}

void ConnectionMap::save(CmapItem item) {
  item.citemid = citemid_of(item.session_id);
  ConnShard& shard = shard_for(item.conid);
  Slot& slot = slot_for(item.citemid);
  std::lock_guard<std::mutex> shard_lock(shard.mutex);
  std::lock_guard<std::mutex> slot_lock(slot.mutex);
  std::vector<std::string>& ids = shard.by_conn[item.conid];
  if (std::find(ids.begin(), ids.end(), item.session_id) == ids.end()) ids.push_back(item.session_id);
  auto it = slot.items.find(item.session_id);
  if (it != slot.items.end()) {
    it->second = std::move(item);
  } else {
    std::string key = item.session_id;
    slot.items.emplace(std::move(key), std::move(item));
    count_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool ConnectionMap::lookup_into(std::string_view session_id, Clock::time_point now, CmapItem& out) const {
  Slot& slot = slot_for(citemid_of(session_id));
  std::lock_guard<std::mutex> lock(slot.mutex);
  auto it = slot.items.find(session_id);
  if (it == slot.items.end() || expired(it->second, now)) return false;
  assign(out, it->second);
  return true;
}

std::optional<CmapItem> ConnectionMap::lookup(std::string_view session_id, Clock::time_point now) const {
  Slot& slot = slot_for(citemid_of(session_id));
  std::lock_guard<std::mutex> lock(slot.mutex);
  auto it = slot.items.find(session_id);
  if (it == slot.items.end() || expired(it->second, now)) return std::nullopt;
  return it->second;
}

bool ConnectionMap::find_session(uint64_t conid, std::string_view peer, Clock::time_point now,
                                 std::string& session_id) const {
  ConnShard& shard = shard_for(conid);
  std::lock_guard<std::mutex> shard_lock(shard.mutex);
  auto list = shard.by_conn.find(conid);
  if (list == shard.by_conn.end()) return false;
  for (const std::string& id : list->second) {
    Slot& slot = slot_for(citemid_of(id));
    std::lock_guard<std::mutex> slot_lock(slot.mutex);
    auto it = slot.items.find(id);
    // The index may hold ids that moved to another connection or expired: check the item.
    if (it == slot.items.end() || it->second.conid != conid || expired(it->second, now)) continue;
    if (it->second.peer != peer) continue;
    session_id.assign(id);
    return true;
  }
  return false;
}

void ConnectionMap::unindex(uint64_t conid, const std::string& session_id) {
  ConnShard& shard = shard_for(conid);
  Slot& slot = slot_for(citemid_of(session_id));
  std::lock_guard<std::mutex> shard_lock(shard.mutex);
  auto list = shard.by_conn.find(conid);
  if (list == shard.by_conn.end()) return;
  {
    // Saved again for the same connection since it was removed: the index entry is live.
    std::lock_guard<std::mutex> slot_lock(slot.mutex);
    auto it = slot.items.find(session_id);
    if (it != slot.items.end() && it->second.conid == conid) return;
  }
  std::vector<std::string>& ids = list->second;
  auto pos = std::find(ids.begin(), ids.end(), session_id);
  if (pos != ids.end()) {
    *pos = std::move(ids.back());
    ids.pop_back();
  }
  if (ids.empty()) erase_list(shard, list);
}

bool ConnectionMap::remove(std::string_view session_id) {
  Slot& slot = slot_for(citemid_of(session_id));
  std::string id;
  uint64_t conid = 0;
  {
    std::lock_guard<std::mutex> lock(slot.mutex);
    auto it = slot.items.find(session_id);
    if (it == slot.items.end()) return false;
    conid = it->second.conid;
    id = it->first;
    slot.items.erase(it);
    count_.fetch_sub(1, std::memory_order_relaxed);
  }
  unindex(conid, id);
  return true;
}

size_t ConnectionMap::remove_connection(uint64_t conid) {
  ConnShard& shard = shard_for(conid);
  std::lock_guard<std::mutex> shard_lock(shard.mutex);
  auto list = shard.by_conn.find(conid);
  if (list == shard.by_conn.end()) return 0;
  size_t removed = 0;
  for (const std::string& id : list->second) {
    Slot& slot = slot_for(citemid_of(id));
    std::lock_guard<std::mutex> slot_lock(slot.mutex);
    auto it = slot.items.find(id);
    if (it != slot.items.end() && it->second.conid == conid) {
      slot.items.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
      ++removed;
    }
  }
  erase_list(shard, list);
  return removed;
}

size_t ConnectionMap::clean(Clock::time_point now) {
  size_t removed = 0;
  std::vector<std::pair<uint64_t, std::string>> gone;
  for (size_t s = 0; s < slot_count_; ++s) {
    Slot& slot = slots_[s];
    {
      std::lock_guard<std::mutex> lock(slot.mutex);
      for (auto it = slot.items.begin(); it != slot.items.end();) {
        if (expired(it->second, now)) {
          gone.emplace_back(it->second.conid, it->first);
          it = slot.items.erase(it);
          count_.fetch_sub(1, std::memory_order_relaxed);
          ++removed;
        } else {
          ++it;
        }
      }
    }
    // Index entries are dropped outside the slot lock (lock order: shard before slot).
    for (const auto& [conid, id] : gone) unindex(conid, id);
    gone.clear();
  }
  return removed;
}

ConnectionMap::Snapshot ConnectionMap::list() const {
  Snapshot snap;
  snap.slots = slot_count_;
  snap.items.reserve(size());
  for (size_t s = 0; s < slot_count_; ++s) {
    std::lock_guard<std::mutex> lock(slots_[s].mutex);
    for (const auto& [id, item] : slots_[s].items) snap.items.push_back(item);
  }
  return snap;
}

size_t ConnectionMap::size() const {
  return count_.load(std::memory_order_relaxed);
}

}  // namespace msrpd::relay
