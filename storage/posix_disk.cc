#include "storage/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace detcd::storage {

namespace {

absl::Status Errno(absl::string_view call, const std::string& path) {
  const int e = errno;
  std::string msg = absl::StrCat(call, " ", path, ": ", std::strerror(e));
  if (e == ENOSPC) return absl::ResourceExhaustedError(msg);
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == EEXIST) return absl::AlreadyExistsError(msg);
  return absl::InternalError(msg);
}

// How far past the data a preallocated file is written with zeros ahead of time (see Append).
constexpr uint64_t kZeroAheadBytes = 256 << 10;

class PosixFile final : public File {
 public:
  PosixFile(int fd, uint64_t offset, std::string path) : fd_(fd), offset_(offset), path_(std::move(path)) {}
  ~PosixFile() override { close(fd_); }

  absl::Status Append(absl::string_view data) override {
    if (absl::Status s = WriteAt(offset_, data); !s.ok()) return s;
    offset_ += data.size();
    // Space fallocate reserved is "unwritten": the first write into it changes the extent tree, so the fdatasync
    // after it waits for a journal commit (one more sleep and wake-up, and about a quarter more CPU and latency per
    // sync on ext4). Writing zeros over the next piece of the preallocated space once, as the data reaches it, makes
    // the syncs of the records that later land there pure data writes. Zeros are what recovery reads as the end of
    // the records either way, synced or not.
    if (offset_ > zeroed_end_ && offset_ < zero_limit_) {
      const uint64_t end = std::min(zero_limit_, offset_ + kZeroAheadBytes);
      static const std::string* const zeros = new std::string(kZeroAheadBytes, '\0');
      if (absl::Status s = WriteAt(offset_, absl::string_view(*zeros).substr(0, end - offset_)); !s.ok()) return s;
      zeroed_end_ = end;
    }
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (fdatasync(fd_) != 0) return Errno("fdatasync", path_);
    return absl::OkStatus();
  }
  absl::Status Preallocate(uint64_t size) override {
    const int rc = posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (rc != 0) {
      errno = rc;
      return Errno("fallocate", path_);
    }
    zero_limit_ = std::max(zero_limit_, size);
    return absl::OkStatus();
  }
  absl::Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("ftruncate", path_);
    offset_ = size;
    zero_limit_ = std::min(zero_limit_, size);  // what lay past the cut is gone, preallocation included
    zeroed_end_ = std::min(zeroed_end_, size);
    return absl::OkStatus();
  }
  uint64_t offset() const override { return offset_; }

 private:
  absl::Status WriteAt(uint64_t at, absl::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(at + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", path_);
      }
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  int fd_;
  uint64_t offset_;
  std::string path_;
  uint64_t zero_limit_ = 0;  // Preallocate's size: zeros are written ahead only below it, never past the file's end
  uint64_t zeroed_end_ = 0;  // zeros were written up to here (the data starts over them)
};

class PosixLock final : public DirLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { close(fd_); }  // closing the descriptor releases the flock

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<File>> PosixDisk::Create(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", path);
  return std::unique_ptr<File>(new PosixFile(fd, 0, path));
}

absl::StatusOr<std::unique_ptr<File>> PosixDisk::OpenAt(const std::string& path, uint64_t offset) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  return std::unique_ptr<File>(new PosixFile(fd, offset, path));
}

absl::StatusOr<std::string> PosixDisk::Read(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = Errno("read", path);
      close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

namespace {

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~PosixReadableFile() override { close(fd_); }
  uint64_t size() const override { return size_; }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    if (offset > size_ || n > size_ - offset) {
      return absl::OutOfRangeError(absl::StrCat("read ", path_, ": ", n, " bytes at ", offset, " past its end"));
    }
    const size_t start = out->size();
    out->resize(start + n);
    size_t done = 0;
    while (done < n) {
      const ssize_t got = pread(fd_, out->data() + start + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        out->resize(start);
        if (got == 0) return absl::DataLossError(absl::StrCat("read ", path_, ": cut short at ", offset + done));
        return Errno("read", path_);
      }
      done += static_cast<size_t>(got);
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReadableFile>> PosixDisk::OpenForRead(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat", path);
    close(fd);
    return s;
  }
  return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, static_cast<uint64_t>(st.st_size), path));
}

absl::StatusOr<uint64_t> PosixDisk::Size(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Errno("stat", path);
  return static_cast<uint64_t>(st.st_size);
}

bool PosixDisk::Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::Status PosixDisk::Rename(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) return Errno("rename", from + " -> " + to);
  return absl::OkStatus();
}

absl::Status PosixDisk::Remove(const std::string& path) {
  if (unlink(path.c_str()) != 0) return Errno("remove", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PosixDisk::List(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Errno("opendir", dir);
  std::vector<std::string> out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status PosixDisk::MkdirAll(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", prefix);
  }
  return absl::OkStatus();
}

absl::Status PosixDisk::SyncDir(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  const int rc = fsync(fd);
  absl::Status s = rc == 0 ? absl::OkStatus() : Errno("fsync", dir);
  close(fd);
  return s;
}

absl::StatusOr<std::unique_ptr<DirLock>> PosixDisk::Lock(const std::string& dir) {
  const std::string path = JoinPath(dir, ".lock");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    absl::Status s = busy ? absl::FailedPreconditionError(
                                absl::StrCat("data directory ", dir, " is locked by another process"))
                          : Errno("flock", path);
    close(fd);
    return s;
  }
  return std::unique_ptr<DirLock>(new PosixLock(fd));
}

}  // namespace detcd::storage
