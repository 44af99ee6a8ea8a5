#include "sim/scenarios/parallel_seeds.h"

#include <signal.h>

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"

namespace detcd::sim {
namespace {

// A stand-in for a simulation: the result is a function of the seed alone.
SeedRun FakeRun(uint64_t seed) {
  SeedRun run;
  run.seed = seed;
  run.result.trace_hash = absl::StrCat("hash-", seed * 7919);
  run.result.simulated_us = static_cast<int64_t>(seed) * 1000;
  run.result.detail = std::string(seed % 5 == 0 ? 100000 : 3, 'x');  // some results longer than a socket buffer
  if (seed % 4 == 0) run.result.outcome = Outcome::kLiveness;
  return run;
}

std::map<uint64_t, SeedRun> Collect(uint64_t first, uint64_t last, int jobs,
                                    const std::function<SeedRun(uint64_t)>& run) {
  std::map<uint64_t, SeedRun> results;
  const absl::Status s = RunSeedsInWorkers(first, last, jobs, run, [&](const SeedRun& r) {
    EXPECT_TRUE(results.emplace(r.seed, r).second) << "seed " << r.seed << " reported twice";
  });
  EXPECT_TRUE(s.ok()) << s;
  return results;
}

TEST(ParallelSeeds, EverySeedOnceWithTheSameResultWhateverTheJobs) {
  const std::map<uint64_t, SeedRun> one = Collect(10, 49, 1, FakeRun);
  ASSERT_EQ(one.size(), 40u);
  for (int jobs : {2, 3, 64}) {
    const std::map<uint64_t, SeedRun> many = Collect(10, 49, jobs, FakeRun);
    ASSERT_EQ(many.size(), 40u) << jobs << " jobs";
    for (const auto& [seed, run] : one) {
      const SeedRun& other = many.at(seed);
      EXPECT_EQ(other.result.trace_hash, run.result.trace_hash) << "seed " << seed;
      EXPECT_EQ(other.result.outcome, run.result.outcome) << "seed " << seed;
      EXPECT_EQ(other.result.detail, run.result.detail) << "seed " << seed;
    }
  }
}

TEST(ParallelSeeds, ASingleSeedAndTheTopOfTheSeedSpace) {
  EXPECT_EQ(Collect(7, 7, 2, FakeRun).size(), 1u);
  const uint64_t top = UINT64_MAX;
  const std::map<uint64_t, SeedRun> r = Collect(top - 2, top, 2, FakeRun);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.count(top), 1u);
}

// A worker that dies costs the seed it held — reported as a failure with how it died — and no other seed.
TEST(ParallelSeeds, AWorkerThatDiesFailsOnlyItsSeed) {
  auto crashing = [](uint64_t seed) {
    if (seed == 5) std::abort();
    if (seed == 9) raise(SIGKILL);
    if (seed == 13) _exit(4);
    return FakeRun(seed);
  };
  const std::map<uint64_t, SeedRun> r = Collect(1, 20, 2, crashing);
  ASSERT_EQ(r.size(), 20u);
  for (const auto& [seed, run] : r) {
    if (seed != 5 && seed != 9 && seed != 13) {
      EXPECT_EQ(run.result.trace_hash, FakeRun(seed).result.trace_hash) << "seed " << seed;
      continue;
    }
    EXPECT_EQ(run.result.outcome, Outcome::kSafety) << "seed " << seed;
    EXPECT_EQ(run.result.checker, kWorkerDiedChecker) << "seed " << seed;
  }
  EXPECT_NE(r.at(5).result.detail.find("killed by signal 6"), std::string::npos) << r.at(5).result.detail;
  EXPECT_NE(r.at(9).result.detail.find("killed by signal 9"), std::string::npos) << r.at(9).result.detail;
  EXPECT_NE(r.at(13).result.detail.find("exited with status 4"), std::string::npos) << r.at(13).result.detail;
}

TEST(ParallelSeeds, EveryWorkerDying) {
  const std::map<uint64_t, SeedRun> r = Collect(1, 6, 3, [](uint64_t) -> SeedRun { std::abort(); });
  ASSERT_EQ(r.size(), 6u);
  for (const auto& [seed, run] : r) EXPECT_EQ(run.result.checker, kWorkerDiedChecker);
}

TEST(ParallelSeeds, RefusesNoJobs) {
  auto never = [](const SeedRun&) { ADD_FAILURE() << "nothing should run"; };
  EXPECT_FALSE(RunSeedsInWorkers(1, 2, 0, FakeRun, never).ok());
  EXPECT_FALSE(RunSeedsInWorkers(1, 2, -1, FakeRun, never).ok());
}

// The real thing: a scenario's seeds on two workers give the trace hashes they give in this process.
TEST(ParallelSeeds, ScenarioResultsDoNotDependOnTheWorker) {
  absl::StatusOr<ScenarioConfig> scenario = LoadScenarioFile(ScenarioPath("kv_compaction_crash"));
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  auto run = [&](uint64_t seed) { return RunOneSeed(*scenario, RunOptions{}, seed); };
  const std::map<uint64_t, SeedRun> here = Collect(1, 6, 1, run);
  const std::map<uint64_t, SeedRun> there = Collect(1, 6, 2, run);
  ASSERT_EQ(here.size(), 6u);
  ASSERT_EQ(there.size(), 6u);
  for (const auto& [seed, r] : here) {
    EXPECT_EQ(there.at(seed).result.trace_hash, r.result.trace_hash) << "seed " << seed;
    EXPECT_EQ(there.at(seed).result.events, r.result.events) << "seed " << seed;
    EXPECT_EQ(there.at(seed).operations, r.operations) << "seed " << seed;
    EXPECT_GT(r.operations, 0u);
  }
}

}  // namespace
}  // namespace detcd::sim
