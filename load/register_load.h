// The register workload (detcd-load's default): clients get, put and compare-and-swap a few keys with unique
// integer values, one thread and one connection per client, and the history of what they saw can be written for
// detcd-check. A request that times out or fails in a way that leaves its outcome open is recorded as "info" and
// its client continues as a new process; one refused before it could take effect ("no leader", connection refused)
// is left out of the history. The end-to-end crash and cluster tests depend on this history's meaning.
#ifndef DETCD_LOAD_REGISTER_LOAD_H_
#define DETCD_LOAD_REGISTER_LOAD_H_

#include "load/load_options.h"

namespace detcd::load {

// Runs the workload for opt.duration, prints the summary (and the `result:` line) on stdout, writes opt.history if
// set. Returns the process exit code: 0, or 1 when the history cannot be written.
int RunRegister(const LoadOptions& opt);

}  // namespace detcd::load

#endif  // DETCD_LOAD_REGISTER_LOAD_H_
