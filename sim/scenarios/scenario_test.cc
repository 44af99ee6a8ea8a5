#include "sim/scenarios/scenario.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGood[] = R"pb(
# A comment, as scenario files have.
name: "good"
description: "every section"
nodes: 5
duration_ms: 30000
liveness_bound_ms: 10000
tick_ms: 20
raft { election_ticks: 20 heartbeat_ticks: 2 pre_vote: false max_inflight_msgs: 64 }
workload { proposals_per_sec: 150 clients: 8 request_timeout_ms: 2000 value_bytes: 128 }
network {
  latency_min_us: 300
  latency_max_us: 50000
  distribution: EXPONENTIAL
  latency_mean_us: 1500
  drop_probability: 0.01
  duplicate_probability: 0.02
  reorder_probability: 0.03
}
disk { sync_latency_min_us: 500 sync_latency_max_us: 5000 }
faults { at_ms: 1000 duration_ms: 5000 isolate { target { select: LEADER } } }
faults { at_ms: 2000 duration_ms: 3000 partition { groups { nodes: [1, 2] } groups { nodes: [3, 4, 5] } } }
faults { at_ms: 3000 duration_ms: 3000 asymmetric { from { node: 1 } to { select: FOLLOWER } } }
faults { at_ms: 4000 duration_ms: 3000 bridge { node: 3 side_a: [1, 2] side_b: [4, 5] } }
faults { at_ms: 5000 duration_ms: 3000 clog { from { node: 2 } to { node: 3 } } }
faults { at_ms: 6000 crash { target { select: RANDOM } restart_after_ms: 2000 } }
faults { at_ms: 7000 duration_ms: 1000 pause { target { node: 4 } } }
faults { at_ms: 8000 duration_ms: 4000 clock_drift { target { node: 5 } factor: 2.0 } }
faults { at_ms: 9000 crash_after_send { target { select: FOLLOWER } message: APP_RESP restart_after_ms: 300 } }
faults { at_ms: 9500 duration_ms: 2000 crash_after_send { target { node: 2 } message: VOTE_RESP } }
faults { at_ms: 9700 crash_after_send { target { node: 3 } } }
faults { at_ms: 9800 wal_tail_corruption { target { node: 2 } } }
faults { at_ms: 9900 wal_tail_corruption { target { select: LEADER } records: 3 } }
faults { at_ms: 10000 duration_ms: 2000 lagging_follower { target { select: FOLLOWER } delay_ms: 500 } }
faults { at_ms: 11000 duration_ms: 1500 leader_with_learners {} }
faults { at_ms: 12000 duration_ms: 3000 snapshot_during_conf_change { target { select: FOLLOWER } } }
faults { at_ms: 20000 heal {} }
swarm { enabled: true mean_interval_ms: 3000 max_concurrent: 3 kinds: [CRASH, PARTITION] }
)pb";

// A valid three-node scenario followed by `extra` (its first line is line 4).
std::string Minimal(const std::string& extra) {
  return "nodes: 3\nduration_ms: 10000\nliveness_bound_ms: 5000\n" + extra;
}

