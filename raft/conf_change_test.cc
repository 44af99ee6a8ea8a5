// Cluster membership (Raft paper §6, single-member changes as etcd 3.4 makes them): adding and removing voters and
// learners, promotion, one change in flight at a time, no campaigning with a change unapplied, quorum following the
// configuration, and a joining node learning the configuration from the log.
#include <string>

#include "gtest/gtest.h"
#include "raft/raw_node.h"
#include "raft/rafttest/memory_cluster.h"

namespace detcd::raft {
namespace {

using rafttest::MemoryCluster;

raftpb::ConfChange Change(raftpb::ConfChangeType type, uint64_t node) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(node);
  return cc;
}

std::vector<uint64_t> Voters(const RawNode& n) {
  const auto& v = n.raft().tracker().voters();
  return std::vector<uint64_t>(v.begin(), v.end());
}

std::vector<uint64_t> Learners(const RawNode& n) {
  const auto& v = n.raft().tracker().learners();
  return std::vector<uint64_t>(v.begin(), v.end());
}

TEST(ConfChangeTest, AddedVoterJoinsCatchesUpAndCounts) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("before").ok());
  c.Stabilize();
  c.Join(4);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_NODE, 4)).ok());
  c.Stabilize();
  for (uint64_t id : {1, 2, 3, 4}) EXPECT_EQ(Voters(c.node(id)), (std::vector<uint64_t>{1, 2, 3, 4})) << id;
  // The joiner got the whole log, including what was committed before it joined.
  EXPECT_EQ(c.applied(4).front(), "before");
  // With 4 voters the quorum is 3: two nodes down stop commitment.
  c.Isolate(3);
  c.Isolate(4);
  ASSERT_TRUE(c.node(1).Propose("needs three").ok());
  c.Stabilize();
  EXPECT_EQ(c.applied(1).back(), "conf:0:4") << "committed with only 2 of 4 voters";
  c.Heal();
  c.Tick(1);
  c.Stabilize();
  EXPECT_EQ(c.applied(1).back(), "needs three");
}

TEST(ConfChangeTest, RemovingAVoterShrinksTheQuorumAndCommitsWaitingEntries) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  c.Isolate(2);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_TRUE(c.applied(1).empty() || c.applied(1).back() != "x");
  // Let 2 back, remove 3: with voters {1, 2} the quorum is 2 and "x" commits with the change.
  c.Heal();
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_REMOVE_NODE, 3)).ok());
  c.Tick(1);
  c.Stabilize();
  EXPECT_EQ(Voters(c.node(1)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Voters(c.node(2)), (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(c.node(1).Propose("y").ok());
  c.Stabilize();
  EXPECT_EQ(c.applied(2).back(), "y");
}

TEST(ConfChangeTest, OnlyOneChangeInFlight) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 4)).ok());
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 5)).ok());
  c.Stabilize();
  // The second was proposed before the first was applied: it became an empty entry.
  EXPECT_EQ(Learners(c.node(1)), (std::vector<uint64_t>{4}));
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 5)).ok());
  c.Stabilize();
  EXPECT_EQ(Learners(c.node(1)), (std::vector<uint64_t>{4, 5}));
}

TEST(ConfChangeTest, LearnerIsReplicatedToDoesNotVoteAndCanBePromoted) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Join(4);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 4)).ok());
  c.Stabilize();
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Stabilize();
  EXPECT_EQ(c.applied(4).back(), "a");
  EXPECT_EQ(Learners(c.node(4)), (std::vector<uint64_t>{4}));
  // A learner never campaigns, whatever its clock says.
  c.Isolate(4);
  c.Tick(4, 100);
  c.Stabilize();
  EXPECT_EQ(c.node(4).raft().state(), StateType::kFollower);
  c.Heal();
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_NODE, 4)).ok());
  c.Tick(1);
  c.Stabilize();
  EXPECT_EQ(Voters(c.node(4)), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(Learners(c.node(4)).empty());
  EXPECT_TRUE(c.node(4).raft().promotable());
}

TEST(ConfChangeTest, VoterCannotBeDemotedToLearner) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 3)).ok());
  c.Stabilize();
  EXPECT_EQ(Voters(c.node(1)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(Learners(c.node(1)).empty());
}

TEST(ConfChangeTest, NoCampaignWithAnUnappliedChange) {
  MemoryStorage storage;
  raftpb::Entry e;
  e.set_term(1);
  e.set_index(1);
  e.set_type(raftpb::ENTRY_CONF_CHANGE);
  e.set_data(Change(raftpb::CONF_CHANGE_REMOVE_NODE, 1).SerializeAsString());
  storage.Append({e});
  raftpb::HardState hs;
  hs.set_term(1);
  hs.set_commit(1);
  storage.SetHardState(hs);
  Config cfg;
  cfg.id = 1;
  cfg.peers = {1, 2, 3};
  cfg.storage = &storage;
  RawNode n(cfg);
  ASSERT_TRUE(n.Campaign().ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower) << "campaigned with a committed, unapplied removal of itself";
  // Once it is applied the node is no longer a voter and still may not campaign.
  Ready rd = n.GetReady();
  for (const raftpb::Entry& ce : rd.committed_entries) {
    raftpb::ConfChange cc;
    ASSERT_TRUE(cc.ParseFromString(ce.data()));
    n.ApplyConfChange(cc);
  }
  n.Advance(rd);
  EXPECT_FALSE(n.raft().promotable());
  ASSERT_TRUE(n.Campaign().ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
}

TEST(ConfChangeTest, RemovingTheTransfereeAbortsTheTransfer) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  c.node(1).TransferLeader(3);
  EXPECT_EQ(c.node(1).raft().lead_transferee(), 3u);
  // Proposals are refused during a transfer, so apply the removal directly, as the leader would on applying it.
  c.node(1).ApplyConfChange(Change(raftpb::CONF_CHANGE_REMOVE_NODE, 3));
  EXPECT_EQ(c.node(1).raft().lead_transferee(), kNone);
}

TEST(ConfChangeTest, InvalidChangesAreRefused) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  EXPECT_FALSE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_NODE, 0)).ok());
  EXPECT_FALSE(c.node(1).ProposeConfChange(Change(static_cast<raftpb::ConfChangeType>(42), 4)).ok());
}

TEST(ConfChangeTest, RestartReplaysChangesFromTheLog) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 4)).ok());
  c.Stabilize();
  c.Restart(2);
  c.Tick(1);
  c.Stabilize();
  EXPECT_EQ(Learners(c.node(2)), (std::vector<uint64_t>{4}));
}

}  // namespace
}  // namespace detcd::raft
