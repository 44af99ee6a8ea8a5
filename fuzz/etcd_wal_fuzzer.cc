// Fuzz target: the etcd WAL reader (member/wal/*.wal of an etcd data directory) over arbitrary bytes, as one segment
// and as two (split where the input's first byte says) — refuse or read, never crash; what it reads has consecutive
// entry indexes; its entries' conf changes and v2 requests decode or are refused, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/etcd_wal_reader.h"

namespace {

void Check(const std::vector<std::pair<std::string, std::string>>& segments) {
  auto wal = detcd::storage::ReadEtcdWal(segments);
  if (!wal.ok()) {
    if (wal.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return;
  }
  for (size_t i = 1; i < wal->entries.size(); ++i) {
    if (wal->entries[i].index != wal->entries[i - 1].index + 1) std::abort();
  }
  for (const auto& e : wal->entries) {
    if (e.type == 1) (void)detcd::storage::DecodeEtcdConfChange(e.data);
    if (e.type == 0) (void)detcd::storage::DecodeEtcdV2Request(e.data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  Check({{"0000000000000000-0000000000000000.wal", in}});
  const size_t split = size == 0 ? 0 : static_cast<uint8_t>(in[0]) * size / 256;
  Check({{"0000000000000000-0000000000000000.wal", in.substr(0, split)},
         {"0000000000000001-0000000000000002.wal", in.substr(split)}});
  return 0;
}
