// StateSnapshotReader: a member's state snapshot (kvpb::StateSnapshot bytes, what StateSnapshotWriter makes) decoded
// from a ByteSource a bounded piece at a time — the counterpart of the streamed writer, so that restoring a snapshot
// (a leader's, received into a file; or the member's own at start-up) never needs the state as one string. The small
// parts (leases, dedup window, members, alarms) are collected whole, as the writer took them; the MVCC store's
// versions go one at a time into an MvccStore::Restoring as they are read. Any field order protobuf allows is
// accepted. Besides what it restores it holds its read buffer (about read_bytes, or one version if larger) — checked
// by held_bytes_max. Bytes that are not a state snapshot (cut short, a length past the end, a second store field, a
// version out of order) are refused with DataLoss, never a crash. It does no IO itself: the source reads.
#ifndef DETCD_KV_STATE_SNAPSHOT_READER_H_
#define DETCD_KV_STATE_SNAPSHOT_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/kv_request.pb.h"
#include "base/byte_source.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {

// A state snapshot as decoded: everything but the store, and the store's versions ready to replace a store's.
struct DecodedState {
  kvpb::StateSnapshot small;  // store field empty
  MvccStore::Restoring store;
  int64_t revision = 0;
  int64_t compacted_revision = 0;
};

class StateSnapshotReader {
 public:
  static constexpr size_t kReadBytes = 1 << 20;

  explicit StateSnapshotReader(ByteSource* source, size_t read_bytes = kReadBytes);
  StateSnapshotReader(const StateSnapshotReader&) = delete;
  StateSnapshotReader& operator=(const StateSnapshotReader&) = delete;

  // Reads the source to its end. Once only.
  absl::StatusOr<DecodedState> Read();
  // The most bytes of the source held at once.
  size_t held_bytes_max() const { return held_bytes_max_; }

 private:
  // Bytes of the source consumed so far.
  uint64_t offset() const { return base_ + pos_; }
  // Bytes not consumed yet, buffered or still in the source.
  uint64_t left() const { return buf_.size() - pos_ + source_->remaining(); }
  // Makes n bytes past pos_ available in buf_ (DataLoss if the source has fewer).
  absl::Status Ensure(size_t n);
  absl::StatusOr<uint64_t> Varint();
  // The next n bytes (valid until the next call).
  absl::StatusOr<absl::string_view> Take(size_t n);
  // A field's value of wire type `wire` skipped (or, if keep is not null, appended to it as encoded).
  absl::Status Field(uint32_t wire, std::string* keep);
  absl::Status ReadStore(uint64_t length, DecodedState* out);

  ByteSource* source_;
  size_t read_bytes_;
  std::string buf_;
  size_t pos_ = 0;     // into buf_
  uint64_t base_ = 0;  // the source offset of buf_[0]
  size_t held_bytes_max_ = 0;
  bool read_ = false;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_STATE_SNAPSHOT_READER_H_
