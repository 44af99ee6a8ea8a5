// Fuzz target: the snapshot file decoder over arbitrary bytes — refuse or accept, never crash; what it accepts
// re-encodes to the same file. And the streaming checker (SnapshotFileScanner, what a received or restored snapshot
// goes through) over the same bytes in chunks the input picks: never a crash, and whatever it accepts the whole
// decoder accepts too, with the same metadata and the data where the scanner says it is.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/snapshot_file_scanner.h"
#include "storage/snapshotter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto snap = detcd::storage::DecodeSnapshotFile(in, "fuzz");
  detcd::storage::SnapshotFileScanner scanner("fuzz");
  const size_t chunk = size == 0 ? 1 : 1 + static_cast<uint8_t>(in[size / 2]) % 64;
  bool refused = false;
  for (size_t at = 0; at < size && !refused; at += chunk) refused = !scanner.Add(in.substr(at, chunk)).ok();
  if (!refused) {
    auto layout = scanner.Finish();
    if (layout.ok()) {
      if (!snap.ok() || snap->metadata().SerializeAsString() != layout->metadata.SerializeAsString() ||
          in.substr(layout->data_offset, layout->data_bytes) != snap->data()) {
        std::abort();
      }
    }
  }
  if (!snap.ok()) return 0;
  auto again = detcd::storage::DecodeSnapshotFile(detcd::storage::EncodeSnapshotFile(*snap), "fuzz");
  if (!again.ok() || again->SerializeAsString() != snap->SerializeAsString()) std::abort();
  return 0;
}
