#include "sim/scenarios/seed_search.h"

#include "gtest/gtest.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"

namespace detcd::sim {

Caught FirstFailure(const std::string& scenario, const RunOptions& broken, uint64_t max_seeds) {
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(ScenarioPath(scenario));
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return Caught{};
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    RunOptions o = broken;
    o.seed = seed;
    RunResult r = RunScenario(*c, o);
    if (r.outcome != Outcome::kPass) return Caught{seed, std::move(r)};
  }
  return Caught{};
}

RunResult RunHealthy(const std::string& scenario, uint64_t seed) {
  RunOptions o;
  o.seed = seed;
  return RunSeed(scenario, o);
}

RunResult RunSeed(const std::string& scenario, const RunOptions& options) {
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(ScenarioPath(scenario));
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return RunResult{};
  return RunScenario(*c, options);
}

}  // namespace detcd::sim
