// PreVote (thesis §9.6) and CheckQuorum with the leader lease (§4.2.3): pre-elections that raise no terms, rejoining
// nodes that cannot disrupt a healthy leader, leaders that step down without a quorum, and the transfer exception.
#include <set>

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/rafttest/memory_cluster.h"
#include "raft/rafttest/test_node.h"

namespace detcd::raft {
namespace {

using raftpb::Message;
using rafttest::Filter;
using rafttest::Msg;
using rafttest::TestNode;

void PreVoteOn(Config* c) { c->pre_vote = true; }
void CheckQuorumOn(Config* c) { c->check_quorum = true; }

Message VoteReq(raftpb::MessageType type, uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                uint64_t last_term) {
  Message m = Msg(from, to, type, term);
  m.set_index(last_index);
  m.set_log_term(last_term);
  return m;
}

// A leader of `term` for node `n` (a follower): a heartbeat puts it in the lease.
void HearFromLeader(TestNode& n, uint64_t leader, uint64_t term) {
  ASSERT_TRUE(n.Step(Msg(leader, n.id(), raftpb::MSG_HEARTBEAT, term)).ok());
  ASSERT_EQ(n.raft().lead(), leader);
  n.TakeMsgs();
}

// ---- PreVote ----

TEST(PreVoteTest, PreCandidateKeepsTermAndVote) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1, 1, 2}, 2, 3);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kPreCandidate);
  EXPECT_EQ(n.raft().term(), 2u);
  EXPECT_EQ(n.raft().vote(), 3u) << "the vote this node cast in term 2 stands";
  std::set<uint64_t> to;
  for (const Message& m : n.TakeMsgs()) {
    EXPECT_EQ(m.type(), raftpb::MSG_PRE_VOTE);
    EXPECT_EQ(m.term(), 3u) << "asks for the term it would campaign in";
    EXPECT_EQ(m.index(), 3u);
    EXPECT_EQ(m.log_term(), 2u);
    to.insert(m.to());
  }
  EXPECT_EQ(to, (std::set<uint64_t>{2, 3}));
}

TEST(PreVoteTest, PreVoteMajorityStartsRealElection) {
  TestNode n(1, {1, 2, 3, 4, 5}, PreVoteOn);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  n.TakeMsgs();
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_PRE_VOTE_RESP, 1)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kPreCandidate) << "2 of 5 is not a majority";
  EXPECT_TRUE(n.TakeMsgs().empty());
  ASSERT_TRUE(n.Step(Msg(3, 1, raftpb::MSG_PRE_VOTE_RESP, 1)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kCandidate);
  EXPECT_EQ(n.raft().term(), 1u);
  EXPECT_EQ(n.raft().vote(), 1u);
  const std::vector<Message> votes = Filter(n.TakeMsgs(), raftpb::MSG_VOTE);
  EXPECT_EQ(votes.size(), 4u);
  for (const Message& m : votes) EXPECT_EQ(m.term(), 1u);
  // A pre-vote answer arriving late is not mistaken for a vote.
  ASSERT_TRUE(n.Step(Msg(4, 1, raftpb::MSG_PRE_VOTE_RESP, 1)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kCandidate);
}

TEST(PreVoteTest, LostPreVoteLeavesTermAlone) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1}, 1);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  for (uint64_t from : {2, 3}) {
    Message rej = Msg(from, 1, raftpb::MSG_PRE_VOTE_RESP, 1);
    rej.set_reject(true);
    ASSERT_TRUE(n.Step(rej).ok());
  }
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().term(), 1u);
  EXPECT_EQ(n.raft().vote(), kNone);
}

