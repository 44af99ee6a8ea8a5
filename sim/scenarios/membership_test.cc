// Membership changes in the simulator, end to end (testdata/scenarios/kv_membership): the same seed gives the same
// trace; the operator really changes the membership — it replaces the leader and followers, adds learners and
// promotes them — removed members stop by themselves, new members start and catch up, and every run passes its
// checks.
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/scenario_paths.h"

namespace detcd::sim {
namespace {

ScenarioConfig Load() {
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(ScenarioPath("kv_membership"));
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

RunResult RunSeed(const ScenarioConfig& c, uint64_t seed, std::string* trace = nullptr) {
  std::ostringstream out;
  RunOptions o;
  o.seed = seed;
  if (trace != nullptr) o.trace_out = &out;
  RunResult r = RunScenario(c, o);
  if (trace != nullptr) *trace = out.str();
  return r;
}

TEST(MembershipTest, SameSeedSameTraceDifferentSeedDifferentTrace) {
  const ScenarioConfig c = Load();
  const RunResult a = RunSeed(c, 3), b = RunSeed(c, 3), d = RunSeed(c, 4);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.members_added, b.members_added);
  EXPECT_NE(a.trace_hash, d.trace_hash);
}

TEST(MembershipTest, TheOperatorReplacesGrowsAndShrinksTheCluster) {
  const ScenarioConfig c = Load();
  uint64_t leaders_removed = 0, promoted = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    std::string trace;
    const RunResult r = RunSeed(c, seed, &trace);
    ASSERT_EQ(r.outcome, Outcome::kPass) << "seed " << seed << ": " << r.checker << ": " << r.detail;
    EXPECT_GE(r.members_removed, 2u) << "seed " << seed;
    EXPECT_GE(r.members_added, 2u) << "seed " << seed;
    EXPECT_GE(r.removed_members_stopped, 1) << "seed " << seed << ": removed members stop once they apply it";
    EXPECT_TRUE(absl::StrContains(trace, "joining the cluster")) << "seed " << seed;
    EXPECT_TRUE(absl::StrContains(trace, "operator: replace")) << "seed " << seed;
    leaders_removed += r.leaders_removed;
    promoted += r.members_promoted;
  }
  EXPECT_GE(leaders_removed, 1u);
  EXPECT_GE(promoted, 1u);
}

}  // namespace
}  // namespace detcd::sim
