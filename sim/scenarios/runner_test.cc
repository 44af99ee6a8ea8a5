// The runner end to end: determinism of the trace, the pass/safety/liveness outcomes, and the register writers'
// guarantees on a healthy cluster (a scenario without a kv section).
#include "sim/scenarios/runner.h"

#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"

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
  EXPECT_EQ(history::FormatHistory(a.history), history::FormatHistory(b.history));
  EXPECT_EQ(a.acked_puts, b.acked_puts);
  EXPECT_EQ(a.events, b.events);
  EXPECT_NE(a.trace_hash, d.trace_hash);
  EXPECT_EQ(a.trace_hash.size(), 16u);
}

TEST(RunnerTest, SteadyStateCommitsEverything) {
  const ScenarioConfig c = Load("steady_state");
  const RunResult r = RunSeed(c, 1);
  ASSERT_EQ(r.outcome, Outcome::kPass) << r.checker << ": " << r.detail;
  EXPECT_GT(r.kv_requests, 100u);
  EXPECT_EQ(r.kv_unknown, 0u);
  // Only the puts sent before the first leader was elected are refused ("no leader").
  EXPECT_GE(r.acked_puts, r.kv_requests * 99 / 100);
  EXPECT_GE(r.committed_index, r.acked_puts);
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
  EXPECT_GT(r.acked_puts, 0u);
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
      EXPECT_GT(r.acked_puts, 0u) << nodes << " nodes, seed " << seed;
    }
  }
}

TEST(RunnerTest, RegisterWritersPutValuesOfTheWorkloadsSize) {
  const ScenarioConfig c = Parse(R"pb(
    nodes: 3 duration_ms: 1000 liveness_bound_ms: 5000
    workload { proposals_per_sec: 50 clients: 2 value_bytes: 300 }
  )pb");
  std::ostringstream trace;
  RunOptions o;
  o.seed = 1;
  o.trace_out = &trace;
  const RunResult r = RunScenario(c, o);
  ASSERT_EQ(r.outcome, Outcome::kPass) << r.checker << ": " << r.detail;
  EXPECT_FALSE(r.kv);
  const std::string text = trace.str();
  const std::regex put(R"re(put \{ key: "k[0-9]+" value: "([0-9]*)" \})re");
  int puts = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), put); it != std::sregex_iterator(); ++it) {
    ++puts;
    EXPECT_EQ((*it)[1].length(), 300) << (*it)[0];
  }
  EXPECT_GT(puts, 10);
  EXPECT_EQ(text.find("range {"), std::string::npos) << "register writers only write";
  EXPECT_EQ(text.find("txn {"), std::string::npos) << "register writers only write";
}

}  // namespace
}  // namespace detcd::sim
