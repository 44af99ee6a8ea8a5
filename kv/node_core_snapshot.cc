// NodeCore: its snapshots. A snapshot is made from the state as it is at the applied index, a piece per event: the
// small parts at once, then the MVCC store's versions at that revision, snapshot_chunk_records at a time, while
// writes go on above it (the store is pinned, so a compaction meanwhile keeps what the snapshot still has to write).
// Made every snapshot_count entries to be saved, and whenever Raft wants one sent to a follower. Raft's storage keeps
// only the metadata. A snapshot to save is streamed: its bytes leave as SnapshotPieces of about snapshot_piece_bytes,
// no more than kSnapshotPiecesInFlight unreported at once, so saving one never holds the state's size in memory (the
// driver writes them to a file as they come). One sent to followers is still made whole (it goes in one MSG_SNAP).
// It never does IO: the driver does what the pieces say and reports back.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/node_core.h"

namespace detcd::kv {

void NodeCore::MaybeSnapshot() {
  if (config_.snapshot_count == 0 || applied_index_ <= snapshot_index_ + config_.snapshot_count) return;
  // One at a time; a build for followers in progress is followed by this one, and a save waits for the one before
  // to be written.
  if (build_ || save_) return;
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
  DETCD_CHECK_MSG(!save || !save_, "one save in progress at a time");
  DETCD_CHECK_MSG(store_.pinned_rev() < 0, "a store pinned with no snapshot in progress");
  const uint64_t term = raft_->raft().log().Term(applied_index_);
  DETCD_CHECK_MSG(term > 0, absl::StrCat("applied entry ", applied_index_, " has no term").c_str());
  DETCD_CHECK_MSG(!save || config_.snapshot_piece_bytes > 0, "a snapshot to save is streamed in pieces");
  SnapshotBuild b;
  b.index = applied_index_;
  b.save = save;
  b.metadata.set_index(applied_index_);
  b.metadata.set_term(term);
  *b.metadata.mutable_conf_state() = raft_->raft().conf_state();
  store_.Pin(store_.rev());
  b.writer = std::make_unique<StateSnapshotWriter>(SmallState(), store_, save ? config_.snapshot_piece_bytes : 0);
  if (save) {
    // The next periodic snapshot counts from this one.
    snapshot_index_ = applied_index_;
    save_.emplace();
    save_->id = ++last_save_id_;
    save_->metadata = b.metadata;
    EmitSnapshotPiece(SnapshotPiece::Kind::kBegin, b.writer->TakePrefix());
  }
  build_ = std::move(b);
}

void NodeCore::EmitSnapshotPiece(SnapshotPiece::Kind kind, std::string bytes, uint64_t store_bytes) {
  DETCD_CHECK(save_ && !save_->ended);
  DETCD_CHECK_MSG(kind == SnapshotPiece::Kind::kBegin || kind == SnapshotPiece::Kind::kAbandon ||
                      save_->next_seq - save_->written < kSnapshotPiecesInFlight,
                  "more snapshot pieces in flight than the driver has room for");
  DETCD_CHECK_MSG((kind == SnapshotPiece::Kind::kBegin) == (save_->next_seq == 0), "a save begins with kBegin");
  DETCD_CHECK_MSG(kind == SnapshotPiece::Kind::kBegin || save_->written > 0, "nothing follows an unreported kBegin");
  SnapshotPiece p;
  p.kind = kind;
  p.save = save_->id;
  p.seq = save_->next_seq++;
  p.metadata = save_->metadata;
  p.bytes = std::move(bytes);
  p.store_bytes = store_bytes;
  if (kind == SnapshotPiece::Kind::kEnd) save_->ended = true;
  out_pieces_.push_back(std::move(p));
}

void NodeCore::SnapshotPieceWritten(uint64_t save, uint64_t seq) {
  if (!save_ || save_->id != save) return;  // abandoned (or from an earlier life of the driver's view)
  DETCD_CHECK_MSG(seq == save_->written && seq < save_->next_seq,
                  absl::StrCat("snapshot piece ", seq, " reported out of order (", save_->written, " written, ",
                               save_->next_seq, " handed out)")
                      .c_str());
  ++save_->written;
  if (save_->abandoned) {
    // kBegin is done: the file it began can go now (nothing else of this save was handed out).
    DETCD_CHECK(save_->written == 1 && save_->next_seq == 1);
    EmitSnapshotPiece(SnapshotPiece::Kind::kAbandon, "");
    save_.reset();
    MaybeSnapshot();
    return;
  }
  if (save_->ended && save_->written == save_->next_seq) {
    save_.reset();
    MaybeSnapshot();
    return;
  }
  StepSnapshotBuild();
}

void NodeCore::StepSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() == build_->writer->revision());
  if (build_->save) return StepSnapshotSave();
  if (build_->writer->Step(store_, config_.snapshot_chunk_records)) FinishSnapshotBuild();
}

