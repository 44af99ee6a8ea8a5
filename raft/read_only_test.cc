// ReadIndex (thesis §6.4): the ReadOnly queue itself, and a leader's read behaviour — answers only after a heartbeat
// quorum, holds reads until an entry of its term commits, one heartbeat round per batch, follower forwarding.
#include "raft/read_only.h"

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/rafttest/test_node.h"

namespace detcd::raft {
namespace {

using raftpb::Message;
using rafttest::Exchange;
using rafttest::Filter;
using rafttest::Msg;
using rafttest::TestNode;

Message ReadReq(const std::string& ctx, uint64_t from = kNone, uint64_t to = kNone) {
  Message m = Msg(from, to, raftpb::MSG_READ_INDEX);
  m.add_entries()->set_data(ctx);
  return m;
}

Message HeartbeatResp(uint64_t from, uint64_t term, const std::string& ctx) {
  Message m = Msg(from, 1, raftpb::MSG_HEARTBEAT_RESP, term);
  m.set_context(ctx);
  return m;
}

Message AppResp(uint64_t from, uint64_t term, uint64_t index) {
  Message m = Msg(from, 1, raftpb::MSG_APP_RESP, term);
  m.set_index(index);
  return m;
}

// Node 1 as leader with its term's empty entry committed (acknowledged by 2 and 3).
void MakeLeaderWithCommit(TestNode& n) {
  n.ElectSelf();
  n.Persist();
  for (uint64_t from : {2, 3}) ASSERT_TRUE(n.Step(AppResp(from, n.raft().term(), n.raft().log().LastIndex())).ok());
  ASSERT_EQ(n.raft().log().committed(), n.raft().log().LastIndex());
  n.TakeMsgs();
}

std::vector<std::string> Contexts(const std::vector<ReadState>& rs) {
  std::vector<std::string> out;
  for (const ReadState& r : rs) out.push_back(r.request_ctx);
  return out;
}

// ---- the queue ----

TEST(ReadOnlyTest, QueueAcksAndAdvance) {
  ReadOnly ro;
  EXPECT_EQ(ro.LastPendingContext(), "");
  EXPECT_TRUE(ro.AddRequest(5, ReadReq("a")));
  EXPECT_TRUE(ro.AddRequest(6, ReadReq("b")));
  EXPECT_TRUE(ro.AddRequest(7, ReadReq("c")));
  EXPECT_FALSE(ro.AddRequest(8, ReadReq("b"))) << "duplicate context";
  EXPECT_EQ(ro.pending(), 3u);
  EXPECT_EQ(ro.LastPendingContext(), "c");
  EXPECT_EQ(ro.RecvAck(1, "b"), 1u);
  EXPECT_EQ(ro.RecvAck(2, "b"), 2u);
  EXPECT_EQ(ro.RecvAck(2, "b"), 2u) << "the same voter counts once";
  EXPECT_EQ(ro.RecvAck(2, "zzz"), 0u) << "unknown context";
  EXPECT_EQ(ro.Acks("b"), (std::set<uint64_t>{1, 2}));
  EXPECT_TRUE(ro.Advance("zzz").empty());
  EXPECT_EQ(ro.pending(), 3u);
  const std::vector<ReadIndexStatus> done = ro.Advance("b");
  ASSERT_EQ(done.size(), 2u) << "everything up to and including b, oldest first";
  EXPECT_EQ(ReadContext(done[0].request), "a");
  EXPECT_EQ(done[0].index, 5u);
  EXPECT_EQ(ReadContext(done[1].request), "b");
  EXPECT_EQ(done[1].index, 6u) << "the index recorded on arrival, not the duplicate's";
  EXPECT_EQ(ro.pending(), 1u);
  EXPECT_TRUE(ro.Acks("a").empty());
  ro.Reset();
  EXPECT_EQ(ro.pending(), 0u);
  EXPECT_EQ(ro.LastPendingContext(), "");
  EXPECT_TRUE(ro.AddRequest(9, ReadReq("b"))) << "a context may be reused once answered";
}

// ---- the leader ----

TEST(ReadIndexTest, LeaderAnswersOnlyAfterHeartbeatQuorum) {
  TestNode n(1, {1, 2, 3, 4, 5});
  MakeLeaderWithCommit(n);
  const uint64_t commit = n.raft().log().committed();
  ASSERT_TRUE(n.Step(ReadReq("r")).ok());
  EXPECT_TRUE(n.raft().read_states().empty());
  const std::vector<Message> beats = Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(beats.size(), 4u);
  for (const Message& m : beats) EXPECT_EQ(m.context(), "r");
  ASSERT_TRUE(n.Step(HeartbeatResp(2, n.raft().term(), "")).ok());  // a plain heartbeat answer confirms nothing
  ASSERT_TRUE(n.Step(HeartbeatResp(3, n.raft().term(), "other")).ok());
  ASSERT_TRUE(n.Step(HeartbeatResp(4, n.raft().term(), "r")).ok());
  EXPECT_TRUE(n.raft().read_states().empty()) << "self + 4 is 2 of 5";
  ASSERT_TRUE(n.Step(HeartbeatResp(4, n.raft().term(), "r")).ok());
  EXPECT_TRUE(n.raft().read_states().empty()) << "a repeated ack is not a new voter";
  ASSERT_TRUE(n.Step(HeartbeatResp(5, n.raft().term(), "r")).ok());
  ASSERT_EQ(n.raft().read_states().size(), 1u);
  EXPECT_EQ(n.raft().read_states()[0].request_ctx, "r");
  EXPECT_EQ(n.raft().read_states()[0].index, commit);
}

// A new leader's commit index may lag what the previous leader committed: reads wait for an entry of its term.
TEST(ReadIndexTest, NewLeaderHoldsReadsUntilItCommitsInItsTerm) {
  TestNode n(1, {1, 2, 3});
  n.Load({1, 1, 1}, 1, kNone, 1);  // entries 2 and 3 may have been committed by the old leader
  n.ElectSelf();
  n.TakeMsgs();
  ASSERT_TRUE(n.Step(ReadReq("early")).ok());
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).empty());
  EXPECT_TRUE(n.raft().read_states().empty());
  n.Persist();
  ASSERT_TRUE(n.Step(AppResp(2, 2, 3)).ok());  // old-term entries on a majority: still no commit in term 2
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).empty());
  ASSERT_TRUE(n.Step(AppResp(2, 2, 4)).ok());  // the term-2 entry commits
  ASSERT_EQ(n.raft().log().committed(), 4u);
  const std::vector<Message> beats = Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(beats.size(), 2u) << "the held read now starts its round";
  EXPECT_EQ(beats[0].context(), "early");
  EXPECT_TRUE(n.raft().read_states().empty());
  ASSERT_TRUE(n.Step(HeartbeatResp(3, 2, "early")).ok());
  ASSERT_EQ(n.raft().read_states().size(), 1u);
  EXPECT_EQ(n.raft().read_states()[0].index, 4u) << "covers everything the old leader could have committed";
}

