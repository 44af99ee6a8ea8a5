// RaftChecker on crafted observations: every property it claims to check trips on a history that breaks it, and
// stays quiet on one that does not.
#include "sim/checkers/raft_checker.h"

#include "gtest/gtest.h"
#include "raft/log.h"
#include "raft/storage.h"

namespace detcd::sim {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term, const std::string& data = "") {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

// A node's log as the checker sees it: durable entries in a MemoryStorage, plus a RaftLog over it.
struct FakeNode {
  raft::MemoryStorage storage;
  std::unique_ptr<raft::RaftLog> log;

  void Persist(RaftChecker& c, uint64_t id, std::vector<raftpb::Entry> entries, uint64_t commit) {
    storage.Append(entries);
    c.ObservePersisted(id, entries);
    log = std::make_unique<raft::RaftLog>(&storage, UINT64_MAX);
    log->CommitTo(commit);
  }
};

TEST(RaftCheckerTest, QuietOnAConsistentHistory) {
  RaftChecker c;
  FakeNode a, b;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y")}, 2);
  b.Persist(c, 2, {E(1, 1, "x")}, 1);
  c.ObserveRole(1, 1, raft::StateType::kLeader, *a.log);
  c.ObserveCommit(1, *a.log);
  c.ObserveCommit(2, *b.log);
  c.ObserveApply(2, E(1, 1, "x"));
  c.ObserveApply(1, E(2, 1, "y"));
  c.ObserveRole(1, 1, raft::StateType::kLeader, *a.log);
  EXPECT_TRUE(c.ok()) << c.violation()->detail;
  EXPECT_EQ(c.committed_index(), 2u);
}

TEST(RaftCheckerTest, TwoLeadersInOneTerm) {
  RaftChecker c;
  FakeNode a, b;
  a.Persist(c, 1, {}, 0);
  b.Persist(c, 2, {}, 0);
  c.ObserveRole(1, 3, raft::StateType::kLeader, *a.log);
  EXPECT_TRUE(c.ok());
  c.ObserveRole(2, 3, raft::StateType::kLeader, *b.log);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "election-safety");
}

TEST(RaftCheckerTest, LogMatchingBroken) {
  RaftChecker c;
  FakeNode a, b;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 2, "y")}, 0);
  // Same (index 2, term 2) but a different entry before it.
  b.Persist(c, 2, {E(1, 1, "other"), E(2, 2, "y")}, 0);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "log-matching");
}

TEST(RaftCheckerTest, LeaderWithoutCommittedEntry) {
  RaftChecker c;
  FakeNode a, b;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y")}, 2);
  c.ObserveCommit(1, *a.log);
  b.Persist(c, 2, {E(1, 1, "x")}, 1);
  c.ObserveRole(2, 2, raft::StateType::kLeader, *b.log);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "leader-completeness");
}

TEST(RaftCheckerTest, DifferentEntriesCommittedAtOneIndex) {
  RaftChecker c;
  FakeNode a, b;
  a.Persist(c, 1, {E(1, 1, "x")}, 1);
  c.ObserveCommit(1, *a.log);
  b.Persist(c, 2, {E(1, 2, "z")}, 1);
  c.ObserveCommit(2, *b.log);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "state-machine-safety");
}

TEST(RaftCheckerTest, ApplyingAnUncommittedOrDifferentEntry) {
  RaftChecker c;
  c.ObserveApply(1, E(1, 1, "x"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "state-machine-safety");

  RaftChecker d;
  FakeNode a;
  a.Persist(d, 1, {E(1, 1, "x")}, 1);
  d.ObserveCommit(1, *a.log);
  d.ObserveApply(2, E(1, 1, "not x"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.violation()->checker, "state-machine-safety");
}

TEST(RaftCheckerTest, RestartWithLostCommittedEntries) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y")}, 2);
  c.ObserveCommit(1, *a.log);
  raftpb::HardState hs;
  hs.set_term(1);
  hs.set_commit(2);
  // The disk kept only the first entry.
  std::vector<raftpb::Entry> durable = {E(0, 0), E(1, 1, "x")};
  c.ObserveRestart(1, hs, durable);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "durability");
}

TEST(RaftCheckerTest, RestartWithoutAnUncommittedEntryItHadSynced) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y"), E(3, 1, "z")}, 1);
  c.ObserveCommit(1, *a.log);
  raftpb::HardState hs;
  hs.set_term(1);
  hs.set_commit(1);
  // Entry 3 was synced (and maybe acknowledged), though not committed yet: recovery may not drop it.
  c.ObserveRestart(1, hs, {E(0, 0), E(1, 1, "x"), E(2, 1, "y")});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "durability");
  EXPECT_NE(c.violation()->detail.find("without entry 3 it had synced"), std::string::npos) << c.violation()->detail;
}

TEST(RaftCheckerTest, RestartKeepingEverySyncedEntryIsQuiet) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y")}, 1);
  c.ObserveCommit(1, *a.log);
  raftpb::HardState hs;
  hs.set_term(1);
  hs.set_commit(1);
  c.ObserveRestart(1, hs, {E(0, 0), E(1, 1, "x"), E(2, 1, "y")});
  EXPECT_TRUE(c.ok()) << c.violation()->detail;
}

TEST(RaftCheckerTest, RestartFromASnapshotOnTheCommittedLog) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y"), E(3, 2, "z")}, 3);
  c.ObserveCommit(1, *a.log);
  c.ObserveSnapshot(1, 2, 1);
  // Restart: snapshot at 2 (term 1), then entry 3.
  c.ObserveRestart(1, raftpb::HardState(), {E(2, 1), E(3, 2, "z")});
  EXPECT_TRUE(c.ok()) << c.violation()->detail;
}

TEST(RaftCheckerTest, SnapshotThatDisagreesWithTheCommittedLog) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x"), E(2, 1, "y")}, 2);
  c.ObserveCommit(1, *a.log);
  c.ObserveSnapshot(2, 2, 3);  // term 3 at index 2: never committed
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "state-machine-safety");
}

TEST(RaftCheckerTest, SnapshotBeyondTheCommittedLog) {
  RaftChecker c;
  FakeNode a;
  a.Persist(c, 1, {E(1, 1, "x")}, 1);
  c.ObserveCommit(1, *a.log);
  c.ObserveRestart(2, raftpb::HardState(), {E(5, 1)});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "state-machine-safety");
}

TEST(RaftCheckerTest, ProtocolErrorIsAViolation) {
  RaftChecker c;
  raftpb::Message m;
  m.set_from(2);
  c.ObserveStepError(1, m, "malformed");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.violation()->checker, "protocol");
}

}  // namespace
}  // namespace detcd::sim
