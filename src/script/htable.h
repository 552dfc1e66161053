#pragma once
// The htable module's shared hash tables ($sht, $shtex, sht_rm): 2^size slots, a mutex per slot,
// items with their own expiry (autoexpire for new items, $shtex to change it).
// Shared by all workers; every method is thread-safe.

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "script/config.h"
#include "script/value.h"

namespace msrpd::script {

class HTable {
 public:
  explicit HTable(const HtableDef& def);

  const HtableDef& def() const { return def_; }
  // The item's value (owned), or null when absent or expired.
  Val get(std::string_view key, time_t now) const;
  // Stores the value (a null value removes the item). New items get autoexpire.
  void set(std::string_view key, const Val& v, time_t now);
  // $shtex: seconds to live from now (0 = never expires); no-op when the item is absent.
  void set_expire(std::string_view key, int64_t seconds, time_t now);
  // Seconds left (0 = never expires / absent).
  int64_t expire_in(std::string_view key, time_t now) const;
  bool remove(std::string_view key);
  // Drops expired items; returns how many.
  size_t clean(time_t now);

  struct Item {
    std::string key;
    Val value;
    time_t expires = 0;
  };
  std::vector<Item> dump(time_t now) const;
  // The table's whole content becomes `items` (htable.reload, the load at start): built aside,
  // then swapped in slot by slot, each under its lock, so a route waits at most for one slot's
  // swap and reads either the old or the new item of a key. An item's expires 0 gets autoexpire
  // from now (as a new item does); a later duplicate key wins. Returns how many items it holds.
  size_t replace(std::vector<Item> items, time_t now);
  // The slot a key lives in (htable.dump groups items by slot).
  uint32_t slot_index(std::string_view key) const {
    return static_cast<uint32_t>(std::hash<std::string_view>{}(key)&mask_);
  }

 private:
  struct Stored {
    bool is_int = false;
    int64_t i = 0;
    std::string s;
    time_t expires = 0;  // 0 = never
  };
  // Heterogeneous lookup: a find by string_view allocates nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Slot {
    mutable std::mutex mu;
    std::unordered_map<std::string, Stored, KeyHash, std::equal_to<>> items;
  };
  Slot& slot(std::string_view key) const;
  static bool expired(const Stored& s, time_t now) { return s.expires != 0 && s.expires <= now; }

  HtableDef def_;
  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
};

}  // namespace msrpd::script
