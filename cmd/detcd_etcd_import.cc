#include "cmd/detcd_etcd_import.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cmd/detcd_identity.h"
#include "net/cluster_ids.h"
#include "net/etcd_import.h"
#include "storage/bbolt_reader.h"
#include "storage/etcd_wal_reader.h"
#include "storage/member_store.h"
#include "storage/posix_disk.h"

namespace detcd {

namespace fs = std::filesystem;

namespace {

constexpr char kTmp[] = "/detcd-import.tmp";

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

absl::StatusOr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  return s.str();
}

// A shared flock on etcd's backend file while it is read: etcd's bbolt holds an exclusive one while etcd runs.
class BackendLock {
 public:
  ~BackendLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  absl::Status Take(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("cannot open ", path));
    if (::flock(fd_, LOCK_SH | LOCK_NB) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is locked by another process: stop the etcd running on this data directory first"));
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
};

absl::Status Rename(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return absl::InternalError(absl::StrCat("rename ", from, " to ", to, ": ", ec.message()));
  return absl::OkStatus();
}

// A name beside `path` that is free: path + suffix, or with .1, .2, ...
std::string FreeName(const std::string& path, const std::string& suffix) {
  std::string name = path + suffix;
  for (int i = 1; Exists(name); ++i) name = absl::StrCat(path, suffix, ".", i);
  return name;
}

absl::StatusOr<storage::EtcdWal> ReadWal(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (storage::IsEtcdWalSegmentName(name)) names.push_back(name);
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  std::sort(names.begin(), names.end());
  // A segment at a time: etcd preallocates each to 64 MB.
  storage::EtcdWalReader reader;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<std::string> bytes = Slurp(dir + "/" + names[i]);
    if (!bytes.ok()) return bytes.status();
    if (absl::Status s = reader.AddSegment(dir + "/" + names[i], *bytes, i + 1 == names.size()); !s.ok()) return s;
  }
  return reader.Finish();
}

// The detcd member directory for `m`, made under <data_dir>/detcd-import.tmp (its WAL in tmp_wal_dir if not "").
absl::Status WriteMember(const std::string& tmp, const std::string& tmp_wal_dir, const net::ImportedEtcdMember& m) {
  storage::PosixDisk disk;
  storage::MemberStore store(&disk, tmp, tmp_wal_dir);
  absl::StatusOr<storage::RecoveredMember> opened = store.Open(m.member_id, 64 << 20);
  if (!opened.ok()) return opened.status();
  raftpb::Snapshot snap;
  *snap.mutable_metadata() = m.snapshot;
  snap.set_data(m.state.SerializeAsString());
  if (absl::Status s = store.SaveSnapshot(snap); !s.ok()) return s;
  if (absl::Status s = store.Save(&m.hard_state, {}); !s.ok()) return s;
  if (absl::Status s = store.Sync(); !s.ok()) return s;
  store.Close();
  return SaveMemberIds(tmp, {m.member_id, m.cluster_id});
}

}  // namespace

bool IsEtcdDataDir(const std::string& data_dir) {
  return Exists(data_dir + "/member/snap/db") && !Exists(data_dir + "/member/detcd-ids");
}

