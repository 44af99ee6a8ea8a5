#include "host/persist.h"

namespace detcd::host {

absl::Status WriteBatch(storage::MemberStore& store, const kv::PersistRequest& batch) {
  if (batch.snapshot.metadata().index() > 0) {
    // A leader's snapshot replaces the log this member lacked: it goes before the entries that follow it.
    if (absl::Status s = store.SaveSnapshot(batch.snapshot); !s.ok()) return s;
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
