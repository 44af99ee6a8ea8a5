// Loads and validates every scenario file in testdata/scenarios, so a broken file fails `bazel test` rather than a
// long simulation run.
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "gtest/gtest.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"
#include "sim/scenarios/swarm.h"

namespace detcd::sim {
namespace {

TEST(ScenarioFilesTest, EveryScenarioLoads) {
  const std::vector<std::string> files = ScenarioFiles();
  ASSERT_GE(files.size(), 8u) << "no scenarios found in " << ScenarioDir();
  std::set<std::string> names;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(path);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->description.empty()) << "every scenario says what it exercises";
    EXPECT_TRUE(names.insert(c->name).second) << "duplicate scenario name " << c->name;
    // The file name and the scenario name agree, so reports can be traced back to files.
    EXPECT_EQ(path.substr(path.find_last_of('/') + 1), c->name + ".textproto");
    EXPECT_LE(c->duration_ms, 120'000) << "keep scenarios short; seeds give the coverage";
    // Round trip through the printer: what a shrunk scenario would look like.
    absl::StatusOr<ScenarioConfig> again = ParseScenarioText(ScenarioToText(c->proto), path);
    ASSERT_TRUE(again.ok()) << again.status();
    // A few seeds' schedules are valid scenarios themselves.
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      Prng prng(seed);
      absl::StatusOr<ScenarioConfig> scripted =
          ScenarioConfigFromProto(ScriptedScenario(c->proto, FaultSchedule(*c, &prng)), path);
      ASSERT_TRUE(scripted.ok()) << "seed " << seed << ": " << scripted.status();
    }
  }
}

}  // namespace
}  // namespace detcd::sim
