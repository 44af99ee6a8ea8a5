// The rules of the Raft paper (§5.1–5.4) and its membership section as far as it exists here (learners), each tested
// on one Raft driven message by message (TestNode: PreVote and CheckQuorum off) or on a small MemoryCluster.
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "raft/raft.h"
#include "raft/rafttest/memory_cluster.h"
#include "raft/rafttest/test_node.h"
#include "raft/raw_node.h"

namespace detcd::raft {
namespace {

using raftpb::Message;
using rafttest::Exchange;
using rafttest::Filter;
using rafttest::Msg;
using rafttest::TestNode;

std::vector<uint64_t> LogTerms(const Raft& r) {
  std::vector<uint64_t> out;
  for (uint64_t i = 1; i <= r.log().LastIndex(); ++i) out.push_back(r.log().Term(i));
  return out;
}

Message AppendMsg(uint64_t from, uint64_t to, uint64_t term, uint64_t prev_index, uint64_t prev_term,
                  const std::vector<uint64_t>& entry_terms, uint64_t commit = 0) {
  Message m = Msg(from, to, raftpb::MSG_APP, term);
  m.set_index(prev_index);
  m.set_log_term(prev_term);
  m.set_commit(commit);
  for (const raftpb::Entry& e : rafttest::EntriesWithTerms(entry_terms, prev_index + 1)) *m.add_entries() = e;
  return m;
}

Message VoteMsg(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index, uint64_t last_term) {
  Message m = Msg(from, to, raftpb::MSG_VOTE, term);
  m.set_index(last_index);
  m.set_log_term(last_term);
  return m;
}

// ---- §5.1: terms ----

// A node of any role that sees a higher term adopts it and becomes a follower (of the sender, if it is a leader).
TEST(RaftPaperTest, HigherTermMakesAnyRoleUpdateTermAndFollow) {
  for (StateType role : {StateType::kFollower, StateType::kCandidate, StateType::kLeader}) {
    TestNode n(1, {1, 2, 3});
    if (role == StateType::kCandidate) {
      ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
    }
    if (role == StateType::kLeader) n.ElectSelf();
    ASSERT_EQ(n.raft().state(), role);
    const uint64_t higher = n.raft().term() + 2;
    ASSERT_TRUE(n.Step(AppendMsg(2, 1, higher, 0, 0, {})).ok());
    EXPECT_EQ(n.raft().term(), higher) << StateName(role);
    EXPECT_EQ(n.raft().state(), StateType::kFollower) << StateName(role);
    EXPECT_EQ(n.raft().lead(), 2u) << StateName(role);
    EXPECT_EQ(n.raft().vote(), kNone) << StateName(role);
  }
}

// A higher-term vote request also moves the term, but names no leader.
TEST(RaftPaperTest, HigherTermVoteRequestMovesTermWithoutLeader) {
  TestNode n(1, {1, 2, 3});
  n.ElectSelf();
  ASSERT_TRUE(n.Step(VoteMsg(3, 1, 5, 10, 5)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().term(), 5u);
  EXPECT_EQ(n.raft().lead(), kNone);
  EXPECT_EQ(n.raft().vote(), 3u);
}

// A request with a stale term is ignored: no state change, no reply (PreVote and CheckQuorum off).
TEST(RaftPaperTest, StaleTermRequestIsIgnored) {
  TestNode n(1, {1, 2, 3});
  n.Load({1, 2}, 3);
  ASSERT_TRUE(n.Step(AppendMsg(2, 1, 2, 2, 2, {2}, 2)).ok());
  ASSERT_TRUE(n.Step(VoteMsg(3, 1, 2, 9, 2)).ok());
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_HEARTBEAT, 2)).ok());
  EXPECT_TRUE(n.TakeMsgs().empty());
  EXPECT_EQ(n.raft().term(), 3u);
  EXPECT_EQ(n.raft().vote(), kNone);
  EXPECT_EQ(n.raft().lead(), kNone);
  EXPECT_EQ(n.raft().log().LastIndex(), 2u);
  EXPECT_EQ(n.raft().log().committed(), 0u);
}

// ---- §5.2: leader election ----

