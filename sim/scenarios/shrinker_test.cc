#include "sim/scenarios/shrinker.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {
namespace {

// Small enough that a shrink fits a test's budget: 3 nodes, a swarm of every fault kind over 6 s.
const char kSwarm[] = R"pb(
  name: "small_swarm"
  nodes: 3
  duration_ms: 6000
  liveness_bound_ms: 15000
  workload { proposals_per_sec: 100 clients: 4 request_timeout_ms: 500 }
  network { latency_min_us: 200 latency_max_us: 5000 drop_probability: 0.01 reorder_probability: 0.02 }
  swarm { enabled: true mean_interval_ms: 500 max_concurrent: 2 min_fault_duration_ms: 100 max_fault_duration_ms: 2000 }
)pb";

ScenarioConfig Swarm() {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kSwarm, "small_swarm.textproto");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

RunOptions Broken() {
  RunOptions o;
  o.testing.vote_ignores_log = true;
  return o;
}

uint64_t FirstFailingSeed(const ScenarioConfig& c, const RunOptions& broken, uint64_t max_seeds) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    RunOptions o = broken;
    o.seed = seed;
    if (RunScenario(c, o).outcome != Outcome::kPass) return seed;
  }
  return 0;
}

// Shrinking the broken voter's runs, within max_runs simulations.
ShrinkOptions BrokenVoterShrink(int max_runs) {
  ShrinkOptions o;
  o.run = Broken();
  o.max_runs = max_runs;
  return o;
}

// A voter that ignores the election restriction, caught by some seed of a swarm: the shrunk scenario is smaller, is
// written as a file that replays the failure with --seed=1 (the same checker), passes with a healthy core, and
// without any one of its faults the failure goes away.
TEST(ShrinkerTest, AFailingSwarmSeedShrinksToAMinimalScenarioThatReplaysWithSeedOne) {
  const ScenarioConfig swarm = Swarm();
  const uint64_t seed = FirstFailingSeed(swarm, Broken(), 60);
  ASSERT_NE(seed, 0u) << "no seed caught the broken voter";
  ShrinkOptions o = BrokenVoterShrink(300);
  int kept = 0;
  o.progress = [&kept](const std::string&) { ++kept; };
  absl::StatusOr<ShrinkResult> r = Shrink(swarm, seed, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(kept, 0) << "nothing shrank";
  EXPECT_LT(r->after.faults, r->before.faults) << ShrinkSummary(*r);
  EXPECT_LE(r->after.requests, r->before.requests) << ShrinkSummary(*r);
  EXPECT_LE(r->runs, o.max_runs);
  EXPECT_EQ(r->last.checker, r->original.checker);

  // Written out and read back, as a user replays it.
  const std::string text = ScenarioToText(r->scenario, "shrunk");
  std::cout << "seed " << seed << ": " << r->original.checker << ": " << ShrinkSummary(*r) << "\n" << text << "\n";
  absl::StatusOr<ScenarioConfig> replay = ParseScenarioText(text, "shrunk.textproto");
  ASSERT_TRUE(replay.ok()) << replay.status() << "\n" << text;
  RunOptions again = Broken();
  again.seed = 1;
  const RunResult failed = RunScenario(*replay, again);
  EXPECT_NE(failed.outcome, Outcome::kPass) << text;
  EXPECT_EQ(failed.checker, r->original.checker) << text;
  EXPECT_EQ(failed.trace_hash, r->last.trace_hash) << "the replay is the shrinker's last run";
  RunOptions healthy;
  healthy.seed = 1;
  EXPECT_EQ(RunScenario(*replay, healthy).outcome, Outcome::kPass) << "the failure is the broken voter's\n" << text;

  if (r->runs < o.max_runs) {  // the search ended by itself: no single fault can go
    for (int skip = 0; skip < r->scenario.faults_size(); ++skip) {
      simpb::Scenario fewer = r->scenario;
      fewer.mutable_faults()->DeleteSubrange(skip, 1);
      absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(fewer, "fewer.textproto");
      ASSERT_TRUE(c.ok()) << c.status();
      const RunResult without = RunScenario(*c, again);
      EXPECT_TRUE(without.outcome == Outcome::kPass || without.checker != r->original.checker)
          << "fault " << skip + 1 << " was not needed\n"
          << text;
    }
  }
}

// etcd members that acknowledge writes before syncing them, caught by a seed of a KV swarm: the shrunk scenario moves
// its faults earlier and ends its fault phase sooner, so its clients send fewer requests than the seed's did (a
// shrink that only drops faults leaves the clients running the whole phase, and more of them get through).
const char kKvSwarm[] = R"pb(
  name: "small_kv_swarm"
  nodes: 3
  duration_ms: 8000
  liveness_bound_ms: 20000
  kv { clients: 3 ops_per_sec: 60 keys: 4 }
  network { latency_min_us: 200 latency_max_us: 5000 drop_probability: 0.01 }
  disk { sync_latency_min_us: 200 sync_latency_max_us: 4000 }
  swarm {
    enabled: true
    mean_interval_ms: 700
    max_concurrent: 2
    kinds: [ PARTITION, CRASH, PAUSE ]
  }
)pb";

