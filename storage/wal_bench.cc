// WAL append throughput on the real disk (PosixDisk): 256-byte entries saved in batches of 1, 16 and 256 entries, one
// fdatasync per batch (group commit), plus the bare syncs per second. Directory: $DETCD_BENCH_DIR, else /var/tmp.
// Compare with fio on the same disk (docs/performance.md).
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "storage/posix_disk.h"
#include "storage/wal.h"

namespace detcd::storage {
namespace {

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("DETCD_BENCH_DIR");
  const std::string dir = absl::StrCat(base ? base : "/var/tmp", "/detcd-wal-bench-", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

void BM_WalAppendSync(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  PosixDisk disk;
  const std::string dir = BenchDir(absl::StrCat("batch", batch));
  WalOptions options;  // 64 MiB segments, as etcd
  auto wal = Wal::Create(&disk, dir, 1, options);
  if (!wal.ok()) {
    state.SkipWithError(std::string(wal.status().message()).c_str());
    return;
  }
  uint64_t index = 1;
  std::vector<raftpb::Entry> entries(batch);
  raftpb::HardState hs;
  hs.set_term(1);
  for (auto _ : state) {
    for (raftpb::Entry& e : entries) {
      e.set_term(1);
      e.set_index(index++);
      e.set_data(std::string(256, 'v'));
    }
    hs.set_commit(index - 1);
    if (!(*wal)->Save(&hs, entries).ok() || !(*wal)->Sync().ok()) {
      state.SkipWithError("wal write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(static_cast<int64_t>((*wal)->stats().bytes));
  state.counters["syncs_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  wal->reset();
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
}
BENCHMARK(BM_WalAppendSync)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace detcd::storage
