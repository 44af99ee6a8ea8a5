// Fuzz target: the bbolt reader (etcd's backend file, member/snap/db, read when a member starts on an etcd data
// directory) over arbitrary bytes — refuse or read, never crash, loop or read outside the input; what it reads has
// keys strictly increasing in every bucket.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/bbolt_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto db = detcd::storage::ReadBboltDatabase(in);
  if (!db.ok()) {
    if (db.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  for (const auto& [name, items] : db->buckets) {
    if (name.empty()) std::abort();
    for (size_t i = 1; i < items.size(); ++i) {
      if (!(items[i - 1].first < items[i].first)) std::abort();
    }
  }
  return 0;
}
