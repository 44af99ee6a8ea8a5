// NodeCore's snapshots made a piece per event, through a one-member synchronous driver: a snapshot taken while
// writes (and a compaction) go on holds exactly the state at its index (a restart from it hashes the same as the
// member did at that index), and the member answers requests while one is in progress. A member's own snapshot leaves
// as pieces (SnapshotPiece) that concatenate to exactly those bytes, never more than kSnapshotPiecesInFlight of
// about snapshot_piece_bytes unwritten at once, however slow the disk.
#include <map>
#include <memory>

#include "gtest/gtest.h"
#include "kv/node_core.h"
#include "kv/snapshot_assembler.h"

namespace detcd::kv {
namespace {

constexpr int64_t kTickUs = 100'000;

kvpb::ClientRequest PutReq(const std::string& k, const std::string& v) {
  kvpb::ClientRequest r;
  r.mutable_put()->set_key(k);
  r.mutable_put()->set_value(v);
  return r;
}

kvpb::ClientRequest GetReq(const std::string& k, bool serializable) {
  kvpb::ClientRequest r;
  r.mutable_range()->set_key(k);
  r.mutable_range()->set_serializable(serializable);
  return r;
}

kvpb::ClientRequest CompactReq(int64_t rev) {
  kvpb::ClientRequest r;
  r.mutable_compaction()->set_revision(rev);
  return r;
}

// One member, its disk (newest own snapshot, WAL after it) and the digest of its state at every applied index.
class OneMember {
 public:
  OneMember(uint64_t snapshot_count, size_t chunk_records, size_t piece_bytes = 4 << 20) {
    config_.id = 1;
    config_.peers = {1};
    config_.tick_us = kTickUs;
    config_.seed = 7;
    config_.snapshot_count = snapshot_count;
    config_.snapshot_chunk_records = chunk_records;
    config_.snapshot_piece_bytes = piece_bytes;
    // The state at index i is the state just before entry i + 1 applies.
    config_.on_apply = [this](const raftpb::Entry& e) {
      hash_at_[e.index() - 1] = core_->Hash().hash;
      rev_at_[e.index() - 1] = core_->store().rev();
    };
    Start();
    for (int i = 0; i < 50 && !core_->is_leader(); ++i) Tick();
    EXPECT_TRUE(core_->is_leader());
  }

  // A (re)start from the disk: a save cut short by the crash left nothing (recovery removes its half-written file).
  void Start() {
    ++config_.seed;  // each life draws its own proposal ids (the same ones would be taken as duplicates)
    core_ = std::make_unique<NodeCore>(config_, RecoveredState{snapshot_, hard_state_, entries_});
    file_ = SnapshotAssembler();
    pieces_.clear();
  }
  NodeCore& core() { return *core_; }
  const raftpb::Snapshot& snapshot() const { return snapshot_; }
  uint32_t hash_at(uint64_t index) const { return hash_at_.at(index); }
  int64_t rev_at(uint64_t index) const { return rev_at_.at(index); }

  void Drain() {
    for (bool moved = true; moved;) {
      moved = false;
      for (SnapshotPiece& p : core_->TakeSnapshotPieces()) pieces_.push_back(std::move(p));
      ASSERT_LE(pieces_.size(), kSnapshotPiecesInFlight) << "more pieces out than the driver has room for";
      while (!slow_disk_ && !pieces_.empty()) {
        WriteOnePiece();
        moved = true;
      }
      if (std::optional<PersistRequest> p = core_->TakePersist()) {
        ASSERT_FALSE(p->snapshot.has_value()) << "one member never gets a leader's snapshot";
        if (!p->entries.empty()) {
          const uint64_t first = p->entries[0].index();
          while (!entries_.empty() && entries_.back().index() >= first) entries_.pop_back();
          entries_.insert(entries_.end(), p->entries.begin(), p->entries.end());
        }
        if (p->hard_state) hard_state_ = *p->hard_state;
        core_->Persisted(p->seq);
        moved = true;
      }
      for (ClientReply& r : core_->TakeReplies()) {
        replies_[r.request_id] = std::move(r);
        moved = true;
      }
      EXPECT_TRUE(core_->TakeMessages().empty());
    }
  }
  // A slow disk: pieces wait until WriteOnePiece.
  void set_slow_disk(bool on) { slow_disk_ = on; }
  size_t pieces_waiting() const { return pieces_.size(); }
  const SnapshotAssembler& file() const { return file_; }
  void WriteOnePiece() {
    ASSERT_FALSE(pieces_.empty());
    const SnapshotPiece p = std::move(pieces_.front());
    pieces_.erase(pieces_.begin());
    if (std::optional<raftpb::Snapshot> s = file_.Apply(p)) {
      ASSERT_GT(s->metadata().index(), snapshot_.metadata().index());
      snapshot_ = std::move(*s);
      while (!entries_.empty() && entries_.front().index() <= snapshot_.metadata().index()) {
        entries_.erase(entries_.begin());
      }
    }
    if (p.kind != SnapshotPiece::Kind::kAbandon) core_->SnapshotPieceWritten(p.stream, p.seq);
  }
  void Tick() {
    now_us_ += kTickUs;
    core_->Tick(now_us_);
    Drain();
  }
  ClientReply Do(const kvpb::ClientRequest& r) {
    const uint64_t id = ++next_request_;
    core_->Submit(id, r);
    Drain();
    auto it = replies_.find(id);
    if (it == replies_.end()) {
      ADD_FAILURE() << "no reply";
      return ClientReply();
    }
    return it->second;
  }