TEST(RaftPaperTest, NodesStartAsFollowers) {
  TestNode fresh(1, {1, 2, 3});
  EXPECT_EQ(fresh.raft().state(), StateType::kFollower);
  EXPECT_EQ(fresh.raft().term(), 0u);
  EXPECT_EQ(fresh.raft().lead(), kNone);
  TestNode restarted(2, {1, 2, 3});
  restarted.Load({1, 1, 4}, 4, 3);
  EXPECT_EQ(restarted.raft().state(), StateType::kFollower);
  EXPECT_EQ(restarted.raft().term(), 4u);
  EXPECT_EQ(restarted.raft().vote(), 3u);
}

TEST(RaftPaperTest, LeaderSendsHeartbeatsToAllEveryHeartbeatInterval) {
  TestNode n(1, {1, 2, 3}, [](Config* c) { c->heartbeat_ticks = 2; });
  n.ElectSelf();
  n.TakeMsgs();
  n.Tick();
  EXPECT_TRUE(Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT).empty());
  n.Tick();
  std::set<uint64_t> to;
  for (const Message& m : Filter(n.TakeMsgs(), raftpb::MSG_HEARTBEAT)) {
    to.insert(m.to());
    EXPECT_EQ(m.term(), n.raft().term());
  }
  EXPECT_EQ(to, (std::set<uint64_t>{2, 3}));
}

TEST(RaftPaperTest, ElectionTimeoutIsRandomizedInRange) {
  constexpr int kElection = 10;
  std::set<int> across_seeds;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    TestNode n(1, {1, 2, 3}, [seed](Config* c) {
      c->election_ticks = kElection;
      c->seed = seed;
    });
    across_seeds.insert(n.raft().randomized_election_timeout());
    std::set<int> within_node;
    for (uint64_t term = 1; term <= 200; ++term) {
      // Every term change resets (and re-randomizes) the timeout.
      ASSERT_TRUE(n.Step(AppendMsg(2, 1, term, 0, 0, {})).ok());
      const int t = n.raft().randomized_election_timeout();
      EXPECT_GE(t, kElection);
      EXPECT_LT(t, 2 * kElection);
      within_node.insert(t);
    }
    EXPECT_EQ(within_node.size(), static_cast<size_t>(kElection)) << "seed " << seed;  // every value in [et, 2et)
  }
  EXPECT_GT(across_seeds.size(), 3u);
}

TEST(RaftPaperTest, ElectionTimeoutIsDeterministicPerSeed) {
  auto timeouts = [](uint64_t seed) {
    TestNode n(1, {1, 2, 3}, [seed](Config* c) { c->seed = seed; });
    std::vector<int> out;
    for (uint64_t term = 1; term <= 20; ++term) {
      (void)n.Step(AppendMsg(2, 1, term, 0, 0, {}));
      out.push_back(n.raft().randomized_election_timeout());
    }
    return out;
  };
  EXPECT_EQ(timeouts(7), timeouts(7));
  EXPECT_NE(timeouts(7), timeouts(8));
}

// A follower that hears nothing for its election timeout becomes a candidate: new term, votes for itself, asks all.
TEST(RaftPaperTest, FollowerTimesOutAndCampaigns) {
  TestNode n(1, {1, 2, 3});
  n.Load({1, 2}, 2);
  const int timeout = n.raft().randomized_election_timeout();
  n.Tick(timeout - 1);
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_TRUE(n.TakeMsgs().empty());
  n.Tick();
  EXPECT_EQ(n.raft().state(), StateType::kCandidate);
  EXPECT_EQ(n.raft().term(), 3u);
  EXPECT_EQ(n.raft().vote(), 1u);
  std::set<uint64_t> to;
  for (const Message& m : n.TakeMsgs()) {
    EXPECT_EQ(m.type(), raftpb::MSG_VOTE);
    EXPECT_EQ(m.term(), 3u);
    EXPECT_EQ(m.index(), 2u);
    EXPECT_EQ(m.log_term(), 2u);
    to.insert(m.to());
  }
  EXPECT_EQ(to, (std::set<uint64_t>{2, 3}));
}

// A candidate that neither wins nor loses before its timeout (split vote) starts another election in a new term.
TEST(RaftPaperTest, CandidateRetriesAfterSplitVote) {
  TestNode n(1, {1, 2, 3, 4});
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_VOTE_RESP, 1)).ok());
  Message reject = Msg(3, 1, raftpb::MSG_VOTE_RESP, 1);
  reject.set_reject(true);
  ASSERT_TRUE(n.Step(reject).ok());  // 2 of 4 granted, 1 rejected, 1 silent: undecided
  EXPECT_EQ(n.raft().state(), StateType::kCandidate);
  n.TakeMsgs();
  n.Tick(n.raft().randomized_election_timeout());
  EXPECT_EQ(n.raft().state(), StateType::kCandidate);
  EXPECT_EQ(n.raft().term(), 2u);
  EXPECT_EQ(Filter(n.TakeMsgs(), raftpb::MSG_VOTE).size(), 3u);
}

