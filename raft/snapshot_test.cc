// InstallSnapshot: a leader whose log was compacted past a follower's next entry sends its snapshot; the follower
// adopts it through the Ready contract (snapshot first, no committed entries with it), answers with its new last
// index, and replication resumes. Also the edge cases of etcd-io/raft's rules: stale or matching snapshots, a
// snapshot for a configuration without us, malformed snapshots, failed sends, and no campaign on an unpersisted
// snapshot.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/rafttest/memory_cluster.h"

namespace detcd::raft {
namespace {

using rafttest::MemoryCluster;

// Proposes `n` values "v<i>" at the leader and lets them commit everywhere reachable.
void ProposeMany(MemoryCluster& c, uint64_t leader, int from, int n) {
  for (int i = from; i < from + n; ++i) ASSERT_TRUE(c.node(leader).Propose("v" + std::to_string(i)).ok());
  c.Stabilize();
}

std::vector<std::string> Values(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("v" + std::to_string(i));
  return out;
}

// Node 3 misses 20 entries while isolated; the leader compacts its log past them.
MemoryCluster LaggingFollowerBehindCompaction() {
  MemoryCluster c(3);
  EXPECT_TRUE(c.Elect(1));
  c.Isolate(3);
  ProposeMany(c, 1, 0, 20);
  EXPECT_EQ(c.Compact(1), 21u);  // the leader's empty entry + 20 values
  EXPECT_EQ(c.storage(1).FirstIndex(), 22u);
  c.Heal();
  return c;
}

TEST(SnapshotTest, LaggingFollowerCatchesUpBySnapshot) {
  MemoryCluster c = LaggingFollowerBehindCompaction();
  // A heartbeat round makes node 3 known to be alive; its answer triggers a probe that finds the gap.
  c.Tick(1, 1);
  c.Stabilize();
  EXPECT_EQ(c.snapshots_delivered(), 1);
  EXPECT_EQ(c.applied(3), Values(20));
  EXPECT_EQ(c.storage(3).Snapshot().metadata().index(), 21u);
  EXPECT_EQ(c.node(3).raft().log().applied(), 21u);
  // Replication goes on normally after the snapshot.
  ProposeMany(c, 1, 20, 3);
  EXPECT_EQ(c.applied(3), Values(23));
  const Progress* pr = c.node(1).raft().tracker().Get(3);
  ASSERT_NE(pr, nullptr);
  EXPECT_EQ(pr->state, ProgressState::kReplicate);
  EXPECT_EQ(pr->match, c.node(1).raft().log().LastIndex());
}

TEST(SnapshotTest, FailedSnapshotIsRetriedAfterHeartbeat) {
  MemoryCluster c = LaggingFollowerBehindCompaction();
  c.Cut(1, 3);  // the snapshot will be lost, and the transport says so
  c.Tick(1, 1);
  c.Stabilize();
  EXPECT_EQ(c.snapshots_delivered(), 0);
  const Progress* pr = c.node(1).raft().tracker().Get(3);
  // Either never sent (node 3 was never heard from) or sent, failed and back to probing; never stuck in Snapshot.
  EXPECT_NE(pr->state, ProgressState::kSnapshot);
  c.Heal();
  c.Tick(1, 1);
  c.Stabilize();
  EXPECT_EQ(c.snapshots_delivered(), 1);
  EXPECT_EQ(c.applied(3), Values(20));
}

TEST(SnapshotTest, ReportSnapshotFailureProbesFromMatch) {
  Progress pr(4);
  pr.match = 5;
  pr.next = 6;
  pr.BecomeSnapshot(30);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_FALSE(pr.MaybeDecrTo(5, 3)) << "a rejection while a snapshot is on its way is stale";
  pr.pending_snapshot = 0;  // what a failure report does before probing
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 6u);
  pr.BecomeSnapshot(30);
  pr.BecomeProbe();  // success: the follower will hold 30
  EXPECT_EQ(pr.next, 31u);
  EXPECT_EQ(pr.pending_snapshot, 0u);
}

TEST(SnapshotTest, RestartedFollowerKeepsItsSnapshot) {
  MemoryCluster c = LaggingFollowerBehindCompaction();
  c.Tick(1, 1);
  c.Stabilize();
  ProposeMany(c, 1, 20, 2);
  c.Restart(3);
  EXPECT_EQ(c.node(3).raft().log().FirstIndex(), 22u);
  EXPECT_EQ(c.node(3).raft().log().applied(), 21u);
  c.Stabilize();
  EXPECT_EQ(c.applied(3), Values(22));
  ProposeMany(c, 1, 22, 1);
  EXPECT_EQ(c.applied(3), Values(23));
}

// ---- the follower's rules, driven with hand-made messages ----

struct Follower {
  MemoryStorage storage;
  std::unique_ptr<RawNode> node;
  explicit Follower(uint64_t id = 2) {
    Config c;
    c.id = id;
    c.peers = {1, 2, 3};
    c.storage = &storage;
    node = std::make_unique<RawNode>(c);
  }
  // Appends entries of `term` at 1..n from leader 1 and persists everything.
  void AppendFromLeader(uint64_t term, int n, uint64_t commit) {
    raftpb::Message m;
    m.set_type(raftpb::MSG_APP);
    m.set_from(1);
    m.set_to(node->raft().id());
    m.set_term(term);
    m.set_commit(commit);
    for (int i = 1; i <= n; ++i) {
      raftpb::Entry* e = m.add_entries();
      e->set_index(static_cast<uint64_t>(i));
      e->set_term(term);
    }
    ASSERT_TRUE(node->Step(m).ok());
    Persist();
  }
  Ready Persist() {
    Ready rd = node->GetReady();
    if (rd.snapshot) {
      EXPECT_TRUE(storage.ApplySnapshot(*rd.snapshot).ok());
    }
    storage.Append(rd.entries);
    if (rd.hard_state) storage.SetHardState(*rd.hard_state);
    node->Advance(rd);
    return rd;
  }
};

raftpb::Message SnapMsg(uint64_t index, uint64_t term, uint64_t msg_term, std::vector<uint64_t> voters = {1, 2, 3}) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP);
  m.set_from(1);
  m.set_to(2);
  m.set_term(msg_term);
  m.mutable_snapshot()->set_data("state");
  m.mutable_snapshot()->mutable_metadata()->set_index(index);
  m.mutable_snapshot()->mutable_metadata()->set_term(term);
  for (uint64_t v : voters) m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(v);
  return m;
}

