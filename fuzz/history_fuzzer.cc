// Fuzz target: detcd-check's history parser over arbitrary bytes (a user's file) — refuse with a line-numbered error
// or accept, never crash; what it accepts writes back (FormatHistory) to a history that parses to as many operations,
// and the linearizability check runs on it to the end.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "history/history.h"
#include "history/linearizability.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // the search is exponential in the worst case: keep inputs small
  const std::string in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<detcd::history::History> h = detcd::history::ParseHistory(in);
  if (!h.ok()) {
    if (h.status().message().rfind("line ", 0) != 0) std::abort();  // every refusal names the line
    return 0;
  }
  absl::StatusOr<detcd::history::History> again = detcd::history::ParseHistory(detcd::history::FormatHistory(*h));
  if (!again.ok() || again->operations.size() != h->operations.size()) std::abort();
  detcd::history::CheckOptions o;
  o.shrink_budget = absl::ZeroDuration();
  o.max_configurations = 100000;
  (void)detcd::history::CheckLinearizability(*h, o);
  return 0;
}
