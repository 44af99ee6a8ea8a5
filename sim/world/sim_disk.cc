#include "sim/world/sim_disk.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {

class SimDisk::SimFile final : public storage::File {
 public:
  SimFile(SimDisk* disk, uint64_t inode, uint64_t offset, std::string path)
      : disk_(disk), inode_(inode), generation_(disk->generation_), offset_(offset), path_(std::move(path)) {}

  absl::Status Append(absl::string_view data) override {
    if (absl::Status s = Alive(); !s.ok()) return s;
    Inode& f = disk_->inodes_[inode_];
    const uint64_t end = offset_ + data.size();
    if (absl::Status s = disk_->CheckWrite(end > f.data.size() ? end - f.data.size() : 0); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("write ", path_, ": ", s.message()));
    }
    if (absl::Status s = disk_->Write(inode_, offset_, data.data(), data.size()); !s.ok()) return s;
    f.written_end = std::max(f.written_end, end);
    offset_ = end;
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (absl::Status s = Alive(); !s.ok()) return s;
    if (disk_->sync_error_) {
      ++disk_->stats_.sync_errors;
      return absl::InternalError(absl::StrCat("fdatasync ", path_, ": input/output error"));
    }
    return disk_->SyncInode(inode_);
  }

  absl::Status Preallocate(uint64_t size) override {
    if (absl::Status s = Alive(); !s.ok()) return s;
    Inode& f = disk_->inodes_[inode_];
    if (size <= f.data.size()) return absl::OkStatus();
    if (absl::Status s = disk_->CheckWrite(size - f.data.size()); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("fallocate ", path_, ": ", s.message()));
    }
    const uint64_t old = f.data.size();
    f.data.resize(size, '\0');
    f.unsynced.emplace_back(old, size - old);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (absl::Status s = Alive(); !s.ok()) return s;
    Inode& f = disk_->inodes_[inode_];
    if (size > f.data.size()) {
      if (absl::Status s = disk_->CheckWrite(size - f.data.size()); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("ftruncate ", path_, ": ", s.message()));
      }
    } else if (disk_->write_error_) {
      ++disk_->stats_.write_errors;
      return absl::InternalError(absl::StrCat("ftruncate ", path_, ": input/output error"));
    }
    f.data.resize(size, '\0');
    f.written_end = std::min<uint64_t>(f.written_end, size);
    // A truncation is durable only after a sync; until then the durable copy keeps its old length.
    f.unsynced.emplace_back(size, 0);
    offset_ = size;
    return absl::OkStatus();
  }

  uint64_t offset() const override { return offset_; }

 private:
  absl::Status Alive() const {
    if (disk_->generation_ != generation_ || disk_->inodes_.count(inode_) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": stale file handle (the process crashed)"));
    }
    return absl::OkStatus();
  }

  SimDisk* disk_;
  uint64_t inode_;
  uint64_t generation_;
  uint64_t offset_;
  std::string path_;
};

class SimDisk::SimReadableFile final : public storage::ReadableFile {
 public:
  SimReadableFile(SimDisk* disk, uint64_t inode, std::string path)
      : disk_(disk),
        inode_(inode),
        generation_(disk->generation_),
        size_(disk->inodes_[inode].data.size()),
        path_(std::move(path)) {}
  uint64_t size() const override { return size_; }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    if (disk_->generation_ != generation_ || disk_->inodes_.count(inode_) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": stale file handle (the process crashed)"));
    }
    const std::string& data = disk_->inodes_[inode_].data;  // the page cache, as a reader sees it
    if (offset > data.size() || n > data.size() - offset || offset + n > size_) {
      return absl::OutOfRangeError(absl::StrCat("read ", path_, ": ", n, " bytes at ", offset, " past its end"));
    }
    out->append(data, offset, n);
    return absl::OkStatus();
  }

 private:
  SimDisk* disk_;
  uint64_t inode_;
  uint64_t generation_;
  uint64_t size_;
  std::string path_;
};

