#include "relay/chunk_caps.h"

#include "common/ascii.h"

namespace msrpd::relay {

size_t ChunkCaps::for_hop(std::string_view host, uint16_t port) const {
  for (const Hop& h : hops) {
    if ((h.port == 0 || h.port == port) && ascii::iequals(h.host, host)) return h.bytes;
  }
  return all;
}

}  // namespace msrpd::relay
