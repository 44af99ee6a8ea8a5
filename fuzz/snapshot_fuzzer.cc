// Fuzz target: the snapshot file decoder over arbitrary bytes — refuse or accept, never crash; what it accepts
// re-encodes to the same file.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/snapshotter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto snap = detcd::storage::DecodeSnapshotFile(in, "fuzz");
  if (!snap.ok()) return 0;
  auto again = detcd::storage::DecodeSnapshotFile(detcd::storage::EncodeSnapshotFile(*snap), "fuzz");
  if (!again.ok() || again->SerializeAsString() != snap->SerializeAsString()) std::abort();
  return 0;
}