class SimDisk::SimLock final : public storage::DirLock {
 public:
  SimLock(SimDisk* disk, std::string dir) : disk_(disk), dir_(std::move(dir)), generation_(disk->generation_) {}
  ~SimLock() override {
    if (disk_->generation_ == generation_) disk_->locked_.erase(dir_);
  }

 private:
  SimDisk* disk_;
  std::string dir_;
  uint64_t generation_;
};

std::string SimDisk::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

uint64_t SimDisk::used_bytes() const {
  uint64_t total = 0;
  for (const auto& [id, f] : inodes_) total += f.data.size();
  return total;
}

absl::Status SimDisk::CheckWrite(uint64_t growth) {
  if (write_error_) {
    ++stats_.write_errors;
    return absl::InternalError("input/output error");
  }
  if (capacity_bytes_ > 0 && used_bytes() + growth > capacity_bytes_) {
    ++stats_.write_errors;
    return absl::ResourceExhaustedError("no space left on device");
  }
  return absl::OkStatus();
}

absl::Status SimDisk::Write(uint64_t inode, uint64_t offset, const char* bytes, size_t n) {
  Inode& f = inodes_[inode];
  if (offset + n > f.data.size()) f.data.resize(offset + n, '\0');
  std::copy(bytes, bytes + n, f.data.begin() + static_cast<std::ptrdiff_t>(offset));
  if (n > 0) f.unsynced.emplace_back(offset, n);
  stats_.bytes_written += n;
  return absl::OkStatus();
}

absl::Status SimDisk::SyncInode(uint64_t inode) {
  Inode& f = inodes_[inode];
  // The durable copy becomes what readers see. Only what changed since the last sync is copied (a preallocated WAL
  // segment is synced after every batch; copying it whole was a fifth of a run's time), replaying the changes in
  // order: a truncation (length 0) cuts or zero-extends the copy, a write brings its bytes as they are now.
  for (const auto& [offset, length] : f.unsynced) {
    if (length == 0) {
      f.durable.resize(offset, '\0');
      continue;
    }
    const uint64_t end = std::min<uint64_t>(offset + length, f.data.size());
    if (offset >= end) continue;  // cut away since by a later truncation
    if (f.durable.size() < end) f.durable.resize(end, '\0');
    std::copy(f.data.begin() + static_cast<std::ptrdiff_t>(offset), f.data.begin() + static_cast<std::ptrdiff_t>(end),
              f.durable.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  f.durable.resize(f.data.size(), '\0');  // a final truncation's zero extension
  DETCD_CHECK_MSG(f.durable.size() == f.data.size(), "a synced file's durable copy differs in length from its data");
  f.durable_written_end = f.written_end;
  f.unsynced.clear();
  ++stats_.syncs;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<storage::File>> SimDisk::Create(const std::string& path) {
  if (names_.count(path)) return absl::AlreadyExistsError(absl::StrCat("create ", path, ": file exists"));
  if (!dirs_.count(Parent(path))) return absl::NotFoundError(absl::StrCat("create ", path, ": no such directory"));
  if (write_error_) {
    ++stats_.write_errors;
    return absl::InternalError(absl::StrCat("create ", path, ": input/output error"));
  }
  const uint64_t id = next_inode_++;
  inodes_[id] = Inode{};
  names_[path] = id;
  return std::unique_ptr<storage::File>(new SimFile(this, id, 0, path));
}

absl::StatusOr<std::unique_ptr<storage::File>> SimDisk::OpenAt(const std::string& path, uint64_t offset) {
  auto it = names_.find(path);
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("open ", path, ": no such file"));
  if (offset > inodes_[it->second].data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("open ", path, ": offset ", offset, " beyond the end"));
  }
  return std::unique_ptr<storage::File>(new SimFile(this, it->second, offset, path));
}

absl::StatusOr<std::string> SimDisk::Read(const std::string& path) {
  auto it = names_.find(path);
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("read ", path, ": no such file"));
  return inodes_[it->second].data;
}