std::string ErrorOf(const std::string& text, const std::string& filename = "t.textproto") {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(text, filename);
  EXPECT_FALSE(c.ok()) << "expected an error for:\n" << text;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ScenarioTest, ParsesEverySection) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kGood, "testdata/scenarios/good.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "good");
  EXPECT_EQ(c->path, "testdata/scenarios/good.textproto");
  EXPECT_EQ(c->nodes, 5);
  EXPECT_EQ(c->duration_ms, 30000);
  EXPECT_EQ(c->liveness_bound_ms, 10000);
  EXPECT_EQ(c->tick_ms, 20);
  EXPECT_EQ(c->raft.election_ticks, 20);
  EXPECT_EQ(c->raft.heartbeat_ticks, 2);
  EXPECT_FALSE(c->raft.pre_vote);
  EXPECT_TRUE(c->raft.check_quorum);  // default
  EXPECT_EQ(c->raft.max_inflight_msgs, 64u);
  EXPECT_EQ(c->raft.max_size_per_msg_bytes, 1u << 20);  // default
  EXPECT_EQ(c->workload.proposals_per_sec, 150);
  EXPECT_EQ(c->workload.clients, 8);
  EXPECT_EQ(c->workload.request_timeout_ms, 2000);
  EXPECT_EQ(c->workload.value_bytes, 128);
  EXPECT_EQ(c->network.latency_min_us, 300);
  EXPECT_EQ(c->network.latency_max_us, 50000);
  EXPECT_EQ(c->network.distribution, LatencyDistribution::kExponential);
  EXPECT_EQ(c->network.latency_mean_us, 1500);
  EXPECT_DOUBLE_EQ(c->network.drop_probability, 0.01);
  EXPECT_DOUBLE_EQ(c->network.duplicate_probability, 0.02);
  EXPECT_DOUBLE_EQ(c->network.reorder_probability, 0.03);
  EXPECT_EQ(c->network.reorder_delay_max_us, 250000);
  EXPECT_EQ(c->disk.sync_latency_min_us, 500);
  EXPECT_EQ(c->disk.sync_latency_max_us, 5000);
  ASSERT_EQ(c->faults.size(), 17u);
  EXPECT_EQ(c->faults[1].partition().groups(1).nodes_size(), 3);
  EXPECT_TRUE(c->swarm.enabled);
  EXPECT_EQ(c->swarm.max_concurrent, 3);
  EXPECT_EQ(c->swarm.kinds, (std::vector<simpb::FaultKind>{simpb::PARTITION, simpb::CRASH}));  // enum order
  EXPECT_EQ(c->swarm.min_fault_duration_ms, 200);
  EXPECT_EQ(c->swarm.max_fault_duration_ms, 7500);  // duration_ms / 4
}

TEST(ScenarioTest, DefaultsForAMinimalFile) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText("duration_ms: 1000 liveness_bound_ms: 500", "dir/min.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "min");  // from the file name
  EXPECT_EQ(c->nodes, 3);
  EXPECT_EQ(c->tick_ms, 10);
  EXPECT_EQ(c->raft.election_ticks, 10);
  EXPECT_EQ(c->raft.heartbeat_ticks, 1);
  EXPECT_TRUE(c->raft.pre_vote);
  EXPECT_TRUE(c->raft.check_quorum);
  EXPECT_EQ(c->raft.max_inflight_msgs, 256u);
  EXPECT_EQ(c->workload.proposals_per_sec, 100);
  EXPECT_EQ(c->workload.clients, 4);
  EXPECT_EQ(c->network.latency_min_us, 200);
  EXPECT_EQ(c->network.latency_max_us, 2000);
  EXPECT_EQ(c->network.distribution, LatencyDistribution::kUniform);
  EXPECT_EQ(c->network.drop_probability, 0);
  EXPECT_EQ(c->disk.sync_latency_min_us, 100);
  EXPECT_EQ(c->disk.sync_latency_max_us, 2000);
  EXPECT_EQ(c->disk.crash_loss, simpb::CRASH_LOSS_UNSPECIFIED);
  EXPECT_EQ(c->disk.wal_segment_bytes, 64u * 1024);
  EXPECT_EQ(c->disk.snapshot_count, 1000u);
  EXPECT_EQ(c->disk.snapshot_catch_up_entries, 100u);
  EXPECT_TRUE(c->faults.empty());
  EXPECT_FALSE(c->swarm.enabled);
  EXPECT_EQ(c->swarm.kinds.size(), 16u);  // all kinds
}

TEST(ScenarioTest, ExplicitFalseAndZeroAreNotDefaults) {
  absl::StatusOr<ScenarioConfig> c =
      ParseScenarioText(Minimal("raft { pre_vote: false check_quorum: false } workload { proposals_per_sec: 0 }"), "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->raft.pre_vote);
  EXPECT_FALSE(c->raft.check_quorum);
  EXPECT_EQ(c->workload.proposals_per_sec, 0);
}

TEST(ScenarioTest, MissingFileNamesFileAndReason) {
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile("/nonexistent/dir/missing.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(),
            "cannot read scenario file '/nonexistent/dir/missing.textproto': No such file or directory");
}

TEST(ScenarioTest, LoadsFromDisk) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/disk.textproto";
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(kGood, f);
  std::fclose(f);
  absl::StatusOr<ScenarioConfig> c = LoadScenarioFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->path, path);
  EXPECT_EQ(c->nodes, 5);
}

