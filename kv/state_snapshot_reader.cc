#include "kv/state_snapshot_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/kv_snapshot.pb.h"
#include "base/check.h"

namespace detcd::kv {

namespace {

// Protobuf wire format: a tag is (field << 3) | wire type.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;
constexpr uint64_t kStoreTag = (1 << 3) | kLengthDelimited;  // StateSnapshot.store
constexpr uint64_t kRevisionField = 1;                       // StoreSnapshot.revision
constexpr uint64_t kCompactedField = 2;                      // StoreSnapshot.compacted_revision
constexpr uint64_t kRecordField = 3;                         // StoreSnapshot.records
constexpr size_t kVarintBytesMax = 10;

absl::Status Bad(absl::string_view why) { return absl::DataLossError(absl::StrCat("state snapshot: ", why)); }

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

StateSnapshotReader::StateSnapshotReader(ByteSource* source, size_t read_bytes)
    : source_(source), read_bytes_(read_bytes) {
  DETCD_CHECK(source_ != nullptr);
  DETCD_CHECK_MSG(read_bytes_ >= kVarintBytesMax, "a read buffer too small for one varint");
}

absl::Status StateSnapshotReader::Ensure(size_t n) {
  if (buf_.size() - pos_ >= n) return absl::OkStatus();
  if (n > left()) return Bad(absl::StrCat("cut short at byte ", offset(), " (", n, " more wanted, ", left(), " left)"));
  // What was consumed goes; the rest (less than one field) moves to the front.
  buf_.erase(0, pos_);
  base_ += pos_;
  pos_ = 0;
  // Filled up to the buffer's size (or the one field that is larger): what is held stays about read_bytes.
  const uint64_t want = std::min<uint64_t>(std::max(n, read_bytes_) - buf_.size(), source_->remaining());
  if (absl::Status s = source_->Read(static_cast<size_t>(want), &buf_); !s.ok()) return s;
  DETCD_CHECK_MSG(buf_.size() >= n, "a byte source gave fewer bytes than asked");
  held_bytes_max_ = std::max(held_bytes_max_, buf_.size());
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StateSnapshotReader::Varint() {
  if (absl::Status s = Ensure(static_cast<size_t>(std::min<uint64_t>(kVarintBytesMax, left()))); !s.ok()) return s;
  uint64_t v = 0;
  for (size_t i = 0; i < kVarintBytesMax && pos_ < buf_.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(buf_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  return Bad(absl::StrCat("malformed varint at byte ", offset()));
}

absl::StatusOr<absl::string_view> StateSnapshotReader::Take(size_t n) {
  if (absl::Status s = Ensure(n); !s.ok()) return s;
  const absl::string_view out(buf_.data() + pos_, n);
  pos_ += n;
  return out;
}

absl::Status StateSnapshotReader::Field(uint32_t wire, std::string* keep) {
  switch (wire) {
    case kVarint: {
      absl::StatusOr<uint64_t> v = Varint();
      if (!v.ok()) return v.status();
      if (keep != nullptr) PutVarint(keep, *v);
      return absl::OkStatus();
    }
    case kFixed64:
    case kFixed32: {
      absl::StatusOr<absl::string_view> v = Take(wire == kFixed64 ? 8 : 4);
      if (!v.ok()) return v.status();
      if (keep != nullptr) keep->append(v->data(), v->size());
      return absl::OkStatus();
    }
    case kLengthDelimited: {
      absl::StatusOr<uint64_t> length = Varint();
      if (!length.ok()) return length.status();
      if (*length > left()) return Bad(absl::StrCat("a field of ", *length, " bytes past the end"));
      if (keep != nullptr) PutVarint(keep, *length);
      // In buffer-sized steps: a large field (the leases of a big lessor) is copied or skipped, never buffered whole.
      for (uint64_t rest = *length; rest > 0;) {
        const size_t step = static_cast<size_t>(std::min<uint64_t>(rest, read_bytes_));
        absl::StatusOr<absl::string_view> v = Take(step);
        if (!v.ok()) return v.status();
        if (keep != nullptr) keep->append(v->data(), v->size());
        rest -= step;
      }
      return absl::OkStatus();
    }
    default:
      return Bad(absl::StrCat("unsupported wire type ", wire, " at byte ", offset()));
  }
}

absl::Status StateSnapshotReader::ReadStore(uint64_t length, DecodedState* out) {
  if (length > left()) return Bad(absl::StrCat("a store of ", length, " bytes past the end"));
  const uint64_t end = offset() + length;
  kvpb::StoreRecord record;
  while (offset() < end) {
    absl::StatusOr<uint64_t> tag = Varint();
    if (!tag.ok()) return tag.status();
    const uint64_t field = *tag >> 3;
    const uint32_t wire = static_cast<uint32_t>(*tag & 7);
    if ((field == kRevisionField || field == kCompactedField) && wire == kVarint) {
      absl::StatusOr<uint64_t> v = Varint();
      if (!v.ok()) return v.status();
      (field == kRevisionField ? out->revision : out->compacted_revision) = static_cast<int64_t>(*v);
    } else if (field == kRecordField && wire == kLengthDelimited) {
      absl::StatusOr<uint64_t> record_bytes = Varint();
      if (!record_bytes.ok()) return record_bytes.status();
      if (offset() > end || *record_bytes > end - offset()) {
        return Bad(absl::StrCat("a version of ", *record_bytes, " bytes past the end of the store"));
      }
      absl::StatusOr<absl::string_view> bytes = Take(static_cast<size_t>(*record_bytes));
      if (!bytes.ok()) return bytes.status();
      if (!record.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Bad(absl::StrCat("a version at byte ", offset() - *record_bytes, " does not parse"));
      }
      if (absl::Status s = out->store.Add(record); !s.ok()) return s;
    } else if (field == 0) {
      return Bad(absl::StrCat("field 0 in the store at byte ", offset()));
    } else if (absl::Status s = Field(wire, nullptr); !s.ok()) {
      return s;  // unknown fields are skipped, as protobuf does
    }
    if (offset() > end) return Bad("a field crosses the end of the store");
  }
  return absl::OkStatus();
}

absl::StatusOr<DecodedState> StateSnapshotReader::Read() {
  DETCD_CHECK_MSG(!read_, "a state snapshot reader reads once");
  read_ = true;
  DecodedState out;
  std::string small;  // every field but the store, as encoded
  bool store_seen = false;
  while (left() > 0) {
    absl::StatusOr<uint64_t> tag = Varint();
    if (!tag.ok()) return tag.status();
    if ((*tag >> 3) == 0) return Bad(absl::StrCat("field 0 at byte ", offset()));
    if (*tag == kStoreTag) {
      if (store_seen) return Bad("two store fields");
      store_seen = true;
      absl::StatusOr<uint64_t> length = Varint();
      if (!length.ok()) return length.status();
      if (absl::Status s = ReadStore(*length, &out); !s.ok()) return s;
      continue;
    }
    PutVarint(&small, *tag);
    if (absl::Status s = Field(static_cast<uint32_t>(*tag & 7), &small); !s.ok()) return s;
  }
  if (!out.small.ParseFromString(small)) return Bad("the state besides the store does not parse");
  DETCD_CHECK_MSG(out.small.store().empty(), "the store field is read piecewise");
  return out;
}

}  // namespace detcd::kv
