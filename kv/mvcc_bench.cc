// Google Benchmark for the MVCC store: puts and ranges over a store of N keys (up to 1M, etcd's reference size),
// and the memory a key costs (heap bytes per key with 256-byte values, etcd documents ~470 MB RSS for 1M keys).
// Run: bazel run -c opt //kv:mvcc_bench
#include <malloc.h>

#include <cstdio>
#include <string>

#include "benchmark/benchmark.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {
namespace {

std::string Key(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key/%012lld", static_cast<long long>(i));
  return buf;
}

void Fill(MvccStore* s, int64_t n, const std::string& value) {
  for (int64_t i = 0; i < n; ++i) {
    MvccStore::WriteTxn txn(s);
    txn.Put(Key(i), value, 0, nullptr);
  }
}

void BM_Put(benchmark::State& state) {
  MvccStore s;
  const std::string value(256, 'v');
  Fill(&s, state.range(0), value);
  int64_t i = 0;
  for (auto _ : state) {
    MvccStore::WriteTxn txn(&s);
    txn.Put(Key(i++ % state.range(0)), value, 0, nullptr);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Put)->Arg(1000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

void BM_RangeOneKey(benchmark::State& state) {
  MvccStore s;
  Fill(&s, state.range(0), std::string(256, 'v'));
  int64_t i = 0;
  for (auto _ : state) {
    auto r = s.Range(Key((i++ * 7919) % state.range(0)), "", RangeOptions{});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeOneKey)->Arg(1000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

void BM_Range100Keys(benchmark::State& state) {
  MvccStore s;
  Fill(&s, state.range(0), std::string(256, 'v'));
  int64_t i = 0;
  for (auto _ : state) {
    const int64_t from = (i++ * 7919) % (state.range(0) - 100);
    RangeOptions o;
    o.limit = 100;
    auto r = s.Range(Key(from), Key(from + 100), o);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Range100Keys)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

void BM_MemoryPerKey(benchmark::State& state) {
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    auto s = std::make_unique<MvccStore>();
    Fill(s.get(), state.range(0), std::string(256, 'v'));
    const size_t after = mallinfo2().uordblks;
    state.counters["heap_bytes_per_key"] = static_cast<double>(after - before) / static_cast<double>(state.range(0));
    state.counters["heap_MB_total"] = static_cast<double>(after - before) / 1e6;
  }
}
BENCHMARK(BM_MemoryPerKey)->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace detcd::kv

BENCHMARK_MAIN();
