#include "storage/wal.h"

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "storage/wal_record.h"

namespace detcd::storage {

namespace {

constexpr char kSuffix[] = ".wal";

// Metadata payload: "detcd-wal member=<id> seq=<seq>".
std::string MetadataPayload(uint64_t member_id, uint64_t seq) {
  return absl::StrCat("detcd-wal member=", member_id, " seq=", seq);
}

absl::Status RecordError(const std::string& path, uint64_t offset, absl::string_view reason) {
  return absl::DataLossError(absl::StrCat("wal: ", path, " at offset ", offset, ": ", reason));
}

}  // namespace

std::string SegmentName(uint64_t seq, uint64_t first_index) {
  return absl::StrFormat("%016x-%016x%s", seq, first_index, kSuffix);
}

bool ParseSegmentName(const std::string& name, uint64_t* seq, uint64_t* first_index) {
  if (name.size() != 16 + 1 + 16 + 4 || name[16] != '-' || !absl::EndsWith(name, kSuffix)) return false;
  for (size_t i = 0; i < 33; ++i) {
    if (i != 16 && !absl::ascii_isxdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return absl::SimpleHexAtoi(name.substr(0, 16), seq) && absl::SimpleHexAtoi(name.substr(17, 16), first_index);
}

Wal::Wal(Disk* disk, std::string dir, uint64_t member_id, const WalOptions& options)
    : disk_(disk), dir_(std::move(dir)), member_id_(member_id), options_(options) {}

Wal::~Wal() = default;

bool Wal::Exists(Disk* disk, const std::string& dir) {
  auto names = disk->List(dir);
  if (!names.ok()) return false;
  uint64_t seq, first;
  for (const std::string& n : *names) {
    if (ParseSegmentName(n, &seq, &first)) return true;
  }
  return false;
}

absl::Status Wal::Fail(absl::Status s) {
  if (error_.ok()) error_ = s;
  return s;
}

absl::Status Wal::StartSegment(uint64_t seq, uint64_t first_index) {
  const std::string name = SegmentName(seq, first_index);
  const std::string tmp = JoinPath(dir_, name + ".tmp");
  if (disk_->Exists(tmp)) {
    if (absl::Status s = disk_->Remove(tmp); !s.ok()) return s;
  }
  auto f = disk_->Create(tmp);
  if (!f.ok()) return f.status();
  std::string header;
  EncodeRecord(RecordType::kMetadata, MetadataPayload(member_id_, seq), &header);
  if (absl::Status s = (*f)->Preallocate(options_.segment_bytes); !s.ok()) return s;
  if (absl::Status s = (*f)->Append(header); !s.ok()) return s;
  if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  if (absl::Status s = disk_->Rename(tmp, JoinPath(dir_, name)); !s.ok()) return s;
  if (absl::Status s = disk_->SyncDir(dir_); !s.ok()) return s;
  file_ = std::move(*f);
  seq_ = seq;
  ++stats_.segments;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Create(Disk* disk, const std::string& dir, uint64_t member_id,
                                                 const WalOptions& options) {
  if (absl::Status s = disk->MkdirAll(dir); !s.ok()) return s;
  if (Exists(disk, dir)) return absl::AlreadyExistsError(absl::StrCat("wal: ", dir, " already holds a WAL"));
  std::unique_ptr<Wal> w(new Wal(disk, dir, member_id, options));
  auto lock = disk->Lock(dir);
  if (!lock.ok()) return lock.status();
  w->lock_ = std::move(*lock);
  if (absl::Status s = w->StartSegment(0, 1); !s.ok()) return s;
  return w;
}

absl::StatusOr<WalRecovered> Wal::Open(Disk* disk, const std::string& dir, uint64_t member_id,
                                       const WalOptions& options, const raftpb::SnapshotMetadata* from) {
  const uint64_t base = from != nullptr ? from->index() : 0;
  bool marker_found = base == 0;
  std::unique_ptr<Wal> w(new Wal(disk, dir, member_id, options));
  auto lock = disk->Lock(dir);
  if (!lock.ok()) return lock.status();
  w->lock_ = std::move(*lock);
  auto names = disk->List(dir);
  if (!names.ok()) return names.status();
  std::vector<std::pair<uint64_t, std::string>> segments;
  for (const std::string& n : *names) {
    uint64_t seq, first;
    if (ParseSegmentName(n, &seq, &first)) {
      segments.emplace_back(seq, n);
    } else if (absl::EndsWith(n, ".wal.tmp")) {
      // A segment whose creation a crash or a disk error interrupted: it never held a synced record.
      if (absl::Status s = disk->Remove(JoinPath(dir, n)); !s.ok()) return s;
    }
  }
  if (segments.empty()) return absl::NotFoundError(absl::StrCat("wal: no WAL segment in ", dir));
  // names are sorted, and so (fixed-width hex) are sequence numbers.
  WalRecovered out;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& [seq, name] = segments[i];
    const std::string path = JoinPath(dir, name);
    if (seq != segments[0].first + i) {
      return absl::DataLossError(absl::StrCat("wal: segment sequence ", segments[0].first + i, " is missing before ",
                                              path));
    }
    auto data = disk->Read(path);
    if (!data.ok()) return data.status();
    const bool last = i + 1 == segments.size();
    size_t offset = 0;
    bool first_record = true;
    for (;;) {
      DecodedRecord r = DecodeRecord(*data, offset);
      if (r.kind == DecodedRecord::Kind::kEnd) break;
      if (r.kind == DecodedRecord::Kind::kCorrupt && !(last && options.testing_corrupt_tail_is_torn)) {
        return RecordError(path, offset, r.reason);
      }
      if (r.kind == DecodedRecord::Kind::kTorn || r.kind == DecodedRecord::Kind::kCorrupt) {
        // Only the very end of the log can be torn: earlier segments were synced whole before the next began.
        if (!last || first_record) return RecordError(path, offset, absl::StrCat("torn record: ", r.reason));
        out.torn_tail = true;
        out.torn_detail = absl::StrCat(path, " at offset ", offset, ": ", r.reason);
        break;
      }
      if (first_record) {
        if (r.type != RecordType::kMetadata || r.payload != MetadataPayload(member_id, seq)) {
          return RecordError(path, offset,
                             absl::StrCat("segment metadata \"", r.payload, "\" does not match member ", member_id,
                                          " segment ", seq));
        }
        first_record = false;
      } else if (r.type == RecordType::kEntry) {
        raftpb::Entry e;
        if (!e.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size())) || e.index() == 0) {
          return RecordError(path, offset, "entry record does not parse");
        }
        if (e.index() <= base) {
          // Before the snapshot recovery starts from: its effect is in the snapshot.
        } else if (!out.entries.empty()) {
          const uint64_t first_index = out.entries.front().index();
          if (e.index() < first_index || e.index() > out.entries.back().index() + 1) {
            return RecordError(path, offset,
                               absl::StrCat("entry index ", e.index(), " does not follow the log (",
                                            first_index, "..", out.entries.back().index(), ")"));
          }
          out.entries.resize(e.index() - first_index);  // a conflicting suffix was replaced
        } else if (e.index() != base + 1) {
          return RecordError(path, offset,
                             absl::StrCat("first entry after index ", base, " has index ", e.index()));
        }
        if (e.index() > base) out.entries.push_back(std::move(e));
      } else if (r.type == RecordType::kHardState) {
        if (!out.hard_state.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size()))) {
          return RecordError(path, offset, "hard state record does not parse");
        }
      } else if (r.type == RecordType::kSnapshot) {
        raftpb::SnapshotMetadata m;
        if (!m.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size()))) {
          return RecordError(path, offset, "snapshot marker does not parse");
        }
        if (from != nullptr && m.index() == from->index()) {
          if (m.term() != from->term()) {
            return RecordError(path, offset, absl::StrCat("snapshot marker at index ", m.index(), " has term ",
                                                          m.term(), ", the snapshot file says ", from->term()));
          }
          marker_found = true;
        }
      } else {
        return RecordError(path, offset, "unexpected record type");
      }
      offset = r.next_offset;
    }
    // Past the end of the records only zeros may follow. Out-of-order loss can leave the sectors of a later unsynced
    // write behind a record that vanished: in the last segment that is debris to cut (nothing after the hole was
    // synced); in an earlier one, which was synced whole, it is corruption.
    if (!out.torn_tail && offset < data->size() &&
        data->find_first_not_of('\0', offset) != std::string::npos) {
      if (!last) return RecordError(path, offset, "data after the end of the records");
      out.torn_tail = true;
      out.torn_detail = absl::StrCat(path, " at offset ", offset, ": unsynced data after a missing record");
    }
    // Every segment's metadata was synced before the segment got its name, so none may lack it.
    if (first_record) return RecordError(path, 0, "segment without metadata");
    if (last) {
      auto f = disk->OpenAt(path, offset);
      if (!f.ok()) return f.status();
      if (out.torn_tail) {
        // Cut the torn record (and anything after it) and make the cut durable before appending again.
        if (absl::Status s = (*f)->Truncate(offset); !s.ok()) return s;
        if (absl::Status s = (*f)->Preallocate(options.segment_bytes); !s.ok()) return s;
        if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
      } else if (absl::Status s = (*f)->Preallocate(options.segment_bytes); !s.ok()) {
        return s;  // already that large: this only tells the file that the space past the records is reserved
      }
      w->file_ = std::move(*f);
      w->seq_ = seq;
    }
  }
  if (!marker_found) {
    return absl::DataLossError(absl::StrCat("wal: no snapshot marker for index ", from->index(), " term ",
                                            from->term(), " in ", dir));
  }
  w->last_index_ = out.entries.empty() ? base : out.entries.back().index();
  out.wal = std::move(w);
  return out;
}

