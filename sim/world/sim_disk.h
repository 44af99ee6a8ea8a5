// SimDisk: one simulated node's disk, implementing storage::Disk for the simulator. Reads see everything written
// (the page cache); only what was synced survives a power loss. File data becomes durable with File::Sync, and
// names (creations, renames, removals) with SyncDir of their directory. On Crash the unsynced writes are lost
// wholly, partly (torn at sector granularity, in write order) or out of order (any subset of sectors), as the
// seed decides. Faults: EIO on writes or syncs, ENOSPC past a capacity, and latent bit flips in synced data that only
// a checksum can catch. It never does real IO and draws randomness only from the Prng it is handed.
#ifndef DETCD_SIM_WORLD_SIM_DISK_H_
#define DETCD_SIM_WORLD_SIM_DISK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "storage/disk.h"

namespace detcd::sim {

// What a power loss does to writes that were not synced.
enum class CrashLoss {
  kAll,            // every unsynced write is lost
  kTornPrefix,     // unsynced sectors reach the disk in write order up to a random point
  kRandomSectors,  // any subset of the unsynced sectors reaches the disk (out of order)
};

struct SimDiskStats {
  uint64_t bytes_written = 0;
  uint64_t syncs = 0;
  uint64_t dir_syncs = 0;
  uint64_t write_errors = 0;
  uint64_t sync_errors = 0;
  uint64_t bit_flips = 0;
};

class SimDisk final : public storage::Disk {
 public:
  static constexpr uint64_t kSectorBytes = 512;

  SimDisk() = default;
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  // storage::Disk
  absl::StatusOr<std::unique_ptr<storage::File>> Create(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<storage::File>> OpenAt(const std::string& path, uint64_t offset) override;
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<storage::ReadableFile>> OpenForRead(const std::string& path) override;
  absl::StatusOr<uint64_t> Size(const std::string& path) override;
  bool Exists(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status MkdirAll(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<storage::DirLock>> Lock(const std::string& dir) override;

  // Power loss: unsynced data and unsynced names are lost as `loss` says (sectors drawn from prng); every open
  // file handle and lock of the dead process becomes invalid.
  void Crash(CrashLoss loss, Prng* prng);

  // Faults. While set, every write (Append, Preallocate, Truncate) or every Sync fails with EIO.
  void set_write_error(bool on) { write_error_ = on; }
  void set_sync_error(bool on) { sync_error_ = on; }
  // Total bytes the disk holds; writes beyond it fail with ENOSPC. 0 = unlimited.
  void set_capacity_bytes(uint64_t bytes) { capacity_bytes_ = bytes; }
  uint64_t used_bytes() const;
  // Flips one random bit in the synced, written part of a random file whose path starts with `prefix` (in both
  // the durable and the visible copy: a latent sector error). Returns a description, or "" if no such byte exists.
  std::string FlipRandomBit(const std::string& prefix, Prng* prng);
  // The synced, written bytes of a file (what a power loss would leave of its data); "" if there is no such file.
  std::string SyncedBytes(const std::string& path) const;
  // Flips one bit of a file's synced bytes (offset < SyncedBytes(path).size()), in both copies as FlipRandomBit.
  void FlipBitAt(const std::string& path, uint64_t offset, int bit);

  const SimDiskStats& stats() const { return stats_; }

 private:
  class SimFile;
  class SimReadableFile;
  class SimLock;
  struct Inode {
    std::string data;              // what readers see
    std::string durable;           // what survives a power loss
    uint64_t written_end = 0;      // end of the bytes ever appended (preallocated zeros beyond are not data)
    uint64_t durable_written_end = 0;
    std::vector<std::pair<uint64_t, uint64_t>> unsynced;  // (offset, length) of writes since the last sync
  };

  absl::Status CheckWrite(uint64_t growth);
  absl::Status Write(uint64_t inode, uint64_t offset, const char* bytes, size_t n);
  absl::Status SyncInode(uint64_t inode);
  static std::string Parent(const std::string& path);

  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> names_;          // path -> inode, as the running process sees it
  std::map<std::string, uint64_t> durable_names_;  // path -> inode, as a power loss would leave it
  std::set<std::string> dirs_;
  std::set<std::string> locked_;
  uint64_t next_inode_ = 1;
  uint64_t generation_ = 0;  // bumped by every crash: handles of earlier generations are dead
  bool write_error_ = false;
  bool sync_error_ = false;
  uint64_t capacity_bytes_ = 0;
  SimDiskStats stats_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_SIM_DISK_H_
