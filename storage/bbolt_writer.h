// BboltWriter: a bbolt database file (go.etcd.io/bbolt, the format of etcd's backend) built in memory from buckets of
// sorted key/value pairs, for handing a member's state to etcd's tools, and the format's constants. Pure: no IO; the
// caller streams the bytes. BuildBboltFile is storage/bbolt_stream_writer.h's two passes over vectors (one packing
// algorithm); a keyspace too large to hold twice is streamed with those passes directly.
//
// It writes a subset of what bbolt writes, all of which bbolt reads: 4096-byte pages; two meta pages (0 and 1, txid
// 0 and 1, FNV-64a checksums) that point at the same tree; one level of buckets under the root bucket, each with
// pages of its own (never inline); B+tree leaves and branches packed up to a page (a branch takes at least two
// elements), a node larger than a page (big keys or values) continued on overflow pages; no freelist page
// (meta.freelist = "none"): bbolt rebuilds the freelist on open by walking the trees, as it does for etcd's own
// backend files (etcd runs bbolt with NoFreelistSync). Every page below the high-water mark is reachable exactly
// once, so bbolt's tx.Check passes. It never writes nested buckets, bucket sequences or free pages.
#ifndef DETCD_STORAGE_BBOLT_WRITER_H_
#define DETCD_STORAGE_BBOLT_WRITER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace detcd::storage {

inline constexpr uint32_t kBboltPageBytes = 4096;
inline constexpr uint32_t kBboltMagic = 0xED0CDAED;
inline constexpr uint32_t kBboltVersion = 2;
inline constexpr uint64_t kBboltNoFreelist = ~uint64_t{0};
// bbolt refuses to store longer keys (bbolt.MaxKeySize) or values (bbolt.MaxValueSize).
inline constexpr size_t kBboltKeyBytesMax = 32768;
inline constexpr size_t kBboltValueBytesMax = (size_t{1} << 31) - 2;

// Page and element flags, as bbolt's page.go names them.
inline constexpr uint16_t kBboltBranchPage = 0x01;
inline constexpr uint16_t kBboltLeafPage = 0x02;
inline constexpr uint16_t kBboltMetaPage = 0x04;
inline constexpr uint16_t kBboltFreelistPage = 0x10;
inline constexpr uint32_t kBboltBucketLeafFlag = 0x01;

struct BboltBucket {
  std::string name;
  // Sorted bytewise by key; keys unique and non-empty (bbolt has no empty key: its cursor ends on one).
  std::vector<std::pair<std::string, std::string>> items;
};

// The whole file (a multiple of kBboltPageBytes). `buckets` sorted bytewise by name, names unique and non-empty.
// InvalidArgument if the input breaks those rules or bbolt's size limits.
absl::StatusOr<std::string> BuildBboltFile(const std::vector<BboltBucket>& buckets);

// bbolt's meta checksum: FNV-64a over the meta fields before the checksum (the 56 bytes after the page header).
uint64_t BboltMetaChecksum(const char* meta, size_t bytes);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_BBOLT_WRITER_H_
