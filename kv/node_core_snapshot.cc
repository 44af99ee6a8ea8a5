// NodeCore: its snapshots. A snapshot is made from the state as it is at the applied index, a piece per event: the
// small parts at once, then the MVCC store's versions at that revision, snapshot_chunk_records at a time, while
// writes go on above it (the store is pinned, so a compaction meanwhile keeps what the snapshot still has to write).
// Made every snapshot_count entries to be saved, and whenever Raft wants one sent to a follower. Raft's storage keeps
// only the metadata. Either kind is streamed: its bytes leave as SnapshotPieces of about snapshot_piece_bytes, no
// more than kSnapshotPiecesInFlight of a stream unreported at once, so making one never holds the state's size in
// memory (the driver writes them to a file as they come). A snapshot for followers goes in their MSG_SNAPs once its
// file is complete: the messages carry no data, the driver's transport streams the file. Restoring one (a leader's,
// or the member's own at start-up) decodes it from a ByteSource a bounded piece at a time (StateSnapshotReader).
// It never does IO: the driver does what the pieces say and reports back, and reads the files it hands over.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/node_core.h"
#include "kv/state_snapshot_reader.h"

namespace detcd::kv {

void NodeCore::MaybeSnapshot() {
  if (config_.snapshot_count == 0 || applied_index_ <= snapshot_index_ + config_.snapshot_count) return;
  // One at a time; a build for followers in progress is followed by this one, and a save waits for the one before
  // to be written.
  if (build_ || save_) return;
  StartSnapshotBuild(SnapshotPiece::Target::kSave);
}

void NodeCore::QueueSnapshotSend(raftpb::Message m) {
  DETCD_CHECK(m.type() == raftpb::MSG_SNAP);
  DETCD_CHECK_MSG(m.snapshot().metadata().index() > 0, "Raft sends a snapshot it has");
  // A snapshot started earlier may predate a configuration change the follower needs to see itself in.
  snapshot_sends_.push_back(SnapshotSend{std::move(m), applied_index_});
  NextSnapshotBuild();
}

void NodeCore::DropStaleSnapshotSends() {
  std::vector<SnapshotSend> kept;
  for (SnapshotSend& s : snapshot_sends_) {
    if (is_leader() && s.message.term() == raft_->raft().term()) kept.push_back(std::move(s));
  }
  snapshot_sends_ = std::move(kept);
}

void NodeCore::NextSnapshotBuild() {
  if (build_) return;
  DropStaleSnapshotSends();
  // A snapshot for followers waits for the one before to be in its file (that one may serve them).
  if (!snapshot_sends_.empty() && !send_) return StartSnapshotBuild(SnapshotPiece::Target::kSend);
  MaybeSnapshot();
}

void NodeCore::StartSnapshotBuild(SnapshotPiece::Target target) {
  DETCD_CHECK_MSG(!build_, "one snapshot in progress at a time");
  DETCD_CHECK_MSG(!StreamOf(target), "one stream of each target at a time");
  DETCD_CHECK_MSG(store_.pinned_rev() < 0, "a store pinned with no snapshot in progress");
  DETCD_CHECK_MSG(config_.snapshot_piece_bytes > 0, "a snapshot is streamed in pieces");
  const uint64_t term = raft_->raft().log().Term(applied_index_);
  DETCD_CHECK_MSG(term > 0, absl::StrCat("applied entry ", applied_index_, " has no term").c_str());
  SnapshotBuild b;
  b.index = applied_index_;
  b.target = target;
  b.metadata.set_index(applied_index_);
  b.metadata.set_term(term);
  *b.metadata.mutable_conf_state() = raft_->raft().conf_state();
  store_.Pin(store_.rev());
  b.writer = std::make_unique<StateSnapshotWriter>(SmallState(), store_, config_.snapshot_piece_bytes);
  // The next periodic snapshot counts from this one.
  if (target == SnapshotPiece::Target::kSave) snapshot_index_ = applied_index_;
  std::optional<SnapshotStream>& st = StreamOf(target);
  st.emplace();
  st->id = ++last_stream_id_;
  st->target = target;
  st->metadata = b.metadata;
  EmitSnapshotPiece(*st, SnapshotPiece::Kind::kBegin, b.writer->TakePrefix());
  build_ = std::move(b);
}

void NodeCore::EmitSnapshotPiece(SnapshotStream& st, SnapshotPiece::Kind kind, std::string bytes,
                                 uint64_t store_bytes) {
  DETCD_CHECK(!st.ended);
  DETCD_CHECK_MSG(kind == SnapshotPiece::Kind::kBegin || kind == SnapshotPiece::Kind::kAbandon ||
                      st.next_seq - st.written < kSnapshotPiecesInFlight,
                  "more snapshot pieces in flight than the driver has room for");
  DETCD_CHECK_MSG((kind == SnapshotPiece::Kind::kBegin) == (st.next_seq == 0), "a stream begins with kBegin");
  DETCD_CHECK_MSG(kind == SnapshotPiece::Kind::kBegin || st.written > 0, "nothing follows an unreported kBegin");
  SnapshotPiece p;
  p.kind = kind;
  p.target = st.target;
  p.stream = st.id;
  p.seq = st.next_seq++;
  p.metadata = st.metadata;
  p.bytes = std::move(bytes);
  p.store_bytes = store_bytes;
  if (kind == SnapshotPiece::Kind::kEnd) st.ended = true;
  out_pieces_.push_back(std::move(p));
}

void NodeCore::SnapshotPieceWritten(uint64_t stream, uint64_t seq) {
  std::optional<SnapshotStream>* found = nullptr;
  if (save_ && save_->id == stream) found = &save_;
  if (send_ && send_->id == stream) found = &send_;
  if (found == nullptr) return;  // abandoned (or from an earlier life of the driver's view)
  SnapshotStream& st = **found;
  DETCD_CHECK_MSG(seq == st.written && seq < st.next_seq,
                  absl::StrCat("snapshot piece ", seq, " reported out of order (", st.written, " written, ",
                               st.next_seq, " handed out)")
                      .c_str());
  ++st.written;
  if (st.abandoned) {
    // kBegin is done: the file it began can go now (nothing else of this stream was handed out).
    DETCD_CHECK(st.written == 1 && st.next_seq == 1);
    EmitSnapshotPiece(st, SnapshotPiece::Kind::kAbandon, "");
    found->reset();
    NextSnapshotBuild();
    return;
  }
  if (st.ended && st.written == st.next_seq) {
    if (st.target == SnapshotPiece::Target::kSend) return FinishSnapshotSend();
    save_.reset();
    NextSnapshotBuild();
    return;
  }
  StepSnapshotBuild();
}

void NodeCore::StepSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() == build_->writer->revision());
  std::optional<SnapshotStream>& st = StreamOf(build_->target);
  DETCD_CHECK(st && !st->ended && !st->abandoned);
  StepSnapshotStream(*st);
}

