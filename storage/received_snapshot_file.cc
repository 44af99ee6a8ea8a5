#include "storage/received_snapshot_file.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::storage {

absl::StatusOr<std::unique_ptr<ReceivedSnapshotFile>> ReceivedSnapshotFile::Begin(
    Disk* disk, const std::string& dir, const std::string& name, const raftpb::SnapshotMetadata& expected,
    uint64_t file_bytes) {
  DETCD_CHECK_MSG(absl::EndsWith(name, ".tmp"), "a received snapshot is a temporary file until installed");
  if (file_bytes < SnapshotFileScanner::kHeaderBytes ||
      file_bytes > SnapshotFileScanner::kHeaderBytes + SnapshotFileScanner::kMaxBodyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a snapshot file of ", file_bytes, " bytes"));
  }
  if (expected.index() == 0) return absl::InvalidArgumentError("a snapshot at index 0");
  if (absl::Status s = disk->MkdirAll(dir); !s.ok()) return s;
  std::unique_ptr<ReceivedSnapshotFile> r(new ReceivedSnapshotFile(disk, JoinPath(dir, name), expected, file_bytes));
  if (disk->Exists(r->path_)) {
    if (absl::Status s = disk->Remove(r->path_); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<File>> f = disk->Create(r->path_);
  if (!f.ok()) return f.status();
  r->file_ = std::move(*f);
  return r;
}

ReceivedSnapshotFile::~ReceivedSnapshotFile() {
  if (finished_) return;
  file_.reset();
  (void)disk_->Remove(path_);  // best effort: a leftover is removed at the next start
}

absl::Status ReceivedSnapshotFile::Append(absl::string_view bytes) {
  DETCD_CHECK_MSG(!finished_, "appending to a received snapshot that was finished");
  if (!error_.ok()) return error_;
  if (bytes.size() > file_bytes_ - scanner_.bytes_seen()) {
    return error_ = absl::DataLossError(absl::StrCat(path_, ": more than the ", file_bytes_, " bytes announced"));
  }
  if (absl::Status s = scanner_.Add(bytes); !s.ok()) return error_ = s;
  if (absl::Status s = file_->Append(bytes); !s.ok()) return error_ = s;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReceivedSnapshotFile::Finish() {
  DETCD_CHECK_MSG(!finished_, "finishing a received snapshot twice");
  if (!error_.ok()) return error_;
  if (scanner_.bytes_seen() != file_bytes_) {
    return error_ = absl::DataLossError(
               absl::StrCat(path_, ": cut short at ", scanner_.bytes_seen(), " of ", file_bytes_, " bytes"));
  }
  absl::StatusOr<SnapshotFileLayout> layout = scanner_.Finish();
  if (!layout.ok()) return error_ = layout.status();
  if (layout->metadata.SerializeAsString() != expected_.SerializeAsString()) {
    return error_ = absl::DataLossError(absl::StrCat(path_, ": holds the snapshot at index ", layout->metadata.index(),
                                                     " term ", layout->metadata.term(), ", not the one announced (",
                                                     expected_.index(), " term ", expected_.term(), ")"));
  }
  file_.reset();
  finished_ = true;
  return path_;
}

}  // namespace detcd::storage