// The candidate's outcome after one round of vote responses.
TEST(RaftPaperTest, ElectionOutcomeInOneRound) {
  struct Case {
    int size;
    std::map<uint64_t, bool> votes;
    StateType want;
  };
  const std::vector<Case> cases = {
      {1, {}, StateType::kLeader},
      {3, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, false}, {3, false}}, StateType::kFollower},
      {5, {{2, false}, {3, false}, {4, false}}, StateType::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, StateType::kFollower},
      {3, {}, StateType::kCandidate},
      {5, {{2, true}}, StateType::kCandidate},
      {5, {{2, false}, {3, false}}, StateType::kCandidate},
      {5, {{2, true}, {3, false}, {4, false}}, StateType::kCandidate},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<uint64_t> peers;
    for (int p = 1; p <= cases[i].size; ++p) peers.push_back(p);
    TestNode n(1, peers);
    ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
    for (const auto& [from, granted] : cases[i].votes) {
      Message m = Msg(from, 1, raftpb::MSG_VOTE_RESP, 1);
      m.set_reject(!granted);
      ASSERT_TRUE(n.Step(m).ok());
    }
    EXPECT_EQ(n.raft().state(), cases[i].want) << "case " << i;
    EXPECT_EQ(n.raft().term(), 1u) << "case " << i;
  }
}

// A voter grants at most one vote per term, first come first served (and repeats a vote it already gave).
TEST(RaftPaperTest, OneVotePerTermFirstComeFirstServed) {
  struct Case {
    uint64_t voted_for, candidate;
    bool reject;
  };
  for (const Case& tc : std::vector<Case>{
           {kNone, 2, false}, {kNone, 3, false}, {2, 2, false}, {3, 3, false}, {2, 3, true}, {3, 2, true}}) {
    TestNode n(1, {1, 2, 3});
    n.Load({}, 1, tc.voted_for);
    ASSERT_TRUE(n.Step(VoteMsg(tc.candidate, 1, 1, 0, 0)).ok());
    const std::vector<Message> msgs = n.TakeMsgs();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].type(), raftpb::MSG_VOTE_RESP);
    EXPECT_EQ(msgs[0].reject(), tc.reject) << "voted " << tc.voted_for << " candidate " << tc.candidate;
    EXPECT_EQ(n.raft().vote(), tc.voted_for == kNone ? tc.candidate : tc.voted_for);
  }
  // And a fresh voter: the first of two candidates in the same term wins the vote, the second is refused.
  TestNode n(1, {1, 2, 3});
  ASSERT_TRUE(n.Step(VoteMsg(2, 1, 1, 0, 0)).ok());
  ASSERT_TRUE(n.Step(VoteMsg(3, 1, 1, 0, 0)).ok());
  const std::vector<Message> msgs = n.TakeMsgs();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_FALSE(msgs[0].reject());
  EXPECT_TRUE(msgs[1].reject());
  EXPECT_EQ(n.raft().vote(), 2u);
}

// A candidate that hears from a leader of its own term (or a later one) steps back to follower.
TEST(RaftPaperTest, CandidateFollowsLeaderOfItsTerm) {
  for (uint64_t leader_term_delta : {0, 1}) {
    for (raftpb::MessageType type : {raftpb::MSG_APP, raftpb::MSG_HEARTBEAT}) {
      TestNode n(1, {1, 2, 3});
      ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
      const uint64_t term = n.raft().term() + leader_term_delta;
      ASSERT_TRUE(n.Step(Msg(2, 1, type, term)).ok());
      EXPECT_EQ(n.raft().state(), StateType::kFollower);
      EXPECT_EQ(n.raft().term(), term);
      EXPECT_EQ(n.raft().lead(), 2u);
    }
  }
}

// ---- §5.3: log replication ----

