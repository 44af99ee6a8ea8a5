// NodeDisk: one simulated member's data directory — its SimDisk (which survives crashes), the WAL open on it while
// the member runs, and its snapshot files. Both simulated clusters (the replicated log in cluster.h and the KV members
// in kv_cluster.h) keep their durable state through it, so recovery is the same code for both: the newest snapshot
// that checks out (rotten ones set aside), then the WAL after it, a torn tail cut, corruption refused (DataLoss).
// It never retries a failed write or sync: the caller treats every error as the death of the process.
#ifndef DETCD_SIM_NODE_DISK_H_
#define DETCD_SIM_NODE_DISK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/raft.pb.h"
#include "api/scenario.pb.h"
#include "raft/prng.h"
#include "sim/sim_disk.h"
#include "storage/wal.h"

namespace detcd::sim {

// What a member finds on its disk when it starts.
struct DiskState {
  raftpb::Snapshot snapshot;  // metadata index 0: none
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;  // the WAL after the snapshot
  std::vector<std::string> notes;      // what recovery did (torn tail cut, snapshot set aside), for the trace
};

class NodeDisk {
 public:
  SimDisk& disk() { return disk_; }
  bool open() const { return wal_ != nullptr; }

  // Creates the WAL on a fresh disk, or recovers. A DataLoss error means the data is corrupt: the member must not
  // start (ever, without an operator); any other error is a failing disk.
  absl::StatusOr<DiskState> Open(uint64_t member_id, uint64_t segment_bytes);

  // Writes entries and hard state to the WAL (page cache); Sync makes everything written durable.
  absl::Status Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries);
  absl::Status Sync();
  // Makes a snapshot durable: the WAL marker first (recovery ignores a marker without a file), then the file.
  absl::Status SaveSnapshot(const raftpb::Snapshot& snapshot);
  // After a snapshot: removes WAL segments and snapshot files nobody needs (the previous snapshot is kept, so a
  // member whose newest snapshot rotted can still start from the older one).
  absl::Status RemoveOld();
  uint64_t snapshot_index() const { return snapshot_index_; }

  // Disk faults: EIO on writes or syncs while on; no free space while on; one synced bit flipped where asked
  // (returns what was hit, or "" if nothing synced is there yet).
  void SetError(bool on_sync, bool on);
  void SetFull(bool on);
  std::string FlipBit(simpb::BitRot::Where where, Prng* prng);

  // The process is gone: the WAL is closed, nothing more is written.
  void Close() { wal_.reset(); }
  // Power loss: Close, and the unsynced writes are lost as `loss` says (unspecified: the seed picks).
  void PowerOff(simpb::CrashLoss loss, Prng* prng);

 private:
  SimDisk disk_;
  std::unique_ptr<storage::Wal> wal_;
  uint64_t snapshot_index_ = 0;       // the newest snapshot on disk
  uint64_t prev_snapshot_index_ = 0;  // the one before: WAL segments are kept back to it
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_NODE_DISK_H_
