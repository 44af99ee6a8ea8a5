#include "storage/snapshotter.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "base/little_endian.h"

namespace detcd::storage {

namespace {

constexpr absl::string_view kMagic = "detcd-snap\n";
constexpr size_t kHeaderBytes = 11 + 4 + 8;
constexpr uint64_t kMaxSnapshotBytes = uint64_t{8} << 30;
constexpr char kDataTag = (1 << 3) | 2;  // raftpb::Snapshot.data
constexpr size_t kFixedVarintBytes = 5;  // a varint of up to 35 bits, padded: still a valid protobuf encoding

bool IsSnapName(const std::string& n) { return n.size() == 16 + 1 + 16 + 5 && absl::EndsWith(n, ".snap"); }

void PutFixedVarint(std::string* out, uint64_t v) {
  DETCD_CHECK_MSG(v < (uint64_t{1} << (7 * kFixedVarintBytes)), "length too large for a 5-byte varint");
  for (size_t i = 0; i < kFixedVarintBytes; ++i) {
    const uint8_t more = i + 1 < kFixedVarintBytes ? 0x80 : 0;
    out->push_back(static_cast<char>(((v >> (7 * i)) & 0x7f) | more));
  }
}

}  // namespace

std::string SnapshotFileName(uint64_t term, uint64_t index) { return absl::StrFormat("%016x-%016x.snap", term, index); }

namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// The file as pieces, the snapshot's data among them by reference (it may be most of the process's memory): header,
// then the body exactly as snapshot.SerializeAsString() makes it (field 1, data; then field 2, metadata).
struct FilePieces {
  std::string header;
  std::string data_prefix;  // data's tag and length (empty if there is no data)
  absl::string_view data;
  std::string metadata;     // the metadata field, serialized
  uint64_t body_bytes() const { return data_prefix.size() + data.size() + metadata.size(); }
};

FilePieces SnapshotFilePieces(const raftpb::Snapshot& snapshot) {
  FilePieces p;
  p.data = snapshot.data();
  if (!p.data.empty()) {
    p.data_prefix.push_back(static_cast<char>((1 << 3) | 2));
    PutVarint(&p.data_prefix, p.data.size());
  }
  raftpb::Snapshot metadata_only;
  *metadata_only.mutable_metadata() = snapshot.metadata();
  metadata_only.SerializeToString(&p.metadata);
  uint32_t crc = Crc32cExtend(0, p.data_prefix.data(), p.data_prefix.size());
  crc = Crc32cExtend(crc, p.data.data(), p.data.size());
  crc = Crc32cExtend(crc, p.metadata.data(), p.metadata.size());
  p.header = std::string(kMagic);
  AppendLittleEndian(&p.header, crc, 4);
  AppendLittleEndian(&p.header, p.body_bytes(), 8);
  return p;
}

}  // namespace

std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot) {
  const FilePieces p = SnapshotFilePieces(snapshot);
  std::string out = p.header;
  out += p.data_prefix;
  out.append(p.data.data(), p.data.size());
  out += p.metadata;
  return out;
}

absl::StatusOr<raftpb::Snapshot> DecodeSnapshotFile(absl::string_view bytes, const std::string& name) {
  auto bad = [&](absl::string_view why) { return absl::DataLossError(absl::StrCat("snap: ", name, ": ", why)); };
  if (bytes.size() < kHeaderBytes || !absl::StartsWith(bytes, kMagic)) return bad("not a snapshot file");
  const uint32_t crc = static_cast<uint32_t>(LoadLittleEndian(bytes.data() + kMagic.size(), 4));
  const uint64_t length = LoadLittleEndian(bytes.data() + kMagic.size() + 4, 8);
  if (length > kMaxSnapshotBytes || length != bytes.size() - kHeaderBytes) {
    return bad(absl::StrCat("length ", length, " does not match the file (", bytes.size() - kHeaderBytes, " bytes)"));
  }
  const absl::string_view body = bytes.substr(kHeaderBytes);
  if (Crc32c(body) != crc) return bad("crc mismatch");
  raftpb::Snapshot s;
  if (!s.ParseFromArray(body.data(), static_cast<int>(body.size()))) return bad("snapshot does not parse");
  if (s.metadata().index() == 0) return bad("snapshot at index 0");
  return s;
}

