// SeedRange: runs one scenario over a range of seeds and summarizes the results — how many seeds ran and failed,
// simulated time, and for each failure the seed, the checker and the command that replays it. Each seed's run is
// independent of the others, so ranges can be split across machines and their summaries added up.
#ifndef DETCD_SIM_SCENARIOS_SEED_RANGE_H_
#define DETCD_SIM_SCENARIOS_SEED_RANGE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

struct SeedFailure {
  uint64_t seed = 0;
  RunResult result;
};

struct RangeSummary {
  uint64_t seeds_run = 0;
  int64_t simulated_us = 0;
  std::vector<SeedFailure> failures;
  // The worst outcome seen: safety beats liveness beats pass.
  Outcome worst = Outcome::kPass;
};

// Parses "A..B" (inclusive, A <= B) or a single "N".
absl::StatusOr<std::pair<uint64_t, uint64_t>> ParseSeedRange(const std::string& text);

// Counts one seed's result into the summary (seeds may come in any order).
void AddSeedResult(RangeSummary* summary, uint64_t seed, const RunResult& result);

// Runs seeds first..last; after each seed calls progress(seed, result) if given.
RangeSummary RunSeedRange(const ScenarioConfig& scenario, uint64_t first, uint64_t last, const RunOptions& base,
                          const std::function<void(uint64_t, const RunResult&)>& progress);

// The shell command that replays one seed of a scenario; extra_flags (e.g. "--break=x"), if any, at the end.
std::string ReplayCommand(const std::string& binary, const std::string& scenario_path, uint64_t seed,
                          const std::string& extra_flags = "");

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SEED_RANGE_H_
