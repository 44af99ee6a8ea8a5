// SnapshotFileScanner: checks a snapshot file ("detcd-snap\n" + CRC-32C + length + body, see snapshotter.h) whose
// bytes pass by in order, a piece at a time — a file being received from the network, or read through once — and
// finds where its data lies, without ever holding more than the header and the small fields after the data (the
// metadata). The body is a raftpb::Snapshot whose data field, if any, comes first (both EncodeSnapshotFile and
// SnapshotFileWriter write it so; its length may be a padded varint). It refuses, with DataLoss naming the file, any
// bytes that are not such a file: a bad magic, a length past the format's maximum, more or fewer bytes than the
// header says, a CRC mismatch, metadata that does not parse or is at index 0. It never trusts a length before
// checking it against what the header allows, and never crashes on bad input.
#ifndef DETCD_STORAGE_SNAPSHOT_FILE_SCANNER_H_
#define DETCD_STORAGE_SNAPSHOT_FILE_SCANNER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/raft.pb.h"

namespace detcd::storage {

// Where a checked snapshot file's parts are.
struct SnapshotFileLayout {
  raftpb::SnapshotMetadata metadata;
  uint64_t data_offset = 0;  // the first byte of the data (the state snapshot) in the file
  uint64_t data_bytes = 0;
  uint64_t file_bytes = 0;
};

class SnapshotFileScanner {
 public:
  // name: for errors ("snap: <name>: <why>").
  explicit SnapshotFileScanner(std::string name) : name_(std::move(name)) {}

  // The next bytes of the file. An error is final: every later call returns it.
  absl::Status Add(absl::string_view bytes);
  // Every byte was given: the layout, or why the bytes are not a snapshot file.
  absl::StatusOr<SnapshotFileLayout> Finish();
  uint64_t bytes_seen() const { return seen_; }
  // The file's length as its header says (0 until the header has passed).
  uint64_t file_bytes() const { return header_done_ ? kHeaderBytes + body_bytes_ : 0; }

  static constexpr uint64_t kHeaderBytes = 11 + 4 + 8;
  // The most a file's body may be (the format's limit).
  static constexpr uint64_t kMaxBodyBytes = uint64_t{8} << 30;
  // The most the fields after the data (the metadata) may take.
  static constexpr uint64_t kMaxTailBytes = 64u << 20;

 private:
  absl::Status Bad(absl::string_view why);
  // Consumes body bytes from `bytes` (advancing it) according to the phase.
  absl::Status Body(absl::string_view* bytes);

  enum class Phase { kHeader, kDataLength, kData, kTail };
  std::string name_;
  absl::Status error_;
  Phase phase_ = Phase::kHeader;
  bool header_done_ = false;
  std::string small_;  // the header, then the data's tag and length, then the tail
  uint32_t crc_want_ = 0;
  uint32_t crc_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t seen_ = 0;  // bytes of the file so far
  uint64_t data_offset_ = 0;
  uint64_t data_bytes_ = 0;
  uint64_t data_left_ = 0;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_SNAPSHOT_FILE_SCANNER_H_
