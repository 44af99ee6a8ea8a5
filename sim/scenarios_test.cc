// Every scenario in testdata/scenarios passes a few seeds with the real Raft core: the bounded version of `make sim`
// that runs in CI.
#include "gtest/gtest.h"
#include "sim/runner.h"
#include "sim/scenario.h"
#include "sim/scenario_paths.h"

namespace detcd::sim {
namespace {

constexpr uint64_t kSeeds = 10;

TEST(ScenariosTest, EveryScenarioPassesSeveralSeeds) {
  const std::vector<std::string> files = ScenarioFiles();
  ASSERT_GE(files.size(), 8u);
  for (const std::string& path : files) {
    absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(path);
    ASSERT_TRUE(c.ok()) << c.status();
    for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
      RunOptions o;
      o.seed = seed;
      const RunResult r = RunScenario(*c, o);
      EXPECT_EQ(r.outcome, Outcome::kPass)
          << c->name << " seed " << seed << ": " << r.checker << ": " << r.detail
          << "\n  replay: bazel-bin/cmd/detcd-sim --scenario=testdata/scenarios/" << c->name
          << ".textproto --seed=" << seed;
    }
  }
}

}  // namespace
}  // namespace detcd::sim