void NodeCore::StepSnapshotStream(SnapshotStream& st) {
  StateSnapshotWriter& w = *build_->writer;
  // Nothing follows kBegin until the file is begun, and no more than the driver has room for is handed out.
  if (st.written == 0 || st.next_seq - st.written >= kSnapshotPiecesInFlight) return;
  // The writer checks it never holds more than a piece and one version.
  w.Step(store_, config_.snapshot_chunk_records);
  if (w.pending_bytes() >= config_.snapshot_piece_bytes || (w.done() && w.pending_bytes() > 0)) {
    EmitSnapshotPiece(st, SnapshotPiece::Kind::kStore, w.TakeStoreBytes());
  }
  if (w.done() && w.pending_bytes() == 0 && st.next_seq - st.written < kSnapshotPiecesInFlight) {
    FinishSnapshotBuild();
  }
}

void NodeCore::FinishSnapshotBuild() {
  DETCD_CHECK(build_ && build_->writer->done() && build_->writer->pending_bytes() == 0);
  SnapshotBuild b = std::move(*build_);
  build_.reset();
  std::optional<SnapshotStream>& st = StreamOf(b.target);
  DETCD_CHECK(st && st->metadata.index() == b.index);
  EmitSnapshotPiece(*st, SnapshotPiece::Kind::kEnd, "", b.writer->store_bytes());
  store_.Unpin();
  const bool save = b.target == SnapshotPiece::Target::kSave;
  if (config_.logger) {
    config_.logger(absl::StrCat(absl::Hex(config_.id), " made snapshot at index ", b.index, " (", b.writer->records(),
                                " versions, ", b.writer->bytes(), " store bytes, streamed to ",
                                save ? "its file" : "a file for followers", ")"));
  }
  if (save) {
    absl::StatusOr<raftpb::Snapshot> meta = storage_.CreateSnapshot(b.index, b.metadata.conf_state(), "");
    DETCD_CHECK_MSG(meta.ok(), std::string(meta.status().message()).c_str());
    DETCD_CHECK(meta->metadata().term() == b.metadata.term());
    const uint64_t keep = config_.snapshot_catch_up_entries;
    const uint64_t compact = b.index > keep ? b.index - keep : 0;
    if (compact > storage_.FirstIndex() - 1) DETCD_CHECK(storage_.Compact(compact).ok());
  }
  // A save's bytes are gone to its own file: the sends queued meanwhile wait for a build of their own. A send's
  // serve its followers once its file is complete (FinishSnapshotSend).
  NextSnapshotBuild();
}

