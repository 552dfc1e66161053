#pragma once
// ChunkCaps: the most body bytes a chunk relayed to a next hop may carry (msrp max_chunk_size and
// max_chunk_size_hop). Some relays cannot take large frames (Kamailio 5.6 reads a frame into a
// 16 KB buffer and relays at most about 14 KB): chunks for them are cut into chunks that fit
// (RFC 4976 §6.4.1: a relay may split chunks; Forward does it). Built at load, read-only after.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

struct ChunkCaps {
  struct Hop {
    std::string host;   // as the next hop is named: the URI's host or msrp_set_dst's, no brackets
    uint16_t port = 0;  // 0: any port of that host
    size_t bytes = 0;   // 0: no cap for this hop (an exception to `all`)
  };
  size_t all = 0;         // every next hop without a row of its own; 0: no cap
  std::vector<Hop> hops;  // the first row that matches applies

  // The cap for a next hop (host case-insensitive); `all` when no row names it. No row: one
  // compare, so a relay without per-hop rows pays nothing per frame.
  size_t for_hop(std::string_view host, uint16_t port) const;
};

}  // namespace msrpd::relay