TEST(ScenarioTest, SyntaxErrorHasLineAndColumn) {
  EXPECT_EQ(ErrorOf("nodes: 3\nduration_ms: 1000\nbogus_field: 1\n"),
            "t.textproto:3:12: Message type \"detcd.simpb.Scenario\" has no field named \"bogus_field\".");
  EXPECT_THAT(ErrorOf("nodes: 3\nraft {\n  election_ticks: ten\n}\n"),
              AllOf(HasSubstr("t.textproto:3:19:"), HasSubstr("Expected integer")));
  EXPECT_THAT(ErrorOf("nodes: 3\nnetwork { distribution: GAUSSIAN }\n"),
              AllOf(HasSubstr("t.textproto:2:34:"), HasSubstr("GAUSSIAN")));
  EXPECT_THAT(ErrorOf("raft {\n"), HasSubstr("t.textproto:2:1:"));
}

TEST(ScenarioTest, NodesOutOfRange) {
  EXPECT_EQ(ErrorOf("duration_ms: 1000\nliveness_bound_ms: 1000\nnodes: 9\n"), "t.textproto:3:1: nodes: 9 is outside 1..7");
  EXPECT_THAT(ErrorOf("duration_ms: 1000 liveness_bound_ms: 1000 nodes: 0"), HasSubstr("nodes: 0 is outside 1..7"));
}

TEST(ScenarioTest, RequiredTimesWithoutPosition) {
  EXPECT_EQ(ErrorOf("nodes: 3\nduration_ms: 1000\n"),
            "t.textproto: liveness_bound_ms: must be in 1..86400000 (time allowed to converge after the heal), got 0");
  EXPECT_THAT(ErrorOf("nodes: 3\nliveness_bound_ms: 1000\nduration_ms: -5\n"),
              HasSubstr("t.textproto:3:1: duration_ms: must be in 1..86400000 (the fault phase), got -5"));
}

TEST(ScenarioTest, FaultNodeOutOfRangeNamesFieldPath) {
  EXPECT_EQ(ErrorOf(Minimal("faults {\n  at_ms: 100\n  isolate { target { node: 5 } }\n}\n")),
            "t.textproto:6:22: faults[0].isolate.target.node: node 5 is outside 1..3 (the cluster has 3 nodes)");
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 }\nfaults { at_ms: 2 bridge { node: 4 side_a: 1 side_b: 2 } }")),
              AllOf(HasSubstr("t.textproto:4:1: faults[0]: no fault kind"),
                    HasSubstr("t.textproto:5:28: faults[1].bridge.node: node 4 is outside 1..3")));
}

TEST(ScenarioTest, ProbabilityOutOfRange) {
  EXPECT_EQ(ErrorOf(Minimal("network {\n  drop_probability: 1.5\n}")),
            "t.textproto:5:3: network.drop_probability: probability 1.5 is outside [0, 1]");
  EXPECT_THAT(ErrorOf(Minimal("network { reorder_probability: -0.1 }")),
              HasSubstr("network.reorder_probability: probability -0.1 is outside [0, 1]"));
}

TEST(ScenarioTest, AuthWorkloadBounds) {
  EXPECT_THAT(ErrorOf(Minimal("kv { auth { keys: 100 } }")), HasSubstr("kv.auth.keys: must be in 1..99"));
  EXPECT_THAT(ErrorOf(Minimal("kv { auth { } membership { change_every_ms: 100 } }")),
              HasSubstr("kv.auth: cannot be combined with kv.membership"));
  EXPECT_THAT(ErrorOf(Minimal("kv { auth { change_every_ms: 0 } }")),
              HasSubstr("kv.auth.change_every_ms: must be in 1..86400000"));
}

