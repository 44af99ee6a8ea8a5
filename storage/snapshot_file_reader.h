// SnapshotFileReader: a snapshot file's data (the member's state snapshot) read a bounded piece at a time, as a
// ByteSource for the decoder that restores it — so that neither a start-up nor the install of a leader's snapshot
// reads the file whole. Open reads the file through once, a chunk at a time, checking it (SnapshotFileScanner:
// magic, length, CRC, metadata); then the data is read from its place in the file, in order. Holding it holds an
// open file (which keeps the file readable even if its name is removed) and nothing else. One thread at a time.
#ifndef DETCD_STORAGE_SNAPSHOT_FILE_READER_H_
#define DETCD_STORAGE_SNAPSHOT_FILE_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/raft.pb.h"
#include "base/byte_source.h"
#include "storage/disk.h"
#include "storage/snapshot_file_scanner.h"

namespace detcd::storage {

class SnapshotFileReader final : public ByteSource {
 public:
  static constexpr size_t kChunkBytes = 1 << 20;

  // Opens and checks the file. DataLoss (naming it) if it is not a sound snapshot file; other errors are the disk's.
  static absl::StatusOr<std::unique_ptr<SnapshotFileReader>> Open(Disk* disk, const std::string& path);

  const raftpb::SnapshotMetadata& metadata() const { return layout_.metadata; }
  const SnapshotFileLayout& layout() const { return layout_; }
  const std::string& path() const { return path_; }

  // ByteSource: the data, from its first byte.
  uint64_t remaining() const override { return layout_.data_bytes - read_; }
  absl::Status Read(size_t n, std::string* out) override;
  // What remains of the data, whole (for small snapshots only: tests).
  absl::StatusOr<std::string> ReadAll();

 private:
  SnapshotFileReader(std::unique_ptr<ReadableFile> file, std::string path, SnapshotFileLayout layout)
      : file_(std::move(file)), path_(std::move(path)), layout_(std::move(layout)) {}

  std::unique_ptr<ReadableFile> file_;
  std::string path_;
  SnapshotFileLayout layout_;
  uint64_t read_ = 0;  // data bytes read so far
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_SNAPSHOT_FILE_READER_H_
