// Snapshotter: state-machine snapshots (raftpb::Snapshot) as files "<term:016x>-<index:016x>.snap" in one directory,
// each "detcd-snap\n" + u32 CRC-32C + u64 length + the serialized snapshot. A snapshot is written under a temporary
// name, synced, renamed and the directory synced, so a crash leaves either the old set or the new one. LoadNewest
// returns the newest file that checks out; a corrupt one is renamed "<name>.broken" (as etcd does) and reported, and
// older ones are tried. Decoding never trusts the bytes.
#ifndef DETCD_STORAGE_SNAPSHOTTER_H_
#define DETCD_STORAGE_SNAPSHOTTER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/raft.pb.h"
#include "storage/disk.h"

namespace detcd::storage {

std::string SnapshotFileName(uint64_t term, uint64_t index);
std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot);
// Errors name the file and say what is wrong ("snap: <name>: crc mismatch").
absl::StatusOr<raftpb::Snapshot> DecodeSnapshotFile(absl::string_view bytes, const std::string& name);

class Snapshotter {
 public:
  Snapshotter(Disk* disk, std::string dir) : disk_(disk), dir_(std::move(dir)) {}

  absl::Status Save(const raftpb::Snapshot& snapshot);
  // The newest valid snapshot, or nullopt if there is none. broken (if not null) receives one line per corrupt file
  // that was set aside.
  absl::StatusOr<std::optional<raftpb::Snapshot>> LoadNewest(std::vector<std::string>* broken = nullptr);
  // Removes all but the newest `keep` snapshot files (etcd keeps 5).
  absl::Status RemoveOld(size_t keep);

 private:
  absl::StatusOr<std::vector<std::string>> Names();
  Disk* disk_;
  std::string dir_;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_SNAPSHOTTER_H_
