// ReceivedSnapshots: the leaders' snapshots a member received into files (storage::ReceivedSnapshotFile, checked on
// arrival), by the snapshot they hold, from their arrival until the core has one installed (its PersistRequest
// carries a snapshot without data: Take gives that file). Raft may ignore a snapshot it received (stale, or a newer
// one came): such files go when a newer snapshot is installed, when more than kKept wait, or at the next start
// (every "*.tmp" in the snapshot directory goes). Both drivers keep one; it is used by the thread holding the core.
// It only removes files it was given; it never reads them.
#ifndef DETCD_HOST_RECEIVED_SNAPSHOTS_H_
#define DETCD_HOST_RECEIVED_SNAPSHOTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "api/raft.pb.h"
#include "storage/disk.h"

namespace detcd::host {

class ReceivedSnapshots {
 public:
  static constexpr size_t kKept = 4;

  explicit ReceivedSnapshots(storage::Disk* disk) : disk_(disk) {}
  ReceivedSnapshots(const ReceivedSnapshots&) = delete;
  ReceivedSnapshots& operator=(const ReceivedSnapshots&) = delete;

  // The file at `path` holds the snapshot `metadata` describes (a file for the same snapshot before it goes).
  void Add(const raftpb::SnapshotMetadata& metadata, std::string path);
  // The file of the snapshot a batch installs, which leaves the set ("" if there is none: a broken invariant for
  // the caller); files of older snapshots go.
  std::string Take(const raftpb::SnapshotMetadata& metadata);
  size_t size() const { return files_.size(); }

 private:
  using Key = std::pair<uint64_t, uint64_t>;  // index, term
  void Remove(const std::string& path);

  storage::Disk* disk_;
  std::map<Key, std::string> files_;
};

}  // namespace detcd::host

#endif  // DETCD_HOST_RECEIVED_SNAPSHOTS_H_
