#include "storage/snapshot_file_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::storage {

absl::StatusOr<std::unique_ptr<SnapshotFileReader>> SnapshotFileReader::Open(Disk* disk, const std::string& path) {
  absl::StatusOr<std::unique_ptr<ReadableFile>> file = disk->OpenForRead(path);
  if (!file.ok()) return file.status();
  SnapshotFileScanner scanner(path);
  const uint64_t size = (*file)->size();
  std::string chunk;
  for (uint64_t at = 0; at < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkBytes, size - at));
    chunk.clear();
    if (absl::Status s = (*file)->ReadAt(at, n, &chunk); !s.ok()) return s;
    if (absl::Status s = scanner.Add(chunk); !s.ok()) return s;
    at += n;
  }
  absl::StatusOr<SnapshotFileLayout> layout = scanner.Finish();
  if (!layout.ok()) return layout.status();
  DETCD_CHECK(layout->file_bytes == size);
  return std::unique_ptr<SnapshotFileReader>(new SnapshotFileReader(std::move(*file), path, std::move(*layout)));
}

absl::Status SnapshotFileReader::Read(size_t n, std::string* out) {
  DETCD_CHECK_MSG(n <= remaining(), "reading past the end of a snapshot's data");
  if (absl::Status s = file_->ReadAt(layout_.data_offset + read_, n, out); !s.ok()) return s;
  read_ += n;
  return absl::OkStatus();
}

absl::StatusOr<std::string> SnapshotFileReader::ReadAll() {
  std::string out;
  if (absl::Status s = Read(static_cast<size_t>(remaining()), &out); !s.ok()) return s;
  return out;
}

}  // namespace detcd::storage
