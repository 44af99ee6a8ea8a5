// CRC-32C (Castagnoli, polynomial 0x82F63B78, reflected), the checksum of WAL records and snapshot files. Pure
// computation: no state beyond a constant table.
#ifndef DETCD_STORAGE_CRC32C_H_
#define DETCD_STORAGE_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace detcd::storage {

// Extends crc (the CRC of earlier bytes, 0 for none) over data.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);
inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_CRC32C_H_
