// Fuzz target: the simulator's replica snapshot decoder must refuse any malformed bytes without crashing, and a
// snapshot it accepts must re-encode to bytes it accepts again with the same state.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/replica.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  detcd::sim::Replica r;
  const std::string in(reinterpret_cast<const char*>(data), size);
  if (!r.Restore(in).ok()) return 0;
  detcd::sim::Replica again;
  if (!again.Restore(r.Snapshot()).ok() || again.ids() != r.ids() || again.applied_index() != r.applied_index()) {
    std::abort();
  }
  return 0;
}
