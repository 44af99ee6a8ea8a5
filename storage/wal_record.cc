#include "storage/wal_record.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "base/little_endian.h"

namespace detcd::storage {

namespace {

void StoreU32(char* p, uint32_t v) { StoreLittleEndian(p, v, 4); }
uint32_t GetU32(const char* p) { return static_cast<uint32_t>(LoadLittleEndian(p, 4)); }

size_t Padded(size_t n) { return (n + 7) & ~size_t{7}; }

bool AllZero(absl::string_view s) { return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; }); }

// True if, in some sector, the part of [begin, end) that lies there is all zeros. A lost sector write leaves what
// the sector held before, and the WAL only ever writes over zeros (preallocated or truncated space), so a record
// that was torn by a crash has such a part; the same test is how etcd tells a torn entry from corruption.
bool HasZeroChunk(absl::string_view buf, size_t begin, size_t end) {
  end = std::min(end, buf.size());
  for (size_t chunk = begin; chunk < end;) {
    const size_t next = std::min((chunk / kSectorBytes + 1) * kSectorBytes, end);
    if (AllZero(buf.substr(chunk, next - chunk))) return true;
    chunk = next;
  }
  return false;
}

uint32_t PayloadCrc(uint8_t type, absl::string_view payload) {
  const char t = static_cast<char>(type);
  return Crc32cExtend(Crc32cExtend(0, &t, 1), payload.data(), payload.size());
}

}  // namespace

void EncodeRecord(RecordType type, absl::string_view payload, std::string* out) {
  DETCD_CHECK(payload.size() <= kMaxRecordPayloadBytes);
  const size_t start = out->size();
  // One resize (zeros: the header's reserved bytes and the padding), then the fields written in place: the WAL
  // encodes a record per entry, and appending field by field cost more than the checksums.
  out->resize(start + kRecordHeaderBytes + Padded(payload.size()));
  char* p = out->data() + start;
  StoreU32(p, static_cast<uint32_t>(payload.size()));
  p[4] = static_cast<char>(type);
  StoreU32(p + 8, PayloadCrc(static_cast<uint8_t>(type), payload));
  StoreU32(p + 12, Crc32cExtend(0, p, 12));
  if (!payload.empty()) std::memcpy(p + kRecordHeaderBytes, payload.data(), payload.size());
}

DecodedRecord DecodeRecord(absl::string_view buf, size_t offset) {
  DecodedRecord r;
  if (offset >= buf.size()) return r;  // kEnd
  const absl::string_view rest = buf.substr(offset);
  if (rest.size() < kRecordHeaderBytes) {
    if (AllZero(rest)) return r;
    r.kind = DecodedRecord::Kind::kTorn;
    r.reason = "record header cut short by the end of the file";
    return r;
  }
  const absl::string_view header = rest.substr(0, kRecordHeaderBytes);
  if (AllZero(header)) return r;  // preallocated space: the end of what was written
  const uint32_t length = GetU32(header.data());
  const uint8_t type = static_cast<uint8_t>(header[4]);
  const uint32_t payload_crc = GetU32(header.data() + 8);
  if (GetU32(header.data() + 12) != Crc32cExtend(0, header.data(), 12)) {
    if (HasZeroChunk(buf, offset, offset + kRecordHeaderBytes)) {
      r.kind = DecodedRecord::Kind::kTorn;
      r.reason = "record header partly unwritten";
    } else {
      r.kind = DecodedRecord::Kind::kCorrupt;
      r.reason = "record header checksum mismatch";
    }
    return r;
  }
  if (type < static_cast<uint8_t>(RecordType::kMetadata) || type > static_cast<uint8_t>(RecordType::kSnapshot) ||
      header[5] != 0 || header[6] != 0 || header[7] != 0 || length > kMaxRecordPayloadBytes) {
    r.kind = DecodedRecord::Kind::kCorrupt;
    r.reason = absl::StrCat("invalid record header (type ", type, ", length ", length, ")");
    return r;
  }
  const size_t total = kRecordHeaderBytes + Padded(length);
  if (rest.size() < total) {
    r.kind = DecodedRecord::Kind::kTorn;
    r.reason = absl::StrCat("record of ", length, " bytes cut short by the end of the file");
    return r;
  }
  const absl::string_view payload = rest.substr(kRecordHeaderBytes, length);
  if (PayloadCrc(type, payload) != payload_crc) {
    if (HasZeroChunk(buf, offset, offset + kRecordHeaderBytes + length)) {
      r.kind = DecodedRecord::Kind::kTorn;
      r.reason = "record partly unwritten (a sector of zeros)";
    } else {
      r.kind = DecodedRecord::Kind::kCorrupt;
      r.reason = "record checksum mismatch";
    }
    return r;
  }
  if (!AllZero(rest.substr(kRecordHeaderBytes + length, total - kRecordHeaderBytes - length))) {
    r.kind = DecodedRecord::Kind::kCorrupt;  // our writer pads with zeros; a torn write leaves zeros too
    r.reason = "nonzero record padding";
    return r;
  }
  r.kind = DecodedRecord::Kind::kRecord;
  r.type = static_cast<RecordType>(type);
  r.payload = payload;
  r.next_offset = offset + total;
  return r;
}

}  // namespace detcd::storage