TEST(RaftPaperTest, LeaderAppendsProposalAndSendsAppends) {
  TestNode n(1, {1, 2, 3});
  n.ElectSelf();
  n.Persist();
  // Let both followers catch up with the leader's empty entry so that the next MsgApp carries just the proposal.
  for (uint64_t f : {2, 3}) {
    Message resp = Msg(f, 1, raftpb::MSG_APP_RESP, n.raft().term());
    resp.set_index(1);
    ASSERT_TRUE(n.Step(resp).ok());
  }
  n.TakeMsgs();
  Message prop = Msg(1, 1, raftpb::MSG_PROP);
  prop.add_entries()->set_data("x");
  ASSERT_TRUE(n.Step(prop).ok());
  ASSERT_EQ(n.raft().log().LastIndex(), 2u);
  EXPECT_EQ(n.raft().log().Term(2), n.raft().term());
  ASSERT_EQ(n.raft().log().UnstableEntries().size(), 1u);
  EXPECT_EQ(n.raft().log().UnstableEntries()[0].data(), "x");
  std::set<uint64_t> to;
  for (const Message& m : n.TakeMsgs()) {
    ASSERT_EQ(m.type(), raftpb::MSG_APP);
    EXPECT_EQ(m.index(), 1u);
    EXPECT_EQ(m.log_term(), n.raft().term());
    EXPECT_EQ(m.commit(), 1u);
    ASSERT_EQ(m.entries_size(), 1);
    EXPECT_EQ(m.entries(0).index(), 2u);
    EXPECT_EQ(m.entries(0).data(), "x");
    to.insert(m.to());
  }
  EXPECT_EQ(to, (std::set<uint64_t>{2, 3}));
}

// An entry commits once a majority holds it durably; the leader counts itself only after its own write.
TEST(RaftPaperTest, LeaderCommitsWhenMajorityHasItDurable) {
  TestNode n(1, {1, 2, 3});
  n.ElectSelf();
  ASSERT_EQ(n.raft().log().LastIndex(), 1u);
  Message ack = Msg(2, 1, raftpb::MSG_APP_RESP, n.raft().term());
  ack.set_index(1);
  ASSERT_TRUE(n.Step(ack).ok());
  EXPECT_EQ(n.raft().log().committed(), 0u) << "the leader's own entry is not durable yet";
  n.TakeMsgs();
  n.Persist();
  EXPECT_EQ(n.raft().log().committed(), 1u);
  // The new commit index goes out to the followers at once.
  for (const Message& m : Filter(n.TakeMsgs(), raftpb::MSG_APP)) EXPECT_EQ(m.commit(), 1u);
}

TEST(RaftPaperTest, CommitNeedsAMajorityOfAcks) {
  struct Case {
    int size;
    std::set<uint64_t> acks;
    bool committed;
  };
  const std::vector<Case> cases = {
      {1, {}, true},     {3, {}, false},          {3, {2}, true},  {3, {2, 3}, true}, {5, {}, false}, {5, {2}, false},
      {5, {2, 3}, true}, {5, {2, 3, 4, 5}, true}, {4, {2}, false}, {4, {2, 3}, true}, {2, {}, false}, {2, {2}, true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<uint64_t> peers;
    for (int p = 1; p <= cases[i].size; ++p) peers.push_back(p);
    TestNode n(1, peers);
    n.ElectSelf();
    n.Persist();
    for (uint64_t from : cases[i].acks) {
      Message ack = Msg(from, 1, raftpb::MSG_APP_RESP, n.raft().term());
      ack.set_index(1);
      ASSERT_TRUE(n.Step(ack).ok());
    }
    EXPECT_EQ(n.raft().log().committed() == 1, cases[i].committed) << "case " << i;
  }
}

// A follower learns the commit index from the leader: min(leader commit, last new entry).
TEST(RaftPaperTest, FollowerCommitsWhatLeaderCommitted) {
  TestNode n(1, {1, 2, 3});
  n.Load({}, 1);
  ASSERT_TRUE(n.Step(AppendMsg(2, 1, 1, 0, 0, {1, 1, 1}, 2)).ok());
  EXPECT_EQ(n.raft().log().committed(), 2u);
  ASSERT_TRUE(n.Step(AppendMsg(2, 1, 1, 1, 1, {}, 3)).ok());  // only entry 1 is vouched for by this message
  EXPECT_EQ(n.raft().log().committed(), 2u);
  ASSERT_TRUE(n.Step(AppendMsg(2, 1, 1, 3, 1, {}, 3)).ok());
  EXPECT_EQ(n.raft().log().committed(), 3u);
}

// Committed entries reach every state machine, in log order, exactly once.
TEST(RaftPaperTest, FollowersApplyCommittedEntriesInOrder) {
  rafttest::MemoryCluster c(3);
  ASSERT_TRUE(c.Elect(1));
  const std::vector<std::string> want = {"a", "b", "c", "d", "e"};
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(c.node(i % 2 == 0 ? 1 : 3).Propose(want[i]).ok());  // 3's proposals are forwarded
    c.Stabilize();
  }
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.applied(id), want) << "node " << id;
}