uint64_t AppRespIndex(const Ready& rd) {
  for (const auto& m : rd.messages) {
    if (m.type() == raftpb::MSG_APP_RESP) return m.index();
  }
  return UINT64_MAX;
}

TEST(SnapshotTest, StaleSnapshotIsIgnored) {
  Follower f;
  f.AppendFromLeader(1, 5, 5);
  ASSERT_TRUE(f.node->Step(SnapMsg(3, 1, 1)).ok());
  Ready rd = f.Persist();
  EXPECT_FALSE(rd.snapshot.has_value());
  EXPECT_EQ(AppRespIndex(rd), 5u) << "answers with its commit index";
  EXPECT_EQ(f.node->raft().log().FirstIndex(), 1u);
}

TEST(SnapshotTest, MatchingSnapshotOnlyFastForwardsCommit) {
  Follower f;
  f.AppendFromLeader(1, 5, 2);
  ASSERT_TRUE(f.node->Step(SnapMsg(4, 1, 1)).ok());
  Ready rd = f.Persist();
  EXPECT_FALSE(rd.snapshot.has_value());
  EXPECT_EQ(f.node->raft().log().committed(), 4u);
  EXPECT_EQ(AppRespIndex(rd), 4u);
  EXPECT_EQ(f.node->raft().log().LastIndex(), 5u) << "entries after the snapshot point stay";
}

TEST(SnapshotTest, ConflictingLogIsReplacedBySnapshot) {
  Follower f;
  f.AppendFromLeader(1, 5, 2);
  ASSERT_TRUE(f.node->Step(SnapMsg(8, 2, 2)).ok());
  EXPECT_EQ(f.node->raft().log().LastIndex(), 8u);
  EXPECT_EQ(f.node->raft().log().LastTerm(), 2u);
  ASSERT_TRUE(f.node->HasReady());
  Ready rd = f.node->GetReady();
  ASSERT_TRUE(rd.snapshot.has_value());
  EXPECT_EQ(rd.snapshot->metadata().index(), 8u);
  EXPECT_EQ(rd.snapshot->data(), "state");
  EXPECT_TRUE(rd.must_sync);
  EXPECT_TRUE(rd.committed_entries.empty()) << "nothing is applied before the snapshot";
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->commit(), 8u);
  EXPECT_LT(f.node->raft().log().applied(), 8u);
  ASSERT_TRUE(f.storage.ApplySnapshot(*rd.snapshot).ok());
  if (rd.hard_state) f.storage.SetHardState(*rd.hard_state);
  f.node->Advance(rd);
  EXPECT_EQ(f.node->raft().log().PendingSnapshot(), nullptr);
  EXPECT_EQ(AppRespIndex(rd), 8u);
  EXPECT_EQ(f.storage.FirstIndex(), 9u);
  EXPECT_EQ(f.node->raft().log().applied(), 8u);
  // An append that follows on from the snapshot is accepted.
  raftpb::Message app;
  app.set_type(raftpb::MSG_APP);
  app.set_from(1);
  app.set_to(2);
  app.set_term(2);
  app.set_index(8);
  app.set_log_term(2);
  app.set_commit(9);
  raftpb::Entry* e = app.add_entries();
  e->set_index(9);
  e->set_term(2);
  e->set_data("nine");
  ASSERT_TRUE(f.node->Step(app).ok());
  rd = f.Persist();  // persists entry 9
  EXPECT_TRUE(rd.committed_entries.empty());
  rd = f.Persist();  // applies it
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "nine");
}

