#include "common/random.h"

#include <openssl/rand.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace msrpd::common {

void random_bytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    // Flags 0: read the urandom pool, blocking only until it is first initialised at boot.
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "msrpd: getrandom failed: %s\n", std::strerror(errno));
      std::abort();
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
}

namespace {

// A small per-thread buffer filled by OpenSSL's DRBG (RAND_bytes: per-thread instances in OpenSSL
// 3, seeded from the kernel, reseeded on fork), so that one token costs no library call at all.
constexpr size_t kBufSize = 256;

// Trivially constructible, so the thread_local needs no guard on each access.
struct Generator {
  unsigned char buf[kBufSize];
  size_t pos;  // next unused byte of buf
  bool filled;
  pid_t pid;  // a buffer filled before fork() must not be shared with the child
};

thread_local Generator t_gen;

void refill(Generator& g) {
  if (RAND_bytes(g.buf, static_cast<int>(kBufSize)) != 1) {
    std::fprintf(stderr, "msrpd: RAND_bytes failed: no randomness available\n");
    std::abort();
  }
  g.pos = 0;
  g.filled = true;
  g.pid = ::getpid();
}

inline Generator& generator() {
  Generator& g = t_gen;
  if (!g.filled || g.pid != ::getpid()) refill(g);
  return g;
}

inline unsigned char next_byte(Generator& g) {
  if (g.pos >= kBufSize) refill(g);
  unsigned char b = g.buf[g.pos];
  g.buf[g.pos++] = 0;  // handed-out bytes do not stay in memory
  return b;
}

}  // namespace

void fast_random_bytes(void* out, size_t n) {
  Generator& g = generator();
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    if (g.pos >= kBufSize) refill(g);
    size_t take = kBufSize - g.pos < n ? kBufSize - g.pos : n;
    std::memcpy(p, g.buf + g.pos, take);
    std::memset(g.buf + g.pos, 0, take);
    g.pos += take;
    p += take;
    n -= take;
  }
}

uint64_t random_u64() {
  uint64_t v;
  fast_random_bytes(&v, sizeof v);
  return v;
}

uint64_t random_below(uint64_t bound) {
  if (bound <= 1) return 0;
  // Reject the top partial range so every value is equally likely.
  uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;
  for (;;) {
    uint64_t v = random_u64();
    if (v <= limit) return v % bound;
  }
}

char* write_random_token(char* out, size_t chars) {
  Generator& g = generator();
  // 248 = 4 * 62: bytes at or above it are dropped so each character is uniform.
  constexpr unsigned kLimit = 4 * kTokenAlphabetSize;
  for (size_t i = 0; i < chars;) {
    unsigned b = next_byte(g);
    if (b < kLimit) out[i++] = kTokenAlphabet[b % kTokenAlphabetSize];
  }
  return out + chars;
}

void append_random_token(std::string& out, size_t chars) {
  size_t old = out.size();
  out.resize(old + chars);
  write_random_token(out.data() + old, chars);
}

std::string random_token(size_t chars) {
  std::string s(chars, '\0');
  write_random_token(s.data(), chars);
  return s;
}

}  // namespace msrpd::common
