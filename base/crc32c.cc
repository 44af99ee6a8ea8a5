#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace detcd {

namespace {

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t;
  Tables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b) {
      for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
  }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}

constexpr uint32_t kPoly = 0x82F63B78u;

// a * b modulo the CRC polynomial, both as reflected bit strings (bit 31 is x^0), as zlib's crc32_combine does.
uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// x^(2^k) modulo the polynomial, k = 0..63.
struct PowerTable {
  std::array<uint32_t, 64> x2k;
  PowerTable() {
    uint32_t p = 1u << 30;  // x^1
    for (uint32_t& v : x2k) {
      v = p;
      p = MultModP(p, p);
    }
  }
};

// x^(8 * bytes) modulo the polynomial: what shifting a CRC past `bytes` zero bytes multiplies it by.
uint32_t XPowBytes(uint64_t bytes) {
  static const PowerTable table;
  uint32_t p = 1u << 31;  // x^0
  for (size_t k = 3; bytes != 0; bytes >>= 1, ++k) {
    if (bytes & 1) p = MultModP(table.x2k[k & 63], p);
  }
  return p;
}

}  // namespace

namespace crc32c_internal {

uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n) {
  const auto& t = T().t;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    const uint32_t lo = c ^ (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^
        t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__)
bool HaveHardware() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}

// The instruction folds 8 bytes (little-endian, as the reflected CRC reads them) into the state per step, with no
// inversions of its own: the same state the tables carry.
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n) {
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, data, sizeof(word));
    c = _mm_crc32_u64(c, word);
    data += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*data++));
  return ~c32;
}
#else
bool HaveHardware() { return false; }
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n) { return ExtendPortable(crc, data, n); }
#endif

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
  // Tables cost about a cycle and a half per byte; the instruction a fraction of that (WAL records, snapshot files).
  return crc32c_internal::HaveHardware() ? crc32c_internal::ExtendHardware(crc, data, n)
                                         : crc32c_internal::ExtendPortable(crc, data, n);
}

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  // The pre- and post-inversions cancel: crc(A ‖ B) = crc_a · x^(8·|B|) ⊕ crc_b (zlib's crc32_combine).
  return MultModP(XPowBytes(length_b), crc_a) ^ crc_b;
}

}  // namespace detcd
