// MemberStore: one member's data directory on a Disk — the WAL in <dir>/member/wal (or a directory of its own, etcd's
// --wal-dir) and snapshot files in <dir>/member/snap, laid out as etcd lays them out. While open it holds the WAL
// directory's lock and <dir>/member's (etcd's bbolt holds a lock on member/snap/db), so no second process writes
// either directory, whatever --wal-dir it was given. Start-up recovery is here, shared by the production runtime and the
// simulator: the newest snapshot file that checks out (rotten ones are set aside), then the WAL after it, a torn tail
// cut, anything else corrupt refused (DataLoss, naming the file and offset), a snapshot file left half-written by a
// crash removed. It never retries a failed write or sync:
// the caller treats every error as fatal for the process.
#ifndef DETCD_STORAGE_MEMBER_STORE_H_
#define DETCD_STORAGE_MEMBER_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/raft.pb.h"
#include "storage/disk.h"
#include "storage/snapshotter.h"
#include "storage/wal.h"

namespace detcd::storage {

// What a member finds in its data directory when it starts.
struct RecoveredMember {
  raftpb::Snapshot snapshot;  // metadata only; index 0: none
  std::unique_ptr<SnapshotFileReader> snapshot_data;  // the snapshot's data, checked, to read a piece at a time
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;  // the WAL after the snapshot
  std::vector<std::string> notes;      // what recovery did (torn tail cut, snapshot set aside)
};

class MemberStore {
 public:
  // dir: the data directory (etcd's --data-dir). wal_dir: where the WAL goes (etcd's --wal-dir); "" for
  // <dir>/member/wal.
  MemberStore(Disk* disk, std::string dir, std::string wal_dir = "");

  // What RemoveOld keeps (etcd's --max-snapshots and --max-wals; 0: everything). At least the two newest snapshots
  // are kept whatever the setting (a member whose newest snapshot rotted starts from the one before), and only WAL
  // segments older than the one before are ever removed.
  void SetRetention(size_t max_snapshots, size_t max_wals) {
    max_snapshots_ = max_snapshots;
    max_wals_ = max_wals;
  }

  bool open() const { return wal_ != nullptr; }
  const std::string& wal_dir() const { return wal_dir_; }
  std::string snap_dir() const { return dir_ + "/member/snap"; }

  // Creates the WAL in an empty directory, or recovers. A DataLoss error means the data is corrupt: the member must
  // not start (ever, without an operator); any other error is a failing disk (or a locked directory).
  absl::StatusOr<RecoveredMember> Open(uint64_t member_id, uint64_t segment_bytes);
  // WalOptions::testing_corrupt_tail_is_torn for the next Open (the simulator's tests of its checkers only).
  void set_testing_corrupt_tail_is_torn(bool on) { testing_corrupt_tail_is_torn_ = on; }

  // Writes entries and hard state to the WAL (the page cache); Sync makes everything written durable.
  absl::Status Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries);
  absl::Status Sync();
  // Makes a snapshot durable: the WAL marker first (recovery ignores a marker without a file), then the file.
  absl::Status SaveSnapshot(const raftpb::Snapshot& snapshot);
  // The same in three steps, for a driver that writes the (large) file off the thread that writes the WAL: the
  // marker (with the WAL's writes), then the file (any one thread: it touches only the snapshot directory, never the
  // WAL), then SnapshotSaved (with the WAL's writes again) once the file is durable, and only then RemoveOld. A crash
  // between any two steps leaves a member that recovers from the snapshot before.
  absl::Status SaveSnapshotMarker(const raftpb::SnapshotMetadata& metadata);
  absl::Status SaveSnapshotFile(const raftpb::Snapshot& snapshot);
  // SaveSnapshotFile streamed (the member's own snapshot, a piece at a time as the core makes it): Begin after the
  // marker, Append the pieces, Finish; then SnapshotSaved as above. Abandon (or a crash) leaves no snapshot file;
  // a crash's "<name>.tmp" is removed by the next Open.
  absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> BeginSnapshotFile(const raftpb::SnapshotMetadata& metadata,
                                                                        absl::string_view prefix);
  // A snapshot for followers, streamed the same way to a temporary file in the snapshot directory (never a snapshot
  // of this member's: start-up removes it).
  absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> BeginSnapshotFileForFollowers(
      const raftpb::SnapshotMetadata& metadata, absl::string_view prefix);
  // A leader's snapshot received into a file (ReceivedSnapshotFile, already checked) becomes this member's snapshot:
  // the WAL marker, then the file synced and renamed into place, the directory synced, SnapshotSaved. A crash
  // between any two steps leaves a member that recovers from the snapshot before (a marker without a file is
  // ignored; the received file is "*.tmp" until renamed).
  absl::Status InstallSnapshotFile(const raftpb::SnapshotMetadata& metadata, const std::string& path);
  void SnapshotSaved(uint64_t index);
  // After a snapshot: removes WAL segments and snapshot files nobody needs, within the retention (the previous
  // snapshot is always kept, so a member whose newest snapshot rotted can still start from the older one).
  absl::Status RemoveOld();
  uint64_t snapshot_index() const { return snapshot_index_; }

  // The process is gone: the WAL is closed (and the directory locks released), nothing more is written.
  void Close() {
    wal_.reset();
    member_lock_.reset();
  }

 private:
  size_t max_snapshots_ = 2;
  size_t max_wals_ = 1;
  bool testing_corrupt_tail_is_torn_ = false;
  Disk* disk_;
  std::string dir_;
  std::string wal_dir_;
  std::unique_ptr<DirLock> member_lock_;  // <dir>/member: the snapshots' guard, since the WAL may live elsewhere
  std::unique_ptr<Wal> wal_;
  uint64_t snapshot_index_ = 0;       // the newest snapshot on disk
  uint64_t prev_snapshot_index_ = 0;  // the one before: WAL segments are kept back to it
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_MEMBER_STORE_H_