// The AppendEntries consistency check: entries are accepted only after a matching (index, term).
TEST(RaftPaperTest, FollowerChecksAppendConsistency) {
  struct Case {
    uint64_t prev_term, prev_index;
    bool reject;
    uint64_t index, hint, hint_term;
  };
  const std::vector<Case> cases = {
      {0, 0, false, 1, 0, 0},  // before the commit index: answered with the commit index
      {1, 1, false, 1, 0, 0},  // matches a committed entry
      {2, 2, false, 2, 0, 0},  // matches an uncommitted entry
      {1, 2, true, 2, 1, 1},   // an entry exists at 2 but with another term
      {3, 3, true, 3, 2, 2},   // no entry at 3
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TestNode n(1, {1, 2, 3});
    n.Load({1, 2}, 2, kNone, 1);
    ASSERT_TRUE(n.Step(AppendMsg(2, 1, 2, cases[i].prev_index, cases[i].prev_term, {})).ok());
    const std::vector<Message> msgs = n.TakeMsgs();
    ASSERT_EQ(msgs.size(), 1u) << "case " << i;
    EXPECT_EQ(msgs[0].type(), raftpb::MSG_APP_RESP);
    EXPECT_EQ(msgs[0].reject(), cases[i].reject) << "case " << i;
    EXPECT_EQ(msgs[0].index(), cases[i].index) << "case " << i;
    if (cases[i].reject) {
      EXPECT_EQ(msgs[0].reject_hint(), cases[i].hint) << "case " << i;
      EXPECT_EQ(msgs[0].log_term(), cases[i].hint_term) << "case " << i;
    }
  }
}

// A follower drops a conflicting suffix and takes the leader's entries; matching entries are left alone.
TEST(RaftPaperTest, FollowerReplacesConflictingEntries) {
  struct Case {
    uint64_t prev_index, prev_term;
    std::vector<uint64_t> entries;
    std::vector<uint64_t> want;
  };
  const std::vector<Case> cases = {
      {2, 2, {3}, {1, 2, 3}}, {1, 1, {3, 4}, {1, 3, 4}},
      {0, 0, {1}, {1, 2}},  // already present: a stale append must not cut the tail
      {0, 0, {3}, {3}},       {2, 2, {}, {1, 2}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TestNode n(1, {1, 2, 3});
    n.Load({1, 2}, 2);
    ASSERT_TRUE(n.Step(AppendMsg(2, 1, 4, cases[i].prev_index, cases[i].prev_term, cases[i].entries)).ok());
    EXPECT_EQ(LogTerms(n.raft()), cases[i].want) << "case " << i;
    n.Persist();
    EXPECT_EQ(n.storage().LastIndex(), cases[i].want.size()) << "case " << i;
  }
}

// Figure 7: whatever the follower's log, the leader brings it to exactly the leader's log, and never changes its own.
TEST(RaftPaperTest, LeaderSyncsFollowerLogsOfFigure7) {
  const std::vector<uint64_t> leader_log = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  // clang-format off
  const std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},
      {1, 1, 1, 4},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
      {1, 1, 1, 4, 4, 4, 4},
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
  };
  // clang-format on
  for (size_t i = 0; i < followers.size(); ++i) {
    TestNode lead(1, {1, 2, 3});
    lead.Load(leader_log, 7);
    TestNode follower(2, {1, 2, 3});
    follower.Load(followers[i], 7);
    ASSERT_TRUE(lead.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
    ASSERT_TRUE(lead.Step(Msg(3, 1, raftpb::MSG_VOTE_RESP, 8)).ok());  // node 3 (not simulated) votes for 1
    ASSERT_EQ(lead.raft().state(), StateType::kLeader);
    Exchange({&lead, &follower});
    std::vector<uint64_t> want = leader_log;
    want.push_back(8);
    EXPECT_EQ(LogTerms(lead.raft()), want) << "follower " << i;
    EXPECT_EQ(LogTerms(follower.raft()), want) << "follower " << i;
    EXPECT_EQ(follower.storage().LastIndex(), want.size()) << "follower " << i;
    EXPECT_EQ(lead.raft().log().committed(), want.size()) << "follower " << i;
  }
}

