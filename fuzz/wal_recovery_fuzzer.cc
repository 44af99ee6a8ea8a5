// Fuzz target: WAL recovery over arbitrary segment files. The input is split at "\n--\n" into up to four segment
// files of member 1 on a simulated disk; Wal::Open must either refuse with an error or return a contiguous log
// starting at index 1 — never crash, and never hand back entries out of order.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/world/sim_disk.h"
#include "storage/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  detcd::sim::SimDisk disk;
  const std::string dir = "/d/wal";
  if (!disk.MkdirAll(dir).ok()) std::abort();
  size_t start = 0;
  for (uint64_t seq = 0; seq < 4 && start <= in.size(); ++seq) {
    size_t end = in.find("\n--\n", start);
    if (end == std::string::npos) end = in.size();
    auto f = disk.Create(detcd::storage::JoinPath(dir, detcd::storage::SegmentName(seq, seq * 10 + 1)));
    if (!f.ok() || !(*f)->Append(in.substr(start, end - start)).ok()) std::abort();
    start = end + 4;
  }
  detcd::storage::WalOptions options;
  options.segment_bytes = 4096;
  auto r = detcd::storage::Wal::Open(&disk, dir, 1, options);
  if (!r.ok()) return 0;
  for (size_t i = 0; i < r->entries.size(); ++i) {
    if (r->entries[i].index() != i + 1) std::abort();
  }
  // A recovered WAL accepts appends.
  detcd::raftpb::Entry e;
  e.set_index(r->entries.size() + 1);
  e.set_term(1);
  (void)r->wal->Save(nullptr, {e});
  return 0;
}
