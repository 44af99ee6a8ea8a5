// SeedJson: detcd-sim's machine-readable results, one JSON object per line — one per seed as it finishes
// ({"type":"seed",...}) and one for the whole run ({"type":"summary",...}) — the lines a batch system or a dashboard
// reads. Field names are a contract with those readers: add fields, never rename or remove one. Formatting only: it
// runs nothing and prints nothing.
#ifndef DETCD_SIM_SCENARIOS_SEED_JSON_H_
#define DETCD_SIM_SCENARIOS_SEED_JSON_H_

#include <string>

#include "sim/scenarios/runner.h"
#include "sim/scenarios/seed_range.h"
#include "sim/scenarios/seed_run.h"

namespace detcd::sim {

// "pass", "safety" or "liveness": an outcome as the JSON lines' "verdict" names it.
const char* OutcomeVerdict(Outcome o);

// Where and how a run was asked for: the same on every line of one detcd-sim invocation.
struct RunInvocation {
  std::string scenario_name;
  std::string scenario_file;
  std::string binary;       // argv[0], for the replay commands
  std::string extra_flags;  // the flags a replay needs besides scenario and seed (--break=…), if any
};

// One seed's line (no newline): verdict, checker, message, times, counts and trace hash, and the replay command.
std::string SeedJsonLine(const RunInvocation& invocation, const SeedRun& run);

// The summary line (no newline): seeds run, passed and failed (by outcome), the failing seeds in order, the worst
// verdict, wall time and speed. `seeds` is the range as given ("1..100", or one seed).
std::string SummaryJsonLine(const RunInvocation& invocation, const std::string& seeds, int jobs,
                            const RangeSummary& summary, double wall_s);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SEED_JSON_H_
