#include "load/tally.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace detcd::load {
namespace {

TEST(TallyTest, PercentilesAreNearestRankOverMergedClients) {
  Tally a, b;
  for (int i = 1; i <= 50; ++i) a.Ok(i);
  for (int i = 51; i <= 100; ++i) b.Ok(i);
  a.Merge(b);
  EXPECT_EQ(a.ok(), 100u);
  EXPECT_DOUBLE_EQ(a.LatencyMs(0.5), 50);
  EXPECT_DOUBLE_EQ(a.LatencyMs(0.99), 99);
  EXPECT_DOUBLE_EQ(a.LatencyMs(1.0), 100);
  EXPECT_DOUBLE_EQ(a.LatencyMs(0), 1);
}

TEST(TallyTest, NoSamplesReportZeroLatency) {
  Tally t;
  EXPECT_DOUBLE_EQ(t.LatencyMs(0.99), 0);
  EXPECT_EQ(t.ResultLine("put", "clients=1 conns=1", 2.0),
            "result: workload=put clients=1 conns=1 ok=0 failed=0 seconds=2.00 rps=0 p50_ms=0.000 p90_ms=0.000 "
            "p99_ms=0.000 max_ms=0.000");
}

TEST(TallyTest, ResultLineCountsOkPerSecond) {
  Tally t;
  t.Ok(1.5);
  t.Ok(2.5);
  t.Fail("etcdserver: request timed out");
  EXPECT_EQ(t.ResultLine("range", "clients=2 conns=1", 0.5),
            "result: workload=range clients=2 conns=1 ok=2 failed=1 seconds=0.50 rps=4 p50_ms=1.500 p90_ms=2.500 "
            "p99_ms=2.500 max_ms=2.500");
}

TEST(TallyTest, ErrorsGroupedByMessageMostFrequentFirst) {
  Tally a, b;
  a.Fail("Deadline Exceeded");
  b.Fail("etcdserver: no leader", 3);
  b.Fail("Deadline Exceeded");
  b.Fail("connection refused");
  a.Merge(b);
  EXPECT_EQ(a.failed(), 6u);
  EXPECT_THAT(a.ErrorLines(2), testing::ElementsAre("errors: 3 x \"etcdserver: no leader\"",
                                                    "errors: 2 x \"Deadline Exceeded\"", "errors: 1 more messages"));
}

}  // namespace
}  // namespace detcd::load
