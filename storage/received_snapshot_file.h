// ReceivedSnapshotFile: a leader's snapshot arriving over the network (the peer transport streams the leader's
// snapshot file), written as its bytes come under a temporary name in the member's snapshot directory and checked as
// they pass (SnapshotFileScanner), so that receiving one holds a chunk, never the state. Finish says whether the
// file is whole and sound (length, CRC) and for the snapshot the message announced; the file is then the member's
// snapshot file to be, once installed (MemberStore::InstallSnapshotFile syncs, renames and records it). A
// reception refused, cut short or dropped removes its file; a crash leaves "*.tmp", which start-up removes. It
// never syncs (the install does, on the disk's thread) and never retries a failed write.
#ifndef DETCD_STORAGE_RECEIVED_SNAPSHOT_FILE_H_
#define DETCD_STORAGE_RECEIVED_SNAPSHOT_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/raft.pb.h"
#include "storage/disk.h"
#include "storage/snapshot_file_scanner.h"

namespace detcd::storage {

class ReceivedSnapshotFile {
 public:
  ReceivedSnapshotFile(const ReceivedSnapshotFile&) = delete;
  ReceivedSnapshotFile& operator=(const ReceivedSnapshotFile&) = delete;
  ~ReceivedSnapshotFile();  // not finished: the file goes

  // Creates <dir>/<name> (name ending in ".tmp"; a leftover one is replaced) for a file of file_bytes bytes holding
  // the snapshot `expected` describes. Refuses a length the format does not allow.
  static absl::StatusOr<std::unique_ptr<ReceivedSnapshotFile>> Begin(Disk* disk, const std::string& dir,
                                                                     const std::string& name,
                                                                     const raftpb::SnapshotMetadata& expected,
                                                                     uint64_t file_bytes);
  // The next bytes. An error (the bytes are not the snapshot file, or the disk failed) is final.
  absl::Status Append(absl::string_view bytes);
  // Every byte came: the file's path if it is sound and holds the expected snapshot. Not durable yet.
  absl::StatusOr<std::string> Finish();
  const std::string& path() const { return path_; }
  uint64_t bytes_received() const { return scanner_.bytes_seen(); }

 private:
  ReceivedSnapshotFile(Disk* disk, std::string path, raftpb::SnapshotMetadata expected, uint64_t file_bytes)
      : disk_(disk), path_(std::move(path)), expected_(std::move(expected)), file_bytes_(file_bytes),
        scanner_(path_) {}

  Disk* disk_;
  std::string path_;
  raftpb::SnapshotMetadata expected_;
  uint64_t file_bytes_;
  SnapshotFileScanner scanner_;
  std::unique_ptr<File> file_;
  absl::Status error_;
  bool finished_ = false;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_RECEIVED_SNAPSHOT_FILE_H_
