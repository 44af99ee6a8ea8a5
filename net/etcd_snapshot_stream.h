// EtcdSnapshotStream: the file etcd 3.4's Maintenance.Snapshot streams (net/etcd_snapshot.h: etcd's backend
// database as a bbolt file, zero padding to 512 bytes, SHA-256 of what came before) made a piece at a time with
// bounded memory, from a state held still elsewhere (a member's pinned store, read through a VersionSource).
// Prepare walks every version once for sizes only (storage::BboltLayout: leaf packing, branch pages, page ids), so
// the file's size and every page before the "key" bucket's leaves are known before a byte is made; Next then makes
// the file in order — meta, branches, the small buckets' pages around the "key" bucket's leaves, which it makes from
// the versions read a second time — and the SHA-256 as it goes. The second read must give the same versions (a pin
// guarantees it); the bbolt writer checks every leaf packs as laid out.
// Memory: a piece (about piece_bytes, plus one leaf), one batch of versions from the source, the small buckets and
// the layout's per-leaf bookkeeping (each leaf's first key) — never the keyspace. Checked at every piece.
// Pure: no IO, no clock, no threads; the source is the caller's (it may wait for a member's core thread).
#ifndef DETCD_NET_ETCD_SNAPSHOT_STREAM_H_
#define DETCD_NET_ETCD_SNAPSHOT_STREAM_H_

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "api/kv_snapshot.pb.h"
#include "kv/revision.h"
#include "storage/bbolt_stream_writer.h"
#include "storage/bbolt_writer.h"

namespace detcd::net {

class EtcdSnapshotStream {
 public:
  // Appends the versions from `from` on (revision order, each at most once over the whole walk) to *out, a bounded
  // batch; returns where to resume, or nullopt once every version was given. Called twice over the whole history
  // (Prepare's walk, then Next's), each walk from {0, 0}; both walks must give the same versions.
  using VersionSource =
      std::function<absl::StatusOr<std::optional<kv::Revision>>(kv::Revision from, std::vector<kvpb::StoreRecord>* out)>;

  // small: the state without its store; revision, compacted_revision: the store's; consistent_index: the Raft index
  // the state reflects.
  EtcdSnapshotStream(const kvpb::StateSnapshot& small, int64_t revision, int64_t compacted_revision,
                     uint64_t consistent_index, VersionSource source);
  ~EtcdSnapshotStream();
  EtcdSnapshotStream(const EtcdSnapshotStream&) = delete;
  EtcdSnapshotStream& operator=(const EtcdSnapshotStream&) = delete;

  // Pass 1. Errors: the small parts do not decode, the source fails, the versions are not in order or break bbolt's
  // limits, the revision is not one etcd's format can say (CheckEtcdRevision).
  absl::Status Prepare();
  // The whole stream's size (database, padding, SHA-256); known once prepared.
  uint64_t total_bytes() const;
  // Pass 2: the next piece, at least piece_bytes unless it is the last; done() after the last. Errors: the source
  // fails (a stream cut short; what was sent is no snapshot).
  absl::StatusOr<std::string> Next(size_t piece_bytes);
  bool done() const { return done_; }

  // What one stream holds besides the layout: the largest piece plus batch seen, and the layout's leaves.
  size_t held_bytes_max() const { return held_bytes_max_; }
  size_t leaves() const { return layout_.leaf_count(); }

 private:
  // The piece grows with the key bucket's leaves until it holds piece_bytes or the versions run out.
  absl::Status FeedKeyBucket(std::string* piece, size_t piece_bytes);
  void Hash(const std::string& bytes);

  kvpb::StateSnapshot small_;
  int64_t revision_;
  int64_t compacted_revision_;
  uint64_t consistent_index_;
  VersionSource source_;
  std::vector<storage::BboltBucket> buckets_;  // the small ones; the key bucket's items stay empty
  storage::BboltLayout layout_;
  std::unique_ptr<storage::BboltStreamWriter> writer_;
  EVP_MD_CTX* sha_ = nullptr;
  bool prepared_ = false;
  // Pass 2's place: the bucket next fed, and in the key bucket the batch being written and where the next one starts.
  bool head_done_ = false;
  size_t bucket_ = 0;
  size_t small_at_ = 0;  // in a small bucket: the next item
  std::vector<kvpb::StoreRecord> batch_;
  size_t batch_at_ = 0;
  std::optional<kv::Revision> next_from_ = kv::Revision{0, 0};
  uint64_t versions_ = 0;  // counted by pass 1; pass 2 gives the same
  uint64_t versions_written_ = 0;
  uint64_t db_bytes_ = 0;
  uint64_t sent_bytes_ = 0;
  std::string key_;
  std::string value_;
  bool db_done_ = false;
  bool done_ = false;
  size_t held_bytes_max_ = 0;
};

}  // namespace detcd::net

#endif  // DETCD_NET_ETCD_SNAPSHOT_STREAM_H_