absl::Status Snapshotter::Save(const raftpb::Snapshot& snapshot) {
  if (absl::Status s = disk_->MkdirAll(dir_); !s.ok()) return s;
  const std::string name = SnapshotFileName(snapshot.metadata().term(), snapshot.metadata().index());
  const std::string tmp = JoinPath(dir_, name + ".tmp");
  if (disk_->Exists(tmp)) {
    if (absl::Status s = disk_->Remove(tmp); !s.ok()) return s;
  }
  auto f = disk_->Create(tmp);
  if (!f.ok()) return f.status();
  // Written in pieces of bounded size: no second copy of the snapshot is made to write it.
  constexpr size_t kPieceBytes = 4 << 20;
  const FilePieces p = SnapshotFilePieces(snapshot);
  if (absl::Status s = (*f)->Append(p.header); !s.ok()) return s;
  if (absl::Status s = (*f)->Append(p.data_prefix); !s.ok()) return s;
  for (size_t at = 0; at < p.data.size(); at += kPieceBytes) {
    if (absl::Status s = (*f)->Append(p.data.substr(at, kPieceBytes)); !s.ok()) return s;
  }
  if (absl::Status s = (*f)->Append(p.metadata); !s.ok()) return s;
  if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  if (absl::Status s = disk_->Rename(tmp, JoinPath(dir_, name)); !s.ok()) return s;
  return disk_->SyncDir(dir_);
}

SnapshotFileWriter::SnapshotFileWriter(Disk* disk, std::string dir, std::string name, raftpb::SnapshotMetadata metadata,
                                       bool for_followers)
    : disk_(disk), dir_(std::move(dir)), name_(std::move(name)), metadata_(std::move(metadata)),
      for_followers_(for_followers) {
  tmp_ = JoinPath(dir_, for_followers_ ? absl::StrFormat("send-%016x-%016x.tmp", metadata_.term(), metadata_.index())
                                       : name_ + ".tmp");
}

SnapshotFileWriter::~SnapshotFileWriter() = default;

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::Begin(Disk* disk, const std::string& dir,
                                                                              const raftpb::SnapshotMetadata& metadata,
                                                                              absl::string_view prefix,
                                                                              bool for_followers) {
  DETCD_CHECK_MSG(metadata.index() > 0, "a snapshot at index 0");
  std::unique_ptr<SnapshotFileWriter> w(new SnapshotFileWriter(
      disk, dir, SnapshotFileName(metadata.term(), metadata.index()), metadata, for_followers));
  if (absl::Status s = disk->MkdirAll(dir); !s.ok()) return s;
  if (disk->Exists(w->tmp_)) {
    if (absl::Status s = disk->Remove(w->tmp_); !s.ok()) return s;
  }
  auto f = disk->Create(w->tmp_);
  if (!f.ok()) return f.status();
  w->file_ = std::move(*f);
  // Zeros where the header, the data's length and the last field's length go: Finish writes them.
  std::string start(kHeaderBytes, '\0');
  start.push_back(kDataTag);
  start.append(kFixedVarintBytes, '\0');
  if (absl::Status s = w->file_->Append(start); !s.ok()) return s;
  if (absl::Status s = w->file_->Append(prefix); !s.ok()) return s;
  if (absl::Status s = w->file_->Append(std::string(kFixedVarintBytes, '\0')); !s.ok()) return s;
  w->prefix_bytes_ = prefix.size();
  w->prefix_crc_ = Crc32c(prefix);
  // The temporary name made durable: a crash mid-stream leaves a file start-up finds and removes, rather than
  // one a file system may or may not have kept (one directory sync per snapshot). A file for followers need not
  // survive a crash at all.
  if (!for_followers) {
    if (absl::Status s = disk->SyncDir(dir); !s.ok()) return s;
  }
  DETCD_CHECK(w->file_->offset() == kHeaderBytes + 1 + 2 * kFixedVarintBytes + prefix.size());
  return w;
}

absl::Status SnapshotFileWriter::Append(absl::string_view piece) {
  DETCD_CHECK_MSG(!closed_, "appending to a finished or abandoned snapshot file");
  if (absl::Status s = file_->Append(piece); !s.ok()) return s;
  field_crc_ = Crc32cCombine(field_crc_, Crc32c(piece), piece.size());
  field_bytes_ += piece.size();
  return absl::OkStatus();
}

