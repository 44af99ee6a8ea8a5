// Test helpers for showing that the checkers catch a deliberately broken system: run a scenario of
// testdata/scenarios over seeds 1..N with test-only faults until one fails, and run one seed without them.
// Test-only (needs the scenario files as test data).
#ifndef DETCD_SIM_SCENARIOS_SEED_SEARCH_H_
#define DETCD_SIM_SCENARIOS_SEED_SEARCH_H_

#include <cstdint>
#include <string>

#include "sim/scenarios/runner.h"

namespace detcd::sim {

struct Caught {
  uint64_t seed = 0;  // 0: no seed failed
  RunResult result;
};

// Runs `scenario` (a name in testdata/scenarios) for seeds 1..max_seeds with `broken` (its seed ignored) until a
// run does not pass. A scenario that does not load is reported as a test failure and caught nothing.
Caught FirstFailure(const std::string& scenario, const RunOptions& broken, uint64_t max_seeds);

// The outcome of one seed of `scenario` with nothing broken.
RunResult RunHealthy(const std::string& scenario, uint64_t seed);

// The outcome of `options.seed` of `scenario` run with `options` (broken knobs and all).
RunResult RunSeed(const std::string& scenario, const RunOptions& options);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SEED_SEARCH_H_
