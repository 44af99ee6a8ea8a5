#include "sim/node_disk.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/snapshotter.h"

namespace detcd::sim {

namespace {
constexpr char kWalDir[] = "/data/member/wal";
constexpr char kSnapDir[] = "/data/member/snap";
// Snapshot files kept: the newest and the one before.
constexpr size_t kSnapshotsKept = 2;
}  // namespace

absl::StatusOr<DiskState> NodeDisk::Open(uint64_t member_id, uint64_t segment_bytes) {
  storage::WalOptions wal_options;
  wal_options.segment_bytes = segment_bytes;
  wal_.reset();
  snapshot_index_ = prev_snapshot_index_ = 0;
  DiskState out;
  if (!storage::Wal::Exists(&disk_, kWalDir)) {
    auto wal = storage::Wal::Create(&disk_, kWalDir, member_id, wal_options);
    if (!wal.ok()) return wal.status();
    wal_ = std::move(*wal);
    return out;
  }
  // The newest snapshot file that checks out (a rotten one is set aside), then the WAL after it.
  storage::Snapshotter snapshotter(&disk_, kSnapDir);
  std::vector<std::string> broken;
  auto snap = snapshotter.LoadNewest(&broken);
  for (const std::string& b : broken) out.notes.push_back(absl::StrCat("set aside a corrupt snapshot (renamed .broken): ", b));
  if (!snap.ok()) return snap.status();
  const raftpb::SnapshotMetadata* from = snap->has_value() ? &(*snap)->metadata() : nullptr;
  auto recovered = storage::Wal::Open(&disk_, kWalDir, member_id, wal_options, from);
  if (!recovered.ok()) return recovered.status();
  if (recovered->torn_tail) out.notes.push_back(absl::StrCat("cut a torn WAL tail: ", recovered->torn_detail));
  if (snap->has_value()) {
    out.snapshot = std::move(**snap);
    snapshot_index_ = out.snapshot.metadata().index();
  }
  wal_ = std::move(recovered->wal);
  out.hard_state = recovered->hard_state;
  out.entries = std::move(recovered->entries);
  return out;
}

absl::Status NodeDisk::Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries) {
  return wal_->Save(hard_state, entries);
}

absl::Status NodeDisk::Sync() { return wal_->Sync(); }

absl::Status NodeDisk::SaveSnapshot(const raftpb::Snapshot& snap) {
  if (absl::Status s = wal_->SaveSnapshotMarker(snap.metadata()); !s.ok()) return s;
  storage::Snapshotter snapshotter(&disk_, kSnapDir);
  if (absl::Status s = snapshotter.Save(snap); !s.ok()) return s;
  prev_snapshot_index_ = snapshot_index_;
  snapshot_index_ = snap.metadata().index();
  return absl::OkStatus();
}

absl::Status NodeDisk::RemoveOld() {
  if (absl::Status s = wal_->RemoveSegmentsBefore(prev_snapshot_index_); !s.ok()) return s;
  storage::Snapshotter snapshotter(&disk_, kSnapDir);
  return snapshotter.RemoveOld(kSnapshotsKept);
}

void NodeDisk::SetError(bool on_sync, bool on) {
  if (on_sync) {
    disk_.set_sync_error(on);
  } else {
    disk_.set_write_error(on);
  }
}

void NodeDisk::SetFull(bool on) { disk_.set_capacity_bytes(on ? std::max<uint64_t>(disk_.used_bytes(), 1) : 0); }

std::string NodeDisk::FlipBit(simpb::BitRot::Where where, Prng* prng) {
  const std::string prefix = where == simpb::BitRot::WAL        ? "/data/member/wal/"
                             : where == simpb::BitRot::SNAPSHOT ? "/data/member/snap/"
                                                                : "/data/";
  return disk_.FlipRandomBit(prefix, prng);
}

void NodeDisk::PowerOff(simpb::CrashLoss loss, Prng* prng) {
  wal_.reset();
  if (loss == simpb::CRASH_LOSS_UNSPECIFIED) loss = static_cast<simpb::CrashLoss>(prng->Range(1, 3));
  disk_.Crash(loss == simpb::TORN_PREFIX      ? CrashLoss::kTornPrefix
              : loss == simpb::RANDOM_SECTORS ? CrashLoss::kRandomSectors
                                              : CrashLoss::kAll,
              prng);
}

}  // namespace detcd::sim