absl::StatusOr<bool> ImportEtcdDataDir(const std::string& data_dir, const std::string& wal_dir,
                                       const std::function<void(const std::string&)>& log) {
  const std::string tmp = data_dir + kTmp;
  const std::string member = data_dir + "/member";
  const std::string tmp_wal = wal_dir.empty() ? "" : wal_dir + ".detcd-import.tmp";
  // A crash after etcd's directories began to be moved aside: the finished import is put in place.
  const bool wal_moved = !wal_dir.empty() && !Exists(wal_dir) && Exists(tmp_wal);
  if (Exists(tmp + "/member/detcd-ids") && (!Exists(member) || wal_moved)) {
    if (Exists(member)) {
      if (absl::Status s = Rename(member, FreeName(member, ".etcd")); !s.ok()) return s;
    }
    if (wal_moved) {
      if (absl::Status s = Rename(tmp_wal, wal_dir); !s.ok()) return s;
    }
    if (absl::Status s = Rename(tmp + "/member", member); !s.ok()) return s;
    std::error_code ec;
    fs::remove(tmp, ec);
    log(absl::StrCat("finished importing the etcd data directory ", data_dir, " (a start before was interrupted); ",
                     "etcd's files are in ", member, ".etcd"));
    return true;
  }
  if (!IsEtcdDataDir(data_dir)) return false;
  const std::string etcd_wal = wal_dir.empty() ? member + "/wal" : wal_dir;
  log(absl::StrCat("found an etcd data directory in ", data_dir, " (", member, "/snap/db, WAL in ", etcd_wal,
                   "): importing it"));
  BackendLock lock;
  if (absl::Status s = lock.Take(member + "/snap/db"); !s.ok()) return s;
  absl::StatusOr<std::string> db_bytes = Slurp(member + "/snap/db");
  if (!db_bytes.ok()) return db_bytes.status();
  absl::StatusOr<storage::BboltDatabase> db = storage::ReadBboltDatabase(*db_bytes);
  std::string().swap(*db_bytes);
  if (!db.ok()) return absl::Status(db.status().code(), absl::StrCat(member, "/snap/db: ", db.status().message()));
  absl::StatusOr<storage::EtcdWal> wal = ReadWal(etcd_wal);
  if (!wal.ok()) return wal.status();
  absl::StatusOr<net::ImportedEtcdMember> m = net::ImportEtcdMember(*db, *wal);
  if (!m.ok()) return m.status();
  db->buckets.clear();

  std::error_code ec;
  fs::remove_all(tmp, ec);  // an import a crash cut short before it was finished
  if (!tmp_wal.empty()) fs::remove_all(tmp_wal, ec);
  if (absl::Status s = WriteMember(tmp, tmp_wal, *m); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("writing the imported member in ", tmp, ": ", s.message()));
  }
  const std::string aside = FreeName(member, ".etcd");
  if (!wal_dir.empty()) {
    const std::string wal_aside = FreeName(wal_dir, ".etcd");
    if (absl::Status s = Rename(wal_dir, wal_aside); !s.ok()) return s;
    log(absl::StrCat("moved etcd's WAL directory ", wal_dir, " aside to ", wal_aside, " (kept, not read again)"));
  }
  if (absl::Status s = Rename(member, aside); !s.ok()) return s;
  if (!tmp_wal.empty()) {
    if (absl::Status s = Rename(tmp_wal, wal_dir); !s.ok()) return s;
  }
  if (absl::Status s = Rename(tmp + "/member", member); !s.ok()) return s;
  fs::remove(tmp, ec);
  std::string members;
  for (const kvpb::Member& x : m->state.cluster_members()) {
    absl::StrAppend(&members, members.empty() ? "" : ", ", x.name(), "=", net::IdHex(x.id()),
                    x.is_learner() ? " (learner)" : "");
  }
  log(absl::StrCat("imported etcd member ", net::IdHex(m->member_id), " of cluster ", net::IdHex(m->cluster_id),
                   " at raft index ", m->snapshot.index(), " (term ", m->snapshot.term(), "): revision ", m->revision,
                   ", compacted at ", m->compacted_revision, ", ", m->versions, " versions, ", m->leases,
                   " leases, members ", members));
  if (m->skipped_entries > 0) {
    log(absl::StrCat("took ", m->skipped_entries, " WAL entries past etcd's backend (consistent index ",
                     m->snapshot.index() - m->skipped_entries, "): empty entries, conf changes, etcd's own v2 writes"));
  }
  log(absl::StrCat("etcd's member directory is kept, unchanged, in ", aside, "; detcd's is now ", member));
  return true;
}

}  // namespace detcd
