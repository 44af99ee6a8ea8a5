// NodeCore: its snapshots. A snapshot is made from the state as it is at the applied index, a piece per event: the
// small parts at once, then the MVCC store's versions at that revision, snapshot_chunk_records at a time, while
// writes go on above it (the store is pinned, so a compaction meanwhile keeps what the snapshot still has to write).
// Made every snapshot_count entries to be saved, and whenever Raft wants one sent to a follower. Raft's storage keeps
// only the metadata; the bytes go to the driver (to save) and to the followers (in MSG_SNAP), never copied for the
// core to keep.
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/node_core.h"
#include "raft/check.h"

namespace detcd::kv {

void NodeCore::MaybeSnapshot() {
  if (config_.snapshot_count == 0 || applied_index_ <= snapshot_index_ + config_.snapshot_count) return;
  // One at a time; a build for followers in progress is followed by this one.
  if (build_) return;
  StartSnapshotBuild(/*save=*/true);
}

void NodeCore::QueueSnapshotSend(raftpb::Message m) {
  DETCD_CHECK(m.type() == raftpb::MSG_SNAP);
  DETCD_CHECK_MSG(m.snapshot().metadata().index() > 0, "Raft sends a snapshot it has");
  // A snapshot started earlier may predate a configuration change the follower needs to see itself in.
  snapshot_sends_.push_back(SnapshotSend{std::move(m), applied_index_});
  if (!build_) StartSnapshotBuild(/*save=*/false);
}

void NodeCore::StartSnapshotBuild(bool save) {
  DETCD_CHECK_MSG(!build_, "one snapshot in progress at a time");
  DETCD_CHECK_MSG(store_.pinned_rev() < 0, "a store pinned with no snapshot in progress");
  const uint64_t term = raft_->raft().log().Term(applied_index_);
  DETCD_CHECK_MSG(term > 0, absl::StrCat("applied entry ", applied_index_, " has no term").c_str());
  SnapshotBuild b;
  b.index = applied_index_;
  b.save = save;
  b.metadata.set_index(applied_index_);
  b.metadata.set_term(term);
  *b.metadata.mutable_conf_state() = raft_->raft().conf_state();
  store_.Pin(store_.rev());
  b.writer = std::make_unique<StateSnapshotWriter>(SmallState(), store_);
  // The next periodic snapshot counts from this one.
  if (save) snapshot_index_ = applied_index_;
  build_ = std::move(b);
}

void NodeCore::StepSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() == build_->writer->revision());
  if (build_->writer->Step(store_, config_.snapshot_chunk_records)) FinishSnapshotBuild();
}

void NodeCore::FinishSnapshotBuild() {
  DETCD_CHECK(build_ && build_->writer->done());
  SnapshotBuild b = std::move(*build_);
  build_.reset();
  raftpb::Snapshot snap;
  *snap.mutable_metadata() = b.metadata;
  snap.set_data(b.writer->Finish());
  store_.Unpin();
  if (config_.logger) {
    config_.logger(absl::StrCat(absl::Hex(config_.id), " made snapshot at index ", b.index, " (",
                                b.writer->records(), " versions, ", snap.data().size(), " bytes)"));
  }
  // Sends this snapshot is recent enough for; those Raft asked for in an earlier term or as a leader no more are
  // dropped (Raft reset the follower's progress since and asks again).
  std::vector<raftpb::Message> sends;
  std::vector<SnapshotSend> later;
  for (SnapshotSend& s : snapshot_sends_) {
    if (!is_leader() || s.message.term() != raft_->raft().term()) continue;
    if (s.min_index > b.index) {
      later.push_back(std::move(s));
    } else {
      sends.push_back(std::move(s.message));
    }
  }
  snapshot_sends_ = std::move(later);
  if (b.save) {
    absl::StatusOr<raftpb::Snapshot> meta = storage_.CreateSnapshot(b.index, b.metadata.conf_state(), "");
    DETCD_CHECK_MSG(meta.ok(), std::string(meta.status().message()).c_str());
    DETCD_CHECK(meta->metadata().term() == b.metadata.term());
    const uint64_t keep = config_.snapshot_catch_up_entries;
    const uint64_t compact = b.index > keep ? b.index - keep : 0;
    if (compact > storage_.FirstIndex() - 1) DETCD_CHECK(storage_.Compact(compact).ok());
  }
  // The bytes are copied only when more than one needs them (a follower's snapshot and a save at once).
  for (size_t i = 0; i < sends.size(); ++i) {
    const bool last_user = !b.save && i + 1 == sends.size();
    if (last_user) {
      *sends[i].mutable_snapshot() = std::move(snap);
    } else {
      *sends[i].mutable_snapshot() = snap;
    }
    out_msgs_.push_back(std::move(sends[i]));
  }
  if (b.save) out_snapshots_.push_back(std::move(snap));
  if (!snapshot_sends_.empty()) {
    StartSnapshotBuild(/*save=*/false);
  } else {
    MaybeSnapshot();
  }
}

void NodeCore::AbandonSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() >= 0);
  build_.reset();
  store_.Unpin();
  // Only a follower has its state replaced: nothing it was to send is wanted now.
  snapshot_sends_.clear();
}

}  // namespace detcd::kv
