// SnapshotAssembler: a driver's files for NodeCore's SnapshotPieces kept in memory (unit tests' drivers): it applies
// each stream's pieces in order (a save and a send may be in progress at once), checking the core's side of the
// contract (order, sequence, the size bounds) as it goes, and hands back the raftpb::Snapshot, data and all, at a
// stream's kEnd. It does no IO; never used by a production driver.
#ifndef DETCD_KV_SNAPSHOT_ASSEMBLER_H_
#define DETCD_KV_SNAPSHOT_ASSEMBLER_H_

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "api/raft.pb.h"
#include "base/check.h"
#include "kv/node_core.h"
#include "kv/state_snapshot_writer.h"

namespace detcd::kv {

class SnapshotAssembler {
 public:
  // Applies p; the snapshot once p is a stream's kEnd. Reporting it written is the caller's.
  std::optional<raftpb::Snapshot> Apply(const SnapshotPiece& p) {
    if (p.kind == SnapshotPiece::Kind::kBegin) {
      DETCD_CHECK_MSG(streams_.count(p.target) == 0, "a stream begun while another of its target was in progress");
      DETCD_CHECK(p.seq == 0 && p.metadata.index() > 0);
      Stream& s = streams_[p.target];
      s.id = p.stream;
      s.metadata = p.metadata;
      s.prefix = p.bytes;
      ++begun_;
      return std::nullopt;
    }
    auto it = streams_.find(p.target);
    DETCD_CHECK_MSG(it != streams_.end() && it->second.id == p.stream && p.seq == it->second.seq + 1,
                    "a snapshot piece out of order");
    Stream& s = it->second;
    DETCD_CHECK(p.metadata.SerializeAsString() == s.metadata.SerializeAsString());
    s.seq = p.seq;
    switch (p.kind) {
      case SnapshotPiece::Kind::kStore:
        piece_bytes_max_ = std::max(piece_bytes_max_, p.bytes.size());
        s.store += p.bytes;
        return std::nullopt;
      case SnapshotPiece::Kind::kAbandon:
        streams_.erase(it);
        ++abandoned_;
        return std::nullopt;
      case SnapshotPiece::Kind::kEnd: {
        DETCD_CHECK_MSG(p.store_bytes == s.store.size(), "kEnd's length is not what the pieces made");
        raftpb::Snapshot out;
        *out.mutable_metadata() = s.metadata;
        out.set_data(StateSnapshotWriter::Assemble(s.prefix, s.store));
        streams_.erase(it);
        return out;
      }
      case SnapshotPiece::Kind::kBegin:
        break;
    }
    DETCD_CHECK_MSG(false, "unreachable");
    return std::nullopt;
  }
  bool saving() const { return streams_.count(SnapshotPiece::Target::kSave) > 0; }
  bool sending() const { return streams_.count(SnapshotPiece::Target::kSend) > 0; }
  size_t piece_bytes_max() const { return piece_bytes_max_; }  // the largest kStore
  int begun() const { return begun_; }
  int abandoned() const { return abandoned_; }

 private:
  struct Stream {
    uint64_t id = 0;
    uint64_t seq = 0;
    raftpb::SnapshotMetadata metadata;
    std::string prefix;
    std::string store;
  };
  std::map<SnapshotPiece::Target, Stream> streams_;
  size_t piece_bytes_max_ = 0;
  int begun_ = 0;
  int abandoned_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_SNAPSHOT_ASSEMBLER_H_
