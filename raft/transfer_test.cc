// Leadership transfer (thesis §3.10): MsgTimeoutNow to an up-to-date transferee at once or after it catches up,
// proposals refused meanwhile, abandonment after an election timeout, and requests that must be ignored.
#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/rafttest/memory_cluster.h"
#include "raft/rafttest/test_node.h"

namespace detcd::raft {
namespace {

using raftpb::Message;
using rafttest::Filter;
using rafttest::MemoryCluster;
using rafttest::Msg;
using rafttest::TestNode;

Message AppResp(uint64_t from, uint64_t term, uint64_t index) {
  Message m = Msg(from, 1, raftpb::MSG_APP_RESP, term);
  m.set_index(index);
  return m;
}

// What RawNode::TransferLeader steps into the leader: the transferee travels as `from`.
Message TransferTo(uint64_t transferee) { return Msg(transferee, 1, raftpb::MSG_TRANSFER_LEADER); }

absl::Status Propose(TestNode& n, const std::string& data) {
  Message m = Msg(n.id(), n.id(), raftpb::MSG_PROP);
  m.add_entries()->set_data(data);
  return n.Step(m);
}

// Node 1 leads {1, 2, 3} (+ learner 4); 2 has everything, 3 has nothing yet.
void MakeLeader(TestNode& n) {
  n.ElectSelf();
  n.Persist();
  ASSERT_TRUE(n.Step(AppResp(2, n.raft().term(), n.raft().log().LastIndex())).ok());
  ASSERT_EQ(n.raft().log().committed(), n.raft().log().LastIndex());
  n.TakeMsgs();
}

TEST(TransferTest, UpToDateTransfereeGetsTimeoutNowAtOnce) {
  TestNode n(1, {1, 2, 3});
  MakeLeader(n);
  ASSERT_TRUE(n.Step(TransferTo(2)).ok());
  EXPECT_EQ(n.raft().lead_transferee(), 2u);
  const std::vector<Message> msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type(), raftpb::MSG_TIMEOUT_NOW);
  EXPECT_EQ(msgs[0].to(), 2u);
  EXPECT_EQ(msgs[0].term(), n.raft().term());
  EXPECT_EQ(n.raft().state(), StateType::kLeader) << "the leader stays until the transferee's election";
}

TEST(TransferTest, LaggingTransfereeIsCaughtUpFirst) {
  TestNode n(1, {1, 2, 3});
  MakeLeader(n);  // 3 has not answered the leader's first probe (entry 1)
  ASSERT_TRUE(Propose(n, "x").ok());
  n.Persist();
  ASSERT_EQ(n.raft().log().LastIndex(), 2u);
  n.TakeMsgs();
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  EXPECT_EQ(n.raft().lead_transferee(), 3u);
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_TIMEOUT_NOW).empty());
  // 3 answers the probe: it has entry 1 of 2. The leader sends the rest, still no MsgTimeoutNow.
  ASSERT_TRUE(n.Step(AppResp(3, n.raft().term(), 1)).ok());
  std::vector<Message> msgs = n.TakeMsgs();
  EXPECT_TRUE(Filter(msgs, raftpb::MSG_TIMEOUT_NOW).empty()) << "not caught up yet";
  msgs = Filter(msgs, raftpb::MSG_APP);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].to(), 3u);
  ASSERT_EQ(msgs[0].entries_size(), 1);
  EXPECT_EQ(msgs[0].entries(0).index(), 2u);
  ASSERT_TRUE(n.Step(AppResp(3, n.raft().term(), 2)).ok());
  msgs = Filter(n.TakeMsgs(), raftpb::MSG_TIMEOUT_NOW);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].to(), 3u);
}

TEST(TransferTest, ProposalsDroppedDuringTransfer) {
  TestNode n(1, {1, 2, 3});
  MakeLeader(n);
  ASSERT_TRUE(Propose(n, "before").ok());
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  const uint64_t last = n.raft().log().LastIndex();
  EXPECT_TRUE(IsProposalDropped(Propose(n, "during")));
  EXPECT_EQ(n.raft().log().LastIndex(), last);
}

// A transfer that does not finish within an election timeout is abandoned and proposals flow again.
TEST(TransferTest, AbortedAfterElectionTimeout) {
  TestNode n(1, {1, 2, 3});
  MakeLeader(n);
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  n.Tick(9);  // election_ticks = 10
  EXPECT_EQ(n.raft().lead_transferee(), 3u);
  EXPECT_TRUE(IsProposalDropped(Propose(n, "x")));
  n.Tick();
  EXPECT_EQ(n.raft().lead_transferee(), kNone);
  EXPECT_EQ(n.raft().state(), StateType::kLeader);
  EXPECT_TRUE(Propose(n, "x").ok());
}

