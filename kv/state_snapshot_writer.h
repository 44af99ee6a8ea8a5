// StateSnapshotWriter: a member's state snapshot (kvpb::StateSnapshot bytes, what NodeCore::RestoreState decodes)
// written a bounded piece at a time, so the member keeps serving while it is made. The small parts (leases, dedup
// window, members, alarms) are taken whole when the writer is made; the MVCC store's versions at the snapshot's
// revision follow in revision order, at most `max_records` per Step, from a store pinned at that revision (versions
// at or below it never change, and compaction keeps the pinned ones aside until Unpin). The bytes go straight into
// the one output string: no second copy of the state is made. The length of the store field, unknown until the last
// version, is written as a fixed 5-byte varint (a valid protobuf encoding). It never does IO, reads a clock or starts
// a thread; the caller owns the pin.
#ifndef DETCD_KV_STATE_SNAPSHOT_WRITER_H_
#define DETCD_KV_STATE_SNAPSHOT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/kv_request.pb.h"
#include "kv/mvcc_store.h"
#include "kv/revision.h"

namespace detcd::kv {

class StateSnapshotWriter {
 public:
  // small: the state without its store field. The store must be pinned at its current revision (store.rev()).
  StateSnapshotWriter(const kvpb::StateSnapshot& small, const MvccStore& store);
  StateSnapshotWriter(const StateSnapshotWriter&) = delete;
  StateSnapshotWriter& operator=(const StateSnapshotWriter&) = delete;

  // Appends up to max_records more versions; true once every version at the snapshot's revision is in.
  bool Step(const MvccStore& store, size_t max_records);
  bool done() const { return done_; }
  int64_t revision() const { return revision_; }
  size_t records() const { return records_; }
  size_t bytes() const { return data_.size(); }
  // The StateSnapshot bytes (only once done); the writer is spent.
  std::string Finish();

 private:
  int64_t revision_ = 0;
  std::string data_;
  size_t store_length_at_ = 0;  // where the store field's 5-byte length goes
  size_t store_begin_ = 0;      // where its contents start
  Revision next_{0, 0};         // the next version to write
  size_t records_ = 0;
  bool done_ = false;
  bool finished_ = false;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_STATE_SNAPSHOT_WRITER_H_