absl::Status SnapshotFileWriter::Finish(uint64_t field_bytes) {
  DETCD_CHECK_MSG(!closed_, "finishing a finished or abandoned snapshot file");
  DETCD_CHECK_MSG(field_bytes == field_bytes_, "the streamed field's length is not what was appended");
  closed_ = true;
  raftpb::Snapshot metadata_only;
  *metadata_only.mutable_metadata() = metadata_;
  const std::string metadata = metadata_only.SerializeAsString();
  if (absl::Status s = file_->Append(metadata); !s.ok()) return s;
  // Body: data tag, data length, prefix, field length, field, metadata. Its CRC from the runs' CRCs.
  const uint64_t data_bytes = prefix_bytes_ + kFixedVarintBytes + field_bytes_;
  std::string data_start;
  data_start.push_back(kDataTag);
  PutFixedVarint(&data_start, data_bytes);
  std::string field_length;
  PutFixedVarint(&field_length, field_bytes_);
  uint32_t crc = Crc32c(data_start);
  crc = Crc32cCombine(crc, prefix_crc_, prefix_bytes_);
  crc = Crc32cExtend(crc, field_length.data(), field_length.size());
  crc = Crc32cCombine(crc, field_crc_, field_bytes_);
  crc = Crc32cExtend(crc, metadata.data(), metadata.size());
  const uint64_t body_bytes = data_start.size() + data_bytes + metadata.size();
  DETCD_CHECK_MSG(body_bytes <= kMaxSnapshotBytes, "snapshot too large for its file format");
  DETCD_CHECK(file_->offset() == kHeaderBytes + body_bytes);
  std::string head(kMagic);
  AppendLittleEndian(&head, crc, 4);
  AppendLittleEndian(&head, body_bytes, 8);
  head += data_start;
  auto at_start = disk_->OpenAt(tmp_, 0);
  if (!at_start.ok()) return at_start.status();
  if (absl::Status s = (*at_start)->Append(head); !s.ok()) return s;
  auto at_field = disk_->OpenAt(tmp_, kHeaderBytes + data_start.size() + prefix_bytes_);
  if (!at_field.ok()) return at_field.status();
  if (absl::Status s = (*at_field)->Append(field_length); !s.ok()) return s;
  if (for_followers_) {
    file_.reset();
    return absl::OkStatus();
  }
  // One inode: a sync through any handle makes every handle's writes durable.
  if (absl::Status s = file_->Sync(); !s.ok()) return s;
  file_.reset();
  if (absl::Status s = disk_->Rename(tmp_, JoinPath(dir_, name_)); !s.ok()) return s;
  return disk_->SyncDir(dir_);
}

absl::Status SnapshotFileWriter::Abandon() {
  DETCD_CHECK_MSG(!closed_, "abandoning a finished or abandoned snapshot file");
  closed_ = true;
  file_.reset();
  return disk_->Remove(tmp_);
}

absl::StatusOr<std::vector<std::string>> Snapshotter::Names() {
  if (!disk_->Exists(dir_)) return std::vector<std::string>{};
  auto all = disk_->List(dir_);
  if (!all.ok()) return all.status();
  std::vector<std::string> names;
  for (const std::string& n : *all) {
    if (IsSnapName(n)) names.push_back(n);
  }
  // Fixed-width hex: name order is (term, index) order; the newest is last.
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::optional<raftpb::Snapshot>> Snapshotter::LoadNewest(std::vector<std::string>* broken) {
  absl::StatusOr<std::unique_ptr<SnapshotFileReader>> newest = OpenNewest(broken);
  if (!newest.ok()) return newest.status();
  if (*newest == nullptr) return std::optional<raftpb::Snapshot>();
  raftpb::Snapshot snap;
  *snap.mutable_metadata() = (*newest)->metadata();
  absl::StatusOr<std::string> data = (*newest)->ReadAll();
  if (!data.ok()) return data.status();
  snap.set_data(std::move(*data));
  return std::optional<raftpb::Snapshot>(std::move(snap));
}

absl::StatusOr<std::unique_ptr<SnapshotFileReader>> Snapshotter::OpenNewest(std::vector<std::string>* broken) {
  auto names = Names();
  if (!names.ok()) return names.status();
  for (auto it = names->rbegin(); it != names->rend(); ++it) {
    const std::string path = JoinPath(dir_, *it);
    absl::StatusOr<std::unique_ptr<SnapshotFileReader>> reader = SnapshotFileReader::Open(disk_, path);
    if (reader.ok()) return reader;
    if (reader.status().code() != absl::StatusCode::kDataLoss) return reader.status();  // the disk's, not the file's
    if (broken != nullptr) broken->push_back(std::string(reader.status().message()));
    if (absl::Status s = disk_->Rename(path, path + ".broken"); !s.ok()) return s;
    if (absl::Status s = disk_->SyncDir(dir_); !s.ok()) return s;
  }
  return std::unique_ptr<SnapshotFileReader>();
}

absl::Status Snapshotter::RemoveTemporaries(std::vector<std::string>* removed) {
  if (!disk_->Exists(dir_)) return absl::OkStatus();
  auto all = disk_->List(dir_);
  if (!all.ok()) return all.status();
  bool any = false;
  for (const std::string& n : *all) {
    if (!absl::EndsWith(n, ".tmp")) continue;
    if (absl::Status s = disk_->Remove(JoinPath(dir_, n)); !s.ok()) return s;
    if (removed != nullptr) removed->push_back(n);
    any = true;
  }
  return any ? disk_->SyncDir(dir_) : absl::OkStatus();
}

absl::Status Snapshotter::RemoveOld(size_t keep) {
  auto names = Names();
  if (!names.ok()) return names.status();
  for (size_t i = 0; i + keep < names->size(); ++i) {
    if (absl::Status s = disk_->Remove(JoinPath(dir_, (*names)[i])); !s.ok()) return s;
  }
  return disk_->SyncDir(dir_);
}

}  // namespace detcd::storage