 private:
  NodeCoreConfig config_;
  std::unique_ptr<NodeCore> core_;
  raftpb::Snapshot snapshot_;
  raftpb::HardState hard_state_;
  std::vector<raftpb::Entry> entries_;
  std::map<uint64_t, uint32_t> hash_at_;
  std::map<uint64_t, int64_t> rev_at_;
  std::map<uint64_t, ClientReply> replies_;
  std::vector<SnapshotPiece> pieces_;  // handed out, not yet written
  SnapshotAssembler file_;
  bool slow_disk_ = false;
  uint64_t next_request_ = 0;
  int64_t now_us_ = 0;
};

// Restarts m from its newest snapshot alone (no WAL after it): the state must be the member's at that index.
void ExpectSnapshotHoldsItsIndex(OneMember& m) {
  const uint64_t index = m.snapshot().metadata().index();
  ASSERT_GT(index, 0u);
  NodeCoreConfig c;
  c.id = 1;
  c.peers = {1};
  RecoveredState only_snapshot{m.snapshot(), raftpb::HardState(), {}};
  only_snapshot.hard_state.set_commit(index);
  only_snapshot.hard_state.set_term(m.snapshot().metadata().term());
  NodeCore restored(c, only_snapshot);
  EXPECT_EQ(restored.applied_index(), index);
  EXPECT_EQ(restored.Hash().hash, m.hash_at(index)) << "snapshot at " << index;
  EXPECT_EQ(restored.store().rev(), m.rev_at(index));
  absl::StatusOr<HashKVResult> kv = restored.HashKV(0);
  ASSERT_TRUE(kv.ok()) << kv.status();
}

TEST(NodeCoreSnapshotTest, SnapshotTakenWhileWritesContinueHoldsTheStateAtItsIndex) {
  OneMember m(/*snapshot_count=*/40, /*chunk_records=*/3);
  uint64_t seen_in_progress = 0;
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i % 25), "v" + std::to_string(i))).status.ok());
    if (m.core().snapshot_in_progress() != 0) seen_in_progress = m.core().snapshot_in_progress();
  }
  ASSERT_GT(seen_in_progress, 0u) << "snapshots span several events";
  ASSERT_LT(seen_in_progress, m.core().applied_index()) << "and writes went on meanwhile";
  for (int i = 0; i < 30; ++i) m.Tick();
  EXPECT_EQ(m.core().snapshot_in_progress(), 0u);
  EXPECT_GT(m.snapshot().metadata().index(), 40u);
  EXPECT_TRUE(m.snapshot().data().size() > 0);
  EXPECT_TRUE(m.core().storage().Snapshot().data().empty()) << "raft's storage keeps metadata only";
  EXPECT_EQ(m.core().storage().Snapshot().metadata().index(), m.snapshot().metadata().index());
  ExpectSnapshotHoldsItsIndex(m);
  // A restart from snapshot plus WAL comes back to the same state as before.
  const uint32_t before = m.core().Hash().hash;
  const uint64_t applied = m.core().applied_index();
  m.Start();
  for (int i = 0; i < 30 && m.core().applied_index() < applied; ++i) m.Tick();
  EXPECT_EQ(m.core().Hash().hash, before);
}

