#include "sim/world/node_disk.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

namespace detcd::sim {

void NodeDisk::SetError(bool on_sync, bool on) {
  if (on_sync) {
    disk_.set_sync_error(on);
  } else {
    disk_.set_write_error(on);
  }
}

void NodeDisk::SetFull(bool on) { disk_.set_capacity_bytes(on ? std::max<uint64_t>(disk_.used_bytes(), 1) : 0); }

std::string NodeDisk::FlipBit(simpb::BitRot::Where where, Prng* prng) {
  const std::string prefix = where == simpb::BitRot::WAL        ? "/data/member/wal/"
                             : where == simpb::BitRot::SNAPSHOT ? "/data/member/snap/"
                                                                : "/data/";
  return disk_.FlipRandomBit(prefix, prng);
}

std::string NodeDisk::CorruptWalTail(uint32_t records, Prng* prng) {
  const std::string dir = store_.wal_dir();
  absl::StatusOr<std::vector<std::string>> names = disk_.List(dir);
  if (!names.ok() || records == 0) return "";
  struct Span {
    std::string path;
    uint64_t begin, end;  // header and payload (not the padding)
  };
  std::vector<Span> newest;  // newest first
  for (auto it = names->rbegin(); it != names->rend() && newest.size() < records; ++it) {
    uint64_t seq = 0, first_index = 0;
    if (!storage::ParseSegmentName(*it, &seq, &first_index)) continue;
    const std::string path = absl::StrCat(dir, "/", *it);
    const std::string synced = disk_.SyncedBytes(path);
    std::vector<Span> in_segment;
    for (size_t offset = 0;;) {
      const storage::DecodedRecord r = storage::DecodeRecord(synced, offset);
      if (r.kind != storage::DecodedRecord::Kind::kRecord) break;
      in_segment.push_back(Span{path, offset, offset + storage::kRecordHeaderBytes + r.payload.size()});
      offset = r.next_offset;
    }
    // The first record is the segment's metadata, not the log's.
    for (size_t k = in_segment.size(); k > 1 && newest.size() < records; --k) newest.push_back(in_segment[k - 1]);
  }
  if (newest.empty()) return "";
  const Span& hit = newest[prng->Uniform(newest.size())];
  const uint64_t offset = hit.begin + prng->Uniform(hit.end - hit.begin);
  const int bit = static_cast<int>(prng->Uniform(8));
  disk_.FlipBitAt(hit.path, offset, bit);
  return absl::StrCat(hit.path, " offset ", offset, " bit ", bit, " (in the record at ", hit.begin, ", one of the ",
                      newest.size(), " newest synced)");
}

void NodeDisk::PowerOff(simpb::CrashLoss loss, Prng* prng) {
  store_.Close();
  if (loss == simpb::CRASH_LOSS_UNSPECIFIED) loss = static_cast<simpb::CrashLoss>(prng->Range(1, 3));
  disk_.Crash(loss == simpb::TORN_PREFIX      ? CrashLoss::kTornPrefix
              : loss == simpb::RANDOM_SECTORS ? CrashLoss::kRandomSectors
                                              : CrashLoss::kAll,
              prng);
}

}  // namespace detcd::sim
