// Property tests over generated fault schedules (RapidCheck): the real Raft core survives any schedule; and a broken
// one fails, shrinks to a minimal schedule, and that schedule — printed as a scenario file — reproduces the failure.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "sim/scenarios/fault_schedule_gen.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {
namespace {

constexpr int kNodes = 3;
constexpr int kDurationMs = 6000;
constexpr uint64_t kSeed = 1;  // the schedule alone decides the faults; the seed fixes everything else

const char kBase[] = R"pb(
  name: "property"
  description: "base scenario of the fault-schedule properties"
  nodes: 3 duration_ms: 6000 liveness_bound_ms: 15000
  workload { proposals_per_sec: 100 clients: 4 request_timeout_ms: 500 }
  network { latency_min_us: 200 latency_max_us: 5000 }
)pb";

// RapidCheck reads its configuration once, from RC_PARAMS: fix the seed so that the test is deterministic, and keep
// the number and size of cases within a test's budget.
void ConfigureRapidCheck() { setenv("RC_PARAMS", "seed=20261124 max_success=100 max_size=30", 1); }

ScenarioConfig Base() {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kBase, "property.textproto");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

RunResult RunSchedule(const std::vector<simpb::Fault>& faults, const raft::TestingKnobs& knobs) {
  absl::StatusOr<ScenarioConfig> c =
      ScenarioConfigFromProto(ScheduleScenario(Base().proto, faults), "property.textproto");
  if (!c.ok()) {
    ADD_FAILURE() << "generated schedule is not a valid scenario: " << c.status();
    return RunResult{};
  }
  RunOptions o;
  o.seed = kSeed;
  o.testing = knobs;
  return RunScenario(*c, o);
}

TEST(SchedulePropertyTest, HealthyRaftSurvivesAnySchedule) {
  ConfigureRapidCheck();
  std::string failing;
  const bool ok = rc::check("healthy raft survives generated fault schedules", [&] {
    const std::vector<GenFault> schedule = *GenSchedule(kNodes, kDurationMs);
    const std::vector<simpb::Fault> faults = ToFaults(schedule, kNodes);
    const RunResult r = RunSchedule(faults, raft::TestingKnobs{});
    if (r.outcome != Outcome::kPass) {
      failing = ScenarioToText(ScheduleScenario(Base().proto, faults),
                               "shrunk failing schedule: " + r.checker + ": " + r.detail);
    }
    RC_ASSERT(r.outcome == Outcome::kPass);
  });
  EXPECT_TRUE(ok) << "minimal failing schedule (replay with detcd-sim --seed=" << kSeed << "):\n" << failing;
}

TEST(SchedulePropertyTest, BrokenVotingShrinksToAReplayableMinimalSchedule) {
  ConfigureRapidCheck();
  raft::TestingKnobs broken;
  broken.vote_ignores_log = true;
  std::vector<simpb::Fault> last_failing;
  size_t largest_failing = 0;
  const bool ok = rc::check("broken voting is caught and shrunk", [&] {
    const std::vector<simpb::Fault> faults = ToFaults(*GenSchedule(kNodes, kDurationMs), kNodes);
    const RunResult r = RunSchedule(faults, broken);
    if (r.outcome != Outcome::kPass) {
      // During shrinking, each failing candidate replaces the current one: the last is the minimal schedule.
      last_failing = faults;
      largest_failing = std::max(largest_failing, faults.size());
    }
    RC_ASSERT(r.outcome == Outcome::kPass);
  });
  ASSERT_FALSE(ok) << "no generated schedule exposed a voter that ignores the election restriction";
  ASSERT_FALSE(last_failing.empty()) << "with no faults at all the broken rule should stay hidden";
  EXPECT_LE(last_failing.size(), largest_failing);

  // The minimal schedule, printed as a scenario file, reproduces the failure when loaded back.
  const std::string text = ScenarioToText(ScheduleScenario(Base().proto, last_failing),
                                          "minimal schedule found by SchedulePropertyTest (vote_ignores_log)");
  std::cout << "minimal failing scenario:\n" << text << std::endl;
  if (const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(std::string(out) + "/minimal_schedule.textproto") << text;
  }
  absl::StatusOr<ScenarioConfig> replay = ParseScenarioText(text, "minimal_schedule.textproto");
  ASSERT_TRUE(replay.ok()) << replay.status();
  RunOptions o;
  o.seed = kSeed;
  o.testing = broken;
  EXPECT_NE(RunScenario(*replay, o).outcome, Outcome::kPass) << text;
  // And it is minimal in the sense that matters: without any one of its faults the failure goes away.
  for (size_t skip = 0; skip < last_failing.size(); ++skip) {
    std::vector<simpb::Fault> fewer = last_failing;
    fewer.erase(fewer.begin() + skip);
    EXPECT_EQ(RunSchedule(fewer, broken).outcome, Outcome::kPass) << "fault " << skip << " was not needed";
  }
}

}  // namespace
}  // namespace detcd::sim