void NodeCore::StepSnapshotSave() {
  DETCD_CHECK(build_ && build_->save && save_ && !save_->ended && !save_->abandoned);
  StateSnapshotWriter& w = *build_->writer;
  // Nothing follows kBegin until the file is begun, and no more than the driver has room for is handed out.
  if (save_->written == 0 || save_->next_seq - save_->written >= kSnapshotPiecesInFlight) return;
  // The writer checks it never holds more than a piece and one version.
  w.Step(store_, config_.snapshot_chunk_records);
  if (w.pending_bytes() >= config_.snapshot_piece_bytes || (w.done() && w.pending_bytes() > 0)) {
    EmitSnapshotPiece(SnapshotPiece::Kind::kStore, w.TakeStoreBytes());
  }
  if (w.done() && w.pending_bytes() == 0 && save_->next_seq - save_->written < kSnapshotPiecesInFlight) {
    FinishSnapshotBuild();
  }
}

void NodeCore::FinishSnapshotBuild() {
  DETCD_CHECK(build_ && build_->writer->done());
  SnapshotBuild b = std::move(*build_);
  build_.reset();
  std::optional<raftpb::Snapshot> snap;
  if (b.save) {
    DETCD_CHECK(save_ && save_->metadata.index() == b.index && b.writer->pending_bytes() == 0);
    EmitSnapshotPiece(SnapshotPiece::Kind::kEnd, "", b.writer->store_bytes());
  } else {
    snap.emplace();
    *snap->mutable_metadata() = b.metadata;
    snap->set_data(b.writer->Finish());
  }
  store_.Unpin();
  if (config_.logger) {
    config_.logger(absl::StrCat(absl::Hex(config_.id), " made snapshot at index ", b.index, " (", b.writer->records(),
                                " versions, ", b.writer->bytes(), " store bytes",
                                b.save ? ", streamed to its file" : "", ")"));
  }
  if (b.save) {
    absl::StatusOr<raftpb::Snapshot> meta = storage_.CreateSnapshot(b.index, b.metadata.conf_state(), "");
    DETCD_CHECK_MSG(meta.ok(), std::string(meta.status().message()).c_str());
    DETCD_CHECK(meta->metadata().term() == b.metadata.term());
    const uint64_t keep = config_.snapshot_catch_up_entries;
    const uint64_t compact = b.index > keep ? b.index - keep : 0;
    if (compact > storage_.FirstIndex() - 1) DETCD_CHECK(storage_.Compact(compact).ok());
  }
  // Sends this snapshot is recent enough for; those Raft asked for in an earlier term or as a leader no more are
  // dropped (Raft reset the follower's progress since and asks again). A save's bytes are gone to its file: the
  // sends queued meanwhile wait for the build that follows.
  std::vector<raftpb::Message> sends;
  std::vector<SnapshotSend> later;
  for (SnapshotSend& s : snapshot_sends_) {
    if (!is_leader() || s.message.term() != raft_->raft().term()) continue;
    if (b.save || s.min_index > b.index) {
      later.push_back(std::move(s));
    } else {
      sends.push_back(std::move(s.message));
    }
  }
  snapshot_sends_ = std::move(later);
  if (!b.save) {
    // The bytes are copied only when more than one follower needs them.
    for (size_t i = 0; i < sends.size(); ++i) {
      if (i + 1 == sends.size()) {
        *sends[i].mutable_snapshot() = std::move(*snap);
      } else {
        *sends[i].mutable_snapshot() = *snap;
      }
      out_msgs_.push_back(std::move(sends[i]));
    }
  }
  if (!snapshot_sends_.empty()) {
    StartSnapshotBuild(/*save=*/false);
  } else {
    MaybeSnapshot();
  }
}

void NodeCore::AbandonSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() >= 0);
  if (build_->save) {
    DETCD_CHECK(save_ && !save_->ended);
    if (save_->written == 0) {
      // kBegin is still being done: its file goes once it is reported (nothing may follow it before).
      save_->abandoned = true;
    } else {
      EmitSnapshotPiece(SnapshotPiece::Kind::kAbandon, "");
      save_.reset();
    }
  }
  build_.reset();
  store_.Unpin();
  // Only a follower has its state replaced: nothing it was to send is wanted now.
  snapshot_sends_.clear();
}

}  // namespace detcd::kv
