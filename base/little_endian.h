// Little-endian numbers: the low `bytes` bytes (1 to 8) of an unsigned integer stored at, or loaded from, a byte
// address in little-endian order whatever the host's own order — how the WAL's and snapshots' headers, bbolt's pages,
// etcd's WAL frames, the peer wire and the simulator's trace hash and worker pipes write their numbers. Pure
// computation: no allocation, no IO.
#ifndef DETCD_BASE_LITTLE_ENDIAN_H_
#define DETCD_BASE_LITTLE_ENDIAN_H_

#include <cstdint>
#include <cstring>
#include <string>

namespace detcd {

// Writes the low `bytes` bytes of v at p, least significant first. Returns p + bytes.
inline char* StoreLittleEndian(char* p, uint64_t v, int bytes) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(p, &v, static_cast<size_t>(bytes));  // the host's order already
#else
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
#endif
  return p + bytes;
}

// The number whose low `bytes` bytes are at p, least significant first.
inline uint64_t LoadLittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(&v, p, static_cast<size_t>(bytes));
#else
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
#endif
  return v;
}

// Appends the low `bytes` bytes of v to *out, least significant first.
inline void AppendLittleEndian(std::string* out, uint64_t v, int bytes) {
  char b[8];
  out->append(b, static_cast<size_t>(StoreLittleEndian(b, v, bytes) - b));
}

}  // namespace detcd

#endif  // DETCD_BASE_LITTLE_ENDIAN_H_
