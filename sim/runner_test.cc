// The runner end to end: determinism of the trace, the pass/safety/liveness outcomes, and the workload's guarantees
// on a healthy cluster.
#include "sim/runner.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/scenario.h"
#include "sim/scenario_paths.h"

namespace detcd::sim {
namespace {

ScenarioConfig Load(const std::string& name) {
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(ScenarioPath(name));
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

ScenarioConfig Parse(const std::string& text) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(text, "inline.textproto");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

RunResult RunSeed(const ScenarioConfig& c, uint64_t seed) {
  RunOptions o;
  o.seed = seed;
  return RunScenario(c, o);
}

TEST(RunnerTest, SameSeedSameTraceDifferentSeedDifferentTrace) {
  const ScenarioConfig c = Load("swarm");
  const RunResult a = RunSeed(c, 7), b = RunSeed(c, 7), d = RunSeed(c, 8);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.acknowledged, b.acknowledged);
  EXPECT_EQ(a.events, b.events);
  EXPECT_NE(a.trace_hash, d.trace_hash);
  EXPECT_EQ(a.trace_hash.size(), 16u);
}

TEST(RunnerTest, SteadyStateCommitsEverything) {
  const ScenarioConfig c = Load("steady_state");
  const RunResult r = RunSeed(c, 1);
  ASSERT_EQ(r.outcome, Outcome::kPass) << r.checker << ": " << r.detail;
  EXPECT_GT(r.workload.issued, 100u);
  EXPECT_EQ(r.workload.acknowledged, r.workload.issued);
  EXPECT_GE(r.committed_index, r.workload.issued);
  EXPECT_EQ(r.terms_with_leader, 1u) << "no faults: one leader for the whole run";
}

TEST(RunnerTest, LivenessFailureWhenTheBoundIsTooShort) {
  // Every node is cut off from every other until the heal, so the leader steps down; elections time out after
  // 5-10 s, far beyond the 100 ms bound, so no leader can be elected in time after the heal.
  const ScenarioConfig c = Parse(R"pb(
    nodes: 3 duration_ms: 20000 liveness_bound_ms: 100
    raft { election_ticks: 500 }
    workload { proposals_per_sec: 50 }
    faults { at_ms: 1000 isolate { target { node: 1 } } }
    faults { at_ms: 1000 isolate { target { node: 2 } } }
    faults { at_ms: 1000 isolate { target { node: 3 } } }
  )pb");
  const RunResult r = RunSeed(c, 3);
  EXPECT_EQ(r.outcome, Outcome::kLiveness);
  EXPECT_EQ(r.checker, "liveness");
  EXPECT_NE(r.detail.find("after the heal"), std::string::npos) << r.detail;
}

TEST(RunnerTest, CrashedMajorityRecoversAfterHeal) {
  const ScenarioConfig c = Parse(R"pb(
    nodes: 5 duration_ms: 8000 liveness_bound_ms: 10000
    workload { proposals_per_sec: 100 }
    faults { at_ms: 2000 crash { target { node: 1 } } }
    faults { at_ms: 2000 crash { target { node: 2 } } }
    faults { at_ms: 2000 crash { target { node: 3 } } }
  )pb");
  const RunResult r = RunSeed(c, 5);
  ASSERT_EQ(r.outcome, Outcome::kPass) << r.checker << ": " << r.detail;
  EXPECT_EQ(r.crashes, 3);
  EXPECT_EQ(r.workload.acknowledged, r.workload.issued);
}

TEST(RunnerTest, EveryClusterSizeFromOneToSevenSurvivesSwarmFaults) {
  for (int nodes = 1; nodes <= 7; ++nodes) {
    const ScenarioConfig c = Parse(absl::StrCat(R"pb(
      name: "sizes" description: "swarm at every size" duration_ms: 10000 liveness_bound_ms: 15000
      workload { proposals_per_sec: 100 }
      swarm { enabled: true mean_interval_ms: 1000 }
      nodes: )pb", nodes));
    for (uint64_t seed = 1; seed <= 2; ++seed) {
      const RunResult r = RunSeed(c, seed);
      EXPECT_EQ(r.outcome, Outcome::kPass) << nodes << " nodes, seed " << seed << ": " << r.checker << ": " << r.detail;
      EXPECT_GT(r.workload.acknowledged, 0u) << nodes << " nodes, seed " << seed;
    }
  }
}

}  // namespace
}  // namespace detcd::sim
