#include "net/etcd_snapshot_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/etcd_snapshot.h"

namespace detcd::net {

namespace {

constexpr uint64_t kPaddingBytes = 512;  // etcdctl takes size % 512 == 32 as "ends in a SHA-256"
constexpr size_t kShaBytes = 32;
using storage::kBboltKeyBytesMax;
using storage::kBboltPageBytes;

uint64_t PaddedBytes(uint64_t db_bytes) { return (db_bytes + kPaddingBytes - 1) / kPaddingBytes * kPaddingBytes; }

size_t BatchBytes(const std::vector<kvpb::StoreRecord>& batch) {
  size_t bytes = 0;
  for (const kvpb::StoreRecord& r : batch) bytes += r.key().size() + r.value().size();
  return bytes;
}

}  // namespace

EtcdSnapshotStream::EtcdSnapshotStream(const kvpb::StateSnapshot& small, int64_t revision, int64_t compacted_revision,
                                       uint64_t consistent_index, VersionSource source)
    : small_(small),
      revision_(revision),
      compacted_revision_(compacted_revision),
      consistent_index_(consistent_index),
      source_(std::move(source)) {
  DETCD_CHECK_MSG(small_.store().empty(), "the store's versions come from the source");
  DETCD_CHECK(source_ != nullptr);
}

EtcdSnapshotStream::~EtcdSnapshotStream() {
  if (sha_ != nullptr) EVP_MD_CTX_free(sha_);
}

absl::Status EtcdSnapshotStream::Prepare() {
  DETCD_CHECK_MSG(!prepared_, "a snapshot stream prepared twice");
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets =
      EtcdSmallBuckets(small_, compacted_revision_, consistent_index_);
  if (!buckets.ok()) return buckets.status();
  buckets_ = *std::move(buckets);
  small_.Clear();  // what the stream needs of it is in buckets_ now
  int64_t last_main = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (absl::Status s = layout_.BeginBucket(buckets_[b].name); !s.ok()) return s;
    if (b != kEtcdKeyBucketIndex) {
      for (const auto& [key, value] : buckets_[b].items) {
        if (absl::Status s = layout_.AddItem(key, value.size()); !s.ok()) return s;
      }
      continue;
    }
    DETCD_CHECK(buckets_[b].name == kEtcdKeyBucket && buckets_[b].items.empty());
    // The walk for sizes: a batch at a time, nothing kept but the layout's per-leaf records.
    std::optional<kv::Revision> from = kv::Revision{0, 0};
    while (from) {
      batch_.clear();
      absl::StatusOr<std::optional<kv::Revision>> next = source_(*from, &batch_);
      if (!next.ok()) return next.status();
      DETCD_CHECK_MSG(!*next || *from < **next, "a version source made no progress");
      held_bytes_max_ = std::max(held_bytes_max_, BatchBytes(batch_));
      for (const kvpb::StoreRecord& r : batch_) {
        EtcdKeyItem(r, &key_, &value_);
        if (absl::Status s = layout_.AddItem(key_, value_.size()); !s.ok()) return s;
        last_main = std::max(last_main, r.main());
        ++versions_;
      }
      from = *next;
    }
    batch_.clear();
  }
  if (absl::Status s = CheckEtcdRevision(revision_, last_main, compacted_revision_); !s.ok()) return s;
  if (absl::Status s = layout_.Finish(); !s.ok()) return s;
  writer_ = std::make_unique<storage::BboltStreamWriter>(&layout_);
  sha_ = EVP_MD_CTX_new();
  if (sha_ == nullptr || EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("detcd: cannot hash the snapshot");
  }
  db_bytes_ = layout_.file_bytes();
  prepared_ = true;
  return absl::OkStatus();
}

uint64_t EtcdSnapshotStream::total_bytes() const {
  DETCD_CHECK(prepared_);
  return PaddedBytes(db_bytes_) + kShaBytes;
}

void EtcdSnapshotStream::Hash(const std::string& bytes) {
  DETCD_CHECK(EVP_DigestUpdate(sha_, bytes.data(), bytes.size()) == 1);
}