TEST(NodeCoreSnapshotTest, CompactionDuringASnapshotKeepsTheVersionsItNeeds) {
  OneMember m(/*snapshot_count=*/80, /*chunk_records=*/1);
  int i = 0;
  while (m.core().snapshot_in_progress() == 0) {
    ASSERT_LT(i, 200);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i % 10), "v" + std::to_string(i))).status.ok());
    ++i;
  }
  const uint64_t index = m.core().snapshot_in_progress();
  // Overwrite every key, then compact past the snapshot's revision: every older version it has to write is gone
  // from the store's view.
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(k), "late")).status.ok());
  ASSERT_NE(m.core().snapshot_in_progress(), 0u) << "still in progress (raise the key count if not)";
  ClientReply compacted = m.Do(CompactReq(m.core().store().rev()));
  ASSERT_TRUE(compacted.status.ok()) << compacted.status;
  EXPECT_EQ(m.core().store().records(), 10u) << "the compaction took effect at once";
  for (int t = 0; t < 200 && m.core().snapshot_in_progress() != 0; ++t) m.Tick();
  ASSERT_EQ(m.core().snapshot_in_progress(), 0u);
  ASSERT_EQ(m.snapshot().metadata().index(), index);
  ExpectSnapshotHoldsItsIndex(m);
}

TEST(NodeCoreSnapshotTest, RequestsAreAnsweredWhileASnapshotIsInProgress) {
  OneMember m(/*snapshot_count=*/300, /*chunk_records=*/1);
  for (int i = 0; m.core().snapshot_in_progress() == 0; ++i) {
    ASSERT_LT(i, 400);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i), "v")).status.ok());
  }
  int answered_during = 0;
  for (int i = 0; i < 50; ++i) {
    ASSERT_NE(m.core().snapshot_in_progress(), 0u);
    ClientReply put = m.Do(PutReq("new" + std::to_string(i), "x"));
    ASSERT_TRUE(put.status.ok()) << put.status;
    ClientReply lin = m.Do(GetReq("new" + std::to_string(i), false));
    ASSERT_TRUE(lin.status.ok()) << lin.status;
    ASSERT_EQ(lin.response.range().kvs_size(), 1);
    ClientReply ser = m.Do(GetReq("k0", true));
    ASSERT_TRUE(ser.status.ok()) << ser.status;
    ++answered_during;
  }
  EXPECT_EQ(answered_during, 50);
  for (int t = 0; t < 400 && m.core().snapshot_in_progress() != 0; ++t) m.Tick();
  EXPECT_EQ(m.core().snapshot_in_progress(), 0u);
  ExpectSnapshotHoldsItsIndex(m);
}

// A member's own snapshot streamed in small pieces to a slow disk: the core never has more than
// kSnapshotPiecesInFlight pieces out, each about the piece bound, and holds no more than a piece itself, while it keeps
// answering; the pieces make exactly the state at the snapshot's index.
TEST(NodeCoreSnapshotTest, OwnSnapshotStreamsInBoundedPiecesToASlowDisk) {
  constexpr size_t kPiece = 256;
  OneMember m(/*snapshot_count=*/200, /*chunk_records=*/50, kPiece);
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i), std::string(100, 'v'))).status.ok());
  m.set_slow_disk(true);
  int i = 150;
  for (; m.core().snapshot_save_in_progress() == 0; ++i) {
    ASSERT_LT(i, 400);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i), std::string(100, 'v'))).status.ok());
  }
  const uint64_t index = m.core().snapshot_save_in_progress();
  size_t written = 0;
  for (int step = 0; m.core().snapshot_save_in_progress() != 0; ++step) {
    ASSERT_LT(step, 10000);
    // The disk is slow: the member answers meanwhile, and stops handing out pieces once kSnapshotPiecesInFlight wait.
    ASSERT_TRUE(m.Do(PutReq("during" + std::to_string(step % 10), "x")).status.ok());
    ASSERT_LE(m.pieces_waiting(), kSnapshotPiecesInFlight);
    if (m.pieces_waiting() > 0) {
      m.WriteOnePiece();
      ++written;
    } else {
      m.Tick();
    }
  }
  EXPECT_GT(written, 150u * 100 / kPiece) << "the state went out in many pieces";
  EXPECT_LT(m.file().piece_bytes_max(), kPiece + 200) << "each about the piece bound (plus one version)";
  EXPECT_EQ(m.snapshot().metadata().index(), index);
  ExpectSnapshotHoldsItsIndex(m);
}

