// Link: frames that wait for a connection to their next hop (RFC 4975 §6.2). The connect is the
// worker's (Worker::connect_for: one per next hop at a time, later frames for the same hop join
// it); a frame that is whole while it waits is parked, and the connection's next frame is relayed
// on a fresh Forward, so a pending connect never stops the other sessions of the connection. The
// link stops reading only when the bytes waiting for connects pass its write high watermark.

#include <algorithm>

#include "relay/link.h"
#include "relay/worker.h"

namespace msrpd::relay {

namespace {
constexpr size_t kSpareForwards = 4;
}  // namespace

void Link::open_next_hop(const Destination& d) {
  w_.connect_for(d, FrameKey{id_, forward_->seq()});
}

void Link::park() {
  parked_.push_back(std::move(forward_));
  if (spare_.empty()) {
    forward_ = std::make_unique<Forward>(*this);
  } else {
    forward_ = std::move(spare_.back());
    spare_.pop_back();
  }
}

Forward* Link::waiting_forward(uint64_t seq) {
  if (forward_->seq() == seq) return forward_.get();
  for (auto& f : parked_)
    if (f->seq() == seq) return f.get();
  return nullptr;
}

void Link::release_parked() {
  // A parked frame that went out (or failed) needs nothing more: nothing but its seq named it.
  for (auto it = parked_.begin(); it != parked_.end();) {
    if ((*it)->waiting_for_connect()) {
      ++it;
      continue;
    }
    if (spare_.size() < kSpareForwards) spare_.push_back(std::move(*it));
    it = parked_.erase(it);
  }
}

void Link::hop_connected(uint64_t seq, uint64_t dest) {
  if (Forward* f = waiting_forward(seq)) f->connected(seq, dest);
  release_parked();
  connect_buffered();
}

void Link::hop_failed(uint64_t seq, std::string_view why, uint16_t report_code) {
  if (Forward* f = waiting_forward(seq)) f->failed(seq, why, report_code);
  release_parked();
  connect_buffered();
}

void Link::connect_buffered() {
  // The parked frames' records count too: a flood of tiny frames to a hop that does not answer is
  // bounded like one big frame.
  size_t n = forward_->waiting_for_connect() ? forward_->pending_bytes() : 0;
  for (const auto& f : parked_) n += f->pending_bytes() + sizeof(Forward);
  size_t limit = conn_ ? conn_->settings().write_high_watermark : 0;
  if (n > limit) {
    pause(kPauseConnecting);
  } else {
    unpause(kPauseConnecting);
  }
}

}  // namespace msrpd::relay
