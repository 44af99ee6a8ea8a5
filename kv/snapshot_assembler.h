// SnapshotAssembler: a driver's file for NodeCore's SnapshotPieces kept in memory (unit tests' drivers): it applies a
// save's pieces in order, checking the core's side of the contract (order, sequence, the in-flight and size bounds)
// as it goes, and hands back the raftpb::Snapshot at kEnd. It does no IO; never used by a production driver.
#ifndef DETCD_KV_SNAPSHOT_ASSEMBLER_H_
#define DETCD_KV_SNAPSHOT_ASSEMBLER_H_

#include <algorithm>
#include <optional>
#include <string>

#include "api/raft.pb.h"
#include "base/check.h"
#include "kv/node_core.h"
#include "kv/state_snapshot_writer.h"

namespace detcd::kv {

class SnapshotAssembler {
 public:
  // Applies p; the snapshot once p is a save's kEnd. Reporting it written is the caller's.
  std::optional<raftpb::Snapshot> Apply(const SnapshotPiece& p) {
    if (p.kind == SnapshotPiece::Kind::kBegin) {
      DETCD_CHECK_MSG(!save_, "a save begun while another was in progress");
      DETCD_CHECK(p.seq == 0 && p.metadata.index() > 0);
      save_ = p.save;
      seq_ = 0;
      metadata_ = p.metadata;
      prefix_ = p.bytes;
      store_.clear();
      ++begun_;
      return std::nullopt;
    }
    DETCD_CHECK_MSG(save_ == p.save && p.seq == seq_ + 1, "a snapshot piece out of order");
    DETCD_CHECK(p.metadata.SerializeAsString() == metadata_.SerializeAsString());
    seq_ = p.seq;
    switch (p.kind) {
      case SnapshotPiece::Kind::kStore:
        piece_bytes_max_ = std::max(piece_bytes_max_, p.bytes.size());
        store_ += p.bytes;
        return std::nullopt;
      case SnapshotPiece::Kind::kAbandon:
        save_.reset();
        ++abandoned_;
        return std::nullopt;
      case SnapshotPiece::Kind::kEnd: {
        DETCD_CHECK_MSG(p.store_bytes == store_.size(), "kEnd's length is not what the pieces made");
        raftpb::Snapshot s;
        *s.mutable_metadata() = metadata_;
        s.set_data(StateSnapshotWriter::Assemble(prefix_, store_));
        save_.reset();
        store_.clear();
        return s;
      }
      case SnapshotPiece::Kind::kBegin:
        break;
    }
    DETCD_CHECK_MSG(false, "unreachable");
    return std::nullopt;
  }
  bool saving() const { return save_.has_value(); }
  size_t piece_bytes_max() const { return piece_bytes_max_; }  // the largest kStore
  int begun() const { return begun_; }
  int abandoned() const { return abandoned_; }

 private:
  std::optional<uint64_t> save_;
  uint64_t seq_ = 0;
  raftpb::SnapshotMetadata metadata_;
  std::string prefix_;
  std::string store_;
  size_t piece_bytes_max_ = 0;
  int begun_ = 0;
  int abandoned_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_SNAPSHOT_ASSEMBLER_H_