// While one heartbeat round is in flight, new reads wait; the next round confirms all of them at once.
TEST(ReadIndexTest, OneHeartbeatRoundConfirmsABatch) {
  TestNode n(1, {1, 2, 3});
  MakeLeaderWithCommit(n);
  const uint64_t term = n.raft().term();
  ASSERT_TRUE(n.Step(ReadReq("r1")).ok());
  EXPECT_EQ(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).size(), 2u);
  for (const char* ctx : {"r2", "r3", "r4"}) ASSERT_TRUE(n.Step(ReadReq(ctx)).ok());
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).empty()) << "no round per read";
  ASSERT_TRUE(n.Step(HeartbeatResp(2, term, "r1")).ok());
  EXPECT_EQ(Contexts(n.raft().read_states()), std::vector<std::string>{"r1"}) << "r2..r4 came after r1's round";
  const std::vector<Message> beats = Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(beats.size(), 2u);
  EXPECT_EQ(beats[0].context(), "r4") << "the next round carries the newest read";
  ASSERT_TRUE(n.Step(HeartbeatResp(3, term, "r4")).ok());
  EXPECT_EQ(Contexts(n.raft().read_states()), (std::vector<std::string>{"r1", "r2", "r3", "r4"}));
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).empty()) << "nothing left pending";
}

// The periodic heartbeat carries the newest pending read, so a lost round is retried.
TEST(ReadIndexTest, PeriodicHeartbeatRetriesPendingRound) {
  TestNode n(1, {1, 2, 3});
  MakeLeaderWithCommit(n);
  ASSERT_TRUE(n.Step(ReadReq("r1")).ok());
  n.TakeMsgs();  // the round is lost
  n.Tick();      // heartbeat_ticks = 1
  const std::vector<Message> beats = Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(beats.size(), 2u);
  EXPECT_EQ(beats[1].context(), "r1");
  ASSERT_TRUE(n.Step(HeartbeatResp(3, n.raft().term(), "r1")).ok());
  EXPECT_EQ(Contexts(n.raft().read_states()), std::vector<std::string>{"r1"});
}

