// Google Benchmark for the MVCC store and the watch hub, at etcd's reference size: 1M keys of 64 bytes with 256-byte
// values (etcd's storage memory benchmark, which documents ~470 MB RSS for that load). It measures puts into and
// ranges over the loaded store, one revision fanned out to 1..1000 synced watchers, history replayed to an unsynced
// watcher, and the resident memory the 1M keys cost. The 1M-key store is built once per process and shared (building
// it takes seconds); the memory figures are taken while it is built, so they hold whichever benchmark builds it.
// Run: bazel run -c opt //kv:mvcc_bench -- --benchmark_min_time=0.2   (figures in docs/performance.md)
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kv/mvcc_store.h"
#include "kv/state_snapshot_writer.h"
#include "kv/watch_hub.h"

namespace detcd::kv {
namespace {

constexpr int64_t kMillion = 1'000'000;
constexpr size_t kKeyBytes = 64;     // etcd's memory benchmark uses 64-byte keys
constexpr size_t kValueBytes = 256;  // and 256-byte values
constexpr int64_t kKeysPerPrefix = 100;

// Key i: "key/" + i in 10 digits + "/" padded to 64 bytes, so that bytewise order is numeric order and the first
// 12 bytes ("key/" + 8 digits) name a block of exactly 100 consecutive keys.
std::string Key(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key/%010lld/", static_cast<long long>(i));
  std::string k(buf);
  k.resize(kKeyBytes, 'k');
  return k;
}
std::string BlockPrefix(int64_t block) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key/%08lld", static_cast<long long>(block));
  return buf;
}
// etcd's GetPrefixRangeEnd for a prefix whose last byte is not 0xff.
std::string PrefixEnd(std::string prefix) {
  ++prefix.back();
  return prefix;
}

// Resident set of this process now (/proc/self/statm), and its peak so far (getrusage).
int64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size_pages = 0, resident_pages = 0;
  const int n = std::fscanf(f, "%lld %lld", &size_pages, &resident_pages);
  std::fclose(f);
  return n == 2 ? resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE)) : 0;
}
int64_t MaxResidentBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

// A store holding keys [0, n), one version each, and what loading it cost.
struct LoadedStore {
  MvccStore store;
  int64_t keys = 0;
  int64_t rss_before = 0, rss_after = 0;
  int64_t heap_before = 0, heap_after = 0;
  double load_seconds = 0;
};

// Built on first use and kept for the process: every benchmark at n keys shares one (puts add versions to it).
LoadedStore& StoreWith(int64_t n) {
  static auto* stores = new std::map<int64_t, std::unique_ptr<LoadedStore>>();
  std::unique_ptr<LoadedStore>& slot = (*stores)[n];
  if (slot != nullptr) return *slot;
  const std::string value(kValueBytes, 'v');
  const int64_t rss_before = ResidentBytes();
  const int64_t heap_before = static_cast<int64_t>(mallinfo2().uordblks);
  const auto start = std::chrono::steady_clock::now();
  slot = std::make_unique<LoadedStore>();
  for (int64_t i = 0; i < n; ++i) {
    MvccStore::WriteTxn txn(&slot->store);
    txn.Put(Key(i), value, 0, nullptr);
  }
  slot->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  slot->keys = n;
  slot->rss_before = rss_before;
  slot->rss_after = ResidentBytes();
  slot->heap_before = heap_before;
  slot->heap_after = static_cast<int64_t>(mallinfo2().uordblks);
  return *slot;
}

