// RawNode through a small synchronous cluster: elections, replication, commitment, reads, transfers and restarts,
// checked the way a driver observes them (Ready contents, applied entries, status).
#include "raft/raw_node.h"

#include "gtest/gtest.h"
#include "raft/rafttest/memory_cluster.h"

namespace detcd::raft {
namespace {

using rafttest::MemoryCluster;

TEST(RawNodeTest, ThreeNodesElectAndCommit) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  EXPECT_EQ(c.node(2).raft().lead(), 1u);
  EXPECT_EQ(c.node(3).raft().lead(), 1u);
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  ASSERT_TRUE(c.node(2).Propose("b").ok());  // forwarded to the leader
  c.Stabilize();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.applied(id), (std::vector<std::string>{"a", "b"})) << "node " << id;
  }
}

TEST(RawNodeTest, NewLeaderKeepsCommittedEntries) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  c.Isolate(1);
  // With CheckQuorum, 2 and 3 ignore campaigns until their leader lease runs out: let time pass until one wins.
  uint64_t new_leader = kNone;
  for (int i = 0; i < 100 && new_leader == kNone; ++i) {
    c.Tick(2);
    c.Tick(3);
    c.Stabilize();
    for (uint64_t id : {2, 3}) {
      if (c.node(id).raft().state() == StateType::kLeader) new_leader = id;
    }
  }
  ASSERT_NE(new_leader, kNone);
  ASSERT_TRUE(c.node(new_leader).Propose("y").ok());
  c.Stabilize();
  EXPECT_EQ(c.applied(3), (std::vector<std::string>{"x", "y"}));
  c.Heal();
  c.Tick(new_leader, 1);  // a heartbeat brings the old leader back as a follower
  c.Stabilize();
  EXPECT_EQ(c.node(1).raft().state(), StateType::kFollower);
  EXPECT_EQ(c.applied(1), (std::vector<std::string>{"x", "y"}));
}

TEST(RawNodeTest, ProposalWithoutLeaderIsDropped) {
  MemoryCluster c(3);
  absl::Status s = c.node(1).Propose("a");
  EXPECT_TRUE(IsProposalDropped(s)) << s;
}

TEST(RawNodeTest, ReadIndexOnLeaderAndFollower) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Stabilize();
  ASSERT_TRUE(c.node(1).ReadIndex("r1").ok());
  ASSERT_TRUE(c.node(3).ReadIndex("r3").ok());
  // Capture read states as they come out of Readies.
  std::vector<ReadState> got1, got3;
  for (int round = 0; round < 10; ++round) {
    for (uint64_t id : {1, 2, 3}) {
      if (!c.node(id).HasReady()) continue;
      Ready rd = c.node(id).GetReady();
      c.storage(id).Append(rd.entries);
      if (rd.hard_state) c.storage(id).SetHardState(*rd.hard_state);
      for (const auto& rs : rd.read_states) (id == 1 ? got1 : got3).push_back(rs);
      for (const auto& m : rd.messages) (void)c.node(m.to()).Step(m);
      c.node(id).Advance(rd);
    }
  }
  ASSERT_EQ(got1.size(), 1u);
  EXPECT_EQ(got1[0].request_ctx, "r1");
  EXPECT_EQ(got1[0].index, c.node(1).raft().log().committed());
  ASSERT_EQ(got3.size(), 1u);
  EXPECT_EQ(got3[0].request_ctx, "r3");
  EXPECT_EQ(got3[0].index, c.node(1).raft().log().committed());
}

TEST(RawNodeTest, TransferLeadership) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.node(1).TransferLeader(3);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 3u);
  EXPECT_EQ(c.node(1).raft().lead(), 3u);
}

TEST(RawNodeTest, RestartKeepsTermVoteAndLog) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Stabilize();
  const uint64_t term = c.node(2).raft().term();
  c.Restart(2);
  EXPECT_EQ(c.node(2).raft().term(), term);
  EXPECT_EQ(c.node(2).raft().vote(), 1u);
  EXPECT_EQ(c.node(2).raft().log().LastIndex(), 2u);
  c.Stabilize();
  c.Tick(1, 1);
  c.Stabilize();
  EXPECT_EQ(c.applied(2), (std::vector<std::string>{"a"}));  // re-applied from the log after restart
}

TEST(RawNodeTest, SingleNodeCommitsAfterPersisting) {
  MemoryCluster c(1);
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("solo").ok());
  ASSERT_TRUE(c.node(1).HasReady());
  Ready rd = c.node(1).GetReady();
  // Not committed before it is durable on the only voter.
  EXPECT_TRUE(rd.committed_entries.empty() || rd.committed_entries.back().data() != "solo");
  c.storage(1).Append(rd.entries);
  if (rd.hard_state) c.storage(1).SetHardState(*rd.hard_state);
  c.node(1).Advance(rd);
  c.Stabilize();
  EXPECT_EQ(c.applied(1), (std::vector<std::string>{"solo"}));
}

TEST(RawNodeTest, RefusesLocalAndMisaddressedMessages) {
  MemoryCluster c(3);
  raftpb::Message m;
  m.set_type(raftpb::MSG_HUP);
  m.set_to(1);
  m.set_from(2);
  EXPECT_FALSE(c.node(1).Step(m).ok());
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_to(2);
  EXPECT_FALSE(c.node(1).Step(m).ok());
  m.set_to(1);
  m.set_from(0);
  EXPECT_FALSE(c.node(1).Step(m).ok());
  m.set_type(static_cast<raftpb::MessageType>(99));
  m.set_from(2);
  EXPECT_FALSE(c.node(1).Step(m).ok());
}

}  // namespace
}  // namespace detcd::raft
