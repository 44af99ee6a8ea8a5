#include "sim/scenarios/swarm.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

SwarmSettings Enabled(int64_t mean_interval_ms = 2'000) {
  SwarmSettings s;
  s.enabled = true;
  s.mean_interval_ms = mean_interval_ms;
  s.max_concurrent = 2;
  for (int k = simpb::FaultKind_MIN + 1; k <= simpb::FaultKind_MAX; ++k) s.kinds.push_back(simpb::FaultKind(k));
  s.min_fault_duration_ms = 200;
  s.max_fault_duration_ms = 5'000;
  return s;
}

std::string Serialize(const std::vector<simpb::Fault>& faults) {
  std::string out;
  for (const simpb::Fault& f : faults) out += f.SerializeAsString() + "|";
  return out;
}

TEST(SwarmTest, DisabledGivesNothing) {
  Prng prng(1);
  SwarmSettings s = Enabled();
  s.enabled = false;
  EXPECT_TRUE(GenerateSwarmFaults(s, 3, 60'000, &prng).empty());
}

TEST(SwarmTest, SameSeedSameFaults) {
  Prng a(17), b(17), c(18);
  const auto fa = GenerateSwarmFaults(Enabled(), 5, 60'000, &a);
  const auto fb = GenerateSwarmFaults(Enabled(), 5, 60'000, &b);
  const auto fc = GenerateSwarmFaults(Enabled(), 5, 60'000, &c);
  ASSERT_FALSE(fa.empty());
  EXPECT_EQ(Serialize(fa), Serialize(fb));
  EXPECT_NE(Serialize(fa), Serialize(fc));
}

// End of a fault's effect: duration, or restart delay for a crash.
int64_t EndMs(const simpb::Fault& f) {
  return f.at_ms() + (f.has_crash() ? f.crash().restart_after_ms() : f.duration_ms());
}

TEST(SwarmTest, FaultsAreValidBoundedAndSorted) {
  for (int nodes = 1; nodes <= kMaxNodes; ++nodes) {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      Prng prng(seed);
      const SwarmSettings swarm = Enabled(1'000);
      const int64_t duration_ms = 30'000;
      const std::vector<simpb::Fault> faults = GenerateSwarmFaults(swarm, nodes, duration_ms, &prng);
      // Every generated fault must pass the same validation as a scripted one (this is what a shrunk scenario
      // file will contain).
      simpb::Scenario s;
      s.set_nodes(nodes);
      s.set_duration_ms(duration_ms);
      s.set_liveness_bound_ms(10'000);
      for (const simpb::Fault& f : faults) *s.add_faults() = f;
      absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(s, "swarm");
      ASSERT_TRUE(c.ok()) << "nodes " << nodes << " seed " << seed << ": " << c.status();

      int64_t last_at_ms = 0;
      std::vector<simpb::Fault> in_effect;
      for (const simpb::Fault& f : faults) {
        EXPECT_GE(f.at_ms(), last_at_ms);
        last_at_ms = f.at_ms();
        const int64_t length_ms = EndMs(f) - f.at_ms();
        EXPECT_GE(length_ms, f.has_bit_rot() || f.has_wal_tail_corruption() ? 0 : 1);  // a bit flips in an instant
        EXPECT_LE(length_ms, swarm.max_fault_duration_ms);
        EXPECT_LE(EndMs(f), duration_ms) << "a swarm fault ends inside the fault phase";
        if (nodes < 3) {
          EXPECT_FALSE(f.has_bridge());
          EXPECT_FALSE(f.has_bit_rot()) << "bit rot needs a quorum of sound disks besides the rotten one";
          EXPECT_FALSE(f.has_wal_tail_corruption()) << "as bit rot";
        }
        if (nodes < 2) {
          EXPECT_TRUE(f.has_crash() || f.has_crash_after_send() || f.has_pause() || f.has_clock_drift() ||
                      f.has_disk_error() || f.has_disk_full());
        }
        // Concurrency: faults still in effect when this one starts.
        std::vector<simpb::Fault> still;
        for (const simpb::Fault& g : in_effect) {
          if (EndMs(g) > f.at_ms()) still.push_back(g);
        }
        in_effect = still;
        in_effect.push_back(f);
        EXPECT_LE(static_cast<int>(in_effect.size()), swarm.max_concurrent);
      }
    }
  }
}

TEST(SwarmTest, SeedsExploreDifferentMixes) {
  std::set<std::set<int>> mixes;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Prng prng(seed);
    std::set<int> kinds;
    for (const simpb::Fault& f : GenerateSwarmFaults(Enabled(500), 5, 60'000, &prng)) kinds.insert(f.kind_case());
    mixes.insert(kinds);
  }
  EXPECT_GT(mixes.size(), 10u);
}

TEST(SwarmTest, OnlyAllowedKinds) {
  SwarmSettings s = Enabled(500);
  s.kinds = {simpb::CRASH};
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Prng prng(seed);
    const auto faults = GenerateSwarmFaults(s, 3, 20'000, &prng);
    EXPECT_FALSE(faults.empty());
    for (const simpb::Fault& f : faults) EXPECT_TRUE(f.has_crash()) << f.ShortDebugString();
  }
}

TEST(SwarmTest, CrashAfterSendIsArmedForItsLengthAndRestartsSoon) {
  SwarmSettings s = Enabled(500);
  s.kinds = {simpb::CRASH_AFTER_SEND};
  std::set<int> messages;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Prng prng(seed);
    for (const simpb::Fault& f : GenerateSwarmFaults(s, 3, 20'000, &prng)) {
      ASSERT_TRUE(f.has_crash_after_send()) << f.ShortDebugString();
      EXPECT_GE(f.duration_ms(), 1);
      EXPECT_GE(f.crash_after_send().restart_after_ms(), 1);
      EXPECT_LE(f.crash_after_send().restart_after_ms(), f.duration_ms());
      messages.insert(f.crash_after_send().message());
    }
  }
  EXPECT_EQ(messages.size(), 3u) << "the seed picks votes, appends or either";
}

// The membership edge kinds need a cluster whose operator changes it (and adds learners): without, they are never
// drawn, so a scenario that allows all kinds draws what it drew before they existed.
TEST(SwarmTest, MembershipEdgeKindsOnlyWhereTheMembershipChanges) {
  SwarmSettings s = Enabled(500);
  s.kinds = {simpb::LEADER_WITH_LEARNERS, simpb::SNAPSHOT_DURING_CONF_CHANGE};
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Prng prng(seed);
    EXPECT_TRUE(GenerateSwarmFaults(s, 5, 20'000, &prng).empty()) << "seed " << seed;
  }
  s.membership_changes = true;
  std::set<int> kinds;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Prng prng(seed);
    for (const simpb::Fault& f : GenerateSwarmFaults(s, 5, 20'000, &prng)) kinds.insert(f.kind_case());
  }
  EXPECT_EQ(kinds, std::set<int>{simpb::Fault::kSnapshotDuringConfChange}) << "no learners: no leader_with_learners";
  s.learners = true;
  kinds.clear();
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Prng prng(seed);
    for (const simpb::Fault& f : GenerateSwarmFaults(s, 5, 20'000, &prng)) kinds.insert(f.kind_case());
  }
  EXPECT_EQ(kinds, (std::set<int>{simpb::Fault::kLeaderWithLearners, simpb::Fault::kSnapshotDuringConfChange}));
}

TEST(SwarmTest, ScheduleMergesScriptedAndSwarmByTime) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(
      R"pb(
        duration_ms: 20000
        liveness_bound_ms: 5000
        faults { at_ms: 15000 duration_ms: 1000 pause { target { node: 1 } } }
        faults { at_ms: 100 duration_ms: 1000 isolate { target { select: LEADER } } }
        swarm { enabled: true mean_interval_ms: 2000 }
      )pb",
      "merge");
  ASSERT_TRUE(c.ok()) << c.status();
  Prng a(5), b(5);
  const auto schedule = FaultSchedule(*c, &a);
  const auto swarm = GenerateSwarmFaults(c->swarm, c->nodes, c->duration_ms, &b);
  ASSERT_EQ(schedule.size(), swarm.size() + 2);
  for (size_t i = 1; i < schedule.size(); ++i) EXPECT_LE(schedule[i - 1].at_ms(), schedule[i].at_ms());
  EXPECT_EQ(schedule[0].at_ms(), 100);
}

}  // namespace
}  // namespace detcd::sim