absl::Status Wal::WriteRecords(const std::string& bytes) {
  if (file_->offset() > kRecordHeaderBytes && file_->offset() + bytes.size() > options_.segment_bytes) {
    // Roll over: the old segment is synced whole before the next one begins.
    if (absl::Status s = file_->Sync(); !s.ok()) return s;
    ++stats_.syncs;
    if (absl::Status s = StartSegment(seq_ + 1, last_index_ + 1); !s.ok()) return s;
  }
  stats_.bytes += bytes.size();
  return file_->Append(bytes);
}

absl::Status Wal::Save(const raftpb::HardState* hard_state, const std::vector<raftpb::Entry>& entries) {
  if (!error_.ok()) return error_;
  std::string bytes;
  std::string payload;
  uint64_t last = last_index_;
  for (const raftpb::Entry& e : entries) {
    payload.clear();
    e.SerializeToString(&payload);
    EncodeRecord(RecordType::kEntry, payload, &bytes);
    last = e.index();
    ++stats_.records;
  }
  if (hard_state != nullptr) {
    payload.clear();
    hard_state->SerializeToString(&payload);
    EncodeRecord(RecordType::kHardState, payload, &bytes);
    ++stats_.records;
  }
  if (bytes.empty()) return absl::OkStatus();
  if (absl::Status s = WriteRecords(bytes); !s.ok()) return Fail(s);
  last_index_ = last;
  return absl::OkStatus();
}

