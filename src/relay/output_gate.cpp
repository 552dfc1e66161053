#include "relay/output_gate.h"

#include <algorithm>

namespace msrpd::relay {

bool OutputGate::output(FrameKey key, std::string_view bytes, bool ends, bool close_after) {
  if (!sink_.open()) return false;
  if (owner_.none() || owner_ == key) {
    if (!sink_.write(bytes)) return false;
    owner_ = ends ? FrameKey{} : key;
    if (close_after && ends) sink_.close_after_flush();
    if (owner_.none() && !held_.empty()) release();
    return true;
  }
  // Another frame is mid-write: wait for its end (pieces of one frame stay together and in order).
  if (!held_.empty() && !key.none() && held_.back().key == key && !held_.back().ends) {
    held_.back().bytes.append(bytes);
    held_.back().ends = ends;
    held_.back().close_after = close_after;
  } else {
    held_.push_back(Held{key, std::string(bytes), ends, close_after, false});
  }
  held_bytes_ += bytes.size();
  if (!(owner_ == way_asked_)) {
    ask_owner_to_make_way();  // a source on this worker may end its chunk right here
    if (owner_.none()) release();
  }
  return true;
}

void OutputGate::ask_owner_to_make_way() {
  way_asked_ = owner_;
  sink_.make_way(owner_);
}

void OutputGate::release() {
  // Arrival order, except that a frame which starts and does not end takes the connection: the
  // others wait for its end, then the scan starts again from the oldest.
  bool again = true;
  while (again && sink_.open()) {
    again = false;
    for (Held& h : held_) {
      if (h.done) continue;
      if (!owner_.none() && !(owner_ == h.key)) continue;
      h.done = true;
      held_bytes_ -= h.bytes.size();
      if (!sink_.write(h.bytes)) return;
      if (h.close_after && h.ends) sink_.close_after_flush();
      if (h.ends) {
        if (!h.key.none()) sink_.ended(h.key);
        owner_ = FrameKey{};
        again = true;
        break;
      }
      owner_ = h.key;
    }
  }
  std::erase_if(held_, [](const Held& h) { return h.done; });
  // A held frame that started streaming now has others behind it: it makes way in turn.
  if (!owner_.none() && !held_.empty() && !(owner_ == way_asked_)) ask_owner_to_make_way();
  sink_.released();
}

bool OutputGate::holds(FrameKey key) const {
  for (const Held& h : held_)
    if (!h.done && h.key == key) return true;
  return false;
}

void OutputGate::clear() {
  held_.clear();
  held_bytes_ = 0;
}

}  // namespace msrpd::relay