void NodeCore::FinishSnapshotSend() {
  DETCD_CHECK(send_ && send_->ended && send_->written == send_->next_seq);
  const raftpb::SnapshotMetadata metadata = send_->metadata;
  send_.reset();
  DropStaleSnapshotSends();
  std::vector<SnapshotSend> later;
  for (SnapshotSend& s : snapshot_sends_) {
    if (s.min_index > metadata.index()) {
      later.push_back(std::move(s));
      continue;
    }
    // The bytes are the driver's file (SnapshotPiece kEnd, kSend): the message carries the metadata only.
    raftpb::Message m = std::move(s.message);
    m.mutable_snapshot()->clear_data();
    *m.mutable_snapshot()->mutable_metadata() = metadata;
    out_msgs_.push_back(std::move(m));
  }
  snapshot_sends_ = std::move(later);
  NextSnapshotBuild();
}

void NodeCore::AbandonSnapshotBuild() {
  if (!build_) return;
  DETCD_CHECK(store_.pinned_rev() >= 0);
  std::optional<SnapshotStream>& st = StreamOf(build_->target);
  DETCD_CHECK(st && !st->ended);
  if (st->written == 0) {
    // kBegin is still being done: its file goes once it is reported (nothing may follow it before).
    st->abandoned = true;
  } else {
    EmitSnapshotPiece(*st, SnapshotPiece::Kind::kAbandon, "");
    st.reset();
  }
  build_.reset();
  store_.Unpin();
  // Only a follower has its state replaced: nothing it was to send is wanted now.
  snapshot_sends_.clear();
}

void NodeCore::RestoreState(const raftpb::Snapshot& snap, ByteSource* source) {
  if (!snap.data().empty()) {
    StringByteSource inline_data(snap.data());
    return RestoreState(snap.metadata(), inline_data);
  }
  DETCD_CHECK_MSG(source != nullptr, "a snapshot whose data the driver holds, restored without its bytes");
  RestoreState(snap.metadata(), *source);
}

void NodeCore::RestoreState(const raftpb::SnapshotMetadata& metadata, ByteSource& data) {
  // The state a snapshot in progress was reading is being replaced; the old store goes before the new one is read,
  // so the member holds one state at a time.
  AbandonSnapshotBuild();
  EndStateExports();
  DETCD_CHECK(store_.FinishRestore(MvccStore::Restoring(), 0, 0).ok());
  StateSnapshotReader reader(&data);
  absl::StatusOr<DecodedState> state = reader.Read();
  // The bytes were made by a member's StateSnapshotWriter and checked by CRC on disk (or delivered in memory by the
  // simulator): not decoding is a broken invariant, not bad input.
  DETCD_CHECK_MSG(state.ok(), std::string(state.status().message()).c_str());
  absl::Status s = store_.FinishRestore(std::move(state->store), state->revision, state->compacted_revision);
  DETCD_CHECK_MSG(s.ok(), std::string(s.message()).c_str());
  s = lessor_.Restore(state->small.leases());
  DETCD_CHECK_MSG(s.ok(), std::string(s.message()).c_str());
  applier_.ReattachLeases();
  membership_.RestoreFrom(state->small);
  recent_order_.assign(state->small.recent_request_ids().begin(), state->small.recent_request_ids().end());
  recent_ids_.clear();
  recent_ids_.insert(recent_order_.begin(), recent_order_.end());
  alarms_.Restore(state->small.alarms());
  s = auth_.Restore(state->small.auth());
  DETCD_CHECK_MSG(s.ok(), std::string(s.message()).c_str());
  if (raft_ && is_leader()) lessor_.Promote(now_us_, static_cast<int64_t>(config_.election_ticks) * config_.tick_us);
  applied_index_ = metadata.index();
  snapshot_index_ = metadata.index();
  hub_->OnRestore();
}

}  // namespace detcd::kv
