// The checkers can fail: each test breaks one Raft rule on purpose (raft::TestingKnobs) and asserts the simulator
// reports the violation within a bounded number of seeds — and that the same scenario passes those seeds with the
// rules intact, so it is the broken rule that is caught.
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "sim/scenarios/seed_search.h"

namespace detcd::sim {
namespace {

Caught FirstFailureWith(const std::string& scenario, const raft::TestingKnobs& knobs, uint64_t max_seeds) {
  RunOptions o;
  o.testing = knobs;
  return FirstFailure(scenario, o, max_seeds);
}

void ExpectHealthyPasses(const std::string& scenario, uint64_t seed) {
  const RunResult r = RunHealthy(scenario, seed);
  EXPECT_EQ(r.outcome, Outcome::kPass) << "healthy Raft fails " << scenario << " seed " << seed << ": " << r.detail;
}

TEST(BrokenRaftTest, VotingWithoutTheLogCheckIsCaught) {
  raft::TestingKnobs knobs;
  knobs.vote_ignores_log = true;
  const Caught c = FirstFailureWith("swarm", knobs, 30);
  ASSERT_NE(c.seed, 0u) << "a voter that ignores the election restriction went unnoticed for 30 seeds";
  EXPECT_EQ(c.result.outcome, Outcome::kSafety);
  const std::set<std::string> expected = {"leader-completeness", "state-machine-safety", "acknowledged-write-lost",
                                          "protocol", "node-invariant"};
  EXPECT_EQ(expected.count(c.result.checker), 1u) << c.result.checker << ": " << c.result.detail;
  ExpectHealthyPasses("swarm", c.seed);
}

TEST(BrokenRaftTest, CommittingEarlierTermsByCountingIsCaught) {
  raft::TestingKnobs knobs;
  knobs.commit_earlier_terms = true;
  // Figure 8 needs a precise interleaving; the scenario makes it likely, not certain, per seed.
  const Caught c = FirstFailureWith("figure8_crashes", knobs, 300);
  ASSERT_NE(c.seed, 0u) << "the figure-8 commit bug went unnoticed for 300 seeds";
  EXPECT_EQ(c.result.outcome, Outcome::kSafety);
  // The leader's own invariant (it commits only entries of its term, §5.4.2) stops it at the step that breaks it,
  // before any other node could see the result.
  EXPECT_EQ(c.result.checker, "node-invariant") << c.result.detail;
  EXPECT_NE(c.result.detail.find("an entry of an earlier term"), std::string::npos) << c.result.detail;
  ExpectHealthyPasses("figure8_crashes", c.seed);
}

TEST(BrokenRaftTest, TruncatingOnStaleAppendsIsCaught) {
  raft::TestingKnobs knobs;
  knobs.truncate_on_stale_append = true;
  const Caught c = FirstFailureWith("lossy_network", knobs, 10);
  ASSERT_NE(c.seed, 0u) << "a follower that cuts its log on reordered appends went unnoticed for 10 seeds";
  EXPECT_EQ(c.result.outcome, Outcome::kSafety);
  ExpectHealthyPasses("lossy_network", c.seed);
}

// A leader that counts its learners toward the quorum (raft::TestingKnobs::learners_in_quorum: commit and
// check-quorum), met by kv_leader_with_learners' leader_with_learners faults (the leader cut off from the voters with
// only a learner beside it): it stays leader and commits writes with the learner's acks that the voters' new leader
// never had. Seeds 1..100 all fail, the first at seed 1 (kv_membership, whose learners are promoted once caught up
// and whose partitions are drawn without regard to them: 1 of seeds 1..20, at seed 12).
TEST(BrokenRaftTest, CountingLearnersTowardTheQuorumIsCaught) {
  raft::TestingKnobs knobs;
  knobs.learners_in_quorum = true;
  const Caught c = FirstFailureWith("kv_leader_with_learners", knobs, 100);
  ASSERT_NE(c.seed, 0u) << "a leader committing with learners' acks went unnoticed for 100 seeds";
  EXPECT_EQ(c.result.outcome, Outcome::kSafety);
  const std::set<std::string> expected = {
      "leader-completeness", "state-machine-safety", "linearizability", "log-matching", "protocol", "node-invariant"};
  EXPECT_EQ(expected.count(c.result.checker), 1u) << c.result.checker << ": " << c.result.detail;
  ExpectHealthyPasses("kv_leader_with_learners", c.seed);
}

// A follower that keeps its own configuration when it restores a leader's snapshot (raft::TestingKnobs::
// restore_keeps_config; a member with no configuration yet takes the snapshot's), met by
// kv_snapshot_during_conf_change's snapshot_during_conf_change faults (a follower cut off until only a snapshot that
// carries a membership change it missed can catch it up): its Raft configuration is no longer its membership.
// Seeds 1..100 all fail, the first at seed 1 (kv_membership: 12 of seeds 1..20, the first at seed 3).
TEST(BrokenRaftTest, KeepingTheOldConfigurationAcrossASnapshotIsCaught) {
  raft::TestingKnobs knobs;
  knobs.restore_keeps_config = true;
  const Caught c = FirstFailureWith("kv_snapshot_during_conf_change", knobs, 100);
  ASSERT_NE(c.seed, 0u) << "a snapshot restored without its configuration went unnoticed for 100 seeds";
  EXPECT_EQ(c.result.outcome, Outcome::kSafety);
  EXPECT_EQ(c.result.checker, "membership") << c.result.detail;
  ExpectHealthyPasses("kv_snapshot_during_conf_change", c.seed);
}

}  // namespace
}  // namespace detcd::sim
