// Snapshots and log compaction in the simulator, end to end: a follower that fell behind compaction catches up by a
// leader's snapshot (also while crashing), a node whose newest snapshot rotted starts from the older one, and the
// safety checkers hold throughout.
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {
namespace {

ScenarioConfig Parse(const std::string& text) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(text, "inline.textproto");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

struct TracedRun {
  RunResult result;
  std::string trace;
};

TracedRun RunSeed(const ScenarioConfig& c, uint64_t seed) {
  std::ostringstream out;
  RunOptions o;
  o.seed = seed;
  o.trace_out = &out;
  TracedRun r;
  r.result = RunScenario(c, o);
  r.trace = out.str();
  return r;
}

constexpr char kIsolatedFollower[] = R"pb(
  name: "isolated_follower"
  nodes: 3
  duration_ms: 8000
  liveness_bound_ms: 5000
  workload { proposals_per_sec: 200 clients: 4 }
  disk { snapshot_count: 100 snapshot_catch_up_entries: 10 wal_segment_bytes: 8192 }
  faults { at_ms: 1000 duration_ms: 5000 isolate { target { node: 3 } } }
)pb";

TEST(SnapshotCatchUpTest, IsolatedFollowerCatchesUpBySnapshot) {
  const ScenarioConfig c = Parse(kIsolatedFollower);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const TracedRun r = RunSeed(c, seed);
    ASSERT_EQ(r.result.outcome, Outcome::kPass) << "seed " << seed << ": " << r.result.detail;
    EXPECT_GT(r.result.snapshots_taken, 0) << "seed " << seed;
    // Node 3 missed ~1000 entries while the others kept only 10 behind each snapshot: only a snapshot brings it back.
    EXPECT_GE(r.result.snapshots_installed, 1) << "seed " << seed;
    EXPECT_TRUE(absl::StrContains(r.trace, "node 3 installs snapshot")) << "seed " << seed;
  }
}

TEST(SnapshotCatchUpTest, WithoutSnapshotsTheFollowerCatchesUpByEntries) {
  ScenarioConfig c = Parse(kIsolatedFollower);
  c.disk.snapshot_count = 0;
  const TracedRun r = RunSeed(c, 1);
  ASSERT_EQ(r.result.outcome, Outcome::kPass) << r.result.detail;
  EXPECT_EQ(r.result.snapshots_taken, 0);
  EXPECT_EQ(r.result.snapshots_installed, 0);
}

TEST(SnapshotCatchUpTest, FollowerCrashingDuringCatchUp) {
  const ScenarioConfig c = Parse(R"pb(
    name: "crash_during_catch_up"
    nodes: 3
    duration_ms: 10000
    liveness_bound_ms: 8000
    workload { proposals_per_sec: 200 clients: 4 }
    disk { snapshot_count: 100 snapshot_catch_up_entries: 10 wal_segment_bytes: 8192 crash_loss: RANDOM_SECTORS }
    faults { at_ms: 1000 duration_ms: 4000 isolate { target { node: 3 } } }
    faults { at_ms: 5010 crash { target { node: 3 } restart_after_ms: 200 } }
    faults { at_ms: 5400 crash { target { node: 3 } restart_after_ms: 200 } }
    faults { at_ms: 6000 crash { target { select: LEADER } restart_after_ms: 500 } }
  )pb");
  int installed = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const TracedRun r = RunSeed(c, seed);
    ASSERT_EQ(r.result.outcome, Outcome::kPass) << "seed " << seed << ": " << r.result.detail;
    EXPECT_EQ(r.result.refusals, 0) << "seed " << seed;
    installed += r.result.snapshots_installed;
  }
  EXPECT_GT(installed, 0);
}

TEST(SnapshotCatchUpTest, RottenNewestSnapshotFallsBackToTheOlderOne) {
  const ScenarioConfig c = Parse(R"pb(
    name: "snapshot_rot"
    nodes: 3
    duration_ms: 8000
    liveness_bound_ms: 5000
    workload { proposals_per_sec: 200 clients: 4 }
    disk { snapshot_count: 100 snapshot_catch_up_entries: 10 wal_segment_bytes: 8192 }
    faults { at_ms: 5000 bit_rot { target { node: 2 } where: SNAPSHOT } }
    faults { at_ms: 5001 crash { target { node: 2 } restart_after_ms: 300 } }
  )pb");
  int fell_back = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const TracedRun r = RunSeed(c, seed);
    ASSERT_EQ(r.result.outcome, Outcome::kPass) << "seed " << seed << ": " << r.result.detail;
    // The older snapshot and the WAL after it are still there: the node starts, nothing is refused.
    EXPECT_EQ(r.result.refusals, 0) << "seed " << seed;
    if (absl::StrContains(r.trace, "node 2 set aside a corrupt snapshot")) {
      ++fell_back;
      EXPECT_TRUE(absl::StrContains(r.trace, "node 2 starts from snapshot")) << "seed " << seed;
    }
  }
  // The flipped bit lands in either of the two kept snapshot files; some seeds must hit the newest.
  EXPECT_GT(fell_back, 0);
}

}  // namespace
}  // namespace detcd::sim