absl::Status Wal::SaveSnapshotMarker(const raftpb::SnapshotMetadata& snapshot) {
  if (!error_.ok()) return error_;
  std::string bytes;
  EncodeRecord(RecordType::kSnapshot, snapshot.SerializeAsString(), &bytes);
  ++stats_.records;
  if (absl::Status s = WriteRecords(bytes); !s.ok()) return Fail(s);
  return Sync();
}

absl::Status Wal::RemoveSegmentsBefore(uint64_t index, size_t keep) {
  DETCD_CHECK_MSG(keep >= 1, "the current segment is always kept");
  auto names = disk_->List(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::pair<uint64_t, std::string>> segments;  // (first index, name), in sequence order
  for (const std::string& n : *names) {
    uint64_t seq, first;
    if (ParseSegmentName(n, &seq, &first)) segments.emplace_back(first, n);
  }
  bool removed = false;
  // Segment i holds only entries before index when the next one starts at or before index.
  for (size_t i = 0; i + 1 < segments.size() && segments[i + 1].first <= index && segments.size() - i > keep; ++i) {
    if (absl::Status s = disk_->Remove(JoinPath(dir_, segments[i].second)); !s.ok()) return s;
    removed = true;
  }
  return removed ? disk_->SyncDir(dir_) : absl::OkStatus();
}

absl::Status Wal::Sync() {
  if (!error_.ok()) return error_;
  if (absl::Status s = file_->Sync(); !s.ok()) return Fail(s);
  ++stats_.syncs;
  return absl::OkStatus();
}

}  // namespace detcd::storage
