// AutoCompactor against etcd 3.4's compactor rules, tick by tick: when it compacts, at which revision (never history
// younger than the retention), only as leader, what it logs, and how it retries a compaction that was lost.
#include "kv/auto_compactor.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

constexpr int64_t kTickUs = 100'000;  // etcd's default heartbeat

// A member whose revision grows by `per_tick` each tick; compactions apply at once unless `lose` says otherwise.
struct Member {
  AutoCompactor compactor;
  int64_t tick = 0;
  int64_t revision = 1;
  int64_t compacted = 0;
  std::vector<std::pair<int64_t, int64_t>> compactions;  // (tick, revision)
  std::vector<std::string> log;
  std::vector<int64_t> revision_at;  // revision_at[t]: the revision at tick t

  explicit Member(AutoCompactionConfig c) : compactor(c, kTickUs) { revision_at.push_back(revision); }
  void Ticks(int64_t n, bool leader, int64_t per_tick = 1, bool lose = false) {
    for (int64_t i = 0; i < n; ++i) {
      ++tick;
      revision += per_tick;
      revision_at.push_back(revision);
      AutoCompactor::Step s = compactor.Tick(revision, compacted, leader);
      log.insert(log.end(), s.log.begin(), s.log.end());
      if (s.compact_at > 0) {
        EXPECT_GT(s.compact_at, compacted) << "a compaction the store already passed is not proposed";
        EXPECT_LE(s.compact_at, revision);
        compactions.push_back({tick, s.compact_at});
        if (!lose) compacted = s.compact_at;
      }
    }
  }
};

AutoCompactionConfig Periodic(int64_t ms) {
  AutoCompactionConfig c;
  c.mode = AutoCompactionConfig::Mode::kPeriodic;
  c.retention_ms = ms;
  return c;
}

TEST(AutoCompactorTest, PeriodicKeepsARetentionOfHistoryAndCompactsEveryRetention) {
  Member r(Periodic(10'000));  // 10 s: notes every second, compactions every 10 s
  r.Ticks(1000, true);
  ASSERT_GE(r.compactions.size(), 8u);
  ASSERT_LE(r.compactions.size(), 10u);
  EXPECT_GE(r.compactions.front().first, 100) << "not before a whole retention passed";
  for (size_t i = 0; i < r.compactions.size(); ++i) {
    const auto [tick, rev] = r.compactions[i];
    // Nothing younger than the retention is lost: the revision compacted at existed 10 s (100 ticks) ago.
    EXPECT_LE(rev, r.revision_at[tick - 100]) << "tick " << tick;
    // ...and not much older: within a note interval (1 s) of a retention ago.
    if (tick >= 110) {
      EXPECT_GE(rev, r.revision_at[tick - 100 - 10]) << "tick " << tick;
    }
    if (i > 0) {
      EXPECT_EQ(tick - r.compactions[i - 1].first, 100) << "one compaction per retention";
    }
  }
  EXPECT_EQ(r.log.front(), "Starting auto-compaction at revision " + std::to_string(r.compactions[0].second) +
                               " (retention: 10s)");
  EXPECT_EQ(r.log[1], "Finished auto-compaction at revision " + std::to_string(r.compactions[0].second));
}

TEST(AutoCompactorTest, PeriodicOverAnHourCompactsHourlyKeepingTheWholeRetention) {
  Member r(Periodic(2 * 3'600'000));  // 2 h: notes every 6 min, compactions every hour
  const int64_t hour = 36'000;     // ticks
  r.Ticks(6 * hour + 1, true);
  ASSERT_EQ(r.compactions.size(), 5u);  // at 2 h, 3 h, 4 h, 5 h, 6 h (the first note was taken at tick 1)
  EXPECT_EQ(r.compactions.front().first, 2 * hour + 1);
  for (const auto& [tick, rev] : r.compactions) {
    EXPECT_LE(rev, r.revision_at[tick - 2 * hour]);
    if (tick >= 2 * hour + hour / 10) {
      EXPECT_GE(rev, r.revision_at[tick - 2 * hour - hour / 10]);
    }
  }
  EXPECT_TRUE(absl::StrContains(r.log.front(), "(retention: 2h0m0s)")) << r.log.front();
}

TEST(AutoCompactorTest, OnlyALeaderCompactsAndANewLeaderUsesNotesTakenAsFollower) {
  Member r(Periodic(10'000));
  r.Ticks(300, false);
  EXPECT_TRUE(r.compactions.empty()) << "a follower compacted";
  r.Ticks(10, true);
  ASSERT_EQ(r.compactions.size(), 1u) << "a new leader compacts within a note interval";
  const auto [tick, rev] = r.compactions[0];
  EXPECT_LE(rev, r.revision_at[tick - 100]);
}

TEST(AutoCompactorTest, ALostCompactionIsLoggedAndTriedAgain) {
  Member r(Periodic(10'000));
  r.Ticks(101, true, 1, /*lose=*/true);
  ASSERT_EQ(r.compactions.size(), 1u);
  r.Ticks(30, true);  // lost: failed after a note interval, tried again at the next
  ASSERT_GE(r.compactions.size(), 2u);
  EXPECT_LE(r.compactions[1].first - r.compactions[0].first, 20);
  bool failed = false;
  for (const std::string& line : r.log) failed |= absl::StartsWith(line, "Failed auto-compaction at revision");
  EXPECT_TRUE(failed);
  EXPECT_EQ(r.compacted, r.compactions[1].second);
}

TEST(AutoCompactorTest, RevisionModeKeepsTheLastNRevisionsEveryFiveMinutes) {
  AutoCompactionConfig c;
  c.mode = AutoCompactionConfig::Mode::kRevision;
  c.retention_revisions = 1000;
  Member r(c);
  const int64_t five_min = 3000;  // ticks
  r.Ticks(five_min - 1, true);
  EXPECT_TRUE(r.compactions.empty()) << "before the first 5 minutes";
  r.Ticks(1, true);
  ASSERT_EQ(r.compactions.size(), 1u);
  EXPECT_EQ(r.compactions[0].second, r.revision - 1000);
  EXPECT_EQ(r.log.front(), "Starting auto-compaction at revision " + std::to_string(r.revision - 1000) +
                               " (retention: 1000 revisions)");
  // No writes: the same revision is not compacted again.
  r.Ticks(2 * five_min, true, 0);
  EXPECT_EQ(r.compactions.size(), 1u);
  r.Ticks(five_min, true, 1);
  ASSERT_EQ(r.compactions.size(), 2u);
  EXPECT_EQ(r.compactions[1].second, r.revision - 1000);
  // Fewer revisions than the retention: nothing to do.
  Member young(c);
  young.Ticks(5 * five_min, true, 0);
  EXPECT_TRUE(young.compactions.empty());
}

TEST(AutoCompactorTest, AnAlreadyCompactedRevisionCountsAsDoneAsEtcdsErrCompacted) {
  Member r(Periodic(10'000));
  r.Ticks(95, true);
  r.compacted = r.revision;  // a user compacted at the current revision, past what a retention ago was
  r.Ticks(10, true);
  EXPECT_TRUE(r.compactions.empty()) << "nothing proposed below the store's compaction";
  bool finished = false;
  for (const std::string& line : r.log) finished |= absl::StartsWith(line, "Finished auto-compaction");
  EXPECT_TRUE(finished);
}

TEST(AutoCompactorTest, OffDoesNothing) {
  Member r{AutoCompactionConfig()};
  r.Ticks(100'000, true);
  EXPECT_TRUE(r.compactions.empty());
  EXPECT_TRUE(r.log.empty());
}

}  // namespace
}  // namespace detcd::kv
