// ParallelSeeds: runs a range of seeds on worker processes — each seed's run is independent and deterministic, so
// where it runs changes nothing in its result or trace hash. The parent forks the workers, hands each one seed at a
// time over a socket, and collects the results; it sees each result whole, one at a time, in the order the seeds
// finish. A worker that dies while it holds a seed (a CHECK failure, a signal) costs exactly that seed, which is
// reported as failed; a new worker takes the seeds that are left. It knows nothing of output formats.
#ifndef DETCD_SIM_SCENARIOS_PARALLEL_SEEDS_H_
#define DETCD_SIM_SCENARIOS_PARALLEL_SEEDS_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "sim/scenarios/seed_run.h"

namespace detcd::sim {

// The checker named by the failure of a seed whose worker process died while running it.
inline constexpr char kWorkerDiedChecker[] = "worker";

// Runs seeds first..last (inclusive) with `run_seed`, `jobs` processes at a time, and calls `done` in this process
// for each result as it arrives. jobs == 1 runs every seed here, in seed order, without forking. A seed whose worker
// died is reported as a safety failure by checker kWorkerDiedChecker, with how the worker ended in its detail.
// Errors: jobs < 1, or the OS refusing a socket or a process (seeds not yet run are then not reported).
absl::Status RunSeedsInWorkers(uint64_t first, uint64_t last, int jobs,
                               const std::function<SeedRun(uint64_t)>& run_seed,
                               const std::function<void(const SeedRun&)>& done);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_PARALLEL_SEEDS_H_
