#include "storage/bbolt_writer.h"

#include "base/check.h"
#include "storage/bbolt_stream_writer.h"

namespace detcd::storage {

uint64_t BboltMetaChecksum(const char* meta, size_t bytes) {
  uint64_t h = 14695981039346656037ull;  // FNV-64a offset basis
  for (size_t i = 0; i < bytes; ++i) {
    h ^= static_cast<unsigned char>(meta[i]);
    h *= 1099511628211ull;  // FNV-64 prime
  }
  return h;
}

absl::StatusOr<std::string> BuildBboltFile(const std::vector<BboltBucket>& buckets) {
  // The streaming writer's two passes over the vectors: one packing algorithm, whole file or streamed.
  BboltLayout layout;
  for (const BboltBucket& bucket : buckets) {
    if (absl::Status s = layout.BeginBucket(bucket.name); !s.ok()) return s;
    for (const auto& [key, value] : bucket.items) {
      if (absl::Status s = layout.AddItem(key, value.size()); !s.ok()) return s;
    }
  }
  if (absl::Status s = layout.Finish(); !s.ok()) return s;
  std::string out;
  out.reserve(layout.file_bytes());
  BboltStreamWriter writer(&layout);
  DETCD_CHECK(writer.AppendHead(&out, ~size_t{0}));
  for (size_t b = 0; b < buckets.size(); ++b) {
    writer.BeginBucket(b, &out);
    for (const auto& [key, value] : buckets[b].items) writer.AddItem(key, value, &out);
  }
  writer.Finish(&out);
  DETCD_CHECK(out.size() == layout.file_bytes());
  return out;
}

}  // namespace detcd::storage