// A member whose state is replaced mid-save (here, by restarting it: a crash) leaves no snapshot from that save; the
// one before still recovers it.
TEST(NodeCoreSnapshotTest, ASaveCutShortLeavesTheSnapshotBefore) {
  OneMember m(/*snapshot_count=*/40, /*chunk_records=*/2, /*piece_bytes=*/64);
  for (int i = 0; m.snapshot().metadata().index() == 0; ++i) {
    ASSERT_LT(i, 200);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i % 30), "v" + std::to_string(i))).status.ok());
  }
  m.set_slow_disk(true);
  const uint64_t before = m.snapshot().metadata().index();
  for (int i = 0; m.core().snapshot_save_in_progress() == 0; ++i) {
    ASSERT_LT(i, 200);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i % 30), "w" + std::to_string(i))).status.ok());
  }
  m.WriteOnePiece();  // kBegin
  for (int t = 0; m.pieces_waiting() == 0; ++t) {
    ASSERT_LT(t, 100);
    m.Tick();
  }
  m.WriteOnePiece();  // a store piece
  ASSERT_TRUE(m.file().saving());
  ASSERT_NE(m.core().snapshot_save_in_progress(), 0u);
  EXPECT_EQ(m.snapshot().metadata().index(), before);
  ExpectSnapshotHoldsItsIndex(m);
  // Crash mid-stream: the restart comes back from the snapshot before and the WAL after it, and saves again.
  const uint32_t hash = m.core().Hash().hash;
  const uint64_t applied = m.core().applied_index();
  m.Start();
  m.set_slow_disk(false);
  for (int t = 0; t < 30 && m.core().applied_index() < applied; ++t) m.Tick();
  EXPECT_EQ(m.core().Hash().hash, hash);
  for (int t = 0; t < 50 && !m.core().is_leader(); ++t) m.Tick();
  for (int i = 0; m.snapshot().metadata().index() == before; ++i) {
    ASSERT_LT(i, 200);
    ASSERT_TRUE(m.Do(PutReq("k" + std::to_string(i % 30), "z" + std::to_string(i))).status.ok());
    m.Tick();
  }
  ExpectSnapshotHoldsItsIndex(m);
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

// A state export (Maintenance.Snapshot's reader) beside the member's own snapshot: each sees its own state while
// writes and a compaction go on; ending the export drops its pin and the versions only it kept.
TEST(NodeCoreSnapshotTest, AStateExportBesideTheOwnSnapshotSeesItsStateAndEndingItFreesWhatItKept) {
  OneMember m(/*snapshot_count=*/80, /*chunk_records=*/1);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(m.Do(PutReq("e" + std::to_string(i), "exported")).status.ok());
  const NodeCore::StateExport e = m.core().BeginStateExport();
  EXPECT_EQ(e.revision, m.core().store().rev());
  EXPECT_EQ(e.applied_index, m.core().applied_index());
  EXPECT_EQ(m.core().state_exports(), 1u);
  for (int i = 0; m.core().snapshot_in_progress() == 0; ++i) {
    ASSERT_LT(i, 200);
    ASSERT_TRUE(m.Do(PutReq("e" + std::to_string(i % 30), "later")).status.ok());
  }
  ASSERT_TRUE(m.Do(CompactReq(m.core().store().rev())).status.ok());
  EXPECT_EQ(m.core().store().pins(), 2u) << "the export's and the own snapshot's";
  EXPECT_GT(m.core().store().held_versions(), 0u);
  std::vector<kvpb::StoreRecord> records;
  std::optional<Revision> from = Revision{0, 0};
  while (from) {
    const size_t before = records.size();
    absl::StatusOr<std::optional<Revision>> next = m.core().StepStateExport(e.id, *from, 4, 1 << 20, &records);
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_LE(records.size() - before, 4u);
    from = *next;
    m.Tick();  // the member goes on between steps
  }
  ASSERT_GE(records.size(), 30u);
  for (const kvpb::StoreRecord& r : records) EXPECT_LE(r.main(), e.revision);
  for (size_t i = records.size() - 30; i < records.size(); ++i) EXPECT_EQ(records[i].value(), "exported");
  m.core().EndStateExport(e.id);
  m.core().EndStateExport(e.id);  // idempotent
  EXPECT_EQ(m.core().state_exports(), 0u);
  EXPECT_EQ(m.core().StepStateExport(e.id, Revision{0, 0}, 4, 1 << 20, &records).status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (int t = 0; t < 400 && m.core().snapshot_in_progress() != 0; ++t) m.Tick();
  ASSERT_EQ(m.core().snapshot_in_progress(), 0u);
  EXPECT_EQ(m.core().store().pins(), 0u);
  EXPECT_EQ(m.core().store().held_versions(), 0u);
  ExpectSnapshotHoldsItsIndex(m);
}

}  // namespace
}  // namespace detcd::kv
