// Snapshotter: state-machine snapshots (raftpb::Snapshot) as files "<term:016x>-<index:016x>.snap" in one directory,
// each "detcd-snap\n" + u32 CRC-32C + u64 length + the serialized snapshot. A snapshot is written under a temporary
// name, synced, renamed and the directory synced, so a crash leaves either the old set or the new one. LoadNewest
// returns the newest file that checks out; a corrupt one is renamed "<name>.broken" (as etcd does) and reported, and
// older ones are tried. OpenNewest does the same reading each file through a chunk at a time and hands back a reader
// of its data (SnapshotFileReader), never the data whole. Decoding never trusts the bytes. SnapshotFileWriter writes
// the same format a piece at a time (a member's own snapshot, or one for followers, streamed as the core makes it):
// memory O(piece), never O(snapshot). A crash mid-stream leaves only "*.tmp" files (as does a snapshot received from
// a leader and not yet installed), which LoadNewest never reads and RemoveTemporaries clears at start-up.
#ifndef DETCD_STORAGE_SNAPSHOTTER_H_
#define DETCD_STORAGE_SNAPSHOTTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/raft.pb.h"
#include "storage/disk.h"
#include "storage/snapshot_file_reader.h"

namespace detcd::storage {

std::string SnapshotFileName(uint64_t term, uint64_t index);
std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot);
// Errors name the file and say what is wrong ("snap: <name>: crc mismatch").
absl::StatusOr<raftpb::Snapshot> DecodeSnapshotFile(absl::string_view bytes, const std::string& name);

// A snapshot file written as its data is made, for data whose last field is streamed: the data is `prefix` (ending with
// that field's tag), then the field's length as a fixed 5-byte varint, then the field's contents, given in pieces
// (kv::StateSnapshotWriter makes a state snapshot exactly so). The file is laid out as EncodeSnapshotFile lays it out
// (header, data field, metadata field) except that the data's length is a fixed 5-byte varint too; both lengths and
// the header's CRC (CRC-32C pieces joined with Crc32cCombine) are patched in by Finish, which then syncs the file,
// renames it into place and syncs the directory. Until Finish returns the file is only "<name>.tmp". A file for
// followers (for_followers) is "send-<term>-<index>.tmp" and stays there: nothing durable refers to it, so it is
// neither synced nor renamed, and the caller removes it once it is sent. It holds no piece after Append returns. One
// thread uses it at a time; it never retries a failed write.
class SnapshotFileWriter {
 public:
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;
  ~SnapshotFileWriter();

  // Creates <dir>/<name>.tmp (replacing a leftover one) with room for the header and the lengths, then the prefix.
  static absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> Begin(Disk* disk, const std::string& dir,
                                                                   const raftpb::SnapshotMetadata& metadata,
                                                                   absl::string_view prefix,
                                                                   bool for_followers = false);
  // The next bytes of the last field.
  absl::Status Append(absl::string_view piece);
  // The last field was field_bytes long (checked against what was appended): patch, sync, rename, sync the directory
  // (a file for followers: patch only; it stays at temporary_path()).
  absl::Status Finish(uint64_t field_bytes);
  // The snapshot is not wanted: the temporary file goes (a crash instead leaves it for RemoveTemporaries).
  absl::Status Abandon();
  uint64_t field_bytes() const { return field_bytes_; }
  const std::string& temporary_path() const { return tmp_; }

 private:
  SnapshotFileWriter(Disk* disk, std::string dir, std::string name, raftpb::SnapshotMetadata metadata,
                     bool for_followers);

  Disk* disk_;
  std::string dir_;
  std::string name_;
  std::string tmp_;
  raftpb::SnapshotMetadata metadata_;
  std::unique_ptr<File> file_;
  uint64_t prefix_bytes_ = 0;
  uint32_t prefix_crc_ = 0;
  uint64_t field_bytes_ = 0;
  uint32_t field_crc_ = 0;
  bool for_followers_ = false;
  bool closed_ = false;  // finished or abandoned
};

class Snapshotter {
 public:
  Snapshotter(Disk* disk, std::string dir) : disk_(disk), dir_(std::move(dir)) {}

  absl::Status Save(const raftpb::Snapshot& snapshot);
  // The newest valid snapshot, or nullopt if there is none. broken (if not null) receives one line per corrupt file
  // that was set aside. Its data whole: for small snapshots (tests).
  absl::StatusOr<std::optional<raftpb::Snapshot>> LoadNewest(std::vector<std::string>* broken = nullptr);
  // The same, as a reader of the newest valid snapshot's data (null if there is none): memory O(chunk).
  absl::StatusOr<std::unique_ptr<SnapshotFileReader>> OpenNewest(std::vector<std::string>* broken = nullptr);
  // Removes all but the newest `keep` snapshot files (etcd keeps 5).
  absl::Status RemoveOld(size_t keep);
  // Removes "*.tmp" files a crash left mid-write, and files for followers or received from a leader that a crash
  // left (never read: a snapshot is only what was renamed into place);
  // removed (if not null) gets their names. Only while no snapshot is being written (start-up).
  absl::Status RemoveTemporaries(std::vector<std::string>* removed = nullptr);

 private:
  absl::StatusOr<std::vector<std::string>> Names();
  Disk* disk_;
  std::string dir_;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_SNAPSHOTTER_H_
