// Google Benchmark for CRC-32C (base/crc32c), the checksum of every WAL record and snapshot file: the tables every
// CPU can run and the SSE4.2 instruction Crc32cExtend uses where the CPU has it, over a WAL record's typical sizes.
// Run: bazel run -c opt //bench:crc32c_bench   (figures in docs/performance.md)
#include <cstdint>
#include <string>

#include "base/crc32c.h"
#include "benchmark/benchmark.h"

namespace detcd {
namespace {

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 7);
  return s;
}

// One CRC over a run of state.range(0) bytes per iteration, with `extend` (one of Crc32cExtend's two paths).
void BM_Crc32c(benchmark::State& state, uint32_t (*extend)(uint32_t, const char*, size_t), bool needs_hardware) {
  if (needs_hardware && !crc32c_internal::HaveHardware()) {
    state.SkipWithError("no SSE4.2 on this CPU");
    return;
  }
  const std::string data = Bytes(static_cast<size_t>(state.range(0)));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = extend(crc, data.data(), data.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK_CAPTURE(BM_Crc32c, Portable, &crc32c_internal::ExtendPortable, false)
    ->Arg(64)
    ->Arg(512)
    ->Arg(4096)
    ->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_Crc32c, Hardware, &crc32c_internal::ExtendHardware, true)
    ->Arg(64)
    ->Arg(512)
    ->Arg(4096)
    ->Arg(1 << 20);

}  // namespace
}  // namespace detcd

BENCHMARK_MAIN();