TEST(ScenarioTest, LatencyBounds) {
  EXPECT_EQ(ErrorOf(Minimal("network { latency_min_us: 5000 latency_max_us: 1000 }")),
            "t.textproto:4:11: network.latency_min_us: latency_min_us (5000) is greater than latency_max_us (1000)");
  // Only max given, below the default min: the error points at max.
  EXPECT_THAT(ErrorOf(Minimal("network { latency_max_us: 100 }")),
              HasSubstr("network.latency_max_us: latency_min_us (200) is greater than latency_max_us (100)"));
  EXPECT_THAT(ErrorOf(Minimal("network { latency_mean_us: 500 }")),
              HasSubstr("network.latency_mean_us: only used with distribution: EXPONENTIAL"));
  EXPECT_THAT(ErrorOf(Minimal("disk { sync_latency_min_us: 10 sync_latency_max_us: 5 }")),
              HasSubstr("disk.sync_latency_min_us: sync_latency_min_us (10) is greater than sync_latency_max_us (5)"));
}

TEST(ScenarioTest, RaftTicks) {
  EXPECT_THAT(ErrorOf(Minimal("raft { heartbeat_ticks: 10 }")),
              HasSubstr("raft.heartbeat_ticks: heartbeat_ticks (10) must be less than election_ticks (10)"));
}

TEST(ScenarioTest, FaultSemantics) {
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 10000 pause { target { node: 1 } } }")),
              HasSubstr("faults[0].at_ms: 10000 is outside the fault phase [0, 10000)"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 duration_ms: 5 crash { target { node: 1 } } }")),
              HasSubstr("faults[0].duration_ms: not used by crash: set crash.restart_after_ms instead"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 partition { groups { nodes: [1, 2] } groups { nodes: [2] } } }")),
              HasSubstr("faults[0].partition.groups[1].nodes[0]: node 2 is in two groups"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 partition { groups { nodes: [1, 2, 3] } } }")),
              HasSubstr("faults[0].partition: needs at least two sides"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 asymmetric { from { node: 2 } to { node: 2 } } }")),
              HasSubstr("faults[0].asymmetric.to: from and to are the same node"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 clog { from { node: 2 } } }")),
              HasSubstr("faults[0].clog.to: missing (a node id or a selector)"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 pause { target { select: SELECTOR_UNSPECIFIED } } }")),
              HasSubstr("faults[0].pause.target.select: must be LEADER, FOLLOWER or RANDOM"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 clock_drift { target { node: 1 } factor: 50 } }")),
              HasSubstr("faults[0].clock_drift.factor: 50 is outside [0.1, 10]"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 bridge { node: 1 side_a: [2] side_b: [2] } }")),
              HasSubstr("faults[0].bridge.side_b[0]: node 2 appears twice"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 duration_ms: 3 heal {} }")),
              HasSubstr("faults[0].duration_ms: not used by heal"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 crash_after_send { message: APP_RESP } }")),
              HasSubstr("faults[0].crash_after_send.target: missing (a node id or a selector)"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 crash_after_send { target { node: 1 } restart_after_ms: -5 } }")),
              HasSubstr("faults[0].crash_after_send.restart_after_ms: must be >= 0 (0 = at the heal)"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 wal_tail_corruption { target { node: 1 } records: 0 } }")),
              HasSubstr("faults[0].wal_tail_corruption.records: 0 is outside 1..1000"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 lagging_follower { target { node: 1 } delay_ms: 0 } }")),
              HasSubstr("faults[0].lagging_follower.delay_ms: must be > 0"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 snapshot_during_conf_change {} }")),
              HasSubstr("faults[0].snapshot_during_conf_change.target"));
  EXPECT_THAT(ErrorOf(Minimal("faults { at_ms: 1 duration_ms: 9 wal_tail_corruption { target { node: 1 } } }")),
              HasSubstr("faults[0].duration_ms: not used by wal_tail_corruption (the node restarts at once)"));
}

