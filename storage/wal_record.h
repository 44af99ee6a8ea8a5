// WAL record framing: how one record sits in a segment file, and the decoder that tells a good record from the end of
// the data, a torn write and corruption. Layout (little-endian), padded with zeros to a multiple of 8 bytes:
//   u32 payload length | u8 type | 3 zero bytes | u32 CRC-32C(type byte + payload) | u32 CRC-32C(first 12 bytes)
//   | payload | padding
// The header has its own CRC so a flipped length bit is corruption, never mistaken for a record cut short.
// The decoder works on any bytes: it never reads out of bounds and never allocates by a length it has not checked.
#ifndef DETCD_STORAGE_WAL_RECORD_H_
#define DETCD_STORAGE_WAL_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace detcd::storage {

enum class RecordType : uint8_t {
  kMetadata = 1,   // first record of every segment: the member it belongs to and the segment's sequence number
  kEntry = 2,      // a raftpb::Entry
  kHardState = 3,  // a raftpb::HardState
  kSnapshot = 4,   // a snapshot marker: the log before (index, term) lives in a snapshot file
};

inline constexpr size_t kRecordHeaderBytes = 16;
inline constexpr uint32_t kMaxRecordPayloadBytes = 64u << 20;  // larger than any request etcd accepts
inline constexpr size_t kSectorBytes = 512;

// Appends one framed record to out.
void EncodeRecord(RecordType type, absl::string_view payload, std::string* out);

struct DecodedRecord {
  enum class Kind {
    kRecord,   // a complete, intact record: type and payload are set
    kEnd,      // no more data: zero bytes (preallocated space) or the end of the buffer at a record boundary
    kTorn,     // a record cut short: by the end of the buffer, or with its part in some sector all zeros (unwritten)
    kCorrupt,  // bytes that no write of ours produced: bad checksum with no missing sector, bad header
  };
  Kind kind = Kind::kEnd;
  RecordType type = RecordType::kEntry;
  absl::string_view payload;  // points into the buffer
  size_t next_offset = 0;     // kRecord: where the next record starts
  std::string reason;         // kTorn / kCorrupt: what is wrong
};

// Decodes the record starting at offset (a multiple of 8) in buf.
DecodedRecord DecodeRecord(absl::string_view buf, size_t offset);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_WAL_RECORD_H_