TEST(SnapshotTest, SnapshotWithoutUsIsIgnored) {
  Follower f;
  f.AppendFromLeader(1, 2, 2);
  ASSERT_TRUE(f.node->Step(SnapMsg(8, 1, 1, {1, 3})).ok());
  Ready rd = f.Persist();
  EXPECT_FALSE(rd.snapshot.has_value());
  EXPECT_EQ(f.node->raft().log().LastIndex(), 2u);
}

TEST(SnapshotTest, MalformedSnapshotIsRefused) {
  const std::vector<std::pair<raftpb::Message, const char*>> cases = {
      {SnapMsg(0, 1, 1), "index 0"},
      {SnapMsg(8, 0, 1), "term 0"},
      {SnapMsg(8, 5, 3), "snapshot term after the message term"},
      {SnapMsg(8, 1, 1, {}), "no voters"},
  };
  for (const auto& [msg, what] : cases) {
    Follower f;
    f.AppendFromLeader(1, 2, 2);
    EXPECT_FALSE(f.node->Step(msg).ok()) << what;
    EXPECT_EQ(f.node->raft().log().LastIndex(), 2u) << what;
    EXPECT_EQ(f.node->raft().log().PendingSnapshot(), nullptr) << what;
  }
}

// ---- the leader's side, driven by hand ----

// Node 1 of {1,2,3} at term 2, leader, whose storage holds entries 1..20 (term 1) compacted behind a snapshot at 15.
struct CompactedLeader {
  MemoryStorage storage;
  std::unique_ptr<RawNode> node;
  CompactedLeader() {
    std::vector<raftpb::Entry> entries;
    for (uint64_t i = 1; i <= 20; ++i) {
      raftpb::Entry e;
      e.set_index(i);
      e.set_term(1);
      e.set_data("e" + std::to_string(i));
      entries.push_back(e);
    }
    storage.Append(entries);
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_commit(20);
    storage.SetHardState(hs);
    raftpb::ConfState cs;
    for (uint64_t v : {1, 2, 3}) cs.add_voters(v);
    EXPECT_TRUE(storage.CreateSnapshot(15, cs, "snap@15").ok());
    EXPECT_TRUE(storage.Compact(15).ok());
    Config c;
    c.id = 1;
    c.peers = {1, 2, 3};
    c.pre_vote = false;
    c.applied = 20;
    c.storage = &storage;
    node = std::make_unique<RawNode>(c);
    EXPECT_TRUE(node->Campaign().ok());
    Drain();
    raftpb::Message vote;
    vote.set_type(raftpb::MSG_VOTE_RESP);
    vote.set_from(2);
    vote.set_to(1);
    vote.set_term(2);
    EXPECT_TRUE(node->Step(vote).ok());
    EXPECT_EQ(node->raft().state(), StateType::kLeader);
    Drain();
  }
  // Persists and applies whatever is ready; returns the messages it sends.
  std::vector<raftpb::Message> Drain() {
    std::vector<raftpb::Message> out;
    while (node->HasReady()) {
      Ready rd = node->GetReady();
      storage.Append(rd.entries);
      if (rd.hard_state) storage.SetHardState(*rd.hard_state);
      out.insert(out.end(), rd.messages.begin(), rd.messages.end());
      node->Advance(rd);
    }
    return out;
  }
  absl::Status Resp(uint64_t from, uint64_t index, bool reject = false, uint64_t hint = 0, uint64_t hint_term = 0) {
    raftpb::Message m;
    m.set_type(raftpb::MSG_APP_RESP);
    m.set_from(from);
    m.set_to(1);
    m.set_term(2);
    m.set_index(index);
    m.set_reject(reject);
    m.set_reject_hint(hint);
    m.set_log_term(hint_term);
    return node->Step(m);
  }
};

int Count(const std::vector<raftpb::Message>& msgs, uint64_t to, raftpb::MessageType type) {
  int n = 0;
  for (const auto& m : msgs) n += m.to() == to && m.type() == type ? 1 : 0;
  return n;
}

