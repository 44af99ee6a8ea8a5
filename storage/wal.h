// Wal: a node's write-ahead log — Raft entries and hard states appended as CRC-protected records to segment files
// "<seq:016x>-<first index:016x>.wal" in one directory, each preallocated to the segment size. Writes are buffered by
// Save and made durable by Sync (one fdatasync for everything saved since the last: group commit). A new segment is
// written under a temporary name, synced and renamed, and the directory synced.
// Recovery (Open) replays every segment: a torn last record of the last segment (a crash mid-write) is cut off;
// anything else that does not decode — a bad checksum, a torn record before the end, a missing segment, a gap in the
// entries — refuses to open with an error naming the file and the byte offset. It never drops a record that may have
// been synced. After any write or sync error every later call fails: an fsync is never retried.
#ifndef DETCD_STORAGE_WAL_H_
#define DETCD_STORAGE_WAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/raft.pb.h"
#include "storage/disk.h"

namespace detcd::storage {

struct WalOptions {
  uint64_t segment_bytes = 64ull << 20;  // etcd's segment size
  // Deliberately broken recovery, for the simulator's tests of its checkers only: a record of the last segment whose
  // checksum fails is taken for a torn tail and cut off with everything after it, as if it had never been synced
  // (a member that silently forgets synced, acknowledged entries instead of refusing to start). Never set elsewhere.
  bool testing_corrupt_tail_is_torn = false;
};

struct WalStats {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t syncs = 0;
  uint64_t segments = 0;
};

class Wal;

// What Open found on disk.
struct WalRecovered {
  std::unique_ptr<Wal> wal;  // positioned to append after the last good record
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;  // contiguous; a later record for index i replaced everything from i on
  bool torn_tail = false;              // a torn last record was cut off (crash mid-write)
  std::string torn_detail;             // which file, offset and why
};

class Wal {
 public:
  ~Wal();
  // True if dir holds WAL segments.
  static bool Exists(Disk* disk, const std::string& dir);
  // A new WAL in dir (created if missing; must hold no segment) for member_id. Locks dir.
  static absl::StatusOr<std::unique_ptr<Wal>> Create(Disk* disk, const std::string& dir, uint64_t member_id,
                                                     const WalOptions& options);
  // Recovers the WAL in dir. Locks dir. Errors: "wal: <file> at offset <n>: <reason>", "... is locked ...".
  // from: the snapshot recovery starts from (its state comes from the snapshot file): entries up to from->index are
  // skipped, and its marker must be in the WAL. Null: no snapshot, the log starts at index 1.
  static absl::StatusOr<WalRecovered> Open(Disk* disk, const std::string& dir, uint64_t member_id,
                                           const WalOptions& options,
                                           const raftpb::SnapshotMetadata* from = nullptr);

  // Buffers hard state (if not null; written after the entries) and entries, writing them to the current segment,
  // rolling to a new segment when it is full. Not durable until Sync().
  absl::Status Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries);
  absl::Status Sync();
  // Records (durably) that a snapshot at (index, term) exists, so recovery may start from it. Write the snapshot file
  // first: a marker must never point to a snapshot that is not on disk.
  absl::Status SaveSnapshotMarker(const raftpb::SnapshotMetadata& snapshot);
  // Deletes whole segments that hold only entries before `index` (never the current one), oldest first, while more
  // than `keep` segments remain (etcd's --max-wals; at least 1): log compaction after a snapshot at `index`.
  absl::Status RemoveSegmentsBefore(uint64_t index, size_t keep = 1);

  const WalStats& stats() const { return stats_; }
  const std::string& dir() const { return dir_; }

 private:
  Wal(Disk* disk, std::string dir, uint64_t member_id, const WalOptions& options);
  absl::Status Fail(absl::Status s);
  absl::Status StartSegment(uint64_t seq, uint64_t first_index);
  absl::Status WriteRecords(const std::string& bytes);

  Disk* disk_;
  std::string dir_;
  uint64_t member_id_;
  WalOptions options_;
  std::unique_ptr<DirLock> lock_;
  std::unique_ptr<File> file_;
  uint64_t seq_ = 0;
  uint64_t last_index_ = 0;
  absl::Status error_;  // sticky
  WalStats stats_;
};

// Segment file name for (seq, first index), and its parse (false if name is not a segment name).
std::string SegmentName(uint64_t seq, uint64_t first_index);
bool ParseSegmentName(const std::string& name, uint64_t* seq, uint64_t* first_index);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_WAL_H_
