// Link: carrying out the route's msrp_relay() calls (docs/reference/functions.md). Kamailio sends
// the frame on each call, to the destination set at that moment, with the send flags set before
// it; msrpd records each call (FrameContext, RelayOrders) and carries them out in order once the
// route returns. Only a whole frame is relayed more than once (FrameContext::msrp_relay refuses
// the second call for one still streaming in), so every copy after the first is written at once
// or, whole, waits for its connect parked like any frame (link_connect.cpp).

#include "relay/link.h"
#include "relay/worker.h"

namespace msrpd::relay {

void Link::relay_out(const msrp::Frame& f, const FrameBytes& fb, std::string_view answer_tid,
                     uint64_t must_reach) {
  for (size_t i = 0; i < relays_.count; ++i) {
    // The copy before waits, whole, for its connect: parked, as the next frame would park it.
    if (i > 0 && forward_->waiting_for_connect()) park();
    Destination& d = relays_[i].dst;
    // A frame of this connection waits for a connect to the same next hop: this one joins it rather
    // than overtake it over a connection that appeared meanwhile (not a frame held to a session's
    // own connection: that one only goes there, RFC 4976 §6.4).
    if (d.conid != 0 && !d.self && must_reach == 0 && w_.waits_on_hop(d, id_)) d.conid = 0;
    forward_->set_copy(i > 0);
    // The next hop's chunk cap (not for the self link: the next pass relays it and applies its own).
    bool capped = f.method_id() == msrp::Method::send && !d.self;
    forward_->set_chunk_cap(capped ? w_.config().max_chunk.for_hop(d.host, d.port) : 0);
    if (forward_->start(f, fb, d.conid, relays_[i].flags, answer_tid, d.self) && d.conid == 0)
      open_next_hop(d);
  }
}

}  // namespace msrpd::relay