TEST(ScenarioTest, SwarmSemantics) {
  EXPECT_THAT(ErrorOf(Minimal("swarm { enabled: true }")),
              HasSubstr("swarm.mean_interval_ms: must be > 0 when swarm is enabled"));
  EXPECT_THAT(ErrorOf(Minimal("swarm { enabled: true mean_interval_ms: 10 min_fault_duration_ms: 50 "
                              "max_fault_duration_ms: 20 }")),
              HasSubstr("swarm.max_fault_duration_ms: 20 is less than min_fault_duration_ms (50)"));
}

TEST(ScenarioTest, ReportsEveryErrorOnItsOwnLine) {
  const std::string error = ErrorOf("nodes: 8\nnetwork { drop_probability: 2 }\n");
  EXPECT_THAT(error, HasSubstr("t.textproto:1:1: nodes: 8"));
  EXPECT_THAT(error, HasSubstr("\nt.textproto: duration_ms:"));
  EXPECT_THAT(error, HasSubstr("\nt.textproto: liveness_bound_ms:"));
  EXPECT_THAT(error, HasSubstr("\nt.textproto:2:11: network.drop_probability"));
}

TEST(ScenarioTest, TextRoundTrip) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kGood, "good.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = ScenarioToText(c->proto, "shrunk from seed 7\nreplay: detcd-sim --seed=7");
  EXPECT_THAT(text, HasSubstr("# shrunk from seed 7\n# replay: detcd-sim --seed=7\n"));
  EXPECT_THAT(text, HasSubstr("nodes: [1, 2]"));
  absl::StatusOr<ScenarioConfig> again = ParseScenarioText(text, "again.textproto");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(again->proto.SerializeAsString(), c->proto.SerializeAsString());
}

TEST(ScenarioTest, ScriptedScenarioReplacesFaultsAndDisablesSwarm) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kGood, "good.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  const simpb::Scenario s = ScriptedScenario(c->proto, {c->faults[2]});
  EXPECT_FALSE(s.swarm().enabled());
  ASSERT_EQ(s.faults_size(), 1);
  EXPECT_TRUE(s.faults(0).has_asymmetric());
  EXPECT_TRUE(ScenarioConfigFromProto(s, "scripted").ok());
}

TEST(ScenarioTest, ConfigFromProtoValidatesWithoutPositions) {
  simpb::Scenario s;
  s.set_duration_ms(1000);
  s.set_liveness_bound_ms(1000);
  s.add_faults()->set_at_ms(5);
  absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(s, "mem");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr("mem: faults[0]: no fault kind"), Not(HasSubstr("mem:1"))));
}

TEST(ScenarioTest, FaultSummaries) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(kGood, "good.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> got;
  for (const simpb::Fault& f : c->faults) got.push_back(FaultSummary(f));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "at 1.000s for 5.000s: isolate leader",
                     "at 2.000s for 3.000s: partition {1 2} {3 4 5}",
                     "at 3.000s for 3.000s: block node 1 -> a follower",
                     "at 4.000s for 3.000s: bridge node 3 between {1 2} and {4 5}",
                     "at 5.000s for 3.000s: clog node 2 -> node 3",
                     "at 6.000s: crash a random node, restart after 2.000s",
                     "at 7.000s for 1.000s: pause node 4",
                     "at 8.000s for 4.000s: clock of node 5 runs x2",
                     "at 9.000s: crash a follower right after its next append acknowledgement, restart after 0.300s",
                     "at 9.500s for 2.000s: crash node 2 right after its next vote grant, restart at the heal",
                     "at 9.700s: crash node 3 right after its next vote grant or append acknowledgement, restart at "
                     "the heal",
                     "at 9.800s: flip a bit in the newest synced WAL record of node 2, restart it at once",
                     "at 9.900s: flip a bit in one of the 3 newest synced WAL records of leader, restart it at once",
                     "at 10.000s for 2.000s: appends to a follower lag 0.500s",
                     "at 11.000s for 1.500s: cut the leader off from every voter, its learners beside it",
                     "at 12.000s for 3.000s: isolate a follower until only a snapshot of a newer configuration can "
                     "catch it up",
                     "at 20.000s: heal everything",
                 }));
}

}  // namespace
}  // namespace detcd::sim