TEST(SnapshotTest, LeaderSendsSnapshotAndNothingElseUntilItLands) {
  CompactedLeader l;
  // Node 3 rejects the first append (after 20): its log ends at 3, and the entries it needs (4..15) are compacted.
  ASSERT_TRUE(l.Resp(3, 20, /*reject=*/true, /*hint=*/3, /*hint_term=*/1).ok());
  std::vector<raftpb::Message> out = l.Drain();
  ASSERT_EQ(Count(out, 3, raftpb::MSG_SNAP), 1);
  for (const auto& m : out) {
    if (m.type() == raftpb::MSG_SNAP) {
      EXPECT_EQ(m.snapshot().metadata().index(), 15u);
      EXPECT_EQ(m.snapshot().metadata().term(), 1u);
      EXPECT_EQ(m.snapshot().data(), "snap@15");
    }
  }
  const Progress* pr = l.node->raft().tracker().Get(3);
  EXPECT_EQ(pr->state, ProgressState::kSnapshot);
  EXPECT_EQ(pr->pending_snapshot, 15u);
  // Proposals and heartbeats: node 3 gets heartbeats only, node 2 (replicating) gets the appends.
  ASSERT_TRUE(l.Resp(2, 21).ok());
  ASSERT_TRUE(l.node->Propose("p").ok());
  l.node->Tick();
  out = l.Drain();
  EXPECT_EQ(Count(out, 3, raftpb::MSG_APP), 0);
  EXPECT_EQ(Count(out, 3, raftpb::MSG_SNAP), 0);
  EXPECT_GE(Count(out, 3, raftpb::MSG_HEARTBEAT), 1);
  EXPECT_GE(Count(out, 2, raftpb::MSG_APP), 1);
  // The transport delivered it; the follower's answer resumes replication right after the snapshot.
  l.node->ReportSnapshot(3, /*failed=*/false);
  EXPECT_EQ(pr->state, ProgressState::kProbe);
  EXPECT_EQ(pr->next, 16u);
  ASSERT_TRUE(l.Resp(3, 15).ok());
  EXPECT_EQ(pr->state, ProgressState::kReplicate);
  out = l.Drain();
  EXPECT_GE(Count(out, 3, raftpb::MSG_APP), 1);
}

TEST(SnapshotTest, LeaderResendsSnapshotAfterFailureAndHeartbeat) {
  CompactedLeader l;
  ASSERT_TRUE(l.Resp(3, 20, true, 3, 1).ok());
  l.Drain();
  l.node->ReportSnapshot(3, /*failed=*/true);
  const Progress* pr = l.node->raft().tracker().Get(3);
  EXPECT_EQ(pr->state, ProgressState::kProbe);
  EXPECT_TRUE(pr->IsPaused()) << "waits for a heartbeat response before trying again";
  EXPECT_EQ(Count(l.Drain(), 3, raftpb::MSG_SNAP), 0);
  raftpb::Message hb;
  hb.set_type(raftpb::MSG_HEARTBEAT_RESP);
  hb.set_from(3);
  hb.set_to(1);
  hb.set_term(2);
  ASSERT_TRUE(l.node->Step(hb).ok());
  EXPECT_EQ(Count(l.Drain(), 3, raftpb::MSG_SNAP), 1);
}

TEST(SnapshotTest, FollowerThatCaughtUpOtherwiseLeavesSnapshotState) {
  CompactedLeader l;
  ASSERT_TRUE(l.Resp(3, 20, true, 3, 1).ok());
  l.Drain();
  // Before the snapshot report, node 3 acknowledges everything (say another leader's appends got it there).
  ASSERT_TRUE(l.Resp(3, 21).ok());
  EXPECT_EQ(l.node->raft().tracker().Get(3)->state, ProgressState::kReplicate);
}

TEST(SnapshotTest, NoCampaignOnAnUnpersistedSnapshot) {
  Follower f;
  ASSERT_TRUE(f.node->Step(SnapMsg(8, 1, 1)).ok());
  ASSERT_NE(f.node->raft().log().PendingSnapshot(), nullptr);
  ASSERT_TRUE(f.node->Campaign().ok());
  EXPECT_EQ(f.node->raft().state(), StateType::kFollower);
  f.Persist();
  ASSERT_TRUE(f.node->Campaign().ok());
  EXPECT_NE(f.node->raft().state(), StateType::kFollower);
}

TEST(SnapshotTest, CandidateStepsDownForSnapshot) {
  Follower f;
  f.AppendFromLeader(1, 2, 2);
  ASSERT_TRUE(f.node->Campaign().ok());
  f.Persist();
  ASSERT_EQ(f.node->raft().state(), StateType::kPreCandidate);
  ASSERT_TRUE(f.node->Step(SnapMsg(8, 1, 1)).ok());
  EXPECT_EQ(f.node->raft().state(), StateType::kFollower);
  EXPECT_EQ(f.node->raft().lead(), 1u);
  EXPECT_EQ(f.node->raft().log().LastIndex(), 8u);
}

}  // namespace
}  // namespace detcd::raft
