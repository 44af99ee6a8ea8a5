// SeedRun: what one seed's run of a scenario reports to whoever ran it — the run's result (without the clients'
// history, which stays where the run happened; only its size travels), and the wall time it took. EncodeSeedRun /
// DecodeSeedRun carry it between the processes of a parallel seed range (parallel_seeds.h) as bytes; the decoder
// trusts nothing it reads and returns an error for any input it did not write.
#ifndef DETCD_SIM_SCENARIOS_SEED_RUN_H_
#define DETCD_SIM_SCENARIOS_SEED_RUN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

struct SeedRun {
  uint64_t seed = 0;
  RunResult result;         // result.history is left empty
  uint64_t operations = 0;  // the register operations the run's history held
  double wall_s = 0;        // wall-clock time the run took (the simulation itself never reads a clock)
};

// Runs one seed of `scenario` with `base`'s options and times it. The clients' history goes to `history` if given.
SeedRun RunOneSeed(const ScenarioConfig& scenario, const RunOptions& base, uint64_t seed,
                   history::History* history = nullptr);

// Every field of a SeedRun (the result's scalar fields included) as bytes, and back.
std::string EncodeSeedRun(const SeedRun& run);
absl::StatusOr<SeedRun> DecodeSeedRun(absl::string_view bytes);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SEED_RUN_H_
