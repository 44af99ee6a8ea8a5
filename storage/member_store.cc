#include "storage/member_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "storage/snapshotter.h"

namespace detcd::storage {

namespace {
// Snapshot files kept: the newest and the one before.
constexpr size_t kSnapshotsKeptAtLeast = 2;
}  // namespace

MemberStore::MemberStore(Disk* disk, std::string dir, std::string wal_dir)
    : disk_(disk), dir_(std::move(dir)), wal_dir_(wal_dir.empty() ? dir_ + "/member/wal" : std::move(wal_dir)) {}

absl::StatusOr<RecoveredMember> MemberStore::Open(uint64_t member_id, uint64_t segment_bytes) {
  WalOptions wal_options;
  wal_options.segment_bytes = segment_bytes;
  wal_options.testing_corrupt_tail_is_torn = testing_corrupt_tail_is_torn_;
  wal_.reset();
  member_lock_.reset();
  snapshot_index_ = prev_snapshot_index_ = 0;
  RecoveredMember out;
  // The WAL locks its own directory, which --wal-dir may put elsewhere: the member directory (the snapshots) is locked
  // first, so a second process on the same data directory is refused whatever --wal-dir it was given.
  if (absl::Status s = disk_->MkdirAll(dir_ + "/member"); !s.ok()) return s;
  auto lock = disk_->Lock(dir_ + "/member");
  if (!lock.ok()) return lock.status();
  std::unique_ptr<DirLock> member_lock = std::move(*lock);  // kept only if the member opens
  if (!Wal::Exists(disk_, wal_dir())) {
    auto wal = Wal::Create(disk_, wal_dir(), member_id, wal_options);
    if (!wal.ok()) return wal.status();
    wal_ = std::move(*wal);
    member_lock_ = std::move(member_lock);
    return out;
  }
  Snapshotter snapshotter(disk_, snap_dir());
  std::vector<std::string> leftovers;
  if (absl::Status s = snapshotter.RemoveTemporaries(&leftovers); !s.ok()) return s;
  for (const std::string& n : leftovers) {
    const char* what = absl::StartsWith(n, "send-")       ? "removed a snapshot file made for followers: "
                       : absl::StartsWith(n, "received-") ? "removed a snapshot received and not installed: "
                                                          : "removed a half-written snapshot file: ";
    out.notes.push_back(absl::StrCat(what, n));
  }
  std::vector<std::string> broken;
  auto snap = snapshotter.OpenNewest(&broken);
  for (const std::string& b : broken) out.notes.push_back(absl::StrCat("set aside a corrupt snapshot (renamed .broken): ", b));
  if (!snap.ok()) return snap.status();
  const raftpb::SnapshotMetadata* from = *snap != nullptr ? &(*snap)->metadata() : nullptr;
  auto recovered = Wal::Open(disk_, wal_dir(), member_id, wal_options, from);
  if (!recovered.ok()) return recovered.status();
  if (recovered->torn_tail) out.notes.push_back(absl::StrCat("cut a torn WAL tail: ", recovered->torn_detail));
  if (*snap != nullptr) {
    *out.snapshot.mutable_metadata() = (*snap)->metadata();
    out.snapshot_data = std::move(*snap);
    snapshot_index_ = out.snapshot.metadata().index();
  }
  wal_ = std::move(recovered->wal);
  member_lock_ = std::move(member_lock);
  out.hard_state = recovered->hard_state;
  out.entries = std::move(recovered->entries);
  return out;
}

absl::Status MemberStore::Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries) {
  return wal_->Save(hard_state, entries);
}

absl::Status MemberStore::Sync() { return wal_->Sync(); }

absl::Status MemberStore::SaveSnapshot(const raftpb::Snapshot& snap) {
  if (absl::Status s = SaveSnapshotMarker(snap.metadata()); !s.ok()) return s;
  if (absl::Status s = SaveSnapshotFile(snap); !s.ok()) return s;
  SnapshotSaved(snap.metadata().index());
  return absl::OkStatus();
}

absl::Status MemberStore::SaveSnapshotMarker(const raftpb::SnapshotMetadata& metadata) {
  DETCD_CHECK_MSG(metadata.index() > 0, "a snapshot at index 0");
  return wal_->SaveSnapshotMarker(metadata);
}

absl::Status MemberStore::SaveSnapshotFile(const raftpb::Snapshot& snap) {
  DETCD_CHECK_MSG(snap.metadata().index() > 0, "a snapshot at index 0");
  Snapshotter snapshotter(disk_, snap_dir());
  return snapshotter.Save(snap);
}

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> MemberStore::BeginSnapshotFile(
    const raftpb::SnapshotMetadata& metadata, absl::string_view prefix) {
  DETCD_CHECK_MSG(metadata.index() > 0, "a snapshot at index 0");
  return SnapshotFileWriter::Begin(disk_, snap_dir(), metadata, prefix);
}

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> MemberStore::BeginSnapshotFileForFollowers(
    const raftpb::SnapshotMetadata& metadata, absl::string_view prefix) {
  DETCD_CHECK_MSG(metadata.index() > 0, "a snapshot at index 0");
  return SnapshotFileWriter::Begin(disk_, snap_dir(), metadata, prefix, /*for_followers=*/true);
}

absl::Status MemberStore::InstallSnapshotFile(const raftpb::SnapshotMetadata& metadata, const std::string& path) {
  DETCD_CHECK_MSG(metadata.index() > 0, "a snapshot at index 0");
  if (absl::Status s = SaveSnapshotMarker(metadata); !s.ok()) return s;
  absl::StatusOr<uint64_t> size = disk_->Size(path);
  if (!size.ok()) return size.status();
  {
    // The received bytes durable, through a handle of our own (one inode: any handle's sync covers them).
    absl::StatusOr<std::unique_ptr<File>> f = disk_->OpenAt(path, *size);
    if (!f.ok()) return f.status();
    if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  }
  if (absl::Status s = disk_->Rename(path, JoinPath(snap_dir(), SnapshotFileName(metadata.term(), metadata.index())));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = disk_->SyncDir(snap_dir()); !s.ok()) return s;
  SnapshotSaved(metadata.index());
  return absl::OkStatus();
}

void MemberStore::SnapshotSaved(uint64_t index) {
  // Saves may finish out of order (a leader's snapshot, written with the WAL, overtaking this member's own, written
  // on another thread): WAL segments are only ever kept back to the older of the two newest.
  if (index <= snapshot_index_) return;
  prev_snapshot_index_ = snapshot_index_;
  snapshot_index_ = index;
}

absl::Status MemberStore::RemoveOld() {
  if (max_wals_ > 0) {
    if (absl::Status s = wal_->RemoveSegmentsBefore(prev_snapshot_index_, max_wals_); !s.ok()) return s;
  }
  if (max_snapshots_ == 0) return absl::OkStatus();
  Snapshotter snapshotter(disk_, snap_dir());
  return snapshotter.RemoveOld(std::max(max_snapshots_, kSnapshotsKeptAtLeast));
}

}  // namespace detcd::storage