// A voter grants a pre-vote for a later term although it voted in its own term, and records nothing.
TEST(PreVoteTest, PreVoteGrantedForFutureTermWithoutRecordingVote) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1, 1}, 1, 2);
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_PRE_VOTE, 3, 1, 2, 2, 1)).ok());
  std::vector<Message> msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type(), raftpb::MSG_PRE_VOTE_RESP);
  EXPECT_FALSE(msgs[0].reject());
  EXPECT_EQ(msgs[0].term(), 2u) << "a granted pre-vote carries the candidate's future term";
  EXPECT_EQ(n.raft().term(), 1u);
  EXPECT_EQ(n.raft().vote(), 2u);
  // The up-to-date check still applies to pre-votes; the rejection carries the voter's term.
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_PRE_VOTE, 3, 1, 2, 1, 1)).ok());
  msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].reject());
  EXPECT_EQ(msgs[0].term(), 1u);
  // The real election for term 2 still finds this node's vote free: the pre-vote used nothing up.
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_VOTE, 3, 1, 2, 2, 1)).ok());
  msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_FALSE(msgs[0].reject());
  EXPECT_EQ(n.raft().vote(), 3u);
}

// A pre-vote for a term not later than the voter's is refused with the voter's term (telling the sender it is behind).
TEST(PreVoteTest, StalePreVoteIsRejectedWithCurrentTerm) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1, 5}, 5);
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_PRE_VOTE, 3, 1, 4, 9, 5)).ok());
  const std::vector<Message> msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type(), raftpb::MSG_PRE_VOTE_RESP);
  EXPECT_TRUE(msgs[0].reject());
  EXPECT_EQ(msgs[0].term(), 5u);
}

TEST(PreVoteTest, RejectionWithHigherTermIsAdopted) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1}, 1);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  Message rej = Msg(2, 1, raftpb::MSG_PRE_VOTE_RESP, 7);
  rej.set_reject(true);
  ASSERT_TRUE(n.Step(rej).ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().term(), 7u);
  EXPECT_EQ(n.raft().vote(), kNone);
}

// A granted pre-vote response carries a later term, but that alone must not move the pre-candidate's term.
TEST(PreVoteTest, GrantedPreVoteResponseDoesNotMoveTerm) {
  TestNode n(1, {1, 2, 3, 4, 5}, PreVoteOn);
  n.Load({1}, 1);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_PRE_VOTE_RESP, 2)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kPreCandidate);
  EXPECT_EQ(n.raft().term(), 1u);
}

// A node cut off from the cluster keeps pre-campaigning but never raises its term, so rejoining disrupts nothing.
TEST(PreVoteTest, PartitionedNodeRejoinsWithoutDisruption) {
  rafttest::MemoryCluster c(3);  // PreVote and CheckQuorum on (the defaults)
  ASSERT_TRUE(c.Elect(1));
  const uint64_t term = c.node(1).raft().term();
  c.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    for (uint64_t id : {1, 2, 3}) c.Tick(id);
    c.Stabilize();
  }
  EXPECT_EQ(c.node(3).raft().term(), term);
  EXPECT_NE(c.node(3).raft().state(), StateType::kLeader);
  c.Heal();
  for (int i = 0; i < 30; ++i) {
    for (uint64_t id : {1, 2, 3}) c.Tick(id);
    c.Stabilize();
  }
  EXPECT_EQ(c.Leader(), 1u);
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).raft().term(), term) << "node " << id;
  EXPECT_EQ(c.node(3).raft().lead(), 1u);
}

// The same story without PreVote (and CheckQuorum): the isolated node's term runs ahead, and on rejoining it forces
// the leader out. This is what the test above rules out.
TEST(PreVoteTest, WithoutPreVoteRejoiningNodeDisruptsLeader) {
  rafttest::MemoryCluster c(3, [](Config* cfg) {
    cfg->pre_vote = false;
    cfg->check_quorum = false;
  });
  ASSERT_TRUE(c.Elect(1));
  const uint64_t term = c.node(1).raft().term();
  c.Isolate(3);
  for (int i = 0; i < 100; ++i) c.Tick(3);
  c.Stabilize();
  EXPECT_GT(c.node(3).raft().term(), term);
  c.Heal();
  // 1's heartbeats are stale for 3 and ignored; 3's next campaign carries its higher term and deposes 1.
  for (int i = 0; i < 30 && c.node(1).raft().term() == term; ++i) {
    c.Tick(3);
    c.Stabilize();
  }
  EXPECT_GT(c.node(1).raft().term(), term);
}

