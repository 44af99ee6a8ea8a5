// Shrinker: turns a failing seed of any scenario into the smallest scenario file that still fails the same way
// (detcd-sim --shrink). It runs the seed once and records the fault schedule it produced; writes that schedule as
// scripted faults, with the swarm kept only to draw (Swarm.draw_only, so the seed's other random choices stay as they
// were) and seed_offset set so that --seed=1 replays it; then, while the same checker still fails, it drops faults
// (halves, quarters… then one at a time), removes nodes, shortens faults, lightens the clients' workload, moves
// faults earlier and shortens the fault phase. Greedy, each step kept only if the run still fails with the same checker
// (under its seed or one of a few next ones, which it then takes); bounded by a number of runs. It runs simulations
// only: no IO, no clock (the caller times and prints).
#ifndef DETCD_SIM_SCENARIOS_SHRINKER_H_
#define DETCD_SIM_SCENARIOS_SHRINKER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/scenario.pb.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

struct ShrinkOptions {
  RunOptions run;      // as the failing seed ran (testing knobs); its seed is ignored
  int max_runs = 400;  // simulations, the first two included
  // A candidate that no longer fails under its seed is tried under this many seeds in all (the first that fails the
  // same way becomes its seed): dropping a fault moves every later random choice, which can hide the failure by
  // chance rather than because the fault was needed.
  int seeds_per_candidate = 8;
  // After each kept step: a line saying what shrank (for a progress display).
  std::function<void(const std::string&)> progress;
  // Optional: runs whole scenarios (each under --seed=1) and returns their results in the same order, possibly at
  // once (detcd-sim --shrink --jobs: worker processes). A result may lack what does not travel between processes
  // (the history, the fault schedule). A candidate's next `together` seeds are handed over at a time and looked at in
  // order, counted as one at a time would count them: the result is the same whatever `together` is. Null: one run
  // at a time, here.
  std::function<std::vector<RunResult>(const std::vector<ScenarioConfig>&, const RunOptions&)> run_together;
  int together = 1;
};

// What a run amounted to, for "before -> after".
struct ShrinkSize {
  size_t faults = 0;
  uint64_t requests = 0;  // client requests sent
  int nodes = 0;
  int64_t duration_ms = 0;  // the fault phase
};

struct ShrinkResult {
  simpb::Scenario scenario;  // the smallest that still fails: replays with --seed=1
  RunResult original;        // the seed's run
  RunResult last;            // the shrunk scenario's run (fails with original.checker)
  ShrinkSize before, after;
  int runs = 0;
};

// Errors: FailedPrecondition if the seed passes, Internal if its recorded schedule does not reproduce the failure
// (a simulator determinism bug: report it).
absl::StatusOr<ShrinkResult> Shrink(const ScenarioConfig& scenario, uint64_t seed, const ShrinkOptions& options);

// "faults 14 -> 2, client requests 5123 -> 812, nodes 5 -> 3, fault phase 60.0s -> 12.0s (83 runs)".
std::string ShrinkSummary(const ShrinkResult& r);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SHRINKER_H_
