// libFuzzer target for MSRP URIs: whatever parses must format to text that parses to the same URI
// (RFC 4975 §6.1), and the Kamailio view must never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "msrp/uri.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace msrpd::msrp;

  auto parts = split_msrpuri(text);
  if (parts.ok()) {
    for (int k = 0; k <= static_cast<int>(MsrpUriKey::scheme); ++k) (void)msrpuri_get(*parts, MsrpUriKey(k));
  }

  auto uri = parse_uri(text);
  if (!uri.ok()) return 0;
  std::string formatted = to_string(*uri);
  auto again = parse_uri(formatted);
  if (!again.ok() || !same_uri(*uri, *again) || to_string(*again) != formatted) std::abort();
  for (const UriParam& p : uri->params()) (void)p;
  return 0;
}
