// Persist: how a member makes a batch its core handed out (kv::PersistRequest) durable, written once for both
// drivers. WriteBatch first — a leader's snapshot (WAL marker, then its file: the file it was received into, when
// the snapshot came without data), then the entries and hard state — then SyncBatch, then the driver reports
// core.Persisted(seq), with the installed snapshot's data to read (OpenInstalledSnapshot) if it came without data. The production member runs both on its disk thread at once;
// the simulator writes at once and syncs after a drawn disk latency (a crash in between loses what was not synced).
// Errors are the disk's: the caller treats any as the end of the process (an fsync is never retried).
#ifndef DETCD_HOST_PERSIST_H_
#define DETCD_HOST_PERSIST_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/node_core.h"
#include "storage/member_store.h"
#include "storage/snapshot_file_reader.h"

namespace detcd::host {

// Deliberately broken persistence, for tests of the simulator's checkers only (never set by a flag).
struct PersistTesting {
  // etcd #14370's class of bug: a batch is reported durable without its sync (it reaches the disk whenever the
  // system gets to it).
  bool skip_sync = false;
};

// received_file: for a batch whose snapshot came without data, the file it was received into (ReceivedSnapshots).
absl::Status WriteBatch(storage::MemberStore& store, const kv::PersistRequest& batch,
                        const std::string& received_file = "");

// Whether the batch installs a leader's snapshot that came without data (the core then needs its bytes).
bool InstallsReceivedSnapshot(const kv::PersistRequest& batch);

// After WriteBatch and SyncBatch of such a batch: the installed snapshot, opened and checked, to hand to Persisted.
// An error means the file went bad on the disk since it was received (the member must stop).
absl::StatusOr<std::unique_ptr<storage::SnapshotFileReader>> OpenInstalledSnapshot(storage::Disk* disk,
                                                                                   storage::MemberStore& store,
                                                                                   const kv::PersistRequest& batch);

// Whether the batch needs a sync before it may be reported durable (false also when testing skips it).
bool NeedsSync(const kv::PersistRequest& batch, const PersistTesting& testing);

// Syncs what WriteBatch wrote, if the batch needs it.
absl::Status SyncBatch(storage::MemberStore& store, const kv::PersistRequest& batch, const PersistTesting& testing);

}  // namespace detcd::host

#endif  // DETCD_HOST_PERSIST_H_
