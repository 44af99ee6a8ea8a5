#include "storage/snapshot_file_scanner.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "base/little_endian.h"

namespace detcd::storage {

namespace {

constexpr absl::string_view kMagic = "detcd-snap\n";
constexpr char kDataTag = (1 << 3) | 2;  // raftpb::Snapshot.data
constexpr size_t kVarintBytesMax = 10;

}  // namespace

absl::Status SnapshotFileScanner::Bad(absl::string_view why) {
  error_ = absl::DataLossError(absl::StrCat("snap: ", name_, ": ", why));
  return error_;
}

absl::Status SnapshotFileScanner::Add(absl::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    if (phase_ == Phase::kHeader) {
      const size_t take = std::min<size_t>(bytes.size(), kHeaderBytes - small_.size());
      small_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      seen_ += take;
      if (small_.size() < kHeaderBytes) return absl::OkStatus();
      if (!absl::StartsWith(small_, kMagic)) return Bad("not a snapshot file");
      crc_want_ = static_cast<uint32_t>(LoadLittleEndian(small_.data() + kMagic.size(), 4));
      body_bytes_ = LoadLittleEndian(small_.data() + kMagic.size() + 4, 8);
      if (body_bytes_ > kMaxBodyBytes) return Bad(absl::StrCat("length ", body_bytes_, " past the maximum"));
      header_done_ = true;
      small_.clear();
      phase_ = Phase::kDataLength;
      continue;
    }
    if (bytes.size() > kHeaderBytes + body_bytes_ - seen_) {
      return Bad(absl::StrCat("longer than its header says (", body_bytes_, " bytes after the header)"));
    }
    if (absl::Status s = Body(&bytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SnapshotFileScanner::Body(absl::string_view* bytes) {
  const char* start = bytes->data();
  switch (phase_) {
    case Phase::kHeader:
      DETCD_CHECK_MSG(false, "the header is not body");
      break;
    case Phase::kDataLength:
      if (small_.empty() && (*bytes)[0] != kDataTag) {
        // No data field: the body is the metadata alone.
        data_offset_ = kHeaderBytes;
        if (body_bytes_ > kMaxTailBytes) return Bad(absl::StrCat("metadata of ", body_bytes_, " bytes"));
        phase_ = Phase::kTail;
        return absl::OkStatus();
      }
      // The data's tag, then its length, a byte at a time until the varint ends.
      small_.push_back((*bytes)[0]);
      bytes->remove_prefix(1);
      // A varint has at most kVarintBytesMax bytes: a longer one (ended or not) is refused before it is decoded.
      if (small_.size() > 1 + kVarintBytesMax) return Bad("malformed data length");
      if (small_.size() > 1 && (static_cast<uint8_t>(small_.back()) & 0x80) == 0) {
        uint64_t length = 0;
        for (size_t i = 1; i < small_.size(); ++i) {
          length |= static_cast<uint64_t>(static_cast<uint8_t>(small_[i]) & 0x7f) << (7 * (i - 1));
        }
        if (length > body_bytes_ - small_.size()) {
          return Bad(absl::StrCat("data of ", length, " bytes past the end of the body"));
        }
        const uint64_t tail = body_bytes_ - small_.size() - length;
        if (tail > kMaxTailBytes) return Bad(absl::StrCat("metadata of ", tail, " bytes"));
        data_offset_ = kHeaderBytes + small_.size();
        data_bytes_ = data_left_ = length;
        small_.clear();
        phase_ = Phase::kData;
      }
      break;
    case Phase::kData: {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(bytes->size(), data_left_));
      bytes->remove_prefix(take);
      data_left_ -= take;
      if (data_left_ == 0) phase_ = Phase::kTail;
      break;
    }
    case Phase::kTail:
      small_.append(bytes->data(), bytes->size());
      bytes->remove_prefix(bytes->size());
      break;
  }
  const size_t used = static_cast<size_t>(bytes->data() - start);
  crc_ = Crc32cExtend(crc_, start, used);
  seen_ += used;
  return absl::OkStatus();
}

absl::StatusOr<SnapshotFileLayout> SnapshotFileScanner::Finish() {
  if (!error_.ok()) return error_;
  if (!header_done_ || seen_ != kHeaderBytes + body_bytes_) {
    return Bad(absl::StrCat("cut short: ", seen_, " bytes of ", header_done_ ? kHeaderBytes + body_bytes_ : 0));
  }
  if (phase_ == Phase::kDataLength && body_bytes_ > 0) return Bad("malformed data length");
  if (crc_ != crc_want_) return Bad("crc mismatch");
  raftpb::Snapshot tail;
  if (!tail.ParseFromString(small_)) return Bad("snapshot does not parse");
  if (!tail.data().empty()) return Bad("a second data field");
  if (tail.metadata().index() == 0) return Bad("snapshot at index 0");
  SnapshotFileLayout out;
  out.metadata = tail.metadata();
  out.data_offset = data_offset_;
  out.data_bytes = data_bytes_;
  out.file_bytes = seen_;
  return out;
}

}  // namespace detcd::storage
