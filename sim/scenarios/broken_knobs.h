// Broken knobs by name (detcd-sim --break=a,b): deliberately broken Raft and etcd members — the simulator's own
// tests' bugs (sim/scenarios/broken_*_test) — so that its tools (--shrink, --html, --json) can be tried on a seed
// that fails, as a user would meet one. For testing the simulator only: a run with any of them says nothing about
// detcd. Parsing only: it never runs anything.
#ifndef DETCD_SIM_SCENARIOS_BROKEN_KNOBS_H_
#define DETCD_SIM_SCENARIOS_BROKEN_KNOBS_H_

#include <string>

#include "absl/status/status.h"
#include "sim/scenarios/runner.h"

namespace detcd::sim {

// Turns on each knob named in the comma-separated `list`. InvalidArgument naming an unknown knob (and the known ones).
absl::Status ApplyBrokenKnobs(const std::string& list, RunOptions* options);

// The known names, comma-separated.
std::string BrokenKnobNames();

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_BROKEN_KNOBS_H_
