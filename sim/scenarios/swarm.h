// Swarm: turns a scenario's swarm settings and the run's seed into a concrete, deterministic list of faults. Swarm
// testing (Groce et al.) varies the fault mix per seed — some seeds only crash, others only partition and clog —
// which finds more bugs than a single fixed mix. Every choice is drawn from the Prng passed in, in a fixed order, so
// the same seed and settings always give the same faults. It never resolves targets (LEADER/FOLLOWER are resolved
// by the harness when a fault starts) and never schedules anything.
#ifndef DETCD_SIM_SCENARIOS_SWARM_H_
#define DETCD_SIM_SCENARIOS_SWARM_H_

#include <cstdint>
#include <vector>

#include "api/scenario.pb.h"
#include "base/prng.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

// The swarm faults for one seed, sorted by at_ms. The seed picks a non-empty subset of the allowed kinds (among
// those possible with this many nodes), a weight per kind and a rate scale in [0.5, 2); faults then start as a
// Poisson process, at most max_concurrent in effect at once, each with a random target and a duration (for a crash,
// a restart delay) in [min_fault_duration_ms, max_fault_duration_ms], cut to end inside the fault phase. Empty if
// the swarm is disabled.
std::vector<simpb::Fault> GenerateSwarmFaults(const SwarmSettings& swarm, int nodes, int64_t duration_ms, Prng* prng);

// A run's whole fault schedule: the scripted faults followed by the seed's swarm faults (drawn, but left out if the
// swarm is draw_only), stably sorted by at_ms.
std::vector<simpb::Fault> FaultSchedule(const ScenarioConfig& config, Prng* prng);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SWARM_H_
