// BboltTestReader (tests only): reads a bbolt file back, independently of BboltWriter's code, checking what bbolt's
// Open and tx.Check check: both meta pages (magic, version, page size, FNV-64a checksum), page ids and types, every
// page below the high-water mark reached exactly once or free, keys sorted and within their parents' bounds, nodes
// within their pages. Reads the root bucket's buckets (inline or not) one level deep, as etcd's backend uses them;
// a nested bucket is an error. Never used outside tests.
#ifndef DETCD_STORAGE_BBOLT_TEST_READER_H_
#define DETCD_STORAGE_BBOLT_TEST_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::storage {

struct BboltContents {
  // Bucket name → its key/value pairs in the order the tree holds them.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> buckets;
  uint64_t high_water_pgid = 0;
  uint64_t txid = 0;
  bool has_freelist_page = false;
  int depth_max = 0;            // levels of the deepest bucket tree (1: a single leaf)
  uint64_t overflow_pages = 0;  // pages that continue a node
  uint64_t branch_pages = 0;
  uint64_t leaf_pages = 0;
};

absl::StatusOr<BboltContents> ReadBboltFile(absl::string_view file);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_BBOLT_TEST_READER_H_
