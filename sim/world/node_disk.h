// NodeDisk: one simulated member's data directory — its SimDisk (which survives crashes) with the member's
// storage::MemberStore on it (WAL and snapshot files, the same recovery code the production runtime uses), and the
// disk faults the simulator injects (bit rot anywhere, or in the newest synced WAL records). Every simulated member
// (kv_cluster.h) keeps its durable state through it; a member's own snapshot is written through it piece by piece
// (marker, BeginSnapshotFile, the file's Append/Finish/Abandon, SnapshotSaved). It never retries a failed write or
// sync: the caller treats every error as the death of the process.
#ifndef DETCD_SIM_WORLD_NODE_DISK_H_
#define DETCD_SIM_WORLD_NODE_DISK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/raft.pb.h"
#include "api/scenario.pb.h"
#include "base/prng.h"
#include "sim/world/sim_disk.h"
#include "storage/member_store.h"

namespace detcd::sim {

using DiskState = storage::RecoveredMember;

class NodeDisk {
 public:
  SimDisk& disk() { return disk_; }
  // The member's store on it (what host::WriteBatch and SyncBatch write through).
  storage::MemberStore& store() { return store_; }
  bool open() const { return store_.open(); }

  // Creates the WAL on a fresh disk, or recovers. A DataLoss error means the data is corrupt: the member must not
  // start (ever, without an operator); any other error is a failing disk.
  absl::StatusOr<DiskState> Open(uint64_t member_id, uint64_t segment_bytes) {
    return store_.Open(member_id, segment_bytes);
  }

  // As storage::MemberStore.
  absl::Status Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries) {
    return store_.Save(hard_state, entries);
  }
  absl::Status Sync() { return store_.Sync(); }
  // The member's own snapshot, streamed: the marker, then the file a piece at a time, then SnapshotSaved.
  absl::Status SaveSnapshotMarker(const raftpb::SnapshotMetadata& metadata) {
    return store_.SaveSnapshotMarker(metadata);
  }
  absl::StatusOr<std::unique_ptr<storage::SnapshotFileWriter>> BeginSnapshotFile(
      const raftpb::SnapshotMetadata& metadata, absl::string_view prefix) {
    return store_.BeginSnapshotFile(metadata, prefix);
  }
  void SnapshotSaved(uint64_t index) { store_.SnapshotSaved(index); }
  absl::Status RemoveOld() { return store_.RemoveOld(); }

  // Disk faults: EIO on writes or syncs while on; no free space while on; one synced bit flipped where asked
  // (returns what was hit, or "" if nothing synced is there yet).
  void SetError(bool on_sync, bool on);
  void SetFull(bool on);
  std::string FlipBit(simpb::BitRot::Where where, Prng* prng);
  // One bit flipped in one of the newest `records` intact, synced log records of the WAL (segment metadata left
  // alone), newest segments first; returns what was hit, or "" if the WAL holds no such record yet.
  std::string CorruptWalTail(uint32_t records, Prng* prng);

  // The process is gone: the WAL is closed, nothing more is written.
  void Close() { store_.Close(); }
  // Power loss: Close, and the unsynced writes are lost as `loss` says (unspecified: the seed picks).
  void PowerOff(simpb::CrashLoss loss, Prng* prng);

 private:
  SimDisk disk_;
  storage::MemberStore store_{&disk_, "/data"};
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_NODE_DISK_H_
