// CRC-32C (Castagnoli, polynomial 0x82F63B78, reflected), the checksum of WAL records and snapshot files. Pure
// computation: no state beyond constant tables. Crc32cCombine joins the CRCs of two adjacent byte runs without the
// bytes, so a file written piece by piece (a streamed snapshot whose lengths are patched in at the end) can be
// checksummed without holding or re-reading it.
#ifndef DETCD_BASE_CRC32C_H_
#define DETCD_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace detcd {

// Extends crc (the CRC of earlier bytes, 0 for none) over data.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);
inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }
// The CRC of A followed by B, from crc_a = Crc32c(A), crc_b = Crc32c(B) and B's length (O(log length_b)).
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

namespace crc32c_internal {
// The two ways Crc32cExtend computes, for tests that hold them to each other: tables (any CPU), and x86's SSE4.2
// crc32 instruction (the same polynomial), which Crc32cExtend uses when the CPU has it.
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
bool HaveHardware();
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);  // only if HaveHardware()
}  // namespace crc32c_internal

}  // namespace detcd

#endif  // DETCD_BASE_CRC32C_H_
