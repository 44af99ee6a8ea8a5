// BboltReader: reads the buckets out of a bbolt database file (go.etcd.io/bbolt, etcd's backend: member/snap/db) so a
// member can start on an etcd data directory. The file is input from the user's disk, possibly cut short, corrupt or
// hostile: every page id, offset, length and count is checked against the file before it is used, every page is
// reached at most once (a cycle or a page shared by two trees is refused), trees are at most kDepthMax levels deep,
// and keys must increase through each bucket. Any of that is refused with DataLoss naming the page
// ("bbolt page <id>: <why>"), never a crash, an endless loop or a read outside the file. Pure: the caller reads the
// file.
//
// What it reads, as bbolt's Open does: the meta page (0 or 1) that checks out (magic, version 2, FNV-64a checksum)
// with the higher transaction id, its page size, high-water mark and root bucket; the root bucket's buckets, each
// with pages of its own or inline in its value. It ignores the freelist (free pages hold nothing a tree points at)
// and refuses what etcd's backend never has: nested buckets, plain values in the root bucket.
#ifndef DETCD_STORAGE_BBOLT_READER_H_
#define DETCD_STORAGE_BBOLT_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::storage {

struct BboltDatabase {
  uint64_t txid = 0;
  uint64_t page_bytes = 0;
  uint64_t high_water_pgid = 0;
  // Bucket name → its key/value pairs, keys strictly increasing (bytewise).
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> buckets;
};

inline constexpr int kBboltReaderDepthMax = 64;

absl::StatusOr<BboltDatabase> ReadBboltDatabase(absl::string_view file);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_BBOLT_READER_H_
