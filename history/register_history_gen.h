// Register history generator (tests and benchmarks only): concurrent clients drive a real sequential key-value
// register under a seeded random interleaving, so the histories it makes are linearizable by construction — each
// operation takes effect atomically at a random moment between its invocation and its completion, or (for an unknown
// outcome) maybe never. It exists to test the checker (history/linearizability.h) against ground truth; it must never
// be used to decide anything about a real history.
#ifndef DETCD_HISTORY_REGISTER_HISTORY_GEN_H_
#define DETCD_HISTORY_REGISTER_HISTORY_GEN_H_

#include <cstdint>

#include "history/history.h"

namespace detcd::history {

struct RegisterWorkloadOptions {
  uint64_t seed = 1;
  int processes = 5;
  int keys = 3;
  int operations = 100;
  // Each operation is a read, a write or (the rest) a cas.
  double read_fraction = 0.4;
  double write_fraction = 0.35;
  // A read or write that fails (does not happen); a cas fails when its compare does not hold, whatever this says.
  double fail_fraction = 0.03;
  // An operation whose outcome is unknown: it takes effect or not (even odds), then completes with "info" or, half of
  // the time, never completes (its process is then retired and a fresh process id takes over, as in Jepsen).
  double unknown_fraction = 0.02;
};

// Every value written (write or cas) is fresh: an integer or a string "v<n>" never written before in the history.
History GenerateRegisterHistory(const RegisterWorkloadOptions& options);

}  // namespace detcd::history

#endif  // DETCD_HISTORY_REGISTER_HISTORY_GEN_H_
