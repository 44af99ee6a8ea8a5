#include "host/received_snapshots.h"

#include "base/check.h"

namespace detcd::host {

void ReceivedSnapshots::Add(const raftpb::SnapshotMetadata& metadata, std::string path) {
  DETCD_CHECK_MSG(metadata.index() > 0 && !path.empty(), "a received snapshot without its index or file");
  const Key key{metadata.index(), metadata.term()};
  auto it = files_.find(key);
  if (it != files_.end() && it->second != path) Remove(it->second);
  files_[key] = std::move(path);
  // Raft installs at most the newest it accepted: beyond a few, the oldest waits in vain.
  while (files_.size() > kKept) {
    Remove(files_.begin()->second);
    files_.erase(files_.begin());
  }
}

std::string ReceivedSnapshots::Take(const raftpb::SnapshotMetadata& metadata) {
  const Key key{metadata.index(), metadata.term()};
  std::string out;
  auto it = files_.find(key);
  if (it != files_.end()) {
    out = std::move(it->second);
    files_.erase(it);
  }
  // Nothing older is installed after this one.
  while (!files_.empty() && files_.begin()->first.first <= metadata.index()) {
    Remove(files_.begin()->second);
    files_.erase(files_.begin());
  }
  return out;
}

void ReceivedSnapshots::Remove(const std::string& path) {
  (void)disk_->Remove(path);  // best effort: start-up removes what is left
}

}  // namespace detcd::host
