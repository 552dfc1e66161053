#include "script/htable.h"

#include <functional>

namespace msrpd::script {

HTable::HTable(const HtableDef& def) : def_(def) {
  int bits = def.size < 1 ? 1 : (def.size > 16 ? 16 : def.size);
  size_t n = size_t{1} << bits;
  slots_ = std::make_unique<Slot[]>(n);
  mask_ = n - 1;
}

HTable::Slot& HTable::slot(std::string_view key) const {
  return slots_[std::hash<std::string_view>{}(key)&mask_];
}

Val HTable::get(std::string_view key, time_t now) const {
  Slot& s = slot(key);
  std::lock_guard lock(s.mu);
  auto it = s.items.find(key);
  if (it == s.items.end() || expired(it->second, now)) return Val::null();
  return it->second.is_int ? Val::of_int(it->second.i) : Val::of_string(it->second.s);
}

void HTable::set(std::string_view key, const Val& v, time_t now) {
  Slot& s = slot(key);
  std::lock_guard lock(s.mu);
  auto found = s.items.find(key);
  if (v.is_null()) {
    if (found != s.items.end()) s.items.erase(found);
    return;
  }
  bool inserted = found == s.items.end();
  auto it = inserted ? s.items.try_emplace(std::string(key)).first : found;
  Stored& st = it->second;
  if (inserted || expired(st, now)) st.expires = def_.autoexpire > 0 ? now + def_.autoexpire : 0;
  st.is_int = v.is_int();
  st.i = v.i;
  if (v.is_str()) {
    st.s.assign(v.str());
  } else {
    st.s.clear();
  }
}

void HTable::set_expire(std::string_view key, int64_t seconds, time_t now) {
  Slot& s = slot(key);
  std::lock_guard lock(s.mu);
  auto it = s.items.find(key);
  if (it == s.items.end() || expired(it->second, now)) return;
  it->second.expires = seconds > 0 ? now + seconds : 0;
}

int64_t HTable::expire_in(std::string_view key, time_t now) const {
  Slot& s = slot(key);
  std::lock_guard lock(s.mu);
  auto it = s.items.find(key);
  if (it == s.items.end() || expired(it->second, now) || it->second.expires == 0) return 0;
  return it->second.expires - now;
}

bool HTable::remove(std::string_view key) {
  Slot& s = slot(key);
  std::lock_guard lock(s.mu);
  auto it = s.items.find(key);
  if (it == s.items.end()) return false;
  s.items.erase(it);
  return true;
}

size_t HTable::clean(time_t now) {
  size_t n = 0;
  for (size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(slots_[i].mu);
    for (auto it = slots_[i].items.begin(); it != slots_[i].items.end();) {
      if (expired(it->second, now)) {
        it = slots_[i].items.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
  }
  return n;
}

std::vector<HTable::Item> HTable::dump(time_t now) const {
  std::vector<Item> out;
  for (size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(slots_[i].mu);
    for (const auto& [k, st] : slots_[i].items) {
      if (expired(st, now)) continue;
      out.push_back(Item{k, st.is_int ? Val::of_int(st.i) : Val::of_string(st.s), st.expires});
    }
  }
  return out;
}

size_t HTable::replace(std::vector<Item> items, time_t now) {
  size_t n = mask_ + 1;
  std::vector<decltype(Slot::items)> fresh(n);
  for (auto& it : items) {
    Stored st;
    st.is_int = it.value.is_int();
    st.i = it.value.i;
    if (it.value.is_str()) st.s.assign(it.value.str());
    st.expires = it.expires != 0 ? it.expires : (def_.autoexpire > 0 ? now + def_.autoexpire : 0);
    size_t k = std::hash<std::string_view>{}(it.key) & mask_;
    fresh[k].insert_or_assign(std::move(it.key), std::move(st));
  }
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += fresh[i].size();
    std::lock_guard lock(slots_[i].mu);
    slots_[i].items.swap(fresh[i]);
  }
  return total;  // the old items are freed here, outside the locks
}

}  // namespace msrpd::script