TEST(TransferTest, IgnoredForSelfLearnerAndNonMember) {
  for (uint64_t target : {1, 4, 9}) {
    TestNode n(1, {1, 2, 3}, nullptr, {4});
    MakeLeader(n);
    ASSERT_TRUE(n.Step(TransferTo(target)).ok());
    EXPECT_EQ(n.raft().lead_transferee(), kNone) << target;
    EXPECT_TRUE(n.TakeMsgs().empty()) << target;
    EXPECT_TRUE(Propose(n, "x").ok()) << target;
  }
}

// A second request for the same transferee changes nothing; one for another voter replaces the first.
TEST(TransferTest, RepeatedAndReplacedRequests) {
  TestNode n(1, {1, 2, 3});
  MakeLeader(n);
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  n.TakeMsgs();
  n.Tick(5);
  n.TakeMsgs();
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_APP).empty());
  n.Tick(5);
  EXPECT_EQ(n.raft().lead_transferee(), kNone) << "the repeat did not restart the transfer's clock";
  ASSERT_TRUE(n.Step(TransferTo(3)).ok());
  ASSERT_TRUE(n.Step(TransferTo(2)).ok());
  EXPECT_EQ(n.raft().lead_transferee(), 2u);
  const std::vector<Message> msgs = Filter(n.TakeMsgs(), raftpb::MSG_TIMEOUT_NOW);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].to(), 2u);
}

// A follower forwards a transfer request made to it to the leader, naming the transferee, not itself; one forwarded
// to it by a peer it drops (forwarding twice could bounce a request between confused nodes forever).
TEST(TransferTest, FollowerForwardsRequestForTheNamedTransferee) {
  TestNode f(2, {1, 2, 3});
  ASSERT_TRUE(f.Step(Msg(1, 2, raftpb::MSG_HEARTBEAT, 1)).ok());
  f.TakeMsgs();
  ASSERT_TRUE(f.Step(Msg(3, kNone, raftpb::MSG_TRANSFER_LEADER)).ok());  // local: a request made at node 2
  const std::vector<Message> fwd = f.TakeMsgs();
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(fwd[0].type(), raftpb::MSG_TRANSFER_LEADER);
  EXPECT_EQ(fwd[0].to(), 1u);
  EXPECT_EQ(fwd[0].from(), 3u);
  ASSERT_TRUE(f.Step(Msg(3, 2, raftpb::MSG_TRANSFER_LEADER, 1)).ok());
  EXPECT_TRUE(f.TakeMsgs().empty());
}

TEST(TransferTest, EndToEndToUpToDateFollower) {
  MemoryCluster c(3);  // PreVote and CheckQuorum on: the transferee skips the pre-vote and the followers' lease
  ASSERT_TRUE(c.Elect(1));
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Stabilize();
  const uint64_t term = c.node(1).raft().term();
  c.node(1).TransferLeader(2);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.node(2).raft().term(), term + 1);
  for (uint64_t id : {1, 3}) EXPECT_EQ(c.node(id).raft().lead(), 2u) << id;
  ASSERT_TRUE(c.node(2).Propose("b").ok());
  c.Stabilize();
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.applied(id), (std::vector<std::string>{"a", "b"})) << id;
}

TEST(TransferTest, EndToEndToLaggingFollower) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  for (const char* d : {"a", "b", "c"}) ASSERT_TRUE(c.node(1).Propose(d).ok());
  c.Stabilize();
  ASSERT_TRUE(c.applied(3).empty());
  c.Heal();
  c.node(1).TransferLeader(3);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 3u);
  EXPECT_EQ(c.applied(3), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(TransferTest, EndToEndRequestedAtFollower) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.node(2).TransferLeader(3);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 3u);
}

TEST(TransferTest, EndToEndUnreachableTransfereeIsAbandoned) {
  MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  c.Stabilize();
  c.node(1).TransferLeader(3);
  c.Stabilize();
  EXPECT_TRUE(IsProposalDropped(c.node(1).Propose("refused")));
  for (int i = 0; i < 10; ++i) {
    c.Tick(1);
    c.Tick(2);
    c.Stabilize();
  }
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).raft().lead_transferee(), kNone);
  ASSERT_TRUE(c.node(1).Propose("b").ok());
  c.Stabilize();
  EXPECT_EQ(c.applied(2), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace detcd::raft