TEST(ShrinkerTest, AFailingKvSeedShrinksToAShorterPhaseWithFewerRequests) {
  absl::StatusOr<ScenarioConfig> swarm = ParseScenarioText(kKvSwarm, "small_kv_swarm.textproto");
  ASSERT_TRUE(swarm.ok()) << swarm.status();
  RunOptions broken;
  broken.kv_ack_before_sync = true;
  const uint64_t seed = FirstFailingSeed(*swarm, broken, 60);
  ASSERT_NE(seed, 0u) << "no seed caught members acknowledging before they sync";
  ShrinkOptions o;
  o.run = broken;
  o.max_runs = 300;
  absl::StatusOr<ShrinkResult> r = Shrink(*swarm, seed, o);
  ASSERT_TRUE(r.ok()) << r.status();
  std::cout << "seed " << seed << ": " << r->original.checker << ": " << ShrinkSummary(*r) << "\n"
            << ScenarioToText(r->scenario, "shrunk") << "\n";
  EXPECT_EQ(r->last.checker, r->original.checker);
  EXPECT_LT(r->after.faults, r->before.faults) << ShrinkSummary(*r);
  // The phase's end follows the faults, moved to the start: not the seed's phase with its last few seconds cut.
  EXPECT_LE(r->after.duration_ms, r->before.duration_ms / 2) << ShrinkSummary(*r);
  EXPECT_LE(r->after.requests, r->before.requests / 4) << ShrinkSummary(*r);
  ASSERT_GT(r->scenario.faults_size(), 0);
  for (const simpb::Fault& f : r->scenario.faults()) EXPECT_LE(f.at_ms(), r->scenario.duration_ms());
}

// Seeds handed over several at a time (detcd-sim --shrink --jobs) give the very same shrink as one at a time: the
// same scenario, the same number of runs, the same failing run. Here the batches run backwards and come back
// without what does not travel between processes (the fault schedule, the history), as from worker processes.
TEST(ShrinkerTest, RunningSeedsTogetherShrinksExactlyAsOneAtATime) {
  const ScenarioConfig swarm = Swarm();
  const uint64_t seed = FirstFailingSeed(swarm, Broken(), 60);
  ASSERT_NE(seed, 0u) << "no seed caught the broken voter";
  const ShrinkOptions alone = BrokenVoterShrink(120);
  absl::StatusOr<ShrinkResult> one = Shrink(swarm, seed, alone);
  ASSERT_TRUE(one.ok()) << one.status();

  for (int together : {2, 3}) {
    ShrinkOptions o = alone;
    o.together = together;
    int batches = 0;
    size_t largest = 0;
    o.run_together = [&batches, &largest](const std::vector<ScenarioConfig>& configs, const RunOptions& run) {
      ++batches;
      largest = std::max(largest, configs.size());
      std::vector<RunResult> out(configs.size());
      for (size_t i = configs.size(); i-- > 0;) {
        out[i] = RunScenario(configs[i], run);
        out[i].schedule.clear();
        out[i].history = history::History();
      }
      return out;
    };
    absl::StatusOr<ShrinkResult> r = Shrink(swarm, seed, o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GT(batches, 0) << "no candidate's seeds were run together";
    EXPECT_EQ(largest, static_cast<size_t>(together));
    EXPECT_EQ(r->scenario.SerializeAsString(), one->scenario.SerializeAsString()) << together;
    EXPECT_EQ(r->runs, one->runs) << together;
    EXPECT_EQ(r->last.trace_hash, one->last.trace_hash) << together;
    EXPECT_EQ(r->last.schedule.size(), one->last.schedule.size()) << "the kept run's schedule, recovered";
    EXPECT_EQ(ShrinkSummary(*r), ShrinkSummary(*one)) << together;
  }
}

// The recorded schedule replays the seed exactly: the same faults at the same times, the same run.
TEST(ShrinkerTest, ARecordedScheduleWithADrawOnlySwarmReplaysTheSeedExactly) {
  const ScenarioConfig swarm = Swarm();
  RunOptions o;
  o.seed = 5;
  const RunResult original = RunScenario(swarm, o);
  ASSERT_FALSE(original.schedule.empty()) << "seed 5 drew no faults";
  simpb::Scenario scripted = swarm.proto;
  for (const simpb::Fault& f : original.schedule) *scripted.add_faults() = f;
  scripted.mutable_swarm()->set_draw_only(true);
  scripted.set_seed_offset(4);
  absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(scripted, "scripted.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  RunOptions one;
  one.seed = 1;
  const RunResult replay = RunScenario(*c, one);
  EXPECT_EQ(replay.schedule.size(), original.schedule.size());
  EXPECT_EQ(replay.events, original.events);
  EXPECT_EQ(replay.messages_sent, original.messages_sent);
  EXPECT_EQ(replay.committed_index, original.committed_index);
  EXPECT_EQ(replay.kv_requests, original.kv_requests);
}

TEST(ShrinkerTest, APassingSeedIsRefused) {
  ShrinkOptions o;
  absl::StatusOr<ShrinkResult> r = Shrink(Swarm(), 1, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("passes: nothing to shrink"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace detcd::sim