// Registered first so that, in a full run, the 1M-key store is loaded into a fresh process: the process RSS is then
// (almost) the store's.
void BM_MemoryPerKey(benchmark::State& state) {
  const LoadedStore& l = StoreWith(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(l.store.rev());
  const double keys = static_cast<double>(l.keys);
  state.counters["rss_bytes_per_key"] = static_cast<double>(l.rss_after - l.rss_before) / keys;
  state.counters["rss_MB_process"] = static_cast<double>(l.rss_after) / 1e6;
  state.counters["max_rss_MB"] = static_cast<double>(MaxResidentBytes()) / 1e6;
  state.counters["heap_bytes_per_key"] = static_cast<double>(l.heap_after - l.heap_before) / keys;
  state.counters["quota_bytes_per_key"] = static_cast<double>(l.store.bytes()) / keys;  // the store's own count
  state.counters["load_keys_per_s"] = keys / l.load_seconds;
}
BENCHMARK(BM_MemoryPerKey)->Arg(kMillion)->Iterations(1)->Unit(benchmark::kMillisecond);

// etcd's HashKV over the whole store (`etcdctl endpoint hashkv`, the corruption checks): it runs on the thread that
// owns the store, so its time is how long a member stops applying for one.
void BM_HashKVWholeStore(benchmark::State& state) {
  LoadedStore& l = StoreWith(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(l.store.HashKV(0));
}
BENCHMARK(BM_HashKVWholeStore)->Arg(kMillion)->Iterations(3)->Unit(benchmark::kMillisecond);

// How long a snapshot blocks the thread that owns the store. Before: the whole store serialized in one go
// (MvccStore::Serialize, what NodeCore did every snapshot_count entries). After: one StateSnapshotWriter step of
// NodeCore's default chunk (8192 versions); the counters give the longest step and the whole snapshot's time.
void BM_SnapshotWholeStore(benchmark::State& state) {
  LoadedStore& l = StoreWith(state.range(0));
  for (auto _ : state) {
    std::string bytes = l.store.Serialize();
    benchmark::DoNotOptimize(bytes.data());
    state.counters["snapshot_MB"] = static_cast<double>(bytes.size()) / 1e6;
  }
}
BENCHMARK(BM_SnapshotWholeStore)->Arg(kMillion)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_SnapshotInChunks(benchmark::State& state) {
  LoadedStore& l = StoreWith(state.range(0));
  const size_t chunk = static_cast<size_t>(state.range(1));
  for (auto _ : state) {
    double step_ms_max = 0;
    int steps = 0;
    l.store.Pin(l.store.rev());
    StateSnapshotWriter w(kvpb::StateSnapshot(), l.store);
    for (bool done = false; !done; ++steps) {
      const auto start = std::chrono::steady_clock::now();
      done = w.Step(l.store, chunk);
      step_ms_max = std::max(step_ms_max,
                             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::string bytes = w.Finish();
    l.store.Unpin();
    benchmark::DoNotOptimize(bytes.data());
    state.counters["step_ms_max"] = step_ms_max;
    state.counters["steps"] = steps;
    state.counters["snapshot_MB"] = static_cast<double>(bytes.size()) / 1e6;
  }
}
BENCHMARK(BM_SnapshotInChunks)->Args({kMillion, 8192})->Iterations(3)->Unit(benchmark::kMillisecond);

// One put (a write transaction of one overwrite of an existing key, scattered over the keyspace) per iteration.
void BM_Put(benchmark::State& state) {
  LoadedStore& l = StoreWith(state.range(0));
  const std::string value(kValueBytes, 'w');
  static int64_t next = 0;  // carries on across runs, so repeated runs do not rewrite the same keys
  for (auto _ : state) {
    MvccStore::WriteTxn txn(&l.store);
    txn.Put(Key((next++ * 7919) % l.keys), value, 0, nullptr);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Put)->Arg(1000)->Arg(kMillion)->Unit(benchmark::kMicrosecond);

void BM_RangeOneKey(benchmark::State& state) {
  const LoadedStore& l = StoreWith(state.range(0));
  int64_t i = 0;
  for (auto _ : state) {
    auto r = l.store.Range(Key((i++ * 7919) % l.keys), "", RangeOptions{});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeOneKey)->Arg(1000)->Arg(kMillion)->Unit(benchmark::kMicrosecond);

// A prefix read ("key/NNNNNNNN", end = prefix + 1) that holds exactly 100 keys.
void BM_RangePrefix100Keys(benchmark::State& state) {
  const LoadedStore& l = StoreWith(state.range(0));
  const int64_t blocks = l.keys / kKeysPerPrefix;
  int64_t i = 0;
  for (auto _ : state) {
    const std::string prefix = BlockPrefix((i++ * 7919) % blocks);
    auto r = l.store.Range(prefix, PrefixEnd(prefix), RangeOptions{});
    if (!r.ok() || r->count != kKeysPerPrefix) {
      state.SkipWithError("prefix range did not hold 100 keys");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kKeysPerPrefix);
}
BENCHMARK(BM_RangePrefix100Keys)->Arg(kMillion)->Unit(benchmark::kMicrosecond);

// One revision (a put of one key) delivered to range(0) synced watchers of that key, spread over range(1) streams:
// the put, WatchHub::OnApplied and taking every stream's responses. The row with 0 watchers is the put alone.
void BM_WatchFanOut(benchmark::State& state) {
  const int64_t watchers = state.range(0);
  const int64_t streams = state.range(1);
  MvccStore store;
  WatchHub hub(&store, WatchHubOptions());
  std::vector<WatchHub::StreamId> ids;
  for (int64_t s = 0; s < streams; ++s) ids.push_back(hub.OpenStream());
  const std::string key = Key(42);
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key(key);
  for (int64_t w = 0; w < watchers; ++w) hub.Request(ids[w % streams], create);
  for (WatchHub::StreamId s : ids) hub.TakeResponses(s);  // the "created" responses
  if (hub.watchers() != static_cast<size_t>(watchers)) state.SkipWithError("watchers not created");
  const std::string value(kValueBytes, 'v');
  int64_t delivered = 0;
  for (auto _ : state) {
    std::vector<mvccpb::Event> events;
    {
      MvccStore::WriteTxn txn(&store);
      txn.Put(key, value, 0, nullptr);
      events = txn.End();
    }
    hub.OnApplied(store.rev(), events);
    for (WatchHub::StreamId s : ids) {
      for (const etcdserverpb::WatchResponse& r : hub.TakeResponses(s)) delivered += r.events_size();
    }
    if (store.rev() % 4096 == 0) {  // keep the key's history short; compaction is not measured
      state.PauseTiming();
      (void)store.Compact(store.rev());
      state.ResumeTiming();
    }
  }
  if (delivered != static_cast<int64_t>(state.iterations()) * watchers) state.SkipWithError("events lost");
  state.SetItemsProcessed(delivered);  // events delivered per second
  state.counters["revisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WatchFanOut)
    ->ArgNames({"watchers", "streams"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({100, 1})
    ->Args({1000, 1})
    ->Args({1000, 1000})
    ->Unit(benchmark::kMicrosecond);

// History for replay: 100k revisions, one put each, over 1000 keys (100 versions per key), 256-byte values.
constexpr int64_t kHistoryRevisions = 100'000;
constexpr int64_t kHistoryKeys = 1000;
const MvccStore& HistoryStore() {
  static const MvccStore* store = [] {
    auto* s = new MvccStore();
    const std::string value(kValueBytes, 'h');
    for (int64_t r = 0; r < kHistoryRevisions; ++r) {
      MvccStore::WriteTxn txn(s);
      txn.Put(Key((r * 7919) % kHistoryKeys), value, 0, nullptr);
    }
    return s;
  }();
  return *store;
}

// A watcher created at start_revision 1 on the history store, replayed until it is synced (SyncStep and taking
// responses in turn, as a server loop would), then dropped. range(0): 0 = a prefix holding every key (every revision
// is an event for it), 1 = a single key (one revision in 1000 is).
void BM_WatchReplayHistory(benchmark::State& state) {
  const MvccStore& store = HistoryStore();
  WatchHub hub(&store, WatchHubOptions());
  etcdserverpb::WatchRequest create;
  etcdserverpb::WatchCreateRequest* c = create.mutable_create_request();
  if (state.range(0) == 0) {
    c->set_key("key/");
    c->set_range_end(PrefixEnd("key/"));
  } else {
    c->set_key(Key(7));
  }
  c->set_start_revision(1);
  const int64_t expected = state.range(0) == 0 ? kHistoryRevisions : kHistoryRevisions / kHistoryKeys;
  int64_t delivered = 0;
  for (auto _ : state) {
    const WatchHub::StreamId s = hub.OpenStream();
    int64_t events = 0;
    auto drain = [&] {
      for (const etcdserverpb::WatchResponse& r : hub.TakeResponses(s)) events += r.events_size();
    };
    hub.Request(s, create);
    drain();
    while (hub.SyncStep()) drain();
    drain();
    hub.CloseStream(s);
    if (events != expected) {
      state.SkipWithError("replay did not deliver every event");
      break;
    }
    delivered += events;
  }
  state.SetItemsProcessed(delivered);  // events delivered per second
  state.counters["revisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kHistoryRevisions), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WatchReplayHistory)->ArgName("one_key")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace detcd::kv

BENCHMARK_MAIN();
