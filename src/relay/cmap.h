#pragma once
// The connection map of the msrp module (seed §3.2 cmap_size, §4.8 msrp_cmap_save, §4.9
// msrp_cmap_lookup, §6.1 msrp.cmaplist): session id -> the client connection that AUTHed for it.
//
// Sharded: 2^size_exponent slots, each with its own mutex, chosen by a hash of the session id; a
// second set of shards indexes session ids by connection id so that closing a connection removes
// its entries without scanning the map. No global lock anywhere.
//
// Differences from Kamailio's msrp_cmap.c, on purpose:
//  - session ids carry >= 80 bits of cryptographic randomness (RFC 4975 §14.1, RFC 4976 §6.3),
//    not a predictable counter;
//  - lookup() ignores expired items (Kamailio returns them until the next timer run);
//  - remove_connection() drops the entries of a closed connection (RFC 4976 §6.3: the URI is
//    valid only on the connection that AUTHed).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

struct CmapItem {
  using Clock = std::chrono::system_clock;  // wall clock: msrp.cmaplist shows EXPIRES as a date

  uint32_t citemid = 0;    // hash of session_id (set by save())
  std::string session_id;  // the session-id of the Use-Path URI handed out
  std::string peer;        // the last From-Path URI of the AUTH
  std::string addr;        // the client's address: "msrp://ip:port" or "msrps://ip:port"
  std::string sock;        // the local socket it came in on: "tcp:ip:port"
  uint64_t conid = 0;      // the connection it came in on
  uint32_t flags = 0;
  Clock::time_point expires{};  // absolute; the item is gone at and after this time
};

class ConnectionMap {
 public:
  using Clock = CmapItem::Clock;
  static constexpr unsigned kMaxSizeExponent = 16;  // as Kamailio: at most 65536 slots
  static constexpr size_t kSessionIdChars = 20;     // 20 * log2(62) = 119 bits

  // 2^size_exponent slots (exponent capped at kMaxSizeExponent).
  explicit ConnectionMap(unsigned size_exponent);
  ~ConnectionMap();
  ConnectionMap(const ConnectionMap&) = delete;
  ConnectionMap& operator=(const ConnectionMap&) = delete;

  // A fresh session id: kSessionIdChars characters of [A-Za-z0-9] from a CSPRNG (URI-safe: the
  // session-id ABNF of RFC 4975 §9 allows unreserved characters).
  static std::string new_session_id();

  // The hash used for citemid and for choosing the slot.
  static uint32_t citemid_of(std::string_view session_id);

  // Inserts the item, or replaces the item of the same session id. Computes item.citemid.
  void save(CmapItem item);

  // A copy of the item with this session id if it exists and has not expired at `now`.
  std::optional<CmapItem> lookup(std::string_view session_id, Clock::time_point now) const;
  // The same into a caller-kept item (its strings' capacity is reused: no allocation once warm);
  // `out` is untouched when false is returned.
  bool lookup_into(std::string_view session_id, Clock::time_point now, CmapItem& out) const;

  // The session id of the live item saved for this connection and this peer (the last From-Path
  // URI of its AUTH), into `session_id`; false if none. A client that AUTHs again on the same
  // connection before Expires refreshes its session instead of getting a second one (RFC 4976
  // §6.3 binds the URI to that connection; AG msrprelay refreshes the same way).
  // Costs one slot lock per item of the connection (a relay peer AUTHing for many clients has
  // many); AUTHs only, never per frame.
  bool find_session(uint64_t conid, std::string_view peer, Clock::time_point now,
                    std::string& session_id) const;

  // Removes the item of this session id; true if there was one.
  bool remove(std::string_view session_id);
  // Removes every item saved for this connection (call when it closes); returns how many. The
  // caller orders this after any save() for the same connection (the connection's owner worker
  // does both): a save() after the close would store an item for a dead connection, which then
  // lives until it expires.
  size_t remove_connection(uint64_t conid);
  // Removes the items expired at `now` (the timer, every timer_interval); returns how many.
  size_t clean(Clock::time_point now);

  struct Snapshot {
    size_t slots = 0;
    std::vector<CmapItem> items;  // slot by slot, each slot ordered by session id
  };
  Snapshot list() const;  // for msrp.cmaplist

  size_t size() const;  // items now, expired or not
  size_t slots() const { return slot_count_; }

 private:
  struct Slot;
  struct ConnShard;

  Slot& slot_for(uint32_t citemid) const;
  ConnShard& shard_for(uint64_t conid) const;
  void unindex(uint64_t conid, const std::string& session_id);

  size_t slot_count_;
  size_t conn_shard_count_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<ConnShard[]> conn_shards_;
  std::atomic<size_t> count_{0};
};

}  // namespace msrpd::relay
