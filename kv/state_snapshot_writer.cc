#include "kv/state_snapshot_writer.h"

#include <algorithm>
#include <utility>

#include "api/kv_snapshot.pb.h"
#include "base/check.h"

namespace detcd::kv {

namespace {

// Protobuf wire format: a tag is (field << 3) | wire type; 0 = varint, 2 = length-delimited.
constexpr uint8_t kStoreTag = (1 << 3) | 2;                   // StateSnapshot.store
constexpr uint8_t kRevisionTag = (1 << 3) | 0;                // StoreSnapshot.revision
constexpr uint8_t kCompactedTag = (2 << 3) | 0;               // StoreSnapshot.compacted_revision
constexpr uint8_t kRecordTag = (3 << 3) | 2;                  // StoreSnapshot.records
constexpr size_t kFixedLengthBytes = 5;                       // a varint of up to 35 bits
constexpr uint64_t kMaxStoreBytes = (uint64_t{1} << 31) - 1;  // protobuf's limit for one message
// Room past a piece's bound for the version that crosses it, so a piece's string is allocated once, never grown by
// doubling (a bigger version still fits, by one growth).
constexpr size_t kPieceSlackBytes = 64 << 10;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixedLength(char* at, uint64_t length) {
  DETCD_CHECK_MSG(length <= kMaxStoreBytes, "store snapshot too large for one protobuf message");
  for (size_t i = 0; i < kFixedLengthBytes; ++i) {
    const uint8_t more = i + 1 < kFixedLengthBytes ? 0x80 : 0;
    at[i] = static_cast<char>(((length >> (7 * i)) & 0x7f) | more);
  }
}

}  // namespace

StateSnapshotWriter::StateSnapshotWriter(const kvpb::StateSnapshot& small, const MvccStore& store, size_t piece_bytes)
    : revision_(store.rev()), piece_bytes_(piece_bytes) {
  DETCD_CHECK_MSG(small.store().empty(), "the store is written by the writer");
  DETCD_CHECK_MSG(store.pinned_rev() == store.rev(), "the store must be pinned at the snapshot's revision");
  if (streamed()) {
    small.SerializeToString(&prefix_);
    prefix_.push_back(static_cast<char>(kStoreTag));
    data_.reserve(piece_bytes_ + kPieceSlackBytes);
  } else {
    // Room for every version up front: the store counts each at its key and value plus 64 bytes, more than its
    // encoding takes, so the string never grows by copying (a copy of hundreds of MB in one step would be the stall
    // this avoids).
    data_.reserve(small.ByteSizeLong() + 1 + kFixedLengthBytes + 2 * 11 + static_cast<size_t>(store.bytes()));
    small.SerializeToString(&data_);
    data_.push_back(static_cast<char>(kStoreTag));
    store_length_at_ = data_.size();
    data_.append(kFixedLengthBytes, '\0');
    store_begin_ = data_.size();
  }
  // As MvccStore::Serialize writes them (proto3 leaves zeros out).
  if (store.rev() != 0) {
    data_.push_back(static_cast<char>(kRevisionTag));
    PutVarint(&data_, static_cast<uint64_t>(store.rev()));
  }
  if (store.compacted_rev() != 0) {
    data_.push_back(static_cast<char>(kCompactedTag));
    PutVarint(&data_, static_cast<uint64_t>(store.compacted_rev()));
  }
  if (streamed()) store_bytes_ = data_.size();
  held_bytes_max_ = data_.size();
}

bool StateSnapshotWriter::Step(const MvccStore& store, size_t max_records) {
  DETCD_CHECK_MSG(!finished_, "stepping a spent snapshot writer");
  DETCD_CHECK_MSG(store.pinned_rev() == revision_, "the store was unpinned under a snapshot in progress");
  if (done_) return true;
  // A streamed writer makes nothing more until its piece is taken: what it holds stays bounded.
  if (streamed() && data_.size() >= piece_bytes_) return false;
  kvpb::StoreRecord out;
  const size_t before = data_.size();
  const std::optional<Revision> next =
      store.VisitVersions(next_, revision_, max_records, [&](const Revision& rev, const MvccStore::Record& r) {
        const size_t at = data_.size();
        MvccStore::ToStoreRecord(rev, r, &out);
        data_.push_back(static_cast<char>(kRecordTag));
        PutVarint(&data_, out.ByteSizeLong());
        out.AppendToString(&data_);
        record_bytes_max_ = std::max(record_bytes_max_, data_.size() - at);
        ++records_;
        return !streamed() || data_.size() < piece_bytes_;
      });
  if (next) {
    DETCD_CHECK_MSG(next_ < *next, "a snapshot step made no progress");
    next_ = *next;
  } else {
    done_ = true;
  }
  if (streamed()) {
    store_bytes_ += data_.size() - before;
    // The bound: below piece_bytes before the last version went in.
    DETCD_CHECK_MSG(data_.size() < piece_bytes_ + record_bytes_max_, "a streamed snapshot writer holds too much");
  }
  held_bytes_max_ = std::max(held_bytes_max_, data_.size());
  return done_;
}

std::string StateSnapshotWriter::TakePrefix() {
  DETCD_CHECK_MSG(streamed() && !prefix_taken_, "the prefix is taken once, from a streamed writer");
  prefix_taken_ = true;
  return std::exchange(prefix_, std::string());
}

std::string StateSnapshotWriter::TakeStoreBytes() {
  DETCD_CHECK_MSG(streamed() && prefix_taken_, "store bytes come after the prefix, from a streamed writer");
  DETCD_CHECK(store_bytes_ <= kMaxStoreBytes);
  std::string out = std::exchange(data_, std::string());
  if (!done_) data_.reserve(piece_bytes_ + kPieceSlackBytes);
  return out;
}

std::string StateSnapshotWriter::Finish() {
  DETCD_CHECK_MSG(!streamed(), "a streamed snapshot is taken in pieces");
  DETCD_CHECK_MSG(done_ && !finished_, "finishing a snapshot that is not complete");
  finished_ = true;
  PutFixedLength(&data_[store_length_at_], data_.size() - store_begin_);
  return std::move(data_);
}

std::string StateSnapshotWriter::Assemble(absl::string_view prefix, absl::string_view store) {
  std::string out;
  out.reserve(prefix.size() + kFixedLengthBytes + store.size());
  out.append(prefix.data(), prefix.size());
  out.append(kFixedLengthBytes, '\0');
  PutFixedLength(&out[prefix.size()], store.size());
  out.append(store.data(), store.size());
  return out;
}

}  // namespace detcd::kv
