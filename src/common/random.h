#pragma once
// Random material for ids, tokens, nonces and keys.
//
// Two sources, both cryptographically strong:
//  - random_bytes(): straight from the kernel (getrandom(2)); for keys and secrets, a syscall per call.
//  - the per-thread buffer behind random_u64(), fast_random_bytes() and the token functions, filled
//    256 bytes at a time from OpenSSL's DRBG (RAND_bytes; refilled after fork()): no syscall and
//    no library call on the common path, fast enough for one transaction id per relayed frame.
//
// RFC 4975 §7.1: transaction ids need >= 64 bits of randomness; RFC 4975 §14.1 / RFC 4976 §6.3:
// session ids >= 80 bits of cryptographically random material. A token of n characters from the
// 62-character alphabet carries n * 5.95 bits.

#include <cstddef>
#include <cstdint>
#include <string>

namespace msrpd::common {

// The alphabet of tokens: [A-Za-z0-9], URI-safe (RFC 3986 unreserved) and safe in MSRP ids.
inline constexpr char kTokenAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr size_t kTokenAlphabetSize = 62;

// Fills `out` with `n` bytes from the kernel CSPRNG. Aborts the process if the kernel cannot
// provide them (there is no safe way to continue without randomness).
void random_bytes(void* out, size_t n);

// The calling thread's buffered generator (OpenSSL's DRBG).
uint64_t random_u64();
void fast_random_bytes(void* out, size_t n);
// A uniform value in [0, bound) without modulo bias; bound > 0.
uint64_t random_below(uint64_t bound);

// `chars` characters of kTokenAlphabet, each uniform and independent.
std::string random_token(size_t chars);
// Appends `chars` token characters to `out`; allocates only if `out` lacks capacity.
void append_random_token(std::string& out, size_t chars);
// Writes `chars` token characters at `out` (no terminator); returns out + chars.
char* write_random_token(char* out, size_t chars);

}  // namespace msrpd::common
