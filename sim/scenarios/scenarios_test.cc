// Every scenario in testdata/scenarios passes a few seeds with the real Raft core: the bounded version of `make sim`
// that runs in CI. One test per scenario file, so that a failure names it and the test can be sharded.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"

namespace detcd::sim {
namespace {

constexpr uint64_t kSeeds = 10;

TEST(ScenariosTest, TheScenarioFilesAreThere) { EXPECT_GE(ScenarioFiles().size(), 8u); }

class EveryScenario : public testing::TestWithParam<std::string> {};

TEST_P(EveryScenario, PassesSeveralSeeds) {
  const std::string& path = GetParam();
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

// The test's name: the file's base name (a scenario file name is a C identifier).
std::string ScenarioName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(info.param.rfind('/') + 1);
  return name.substr(0, name.find('.'));
}

INSTANTIATE_TEST_SUITE_P(Files, EveryScenario, testing::ValuesIn(ScenarioFiles()), ScenarioName);

}  // namespace
}  // namespace detcd::sim