// ---- CheckQuorum and the leader lease ----

TEST(CheckQuorumTest, LeaderStepsDownWithoutQuorumForAnElectionTimeout) {
  TestNode n(1, {1, 2, 3}, CheckQuorumOn);
  n.ElectSelf();
  n.Tick(9);  // election_ticks = 10
  EXPECT_EQ(n.raft().state(), StateType::kLeader);
  n.Tick();
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().lead(), kNone);
  EXPECT_EQ(n.raft().term(), 1u);
}

TEST(CheckQuorumTest, LeaderStaysWhileQuorumIsActive) {
  TestNode n(1, {1, 2, 3}, CheckQuorumOn);
  n.ElectSelf();
  for (int round = 0; round < 5; ++round) {
    n.Tick(5);
    ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_HEARTBEAT_RESP, 1)).ok());  // one follower + self is a quorum of 3
    n.Tick(5);
    EXPECT_EQ(n.raft().state(), StateType::kLeader) << "round " << round;
  }
  n.Tick(10);  // a whole round without hearing from anyone
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
}

TEST(CheckQuorumTest, SingleVoterIsItsOwnQuorum) {
  TestNode n(1, {1}, CheckQuorumOn);
  n.ElectSelf();
  n.Tick(100);
  EXPECT_EQ(n.raft().state(), StateType::kLeader);
}

TEST(CheckQuorumTest, WithoutCheckQuorumLeaderNeverStepsDown) {
  TestNode n(1, {1, 2, 3});
  n.ElectSelf();
  n.Tick(100);
  EXPECT_EQ(n.raft().state(), StateType::kLeader);
}

TEST(CheckQuorumTest, IsolatedLeaderStepsDownInCluster) {
  rafttest::MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(1);
  c.Tick(1, 20);  // the round in progress may count the election's answers; the next one cannot
  c.Stabilize();
  EXPECT_EQ(c.node(1).raft().state(), StateType::kFollower);
}

// Followers inside the lease (heard from a leader less than an election timeout ago) ignore higher-term campaigns:
// no reply, no term change.
TEST(CheckQuorumTest, FollowerInLeaseIgnoresVoteAndPreVote) {
  for (raftpb::MessageType type : {raftpb::MSG_VOTE, raftpb::MSG_PRE_VOTE}) {
    TestNode n(2, {1, 2, 3}, [](Config* c) {
      c->check_quorum = true;
      c->pre_vote = true;
    });
    HearFromLeader(n, 1, 1);
    ASSERT_TRUE(n.Step(VoteReq(type, 3, 2, 2, 5, 1)).ok());
    EXPECT_TRUE(n.TakeMsgs().empty());
    EXPECT_EQ(n.raft().term(), 1u);
    EXPECT_EQ(n.raft().lead(), 1u);
    // Once the lease runs out (election_ticks without a leader), the same request is answered.
    n.Tick(9);
    ASSERT_TRUE(n.Step(VoteReq(type, 3, 2, 2, 5, 1)).ok());
    EXPECT_TRUE(n.TakeMsgs().empty()) << "still inside the lease after 9 of 10 ticks";
    n.Tick(1);
    ASSERT_TRUE(n.Step(VoteReq(type, 3, 2, 2, 5, 1)).ok());
    const std::vector<Message> msgs = n.TakeMsgs();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_FALSE(msgs[0].reject());
    EXPECT_EQ(n.raft().term(), type == raftpb::MSG_VOTE ? 2u : 1u);
  }
}

// Without CheckQuorum there is no lease: a higher-term vote is answered at once.
TEST(CheckQuorumTest, NoLeaseWithoutCheckQuorum) {
  TestNode n(2, {1, 2, 3});
  HearFromLeader(n, 1, 1);
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_VOTE, 3, 2, 2, 5, 1)).ok());
  EXPECT_EQ(n.TakeMsgs().size(), 1u);
  EXPECT_EQ(n.raft().term(), 2u);
  EXPECT_EQ(n.raft().vote(), 3u);
}

