// Fuzz target: the WAL record decoder over arbitrary bytes. It must classify every offset without reading out of
// bounds, and whatever it accepts as a record must re-encode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/wal_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using detcd::storage::DecodedRecord;
  const std::string buf(reinterpret_cast<const char*>(data), size);
  size_t offset = 0;
  while (offset < buf.size()) {
    const DecodedRecord r = detcd::storage::DecodeRecord(buf, offset);
    if (r.kind != DecodedRecord::Kind::kRecord) break;
    if (r.next_offset <= offset || r.next_offset > buf.size()) std::abort();
    std::string again;
    detcd::storage::EncodeRecord(r.type, r.payload, &again);
    if (again != buf.substr(offset, r.next_offset - offset)) std::abort();
    offset = r.next_offset;
  }
  return 0;
}
