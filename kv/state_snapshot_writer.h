// StateSnapshotWriter: a member's state snapshot (kvpb::StateSnapshot bytes, what NodeCore::RestoreState decodes)
// written a bounded piece at a time, so the member keeps serving while it is made. The small parts (leases, dedup
// window, members, alarms) are taken whole when the writer is made; the MVCC store's versions at the snapshot's
// revision follow in revision order, at most `max_records` per Step, from a store pinned at that revision (versions
// at or below it never change, and compaction keeps the pinned ones aside until Unpin). The store field's length,
// unknown until the last version, is a fixed 5-byte varint (a valid protobuf encoding), so the bytes are always
//   prefix (the small parts and the store field's tag) ‖ store length (5 bytes) ‖ store contents.
// Two outputs: whole (one string, for a snapshot sent to a follower in MSG_SNAP: no second copy is made), or streamed
// (the member's own snapshot on its way to a file: the caller takes the prefix, then the store's bytes as they come;
// the writer never holds more than piece_bytes plus one version — checked at every step). It never does IO, reads a
// clock or starts a thread; the caller owns the pin.
#ifndef DETCD_KV_STATE_SNAPSHOT_WRITER_H_
#define DETCD_KV_STATE_SNAPSHOT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "api/kv_request.pb.h"
#include "kv/mvcc_store.h"
#include "kv/revision.h"

namespace detcd::kv {

class StateSnapshotWriter {
 public:
  // small: the state without its store field. The store must be pinned at its current revision (store.rev()).
  // piece_bytes 0: whole output (Finish); otherwise streamed, holding at most about piece_bytes (TakePrefix,
  // TakeStoreBytes).
  StateSnapshotWriter(const kvpb::StateSnapshot& small, const MvccStore& store, size_t piece_bytes = 0);
  StateSnapshotWriter(const StateSnapshotWriter&) = delete;
  StateSnapshotWriter& operator=(const StateSnapshotWriter&) = delete;

  // Appends up to max_records more versions (streamed: stops once piece_bytes are waiting to be taken, and appends
  // nothing while they wait); true once every version at the snapshot's revision is in.
  bool Step(const MvccStore& store, size_t max_records);
  bool done() const { return done_; }
  bool streamed() const { return piece_bytes_ > 0; }
  int64_t revision() const { return revision_; }
  size_t records() const { return records_; }
  // Bytes made so far (whole: all of them; streamed: the store contents, taken or not).
  size_t bytes() const { return streamed() ? store_bytes_ : data_.size(); }

  // Streamed. The prefix, once, before any store bytes.
  std::string TakePrefix();
  // The store contents made since the last take (all of them once done()).
  std::string TakeStoreBytes();
  // What the writer holds now (streamed: not yet taken) and the most it ever held.
  size_t pending_bytes() const { return data_.size(); }
  size_t held_bytes_max() const { return held_bytes_max_; }
  // The store field's length: every store byte made so far (final once done()).
  uint64_t store_bytes() const { return store_bytes_; }

  // Whole. The StateSnapshot bytes (only once done); the writer is spent.
  std::string Finish();

  // The StateSnapshot bytes a streamed writer's pieces make: prefix ‖ 5-byte length of store ‖ store.
  static std::string Assemble(absl::string_view prefix, absl::string_view store);

 private:
  int64_t revision_ = 0;
  size_t piece_bytes_ = 0;       // 0: whole output
  std::string prefix_;           // streamed: until TakePrefix
  std::string data_;             // whole: everything; streamed: store bytes not yet taken
  size_t store_length_at_ = 0;   // whole: where the store field's 5-byte length goes
  size_t store_begin_ = 0;       // whole: where its contents start
  uint64_t store_bytes_ = 0;     // streamed: store bytes made, taken or not
  size_t record_bytes_max_ = 0;  // the largest version's encoding so far
  size_t held_bytes_max_ = 0;
  Revision next_{0, 0};  // the next version to write
  size_t records_ = 0;
  bool prefix_taken_ = false;
  bool done_ = false;
  bool finished_ = false;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_STATE_SNAPSHOT_WRITER_H_