// A leader, too, ignores a campaign inside its lease.
TEST(CheckQuorumTest, LeaderInLeaseIgnoresVote) {
  TestNode n(1, {1, 2, 3}, CheckQuorumOn);
  n.ElectSelf();
  n.TakeMsgs();
  ASSERT_TRUE(n.Step(VoteReq(raftpb::MSG_VOTE, 3, 1, 5, 9, 4)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kLeader);
  EXPECT_EQ(n.raft().term(), 1u);
  EXPECT_TRUE(n.TakeMsgs().empty());
}

// A campaign started by MsgTimeoutNow (leadership transfer) is not stopped by the lease.
TEST(CheckQuorumTest, TransferCampaignBypassesLease) {
  TestNode n(2, {1, 2, 3}, CheckQuorumOn);
  HearFromLeader(n, 1, 1);
  Message vote = VoteReq(raftpb::MSG_VOTE, 3, 2, 2, 5, 1);
  vote.set_context("CampaignTransfer");
  ASSERT_TRUE(n.Step(vote).ok());
  const std::vector<Message> msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type(), raftpb::MSG_VOTE_RESP);
  EXPECT_FALSE(msgs[0].reject());
  EXPECT_EQ(n.raft().term(), 2u);
  EXPECT_EQ(n.raft().vote(), 3u);

  // And the transferee's MsgVote carries that context, skipping the pre-vote.
  TestNode t(3, {1, 2, 3}, [](Config* c) {
    c->check_quorum = true;
    c->pre_vote = true;
  });
  HearFromLeader(t, 1, 1);
  ASSERT_TRUE(t.Step(Msg(1, 3, raftpb::MSG_TIMEOUT_NOW, 1)).ok());
  EXPECT_EQ(t.raft().state(), StateType::kCandidate);
  EXPECT_EQ(t.raft().term(), 2u);
  const std::vector<Message> votes = t.TakeMsgs();
  ASSERT_EQ(votes.size(), 2u);
  for (const Message& m : votes) {
    EXPECT_EQ(m.type(), raftpb::MSG_VOTE);
    EXPECT_EQ(m.context(), "CampaignTransfer");
  }
}

// With CheckQuorum or PreVote, a node answers a stale leader's append with its higher term so the old leader steps
// down (otherwise a partitioned-then-healed leader could stay leader forever).
TEST(CheckQuorumTest, StaleLeaderLearnsHigherTermFromAppendResponse) {
  TestNode follower(2, {1, 2, 3}, CheckQuorumOn);
  follower.Load({1}, 3);
  Message app = Msg(1, 2, raftpb::MSG_APP, 2);
  ASSERT_TRUE(follower.Step(app).ok());
  std::vector<Message> msgs = follower.TakeMsgs();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type(), raftpb::MSG_APP_RESP);
  EXPECT_EQ(msgs[0].term(), 3u);
  EXPECT_EQ(follower.raft().term(), 3u);

  TestNode old_leader(1, {1, 2, 3}, CheckQuorumOn);
  old_leader.ElectSelf();
  ASSERT_TRUE(old_leader.Step(msgs[0]).ok());
  EXPECT_EQ(old_leader.raft().state(), StateType::kFollower);
  EXPECT_EQ(old_leader.raft().term(), 3u);
}

// A pre-candidate that hears from a leader of its term goes back to following it.
TEST(PreVoteTest, PreCandidateFollowsLeaderOfItsTerm) {
  TestNode n(1, {1, 2, 3}, PreVoteOn);
  n.Load({1}, 1);
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  ASSERT_EQ(n.raft().state(), StateType::kPreCandidate);
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_HEARTBEAT, 1)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().lead(), 2u);
  EXPECT_EQ(n.raft().term(), 1u);
}

}  // namespace
}  // namespace detcd::raft
