// PosixDisk: the production Disk — the one place in storage/ that calls the operating system (open, pwrite,
// fdatasync, fallocate, rename, unlink, readdir, fsync of a directory, flock). Errors carry the call, the path and
// strerror.
#ifndef DETCD_STORAGE_POSIX_DISK_H_
#define DETCD_STORAGE_POSIX_DISK_H_

#include "storage/disk.h"

namespace detcd::storage {

class PosixDisk final : public Disk {
 public:
  absl::StatusOr<std::unique_ptr<File>> Create(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<File>> OpenAt(const std::string& path, uint64_t offset) override;
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) override;
  absl::StatusOr<uint64_t> Size(const std::string& path) override;
  bool Exists(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status MkdirAll(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<DirLock>> Lock(const std::string& dir) override;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_POSIX_DISK_H_