// Backtracking skips a whole term per rejection: a follower with a long tail of a stale term costs one round trip.
TEST(RaftPaperTest, BacktrackingSkipsAWholeTermPerRejection) {
  struct Case {
    std::vector<uint64_t> leader_log;
    std::vector<uint64_t> follower_log;
  };
  auto repeat = [](std::vector<uint64_t> head, uint64_t term, int n) {
    head.insert(head.end(), n, term);
    return head;
  };
  const std::vector<Case> cases = {
      {repeat({1, 1}, 3, 8), repeat({1, 1}, 2, 30)},  // follower's stale tail is of an older term than the leader's
      {repeat({1}, 2, 10), repeat({1}, 3, 30)},       // ... or of a newer one (from a leader that never committed)
      {repeat(repeat({1}, 2, 5), 4, 5), repeat(repeat({1}, 2, 8), 3, 20)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TestNode lead(1, {1, 2, 3});
    lead.Load(cases[i].leader_log, 5);
    TestNode follower(2, {1, 2, 3});
    follower.Load(cases[i].follower_log, 5);
    ASSERT_TRUE(lead.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
    ASSERT_TRUE(lead.Step(Msg(3, 1, raftpb::MSG_VOTE_RESP, 6)).ok());
    ASSERT_EQ(lead.raft().state(), StateType::kLeader);
    int rejections = 0;
    for (const Message& m : Filter(Exchange({&lead, &follower}), raftpb::MSG_APP_RESP)) rejections += m.reject();
    EXPECT_EQ(rejections, 1) << "case " << i;
    EXPECT_EQ(LogTerms(follower.raft()), LogTerms(lead.raft())) << "case " << i;
  }
}

// ---- §5.4: safety ----

// §5.4.1: a voter refuses a candidate whose log is less up to date: last term first, then length.
TEST(RaftPaperTest, VoterRejectsLessUpToDateCandidate) {
  struct Case {
    std::vector<uint64_t> voter_log;
    uint64_t cand_last_term, cand_last_index;
    bool reject;
  };
  const std::vector<Case> cases = {
      {{1}, 1, 1, false},       {{1}, 1, 2, false}, {{1, 1}, 1, 1, true},   // same last term: longer wins
      {{1}, 2, 1, false},       {{1}, 2, 2, false}, {{1, 1}, 2, 1, false},  // candidate's later term wins
      {{2}, 1, 1, true},        {{2}, 1, 2, true},  {{1, 2}, 1, 3, true},   // voter's later term wins
      {{1, 1, 1}, 2, 1, false},                                             // a later term beats a longer log
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TestNode n(1, {1, 2});
    n.Load(cases[i].voter_log, 2);
    ASSERT_TRUE(n.Step(VoteMsg(2, 1, 3, cases[i].cand_last_index, cases[i].cand_last_term)).ok());
    const std::vector<Message> msgs = n.TakeMsgs();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].reject(), cases[i].reject) << "case " << i;
    EXPECT_EQ(n.raft().vote(), cases[i].reject ? kNone : 2u) << "case " << i;
  }
}

// In a cluster: a node that missed committed entries cannot become leader; one that has them can.
TEST(RaftPaperTest, NodeMissingCommittedEntriesCannotWin) {
  rafttest::MemoryCluster c(3, [](Config* cfg) { cfg->check_quorum = false; });
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  ASSERT_EQ(c.applied(2), std::vector<std::string>{"x"});
  c.Heal();
  c.Isolate(1);
  EXPECT_FALSE(c.Elect(3));
  EXPECT_TRUE(c.Elect(2));
  EXPECT_EQ(c.applied(3), std::vector<std::string>{"x"});
}

