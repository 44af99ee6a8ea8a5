// Simulator speed: simulated seconds per wall second for a 5-node cluster under a 100 proposals/s workload, with a
// quiet network and with swarm faults. Reported as the rate counter "sim_seconds" (simulated seconds per second).
#include "benchmark/benchmark.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {
namespace {

const char kSteady[] = R"pb(
  name: "bench_steady" description: "5 nodes, 100 proposals/s, no faults"
  nodes: 5 duration_ms: 10000 liveness_bound_ms: 10000
  workload { proposals_per_sec: 100 clients: 4 }
)pb";

const char kSwarm[] = R"pb(
  name: "bench_swarm" description: "5 nodes, 100 proposals/s, swarm faults"
  nodes: 5 duration_ms: 10000 liveness_bound_ms: 10000
  workload { proposals_per_sec: 100 clients: 4 }
  network { drop_probability: 0.01 duplicate_probability: 0.01 reorder_probability: 0.02 }
  swarm { enabled: true mean_interval_ms: 1000 }
)pb";

void RunBench(benchmark::State& state, const char* text) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(text, "bench.textproto");
  if (!c.ok()) {
    state.SkipWithError(std::string(c.status().message()).c_str());
    return;
  }
  uint64_t seed = 1;
  double simulated_s = 0, events = 0;
  for (auto _ : state) {
    RunOptions o;
    o.seed = seed++;
    const RunResult r = RunScenario(*c, o);
    if (r.outcome != Outcome::kPass) state.SkipWithError(r.detail.c_str());
    simulated_s += static_cast<double>(r.simulated_us) / 1e6;
    events += static_cast<double>(r.events);
  }
  state.counters["sim_seconds"] = benchmark::Counter(simulated_s, benchmark::Counter::kIsRate);
  state.counters["events"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
}

void BM_FiveNodesSteady(benchmark::State& state) { RunBench(state, kSteady); }
void BM_FiveNodesSwarm(benchmark::State& state) { RunBench(state, kSwarm); }
BENCHMARK(BM_FiveNodesSteady)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FiveNodesSwarm)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace detcd::sim

BENCHMARK_MAIN();
