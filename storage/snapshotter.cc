#include "storage/snapshotter.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/crc32c.h"

namespace detcd::storage {

namespace {

constexpr absl::string_view kMagic = "detcd-snap\n";
constexpr size_t kHeaderBytes = 11 + 4 + 8;
constexpr uint64_t kMaxSnapshotBytes = uint64_t{8} << 30;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool IsSnapName(const std::string& n) { return n.size() == 16 + 1 + 16 + 5 && absl::EndsWith(n, ".snap"); }

}  // namespace

std::string SnapshotFileName(uint64_t term, uint64_t index) { return absl::StrFormat("%016x-%016x.snap", term, index); }

std::string EncodeSnapshotFile(const raftpb::Snapshot& snapshot) {
  const std::string body = snapshot.SerializeAsString();
  std::string out(kMagic);
  PutLe(&out, Crc32c(body), 4);
  PutLe(&out, body.size(), 8);
  out += body;
  return out;
}

absl::StatusOr<raftpb::Snapshot> DecodeSnapshotFile(absl::string_view bytes, const std::string& name) {
  auto bad = [&](absl::string_view why) { return absl::DataLossError(absl::StrCat("snap: ", name, ": ", why)); };
  if (bytes.size() < kHeaderBytes || !absl::StartsWith(bytes, kMagic)) return bad("not a snapshot file");
  const uint32_t crc = static_cast<uint32_t>(GetLe(bytes.data() + kMagic.size(), 4));
  const uint64_t length = GetLe(bytes.data() + kMagic.size() + 4, 8);
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
  if (absl::Status s = (*f)->Append(EncodeSnapshotFile(snapshot)); !s.ok()) return s;
  if (absl::Status s = (*f)->Sync(); !s.ok()) return s;
  if (absl::Status s = disk_->Rename(tmp, JoinPath(dir_, name)); !s.ok()) return s;
  return disk_->SyncDir(dir_);
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
  auto names = Names();
  if (!names.ok()) return names.status();
  for (auto it = names->rbegin(); it != names->rend(); ++it) {
    const std::string path = JoinPath(dir_, *it);
    auto bytes = disk_->Read(path);
    if (!bytes.ok()) return bytes.status();
    auto snap = DecodeSnapshotFile(*bytes, path);
    if (snap.ok()) return std::optional<raftpb::Snapshot>(std::move(*snap));
    if (broken != nullptr) broken->push_back(std::string(snap.status().message()));
    if (absl::Status s = disk_->Rename(path, path + ".broken"); !s.ok()) return s;
    if (absl::Status s = disk_->SyncDir(dir_); !s.ok()) return s;
  }
  return std::optional<raftpb::Snapshot>();
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
