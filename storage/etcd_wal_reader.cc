#include "storage/etcd_wal_reader.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/little_endian.h"

namespace detcd::storage {

namespace {

enum RecordType : uint64_t { kMetadata = 1, kEntry = 2, kState = 3, kCrc = 4, kSnapshot = 5 };

// One protobuf field: its number and either its varint value or its bytes.
struct Field {
  uint32_t number = 0;
  uint64_t varint = 0;
  absl::string_view bytes;
};

bool Varint(absl::string_view s, size_t* at, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*at >= s.size()) return false;
    const uint8_t b = static_cast<uint8_t>(s[(*at)++]);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Calls `each` for every field of a protobuf message; false if the bytes are not one.
bool ForEachField(absl::string_view s, const std::function<void(const Field&)>& each) {
  size_t at = 0;
  while (at < s.size()) {
    uint64_t tag = 0;
    if (!Varint(s, &at, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return false;
    Field f;
    f.number = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0:
        if (!Varint(s, &at, &f.varint)) return false;
        break;
      case 1:
      case 5: {
        const size_t n = (tag & 7) == 1 ? 8 : 4;
        if (s.size() - at < n) return false;
        at += n;
        continue;  // etcd's messages here have no fixed-width fields: skipped
      }
      case 2: {
        uint64_t n = 0;
        if (!Varint(s, &at, &n) || n > s.size() - at) return false;
        f.bytes = s.substr(at, static_cast<size_t>(n));
        at += static_cast<size_t>(n);
        break;
      }
      default:
        return false;
    }
    each(f);
  }
  return true;
}

absl::Status Bad(const std::string& segment, uint64_t offset, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("etcd wal: ", segment, " at offset ", offset, ": ", why));
}

}  // namespace

bool IsEtcdWalSegmentName(absl::string_view name) {
  if (name.size() != 37 || name[16] != '-' || name.substr(33) != ".wal") return false;
  for (size_t i = 0; i < 33; ++i) {
    if (i != 16 && !absl::ascii_isxdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

absl::Status EtcdWalReader::AddSegment(const std::string& name, absl::string_view bytes, bool last) {
  ++segments_;
  uint64_t at = 0;
  while (bytes.size() - at >= 8) {
    const uint64_t frame = LoadLittleEndian(bytes.data() + at, 8);
    if (frame == 0) break;  // preallocated space: the segment ends
    const uint64_t record_bytes = frame & ~(uint64_t{0xff} << 56);
    const uint64_t pad_bytes = (frame >> 63) != 0 ? (frame >> 56) & 0x7 : 0;
    if (record_bytes + pad_bytes > bytes.size() - at - 8) {
      if (last) break;  // a torn write at the very end: what etcd stops at too
      return Bad(name, at, absl::StrCat("a record of ", record_bytes, " bytes runs past the end of the segment"));
    }
    const absl::string_view record = bytes.substr(at + 8, record_bytes);
    uint64_t type = 0, record_crc = 0;
    absl::string_view data;
    const bool ok = ForEachField(record, [&](const Field& f) {
      if (f.number == 1) type = f.varint;
      if (f.number == 2) record_crc = f.varint;
      if (f.number == 3) data = f.bytes;
    });
    if (!ok) return Bad(name, at, "not a WAL record");
    if (type == kCrc) {
      if (crc_ != 0 && record_crc != crc_) return Bad(name, at, "CRC record does not continue the previous segment");
      crc_ = static_cast<uint32_t>(record_crc);
    } else {
      crc_ = Crc32cExtend(crc_, data.data(), data.size());
      if (record_crc != crc_) return Bad(name, at, "CRC mismatch");
      if (absl::Status s = Record(name, at, type, data); !s.ok()) return s;
    }
    at += 8 + record_bytes + pad_bytes;
  }
  return absl::OkStatus();
}

absl::Status EtcdWalReader::Record(const std::string& name, uint64_t offset, uint64_t type, absl::string_view data) {
  bool ok = true;
  switch (type) {
    case kMetadata: {
      uint64_t node = 0, cluster = 0;
      ok = ForEachField(data, [&](const Field& f) {
        if (f.number == 1) node = f.varint;
        if (f.number == 2) cluster = f.varint;
      });
      if (ok && have_metadata_ && (node != out_.member_id || cluster != out_.cluster_id)) {
        return Bad(name, offset, "metadata differs from the first segment's");
      }
      out_.member_id = node;
      out_.cluster_id = cluster;
      have_metadata_ = true;
      break;
    }
    case kEntry: {
      EtcdWalEntry e;
      ok = ForEachField(data, [&](const Field& f) {
        if (f.number == 1) e.type = f.varint;
        if (f.number == 2) e.term = f.varint;
        if (f.number == 3) e.index = f.varint;
        if (f.number == 4) e.data = std::string(f.bytes);
      });
      if (!ok) break;
      if (e.index == 0) return Bad(name, offset, "an entry at index 0");
      // A later entry at an index already written replaces it and every entry after (etcd's ReadAll).
      while (!entries_.empty() && entries_.back().index >= e.index) entries_.pop_back();
      if (!entries_.empty() && entries_.back().index + 1 != e.index) {
        return Bad(name, offset, absl::StrCat("entry ", e.index, " after entry ", entries_.back().index));
      }
      entries_.push_back(std::move(e));
      break;
    }
    case kState:
      ok = ForEachField(data, [&](const Field& f) {
        if (f.number == 1) out_.term = f.varint;
        if (f.number == 2) out_.vote = f.varint;
        if (f.number == 3) out_.commit = f.varint;
      });
      break;
    case kSnapshot: {
      uint64_t index = 0, term = 0;
      ok = ForEachField(data, [&](const Field& f) {
        if (f.number == 1) index = f.varint;
        if (f.number == 2) term = f.varint;
      });
      if (ok && index >= out_.snapshot_index) {
        out_.snapshot_index = index;
        out_.snapshot_term = term;
      }
      break;
    }
    default:
      return Bad(name, offset, absl::StrCat("unknown record type ", type));
  }
  return ok ? absl::OkStatus() : Bad(name, offset, absl::StrCat("record of type ", type, " does not decode"));
}

absl::StatusOr<EtcdWal> EtcdWalReader::Finish() {
  if (segments_ == 0) return absl::DataLossError("etcd wal: no segment files");
  if (!have_metadata_) return absl::DataLossError("etcd wal: no metadata record");
  out_.entries = std::move(entries_);
  return std::move(out_);
}

absl::StatusOr<EtcdWal> ReadEtcdWal(const std::vector<std::pair<std::string, std::string>>& segments) {
  EtcdWalReader reader;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (absl::Status s = reader.AddSegment(segments[i].first, segments[i].second, i + 1 == segments.size()); !s.ok()) {
      return s;
    }
  }
  return reader.Finish();
}

absl::StatusOr<EtcdConfChange> DecodeEtcdConfChange(absl::string_view data) {
  EtcdConfChange cc;
  const bool ok = ForEachField(data, [&](const Field& f) {
    if (f.number == 2) cc.type = f.varint;
    if (f.number == 3) cc.node_id = f.varint;
    if (f.number == 4) cc.context = std::string(f.bytes);
  });
  if (!ok) return absl::DataLossError("etcd wal: a conf change entry does not decode");
  return cc;
}

std::optional<EtcdV2Request> DecodeEtcdV2Request(absl::string_view data) {
  auto bare = [](absl::string_view bytes) -> std::optional<EtcdV2Request> {
    EtcdV2Request r;
    const bool ok = ForEachField(bytes, [&](const Field& f) {
      if (f.number == 2) r.method = std::string(f.bytes);
      if (f.number == 3) r.path = std::string(f.bytes);
      if (f.number == 4) r.value = std::string(f.bytes);
    });
    if (!ok || r.path.empty() || r.path[0] != '/' || r.method.empty()) return std::nullopt;
    return r;
  };
  if (std::optional<EtcdV2Request> r = bare(data)) return r;
  absl::string_view inner;
  if (!ForEachField(data,
                    [&](const Field& f) {
                      if (f.number == 2) inner = f.bytes;
                    }) ||
      inner.empty()) {
    return std::nullopt;
  }
  return bare(inner);
}

}  // namespace detcd::storage