absl::Status EtcdSnapshotStream::FeedKeyBucket(std::string* piece, size_t piece_bytes) {
  while (piece->size() < piece_bytes) {
    if (batch_at_ == batch_.size()) {
      batch_.clear();
      batch_at_ = 0;
      if (!next_from_) return absl::OkStatus();
      absl::StatusOr<std::optional<kv::Revision>> next = source_(*next_from_, &batch_);
      if (!next.ok()) return next.status();
      DETCD_CHECK_MSG(!*next || *next_from_ < **next, "a version source made no progress");
      next_from_ = *next;
      held_bytes_max_ = std::max(held_bytes_max_, piece->size() + BatchBytes(batch_));
      continue;
    }
    EtcdKeyItem(batch_[batch_at_++], &key_, &value_);
    DETCD_CHECK_MSG(++versions_written_ <= versions_, "the second walk gave more versions than the first");
    writer_->AddItem(key_, value_, piece);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EtcdSnapshotStream::Next(size_t piece_bytes) {
  DETCD_CHECK_MSG(prepared_ && !done_, "a piece of a snapshot stream not prepared, or done");
  DETCD_CHECK(piece_bytes > 0);
  std::string piece;
  piece.reserve(piece_bytes + kBboltPageBytes);
  while (piece.size() < piece_bytes && !db_done_) {
    if (!head_done_) {
      head_done_ = writer_->AppendHead(&piece, piece_bytes);
      if (head_done_ && !buckets_.empty()) writer_->BeginBucket(0, &piece);
      continue;
    }
    if (bucket_ == buckets_.size()) {
      writer_->Finish(&piece);
      DETCD_CHECK_MSG(versions_written_ == versions_, "the second walk gave fewer versions than the first");
      db_done_ = true;
      break;
    }
    if (bucket_ == kEtcdKeyBucketIndex) {
      if (absl::Status s = FeedKeyBucket(&piece, piece_bytes); !s.ok()) return s;
      if (next_from_ || batch_at_ < batch_.size()) continue;  // the piece is full; more versions to come
    } else {
      const auto& items = buckets_[bucket_].items;
      while (small_at_ < items.size() && piece.size() < piece_bytes) {
        writer_->AddItem(items[small_at_].first, items[small_at_].second, &piece);
        ++small_at_;
      }
      if (small_at_ < items.size()) continue;  // the piece is full
      buckets_[bucket_].items.clear();  // written: not held any longer
      small_at_ = 0;
    }
    if (++bucket_ < buckets_.size()) writer_->BeginBucket(bucket_, &piece);
  }
  // The bound: a piece passes piece_bytes by at most the one node that crossed it (the meta pages, a branch of two of
  // the largest keys, or the writer's largest leaf), and the batch read holds what the source gave at once.
  const size_t node_bytes_max =
      std::max({size_t{2} * kBboltPageBytes, writer_->held_bytes_max(),
                storage::BboltNodePacker::PagesFor(16 + 2 * (16 + kBboltKeyBytesMax)) * kBboltPageBytes});
  DETCD_CHECK_MSG(piece.size() < piece_bytes + node_bytes_max, "a snapshot piece larger than its bound");
  held_bytes_max_ = std::max(held_bytes_max_, piece.size() + BatchBytes(batch_));
  if (db_done_) {
    DETCD_CHECK(writer_->finished() && writer_->bytes_written() == db_bytes_);
    piece.append(PaddedBytes(db_bytes_) - db_bytes_, '\0');
  }
  Hash(piece);
  if (db_done_) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    DETCD_CHECK(EVP_DigestFinal_ex(sha_, digest, &len) == 1 && len == kShaBytes);
    piece.append(reinterpret_cast<const char*>(digest), len);
    done_ = true;
  }
  sent_bytes_ += piece.size();
  DETCD_CHECK_MSG(sent_bytes_ <= total_bytes() && (!done_ || sent_bytes_ == total_bytes()),
                  "a snapshot stream's size differs from its layout");
  return piece;
}

}  // namespace detcd::net
