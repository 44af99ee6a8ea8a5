// Disk / File: the only way storage/ reaches a disk. Production uses PosixDisk (storage/posix_disk.cc, the one file
// that calls the OS); the simulator uses sim::SimDisk, which keeps unsynced writes in a volatile buffer and injects
// faults. Everything above this interface (WAL, snapshots, recovery) is plain code over it, so the simulator runs the
// same recovery paths production does. Paths are plain strings joined with '/'; no interface call follows symlinks or
// globs. Errors are absl::Status values; an error from Sync() means the data may be gone (the caller must treat the
// node as failed, never retry and carry on).
#ifndef DETCD_STORAGE_DISK_H_
#define DETCD_STORAGE_DISK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::storage {

// A file open for writing. Writes go to the current write offset, which starts at 0 for a new file and at the end
// of the data for OpenForAppend; nothing written is durable until Sync() returns OK.
class File {
 public:
  virtual ~File() = default;
  // Writes data at the write offset and advances it.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Makes everything written so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
  // Reserves space up to `size` bytes (zero-filled) without moving the write offset, so later appends do not
  // change the file's size (etcd preallocates WAL segments this way). A no-op if the file is already that large.
  virtual absl::Status Preallocate(uint64_t size) = 0;
  // Cuts (or zero-extends) the file to `size` bytes and puts the write offset there.
  virtual absl::Status Truncate(uint64_t size) = 0;
  virtual uint64_t offset() const = 0;
};

// A file open for reading, as it is now and as it is written later (the page cache). A handle keeps reading the
// file after its name is removed (POSIX's unlinked-but-open), so a reader may outlive the name it opened.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // The file's size when it was opened.
  virtual uint64_t size() const = 0;
  // Appends the n bytes at `offset` to *out (offset + n <= size()).
  virtual absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) = 0;
};

// An exclusive lock on a directory, held until destroyed. A second lock on the same directory (from this process
// or another) fails.
class DirLock {
 public:
  virtual ~DirLock() = default;
};

class Disk {
 public:
  virtual ~Disk() = default;
  // Creates a new empty file (fails if it exists).
  virtual absl::StatusOr<std::unique_ptr<File>> Create(const std::string& path) = 0;
  // Opens an existing file for writing at `offset` (which must be <= its size).
  virtual absl::StatusOr<std::unique_ptr<File>> OpenAt(const std::string& path, uint64_t offset) = 0;
  // The whole content of a file as a reader sees it now.
  virtual absl::StatusOr<std::string> Read(const std::string& path) = 0;
  // An existing file, to read a piece at a time (a file too large to read whole).
  virtual absl::StatusOr<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) = 0;
  virtual absl::StatusOr<uint64_t> Size(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Atomically replaces `to` with `from`; durable only after SyncDir of the directory.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
  // Creates a directory and its parents if missing.
  virtual absl::Status MkdirAll(const std::string& dir) = 0;
  // Makes creations, renames and removals in a directory durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  virtual absl::StatusOr<std::unique_ptr<DirLock>> Lock(const std::string& dir) = 0;
};

// "a/b" + "c" -> "a/b/c".
inline std::string JoinPath(absl::string_view dir, absl::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name.data(), name.size());
  return out;
}

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_DISK_H_