// §5.4.2: a leader does not commit an earlier term's entry by counting replicas; it commits it once an entry of its
// own term is on a majority. With the broken rule (TestingKnobs) the same steps commit it early.
TEST(RaftPaperTest, LeaderCommitsOnlyCurrentTermEntriesByCounting) {
  for (bool broken : {false, true}) {
    TestNode n(1, {1, 2, 3}, [broken](Config* c) { c->testing.commit_earlier_terms = broken; });
    n.Load({1, 2}, 2);
    n.ElectSelf();  // term 3; appends the empty entry 3
    n.Persist();
    ASSERT_EQ(n.raft().term(), 3u);
    Message ack = Msg(2, 1, raftpb::MSG_APP_RESP, 3);
    ack.set_index(2);
    ASSERT_TRUE(n.Step(ack).ok());
    if (broken) {
      EXPECT_EQ(n.raft().log().committed(), 2u);
      continue;
    }
    EXPECT_EQ(n.raft().log().committed(), 0u) << "entry 2 (term 2) is on a majority but must not count";
    ack.set_index(3);
    ASSERT_TRUE(n.Step(ack).ok());
    EXPECT_EQ(n.raft().log().committed(), 3u) << "entry 3 (term 3) commits, and entry 2 with it";
  }
}

// Figure 8 end to end: an old-term entry on a majority reaches the state machines only after the new leader commits
// an entry of its own term.
TEST(RaftPaperTest, OldTermEntryCommitsIndirectlyThroughNewLeader) {
  rafttest::MemoryCluster c(3, [](Config* cfg) { cfg->check_quorum = false; });
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("old").ok());
  // Deliver the MsgApp to 2 but lose 2's acknowledgement: "old" is on a majority, uncommitted.
  Ready rd = c.node(1).GetReady();
  c.storage(1).Append(rd.entries);
  for (const Message& m : rd.messages) {
    if (m.to() == 2) {
      ASSERT_TRUE(c.node(2).Step(m).ok());
    }
  }
  c.node(1).Advance(rd);
  c.ProcessReady(2);
  c.DropQueued();
  ASSERT_EQ(c.node(2).raft().log().LastIndex(), 2u);
  ASSERT_EQ(c.node(1).raft().log().committed(), 1u);
  c.Heal();
  c.Isolate(1);
  ASSERT_TRUE(c.Elect(2));
  EXPECT_EQ(c.node(2).raft().log().Term(2), 1u);
  EXPECT_EQ(c.applied(2), std::vector<std::string>{"old"});
  EXPECT_EQ(c.applied(3), std::vector<std::string>{"old"});
  EXPECT_EQ(c.node(2).raft().log().committed(), 3u);
}

// ---- §6 (as far as it exists): learners ----

TEST(RaftPaperTest, LearnersReceiveAppendsButDoNotVoteOrCount) {
  TestNode n(1, {1, 2, 3}, nullptr, {4});
  ASSERT_TRUE(n.Step(Msg(1, 1, raftpb::MSG_HUP)).ok());
  std::set<uint64_t> asked;
  for (const Message& m : n.TakeMsgs()) asked.insert(m.to());
  EXPECT_EQ(asked, (std::set<uint64_t>{2, 3})) << "a learner is not asked for a vote";
  ASSERT_TRUE(n.Step(Msg(4, 1, raftpb::MSG_VOTE_RESP, 1)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kCandidate) << "a learner's vote does not count";
  ASSERT_TRUE(n.Step(Msg(2, 1, raftpb::MSG_VOTE_RESP, 1)).ok());
  ASSERT_EQ(n.raft().state(), StateType::kLeader);
  n.Persist();
  std::set<uint64_t> appended;
  for (const Message& m : Filter(n.TakeMsgs(), raftpb::MSG_APP)) appended.insert(m.to());
  EXPECT_EQ(appended, (std::set<uint64_t>{2, 3, 4}));
  Message ack = Msg(4, 1, raftpb::MSG_APP_RESP, 1);
  ack.set_index(1);
  ASSERT_TRUE(n.Step(ack).ok());
  EXPECT_EQ(n.raft().log().committed(), 0u) << "leader + learner is not a majority of voters";
  ack.set_from(3);
  ASSERT_TRUE(n.Step(ack).ok());
  EXPECT_EQ(n.raft().log().committed(), 1u);
}

TEST(RaftPaperTest, LearnerNeverCampaigns) {
  TestNode n(4, {1, 2, 3}, nullptr, {4});
  n.Tick(100);
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_EQ(n.raft().term(), 0u);
  ASSERT_TRUE(n.Step(Msg(4, 4, raftpb::MSG_HUP)).ok());
  EXPECT_EQ(n.raft().state(), StateType::kFollower);
  EXPECT_TRUE(n.TakeMsgs().empty());
}

}  // namespace
}  // namespace detcd::raft
