// Messages from the network are input: whatever a peer sends — wrong types, terms, indexes, entry sequences — a node
// refuses or ignores it and never crashes. Random messages are fed to every node of a working cluster, interleaved
// with normal traffic; the process surviving is the assertion (a DETCD_CHECK would abort it), plus the cluster still
// being able to elect a leader and commit afterwards.
#include "base/prng.h"
#include "gtest/gtest.h"
#include "raft/rafttest/memory_cluster.h"
#include "raft/raw_node.h"

namespace detcd::raft {
namespace {

raftpb::Message RandomMessage(Prng& prng, uint64_t to, uint64_t last_index, uint64_t term) {
  raftpb::Message m;
  m.set_type(static_cast<raftpb::MessageType>(prng.Uniform(22)));  // includes values outside the enum
  m.set_to(prng.Chance(0.95) ? to : prng.Uniform(6));
  m.set_from(prng.Uniform(6));
  // Terms around the current one, sometimes far off.
  m.set_term(prng.Chance(0.1) ? prng.Next() >> prng.Uniform(64) : prng.Range(term > 2 ? term - 2 : 0, term + 2));
  auto near_index = [&] { return prng.Chance(0.1) ? prng.Next() : prng.Range(0, last_index + 3); };
  m.set_index(near_index());
  m.set_log_term(prng.Range(0, term + 2));
  m.set_commit(near_index());
  m.set_reject(prng.Chance(0.3));
  m.set_reject_hint(near_index());
  const int n = static_cast<int>(prng.Uniform(4));
  uint64_t index = prng.Chance(0.8) ? m.index() + 1 : near_index();
  for (int i = 0; i < n; ++i) {
    raftpb::Entry* e = m.add_entries();
    e->set_index(prng.Chance(0.9) ? index++ : near_index());
    e->set_term(prng.Range(0, m.term() + 1));
    e->set_type(static_cast<raftpb::EntryType>(prng.Uniform(2)));
    e->set_data(prng.Chance(0.5) ? "x" : "");
  }
  if (prng.Chance(0.2)) m.set_context(prng.Chance(0.5) ? "CampaignTransfer" : "ctx");
  return m;
}

TEST(GarbageInputTest, RandomPeerMessagesNeverCrashANode) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Prng prng(seed);
    rafttest::MemoryCluster c(3);
    ASSERT_TRUE(c.Elect(1));
    size_t refused = 0;
    for (int round = 0; round < 400; ++round) {
      const uint64_t to = prng.Range(1, 3);
      const Raft& r = c.node(to).raft();
      absl::Status s = c.node(to).Step(RandomMessage(prng, to, r.log().LastIndex(), r.term()));
      if (!s.ok()) ++refused;
      if (prng.Chance(0.3)) (void)c.node(prng.Range(1, 3)).Propose("v");
      if (prng.Chance(0.2)) c.Tick(prng.Range(1, 3));
      c.Stabilize();
    }
    EXPECT_GT(refused, 0u) << "seed " << seed << ": no message was refused, so validation was not exercised";
    // Garbage may have disrupted leadership (a forged higher term does that in any Raft); the cluster recovers.
    uint64_t leader = kNone;
    for (int i = 0; i < 300 && leader == kNone; ++i) {
      for (uint64_t id : {1, 2, 3}) c.Tick(id);
      c.Stabilize();
      leader = c.Leader();
    }
    ASSERT_NE(leader, kNone) << "seed " << seed;
  }
}

// Two followers each told (by forged messages) that the other leads: a proposal forwarded to one of them is dropped,
// not forwarded back, so it cannot circulate forever.
TEST(GarbageInputTest, ForwardedProposalsAreNotForwardedAgain) {
  rafttest::MemoryCluster c(3);
  auto forged_heartbeat = [](uint64_t from, uint64_t to, uint64_t term) {
    raftpb::Message m;
    m.set_type(raftpb::MSG_HEARTBEAT);
    m.set_from(from);
    m.set_to(to);
    m.set_term(term);
    return m;
  };
  ASSERT_TRUE(c.node(1).Step(forged_heartbeat(2, 1, 5)).ok());
  ASSERT_TRUE(c.node(2).Step(forged_heartbeat(1, 2, 5)).ok());
  ASSERT_EQ(c.node(1).raft().lead(), 2u);
  ASSERT_EQ(c.node(2).raft().lead(), 1u);
  ASSERT_TRUE(c.node(1).Propose("x").ok());  // a local proposal is forwarded once, to node 2
  EXPECT_LT(c.Stabilize(), 10u) << "the proposal bounced between the two followers";
  raftpb::Message fwd;
  fwd.set_type(raftpb::MSG_PROP);
  fwd.set_from(1);
  fwd.set_to(2);
  fwd.add_entries()->set_data("y");
  EXPECT_TRUE(IsProposalDropped(c.node(2).Step(fwd)));
}

}  // namespace
}  // namespace detcd::raft