// The read index is the commit index when the request arrived, even if commit moves before the round completes.
TEST(ReadIndexTest, IndexIsCommitAtArrival) {
  TestNode n(1, {1, 2, 3});
  MakeLeaderWithCommit(n);
  const uint64_t at_arrival = n.raft().log().committed();
  ASSERT_TRUE(n.Step(ReadReq("r")).ok());
  Message prop = Msg(1, 1, raftpb::MSG_PROP);
  prop.add_entries()->set_data("w");
  ASSERT_TRUE(n.Step(prop).ok());
  n.Persist();
  ASSERT_TRUE(n.Step(AppResp(2, n.raft().term(), at_arrival + 1)).ok());
  ASSERT_EQ(n.raft().log().committed(), at_arrival + 1);
  ASSERT_TRUE(n.Step(HeartbeatResp(2, n.raft().term(), "r")).ok());
  ASSERT_EQ(n.raft().read_states().size(), 1u);
  EXPECT_EQ(n.raft().read_states()[0].index, at_arrival);
}

TEST(ReadIndexTest, LearnerAcksDoNotMakeAQuorum) {
  TestNode n(1, {1, 2, 3}, nullptr, {4});
  MakeLeaderWithCommit(n);
  ASSERT_TRUE(n.Step(ReadReq("r")).ok());
  std::set<uint64_t> to;
  for (const Message& m : Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT)) to.insert(m.to());
  EXPECT_EQ(to, (std::set<uint64_t>{2, 3, 4}));
  ASSERT_TRUE(n.Step(HeartbeatResp(4, n.raft().term(), "r")).ok());
  EXPECT_TRUE(n.raft().read_states().empty());
  ASSERT_TRUE(n.Step(HeartbeatResp(3, n.raft().term(), "r")).ok());
  EXPECT_EQ(n.raft().read_states().size(), 1u);
}

TEST(ReadIndexTest, SingleVoterAnswersWithoutARound) {
  TestNode n(1, {1});
  n.ElectSelf();
  ASSERT_TRUE(n.Step(ReadReq("before-commit")).ok());
  EXPECT_TRUE(n.raft().read_states().empty()) << "its term's entry is not durable, hence not committed, yet";
  n.Persist();
  ASSERT_EQ(n.raft().log().committed(), 1u);
  EXPECT_EQ(Contexts(n.raft().read_states()), std::vector<std::string>{"before-commit"});
  ASSERT_TRUE(n.Step(ReadReq("now")).ok());
  EXPECT_EQ(Contexts(n.raft().read_states()), (std::vector<std::string>{"before-commit", "now"}));
  EXPECT_EQ(n.raft().read_states()[1].index, 1u);
  EXPECT_TRUE(n.TakeMsgs().empty()) << "no heartbeats needed";
}

// A follower forwards the read to its leader and gets the index back in a MsgReadIndexResp.
TEST(ReadIndexTest, FollowerForwardsAndReceivesIndex) {
  TestNode n1(1, {1, 2, 3}), n2(2, {1, 2, 3}), n3(3, {1, 2, 3});
  ASSERT_TRUE(n1.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  Exchange({&n1, &n2, &n3});
  ASSERT_EQ(n1.raft().state(), StateType::kLeader);
  ASSERT_EQ(n2.raft().lead(), 1u);
  ASSERT_TRUE(n2.Step(ReadReq("f")).ok());
  const std::vector<Message> fwd = n2.TakeMsgs();
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(fwd[0].type(), raftpb::MSG_READ_INDEX);
  EXPECT_EQ(fwd[0].to(), 1u);
  EXPECT_EQ(fwd[0].from(), 2u);
  ASSERT_TRUE(n1.Step(fwd[0]).ok());
  const std::vector<Message> delivered = Exchange({&n1, &n2, &n3});
  const std::vector<Message> resps = Filter(delivered, raftpb::MSG_READ_INDEX_RESP);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_EQ(resps[0].to(), 2u);
  EXPECT_TRUE(n1.raft().read_states().empty()) << "the leader does not keep a follower's read";
  EXPECT_EQ(Contexts(n2.raft().read_states()), std::vector<std::string>{"f"});
  EXPECT_EQ(n2.raft().read_states()[0].index, n1.raft().log().committed());
}

TEST(ReadIndexTest, FollowerWithoutLeaderDropsRead) {
  TestNode n(2, {1, 2, 3});
  EXPECT_TRUE(IsProposalDropped(n.Step(ReadReq("x"))));
  EXPECT_TRUE(n.TakeMsgs().empty());
}

// A leader that loses leadership forgets its pending reads: late acks answer nothing.
TEST(ReadIndexTest, SteppingDownDropsPendingReads) {
  TestNode n(1, {1, 2, 3});
  MakeLeaderWithCommit(n);
  const uint64_t term = n.raft().term();
  ASSERT_TRUE(n.Step(ReadReq("r")).ok());
  ASSERT_TRUE(n.Step(Msg(3, 1, raftpb::MSG_HEARTBEAT, term + 1)).ok());
  ASSERT_EQ(n.raft().state(), StateType::kFollower);
  ASSERT_TRUE(n.Step(HeartbeatResp(2, term + 1, "r")).ok());
  EXPECT_TRUE(n.raft().read_states().empty());
}

}  // namespace
}  // namespace detcd::raft
