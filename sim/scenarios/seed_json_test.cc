#include "sim/scenarios/seed_json.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

const RunInvocation kInvocation{"kv_swarm", "testdata/scenarios/kv_swarm.textproto", "detcd-sim"};

bool Has(const std::string& line, const std::string& part) { return line.find(part) != std::string::npos; }

TEST(SeedJson, APassingSeed) {
  SeedRun run;
  run.seed = 42;
  run.wall_s = 0.5;
  run.operations = 300;
  run.result.simulated_us = 61500000;
  run.result.events = 1000;
  run.result.messages_sent = 900;
  run.result.faults = 3;
  run.result.crashes = 1;
  run.result.kv = true;
  run.result.kv_requests = 310;
  run.result.trace_hash = "00ff00ff00ff00ff";
  const std::string line = SeedJsonLine(kInvocation, run);
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(
      Has(line, R"({"type":"seed","scenario":"kv_swarm","scenario_file":"testdata/scenarios/kv_swarm.textproto",)"
                R"("seed":42,"verdict":"pass","checker":"","message":"","failure_time_s":null,"simulated_s":61.500000,)"
                R"("wall_s":0.500000,"events":1000,"messages":900,"faults":3,"crashes":1,)"))
      << line;
  EXPECT_TRUE(Has(line, R"("kv":true,"operations":300,"kv_requests":310,)")) << line;
  EXPECT_TRUE(Has(line, R"("trace_hash":"00ff00ff00ff00ff","replay":)"
                        R"("detcd-sim --scenario=testdata/scenarios/kv_swarm.textproto --seed=42"})"))
      << line;
}

TEST(SeedJson, AFailingSeedWithAnUglyMessage) {
  SeedRun run;
  run.seed = 7;
  run.result.outcome = Outcome::kSafety;
  run.result.checker = "linearizability";
  run.result.detail = "key \"k\\1\"\n\tbad \x01 byte \xff";
  run.result.failure_time_us = 1250000;
  const std::string line = SeedJsonLine(kInvocation, run);
  EXPECT_TRUE(Has(line, R"("verdict":"safety","checker":"linearizability",)"
                        R"("message":"key \"k\\1\"\n\tbad \u0001 byte \ufffd","failure_time_s":1.250000,)"))
      << line;
}

TEST(SeedJson, Summary) {
  RangeSummary summary;
  summary.seeds_run = 10;
  summary.simulated_us = 600000000;
  summary.worst = Outcome::kSafety;
  SeedFailure liveness{9, RunResult{}};
  liveness.result.outcome = Outcome::kLiveness;
  SeedFailure safety{3, RunResult{}};
  safety.result.outcome = Outcome::kSafety;
  summary.failures = {liveness, safety};  // in the order they finished
  const std::string line = SummaryJsonLine(kInvocation, "1..10", 2, summary, 4.0);
  EXPECT_EQ(line, R"({"type":"summary","scenario":"kv_swarm","scenario_file":"testdata/scenarios/kv_swarm.textproto",)"
                  R"("seeds":"1..10","jobs":2,"seeds_run":10,"passed":8,"failed":2,)"
                  R"("failed_by_verdict":{"safety":1,"liveness":1},"failing_seeds":[3,9],"verdict":"safety",)"
                  R"("wall_s":4.000,"simulated_s":600.000,"simulated_s_per_wall_s":150.0,"seeds_per_hour":9000})");
}

TEST(SeedJson, SummaryOfNothingInNoTime) {
  const std::string line = SummaryJsonLine(kInvocation, "5", 1, RangeSummary{}, 0);
  EXPECT_TRUE(Has(line, R"("failing_seeds":[],"verdict":"pass","wall_s":0.000,"simulated_s":0.000,)"
                        R"("simulated_s_per_wall_s":0.0,"seeds_per_hour":0})"))
      << line;
}

}  // namespace
}  // namespace detcd::sim
