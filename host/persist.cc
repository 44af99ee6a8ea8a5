#include "host/persist.h"

#include "base/check.h"
#include "storage/disk.h"
#include "storage/snapshotter.h"

namespace detcd::host {

bool InstallsReceivedSnapshot(const kv::PersistRequest& batch) {
  return batch.snapshot && batch.snapshot->data().empty();
}

absl::Status WriteBatch(storage::MemberStore& store, const kv::PersistRequest& batch,
                        const std::string& received_file) {
  if (InstallsReceivedSnapshot(batch)) {
    // A leader's snapshot replaces the log this member lacked: it goes before the entries that follow it. Its bytes
    // are in the file they were received into, which becomes this member's snapshot file.
    DETCD_CHECK_MSG(!received_file.empty(), "a leader's snapshot to install that no file holds");
    if (absl::Status s = store.InstallSnapshotFile(batch.snapshot->metadata(), received_file); !s.ok()) return s;
  } else if (batch.snapshot) {
    if (absl::Status s = store.SaveSnapshot(*batch.snapshot); !s.ok()) return s;
  }
  if (batch.hard_state || !batch.entries.empty()) {
    const raftpb::HardState* hs = batch.hard_state ? &*batch.hard_state : nullptr;
    if (absl::Status s = store.Save(hs, batch.entries); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool NeedsSync(const kv::PersistRequest& batch, const PersistTesting& testing) {
  return batch.must_sync && !testing.skip_sync;
}

absl::Status SyncBatch(storage::MemberStore& store, const kv::PersistRequest& batch, const PersistTesting& testing) {
  if (!NeedsSync(batch, testing)) return absl::OkStatus();
  return store.Sync();
}

}  // namespace detcd::host

namespace detcd::host {

absl::StatusOr<std::unique_ptr<storage::SnapshotFileReader>> OpenInstalledSnapshot(storage::Disk* disk,
                                                                                   storage::MemberStore& store,
                                                                                   const kv::PersistRequest& batch) {
  DETCD_CHECK(InstallsReceivedSnapshot(batch));
  const raftpb::SnapshotMetadata& md = batch.snapshot->metadata();
  absl::StatusOr<std::unique_ptr<storage::SnapshotFileReader>> r = storage::SnapshotFileReader::Open(
      disk, storage::JoinPath(store.snap_dir(), storage::SnapshotFileName(md.term(), md.index())));
  if (!r.ok()) return r.status();
  DETCD_CHECK_MSG((*r)->metadata().SerializeAsString() == md.SerializeAsString(),
                  "the installed snapshot file holds another snapshot");
  return r;
}

}  // namespace detcd::host
