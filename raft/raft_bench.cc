// Benchmarks of the Raft core alone: entries committed per second through an in-memory 3-node cluster (no disk, no
// network latency: this measures the core's own cost per entry), at several proposal batch sizes and entry sizes.
#include <string>

#include "benchmark/benchmark.h"
#include "raft/rafttest/memory_cluster.h"

namespace detcd::raft {
namespace {

void BM_CommitThroughThreeNodes(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const std::string value(static_cast<size_t>(state.range(1)), 'v');
  rafttest::MemoryCluster cluster(3);
  if (!cluster.Elect(1)) {
    state.SkipWithError("no leader");
    return;
  }
  int64_t committed = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      if (!cluster.node(1).Propose(value).ok()) state.SkipWithError("proposal dropped");
    }
    cluster.Stabilize();
    committed += batch;
    // Keep memory bounded: compaction is not part of this measurement.
    if (cluster.node(1).raft().log().LastIndex() > 200000) {
      state.PauseTiming();
      cluster = rafttest::MemoryCluster(3);
      cluster.Elect(1);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(committed);
  state.SetBytesProcessed(committed * static_cast<int64_t>(value.size()));
}
BENCHMARK(BM_CommitThroughThreeNodes)->ArgsProduct({{1, 16, 256}, {256}})->Args({64, 4096});

}  // namespace
}  // namespace detcd::raft

BENCHMARK_MAIN();