absl::StatusOr<std::unique_ptr<storage::ReadableFile>> SimDisk::OpenForRead(const std::string& path) {
  auto it = names_.find(path);
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("open ", path, ": no such file"));
  // The inode outlives its name (Remove keeps inodes): a reader goes on after the file is removed, as on POSIX.
  return std::unique_ptr<storage::ReadableFile>(new SimReadableFile(this, it->second, path));
}

absl::StatusOr<uint64_t> SimDisk::Size(const std::string& path) {
  auto it = names_.find(path);
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("stat ", path, ": no such file"));
  return static_cast<uint64_t>(inodes_[it->second].data.size());
}

bool SimDisk::Exists(const std::string& path) { return names_.count(path) > 0 || dirs_.count(path) > 0; }

absl::Status SimDisk::Rename(const std::string& from, const std::string& to) {
  auto it = names_.find(from);
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("rename ", from, ": no such file"));
  if (!dirs_.count(Parent(to))) return absl::NotFoundError(absl::StrCat("rename to ", to, ": no such directory"));
  const uint64_t id = it->second;
  names_.erase(it);
  names_[to] = id;
  return absl::OkStatus();
}

absl::Status SimDisk::Remove(const std::string& path) {
  if (names_.erase(path) == 0) return absl::NotFoundError(absl::StrCat("remove ", path, ": no such file"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SimDisk::List(const std::string& dir) {
  if (!dirs_.count(dir)) return absl::NotFoundError(absl::StrCat("list ", dir, ": no such directory"));
  std::vector<std::string> out;
  const std::string prefix = dir + "/";
  for (const auto& [path, id] : names_) {
    if (absl::StartsWith(path, prefix) && path.find('/', prefix.size()) == std::string::npos) {
      out.push_back(path.substr(prefix.size()));
    }
  }
  for (const std::string& d : dirs_) {
    if (absl::StartsWith(d, prefix) && d.find('/', prefix.size()) == std::string::npos)
      out.push_back(d.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status SimDisk::MkdirAll(const std::string& dir) {
  // Directories are durable at once: the simulator does not model losing a freshly made directory.
  std::string d = dir;
  while (!d.empty() && !dirs_.count(d)) {
    dirs_.insert(d);
    d = Parent(d);
  }
  return absl::OkStatus();
}

absl::Status SimDisk::SyncDir(const std::string& dir) {
  if (!dirs_.count(dir)) return absl::NotFoundError(absl::StrCat("fsync ", dir, ": no such directory"));
  if (sync_error_) {
    ++stats_.sync_errors;
    return absl::InternalError(absl::StrCat("fsync ", dir, ": input/output error"));
  }
  for (auto it = durable_names_.begin(); it != durable_names_.end();) {
    it = Parent(it->first) == dir ? durable_names_.erase(it) : std::next(it);
  }
  for (const auto& [path, id] : names_) {
    if (Parent(path) == dir) durable_names_[path] = id;
  }
  ++stats_.dir_syncs;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<storage::DirLock>> SimDisk::Lock(const std::string& dir) {
  if (!dirs_.count(dir)) return absl::NotFoundError(absl::StrCat("lock ", dir, ": no such directory"));
  if (!locked_.insert(dir).second) {
    return absl::FailedPreconditionError(absl::StrCat("data directory ", dir, " is locked by another process"));
  }
  return std::unique_ptr<storage::DirLock>(new SimLock(this, dir));
}

void SimDisk::Crash(CrashLoss loss, Prng* prng) {
  ++generation_;
  locked_.clear();
  for (auto& [id, f] : inodes_) {
    std::string survived = f.durable;
    uint64_t written_end = f.durable_written_end;
    if (loss != CrashLoss::kAll && !f.unsynced.empty()) {
      // The unsynced sectors, in the order they were first written.
      std::vector<uint64_t> sectors;
      std::set<uint64_t> seen;
      for (const auto& [offset, length] : f.unsynced) {
        if (length == 0) continue;  // a truncation: never half-applied here, lost unless synced
        for (uint64_t s = offset / kSectorBytes; s <= (offset + length - 1) / kSectorBytes; ++s) {
          if (seen.insert(s).second) sectors.push_back(s);
        }
      }
      const uint64_t keep_prefix = loss == CrashLoss::kTornPrefix ? prng->Range(0, sectors.size()) : 0;
      for (size_t i = 0; i < sectors.size(); ++i) {
        const bool keep = loss == CrashLoss::kTornPrefix ? i < keep_prefix : prng->Chance(0.5);
        if (!keep) continue;
        const uint64_t begin = sectors[i] * kSectorBytes;
        const uint64_t end = std::min<uint64_t>(begin + kSectorBytes, f.data.size());
        if (begin >= end) continue;
        if (survived.size() < end) survived.resize(end, '\0');
        std::copy(f.data.begin() + static_cast<std::ptrdiff_t>(begin),
                  f.data.begin() + static_cast<std::ptrdiff_t>(end),
                  survived.begin() + static_cast<std::ptrdiff_t>(begin));
        written_end = std::max(written_end, std::min<uint64_t>(end, f.written_end));
      }
    }
    f.data = survived;
    f.durable = std::move(survived);
    f.written_end = f.durable_written_end = written_end;
    f.unsynced.clear();
  }
  names_ = durable_names_;
  // Inodes no name refers to any more are gone.
  std::set<uint64_t> live;
  for (const auto& [path, id] : names_) live.insert(id);
  for (auto it = inodes_.begin(); it != inodes_.end();) it = live.count(it->first) ? std::next(it) : inodes_.erase(it);
}

std::string SimDisk::FlipRandomBit(const std::string& prefix, Prng* prng) {
  std::vector<std::pair<std::string, uint64_t>> candidates;  // files with synced data
  for (const auto& [path, id] : names_) {
    const Inode& f = inodes_[id];
    const uint64_t synced = std::min<uint64_t>(f.durable_written_end, f.durable.size());
    if (absl::StartsWith(path, prefix) && synced > 0) candidates.emplace_back(path, id);
  }
  if (candidates.empty()) return "";
  const auto& [path, id] = candidates[prng->Uniform(candidates.size())];
  Inode& f = inodes_[id];
  const uint64_t synced = std::min<uint64_t>(f.durable_written_end, f.durable.size());
  const uint64_t offset = prng->Uniform(synced);
  const int bit = static_cast<int>(prng->Uniform(8));
  f.durable[offset] = static_cast<char>(f.durable[offset] ^ (1 << bit));
  if (offset < f.data.size()) f.data[offset] = static_cast<char>(f.data[offset] ^ (1 << bit));
  ++stats_.bit_flips;
  return absl::StrCat(path, " offset ", offset, " bit ", bit);
}

std::string SimDisk::SyncedBytes(const std::string& path) const {
  auto name = names_.find(path);
  if (name == names_.end()) return "";
  const Inode& f = inodes_.at(name->second);
  return f.durable.substr(0, std::min<uint64_t>(f.durable_written_end, f.durable.size()));
}

void SimDisk::FlipBitAt(const std::string& path, uint64_t offset, int bit) {
  auto name = names_.find(path);
  DETCD_CHECK_MSG(name != names_.end(), "flipping a bit of a file that does not exist");
  Inode& f = inodes_[name->second];
  DETCD_CHECK(bit >= 0 && bit < 8 && offset < std::min<uint64_t>(f.durable_written_end, f.durable.size()));
  f.durable[offset] = static_cast<char>(f.durable[offset] ^ (1 << bit));
  if (offset < f.data.size()) f.data[offset] = static_cast<char>(f.data[offset] ^ (1 << bit));
  ++stats_.bit_flips;
}

}  // namespace detcd::sim
