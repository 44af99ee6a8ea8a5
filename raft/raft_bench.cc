// Benchmarks of the Raft core alone: entries committed per second through an in-memory 3-node cluster (no disk, no
// network latency: this measures the core's own cost per entry), at several proposal batch sizes and entry sizes.
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "raft/log.h"
#include "raft/rafttest/memory_cluster.h"
#include "raft/storage.h"

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

// What a leader pays to build one MsgApp for a follower `backlog` entries behind (256-byte entries in storage, etcd's
// 1 MiB message limit): the slice it copies into the message. Before the slice copied only what fits, it copied the
// whole backlog and trimmed it, so catching a follower up cost O(backlog) per message.
void BM_SliceForLaggingFollower(benchmark::State& state) {
  const uint64_t backlog = static_cast<uint64_t>(state.range(0));
  MemoryStorage storage;
  std::vector<raftpb::Entry> entries;
  entries.reserve(backlog);
  for (uint64_t i = 1; i <= backlog; ++i) {
    raftpb::Entry e;
    e.set_index(i);
    e.set_term(1);
    e.set_data(std::string(256, 'v'));
    entries.push_back(std::move(e));
  }
  storage.Append(entries);
  RaftLog log(&storage, UINT64_MAX);
  constexpr uint64_t kMaxSizePerMsg = 1 << 20;
  for (auto _ : state) {
    std::vector<raftpb::Entry> slice = log.Slice(1, backlog + 1, kMaxSizePerMsg);
    benchmark::DoNotOptimize(slice.data());
  }
}
BENCHMARK(BM_SliceForLaggingFollower)->Arg(1000)->Arg(10000)->Arg(100000);

}  // namespace
}  // namespace detcd::raft

BENCHMARK_MAIN();
