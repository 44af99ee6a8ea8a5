// EtcdWalReader: reads an etcd 3.4 WAL (member/wal/*.wal, go.etcd.io/etcd/wal) so a member can start on an etcd data
// directory: the member and cluster ids of its metadata record, the last snapshot record, the last hard state and
// every entry the segments hold, as etcd's ReadAll replays them (a later entry with an index already seen replaces
// it and everything after). Segments are input from the user's disk: every length is checked against the bytes there,
// every record's CRC-32C chain is verified, and anything that does not decode is refused with DataLoss naming the
// segment and offset — except a tail of zeros (etcd preallocates segments) or a record cut short at the end of the
// last segment (a torn write), where reading stops, as etcd's does. Pure: the caller reads the files.
//
// Records (walpb.Record{type=1, crc=2, data=3}): 1 metadata (etcdserverpb.Metadata{NodeID=1, ClusterID=2}),
// 2 entry (raftpb.Entry{Type=1, Term=2, Index=3, Data=4}), 3 hard state (raftpb.HardState{Term=1, Vote=2, Commit=3}),
// 4 crc (the chain's value at the segment's start), 5 snapshot (walpb.Snapshot{Index=1, Term=2}). Each frame is an
// 8-byte little-endian length (bit 63: padded; bits 56-58: pad bytes) then the record, padded to 8 bytes.
#ifndef DETCD_STORAGE_ETCD_WAL_READER_H_
#define DETCD_STORAGE_ETCD_WAL_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::storage {

struct EtcdWalEntry {
  uint64_t term = 0;
  uint64_t index = 0;
  uint64_t type = 0;  // raftpb.EntryType: 0 normal, 1 conf change, 2 conf change v2
  std::string data;
};

struct EtcdWal {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t snapshot_index = 0;  // the last snapshot record
  uint64_t snapshot_term = 0;
  uint64_t term = 0;  // the last hard state
  uint64_t vote = 0;
  uint64_t commit = 0;
  std::vector<EtcdWalEntry> entries;  // every entry in the segments, by index, consecutive
};

// raftpb.ConfChange{ID=1, Type=2, NodeID=3, Context=4}; Type 0 add, 1 remove, 2 update, 3 add learner.
struct EtcdConfChange {
  uint64_t type = 0;
  uint64_t node_id = 0;
  std::string context;
};

// An etcd v2 request (etcdserverpb.Request{ID=1, Method=2, Path=3, Val=4}), as etcd 3.4 logs the v2 writes it makes
// itself (a member publishing its attributes, the cluster version): bare, or inside an InternalRaftRequest's V2
// field (2).
struct EtcdV2Request {
  std::string method;
  std::string path;
  std::string value;
};

// Reads a WAL a segment at a time, so only one segment's bytes need be in memory.
class EtcdWalReader {
 public:
  // The next segment in name order (etcd's "<seq>-<index>.wal"); `last`: none follows (a torn tail is tolerated only
  // there). An error ends the reading.
  absl::Status AddSegment(const std::string& name, absl::string_view bytes, bool last);
  // Once, after the last segment.
  absl::StatusOr<EtcdWal> Finish();

 private:
  absl::Status Record(const std::string& name, uint64_t offset, uint64_t type, absl::string_view data);

  uint32_t crc_ = 0;  // the CRC-32C chain over every record so far
  size_t segments_ = 0;
  bool have_metadata_ = false;
  std::vector<EtcdWalEntry> entries_;
  EtcdWal out_;
};

// segments: (file name, bytes) in name order.
absl::StatusOr<EtcdWal> ReadEtcdWal(const std::vector<std::pair<std::string, std::string>>& segments);

absl::StatusOr<EtcdConfChange> DecodeEtcdConfChange(absl::string_view data);

// The v2 request a normal entry holds; nullopt if it holds something else (a v3 InternalRaftRequest). A v2 request is
// told apart by its path: a string starting with '/', which no v3 request's field 3 (a RangeRequest) can start with.
std::optional<EtcdV2Request> DecodeEtcdV2Request(absl::string_view data);

// etcd's WAL segment name: 16 hex digits, '-', 16 hex digits, ".wal".
bool IsEtcdWalSegmentName(absl::string_view name);

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_ETCD_WAL_READER_H_
