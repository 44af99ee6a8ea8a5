// MemberStore on a real directory (PosixDisk under TEST_TMPDIR): a fresh directory gets etcd's layout, a restart
// recovers the snapshot and the WAL after it, a second process is refused while the first holds the directory, a WAL
// in a directory of its own (--wal-dir) is written and recovered there, and old segments and snapshot files go once
// two newer snapshots exist.
#include "storage/member_store.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/posix_disk.h"
#include "storage/received_snapshot_file.h"
#include "storage/wal.h"

namespace detcd::storage {
namespace {

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

std::vector<raftpb::Entry> Entries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<raftpb::Entry> out;
  for (uint64_t i = from; i <= to; ++i) {
    raftpb::Entry e;
    e.set_index(i);
    e.set_term(term);
    e.set_data(absl::StrCat("entry ", i));
    out.push_back(e);
  }
  return out;
}

// The recovered snapshot's data, read whole from its file (these snapshots are small).
std::string DataOf(RecoveredMember& r) {
  if (r.snapshot_data == nullptr) return "<no snapshot data>";
  EXPECT_EQ(r.snapshot_data->metadata().SerializeAsString(), r.snapshot.metadata().SerializeAsString());
  absl::StatusOr<std::string> data = r.snapshot_data->ReadAll();
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : "";
}

raftpb::Snapshot SnapshotAt(uint64_t index, uint64_t term) {
  raftpb::Snapshot s;
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->set_term(term);
  s.mutable_metadata()->mutable_conf_state()->add_voters(1);
  s.set_data(absl::StrCat("state at ", index));
  return s;
}

TEST(MemberStoreTest, RestartRecoversSnapshotThenTheWalAfterIt) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_restart");
  {
    MemberStore store(&disk, dir);
    absl::StatusOr<RecoveredMember> fresh = store.Open(7, 1 << 20);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_EQ(fresh->snapshot.metadata().index(), 0u);
    EXPECT_TRUE(fresh->entries.empty());
    raftpb::HardState hs;
    hs.set_term(2);
    hs.set_vote(7);
    hs.set_commit(10);
    ASSERT_TRUE(store.Save(&hs, Entries(1, 10, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshot(SnapshotAt(6, 2)).ok());
    ASSERT_TRUE(store.Save(nullptr, Entries(11, 12, 2)).ok());
    ASSERT_TRUE(store.Sync().ok());
    EXPECT_TRUE(disk.Exists(dir + "/member/wal"));
    EXPECT_TRUE(disk.Exists(dir + "/member/snap"));
  }
  MemberStore again(&disk, dir);
  absl::StatusOr<RecoveredMember> got = again.Open(7, 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->snapshot.metadata().index(), 6u);
  EXPECT_EQ(DataOf(*got), "state at 6");
  EXPECT_EQ(again.snapshot_index(), 6u);
  ASSERT_EQ(got->entries.size(), 6u) << "entries 7..12 follow the snapshot";
  EXPECT_EQ(got->entries.front().index(), 7u);
  EXPECT_EQ(got->entries.back().index(), 12u);
  EXPECT_EQ(got->hard_state.commit(), 10u);
  EXPECT_EQ(got->hard_state.vote(), 7u);
}

TEST(MemberStoreTest, SecondProcessOnTheSameDirectoryIsRefused) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_locked");
  MemberStore first(&disk, dir);
  ASSERT_TRUE(first.Open(1, 1 << 20).ok());
  MemberStore second(&disk, dir);
  absl::StatusOr<RecoveredMember> refused = second.Open(1, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("locked"), std::string::npos) << refused.status();
  first.Close();
  EXPECT_TRUE(second.Open(1, 1 << 20).ok()) << "the lock goes with the process";
}

TEST(MemberStoreTest, WalInADirectoryOfItsOwnIsWrittenAndRecoveredThere) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_waldir_data");
  const std::string wal_dir = FreshDir("member_waldir_wal");
  {
    MemberStore store(&disk, dir, wal_dir);
    EXPECT_EQ(store.wal_dir(), wal_dir);
    EXPECT_EQ(store.snap_dir(), dir + "/member/snap");
    ASSERT_TRUE(store.Open(7, 1 << 20).ok());
    raftpb::HardState hs;
    hs.set_term(3);
    hs.set_commit(8);
    ASSERT_TRUE(store.Save(&hs, Entries(1, 8, 3)).ok());
    ASSERT_TRUE(store.SaveSnapshot(SnapshotAt(5, 3)).ok());
    ASSERT_TRUE(store.Sync().ok());
  }
  EXPECT_TRUE(Wal::Exists(&disk, wal_dir)) << "the segments are in --wal-dir";
  EXPECT_FALSE(disk.Exists(dir + "/member/wal")) << "and not under the data directory";
  absl::StatusOr<std::vector<std::string>> snaps = disk.List(dir + "/member/snap");
  ASSERT_TRUE(snaps.ok()) << snaps.status();
  EXPECT_EQ(snaps->size(), 1u) << "snapshots stay under the data directory";

  // Either directory is refused to a second process while the first runs.
  MemberStore first(&disk, dir, wal_dir);
  absl::StatusOr<RecoveredMember> got = first.Open(7, 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->snapshot.metadata().index(), 5u);
  ASSERT_EQ(got->entries.size(), 3u) << "entries 6..8 follow the snapshot";
  EXPECT_EQ(got->entries.back().index(), 8u);
  EXPECT_EQ(got->hard_state.commit(), 8u);
  MemberStore same_data_other_wal(&disk, dir, FreshDir("member_waldir_other"));
  absl::StatusOr<RecoveredMember> refused = same_data_other_wal.Open(7, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("locked"), std::string::npos) << refused.status();
  MemberStore same_wal_other_data(&disk, FreshDir("member_waldir_other_data"), wal_dir);
  refused = same_wal_other_data.Open(7, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("locked"), std::string::npos) << refused.status();
  MemberStore default_layout(&disk, dir);
  refused = default_layout.Open(7, 1 << 20);
  ASSERT_FALSE(refused.ok()) << "the data directory without --wal-dir is held too";
  EXPECT_NE(refused.status().message().find("locked"), std::string::npos) << refused.status();
  first.Close();
  EXPECT_TRUE(same_data_other_wal.Open(7, 1 << 20).ok()) << "the locks go with the process";
}

TEST(MemberStoreTest, OldSegmentsAndSnapshotsGoAfterTwoNewerSnapshots) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_gc");
  MemberStore store(&disk, dir);
  ASSERT_TRUE(store.Open(1, 4096).ok());
  uint64_t next = 1;
  for (uint64_t snap : {50, 100, 150}) {
    ASSERT_TRUE(store.Save(nullptr, Entries(next, snap, 1)).ok());
    next = snap + 1;
    ASSERT_TRUE(store.Sync().ok());
    ASSERT_TRUE(store.SaveSnapshot(SnapshotAt(snap, 1)).ok());
    ASSERT_TRUE(store.RemoveOld().ok());
  }
  absl::StatusOr<std::vector<std::string>> snaps = disk.List(dir + "/member/snap");
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->size(), 2u) << "the newest and the one before";
  store.Close();
  MemberStore again(&disk, dir);
  absl::StatusOr<RecoveredMember> got = again.Open(1, 4096);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->snapshot.metadata().index(), 150u);
}

// etcd's --max-snapshots and --max-wals: files kept after each snapshot (0: all), never fewer snapshots than the
// newest two, never a WAL segment the snapshot before the newest still needs.
TEST(MemberStoreTest, RetentionKeepsAsManyOldFilesAsAsked) {
  PosixDisk disk;
  auto run = [&](const std::string& name, size_t max_snapshots, size_t max_wals, size_t* snaps, size_t* wals) {
    const std::string dir = FreshDir(name);
    MemberStore store(&disk, dir);
    store.SetRetention(max_snapshots, max_wals);
    ASSERT_TRUE(store.Open(1, 4096).ok());
    uint64_t next = 1;
    for (uint64_t snap = 200; snap <= 1600; snap += 200) {
      ASSERT_TRUE(store.Save(nullptr, Entries(next, snap, 1)).ok());
      next = snap + 1;
      ASSERT_TRUE(store.Sync().ok());
      ASSERT_TRUE(store.SaveSnapshot(SnapshotAt(snap, 1)).ok());
      ASSERT_TRUE(store.RemoveOld().ok());
    }
    *snaps = disk.List(dir + "/member/snap")->size();
    *wals = disk.List(dir + "/member/wal")->size();
    store.Close();
    MemberStore again(&disk, dir);
    absl::StatusOr<RecoveredMember> got = again.Open(1, 4096);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->snapshot.metadata().index(), 1600u);
  };
  size_t all_snaps = 0, all_wals = 0;
  ASSERT_NO_FATAL_FAILURE(run("keep_all", 0, 0, &all_snaps, &all_wals));
  EXPECT_EQ(all_snaps, 8u);
  ASSERT_GT(all_wals, 6u) << "the test needs many segments (4 KiB each)";
  size_t snaps = 0, wals_five = 0, wals_two = 0;
  ASSERT_NO_FATAL_FAILURE(run("keep_five", 5, 5, &snaps, &wals_five));
  EXPECT_EQ(snaps, 5u);
  EXPECT_GE(wals_five, 5u);  // more if the snapshot before the newest needs more
  EXPECT_LT(wals_five, all_wals);
  ASSERT_NO_FATAL_FAILURE(run("keep_one", 1, 2, &snaps, &wals_two));
  EXPECT_EQ(snaps, 2u) << "the snapshot before the newest stays whatever the setting";
  EXPECT_GE(wals_two, 2u);
  EXPECT_LE(wals_two, wals_five);
}

}  // namespace
}  // namespace detcd::storage

namespace detcd::storage {
namespace {

// The three-step save a driver uses to write the file on a thread of its own: WAL writes go on between the marker and
// the file, and a crash before the file is durable recovers from the snapshot before, with the whole WAL after it.
TEST(MemberStoreTest, SnapshotSavedInStepsWhileTheWalGoesOn) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_steps");
  raftpb::HardState hs;
  hs.set_term(2);
  hs.set_commit(30);
  {
    MemberStore store(&disk, dir);
    ASSERT_TRUE(store.Open(7, 1 << 20).ok());
    ASSERT_TRUE(store.Save(&hs, Entries(1, 10, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshot(SnapshotAt(5, 2)).ok());
    ASSERT_TRUE(store.Save(nullptr, Entries(11, 20, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshotMarker(SnapshotAt(15, 2).metadata()).ok());
    ASSERT_TRUE(store.Save(&hs, Entries(21, 30, 2)).ok());
    ASSERT_TRUE(store.Sync().ok());
    // Crash: the file of the snapshot at 15 was never written.
  }
  {
    MemberStore store(&disk, dir);
    absl::StatusOr<RecoveredMember> r = store.Open(7, 1 << 20);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->snapshot.metadata().index(), 5u) << "a marker without its file is ignored";
    ASSERT_EQ(r->entries.size(), 25u);
    EXPECT_EQ(r->entries.back().index(), 30u);
    // Now the whole three steps, with WAL writes between.
    ASSERT_TRUE(store.SaveSnapshotMarker(SnapshotAt(25, 2).metadata()).ok());
    ASSERT_TRUE(store.Save(nullptr, Entries(31, 32, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshotFile(SnapshotAt(25, 2)).ok());
    store.SnapshotSaved(25);
    store.SnapshotSaved(20);  // an older save finishing late changes nothing
    EXPECT_EQ(store.snapshot_index(), 25u);
    ASSERT_TRUE(store.RemoveOld().ok());
    ASSERT_TRUE(store.Sync().ok());
  }
  MemberStore store(&disk, dir);
  absl::StatusOr<RecoveredMember> r = store.Open(7, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->snapshot.metadata().index(), 25u);
  EXPECT_EQ(DataOf(*r), "state at 25");
  ASSERT_EQ(r->entries.size(), 7u);
  EXPECT_EQ(r->entries.back().index(), 32u);
}

}  // namespace
}  // namespace detcd::storage

namespace detcd::storage {
namespace {

// The member's own snapshot streamed: marker, Begin, pieces, Finish. A crash mid-stream recovers from the snapshot
// before (with the WAL after it), and the half-written file is removed at start-up, with a note.
TEST(MemberStoreTest, StreamedSnapshotAndACrashMidStream) {
  PosixDisk disk;
  const std::string dir = FreshDir("member_streamed");
  raftpb::HardState hs;
  hs.set_term(2);
  hs.set_commit(30);
  {
    MemberStore store(&disk, dir);
    ASSERT_TRUE(store.Open(7, 1 << 20).ok());
    ASSERT_TRUE(store.Save(&hs, Entries(1, 20, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshotMarker(SnapshotAt(10, 2).metadata()).ok());
    auto w = store.BeginSnapshotFile(SnapshotAt(10, 2).metadata(), "\x0a");
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Append("state ").ok());
    ASSERT_TRUE((*w)->Append("at 10").ok());
    ASSERT_TRUE((*w)->Finish(11).ok());
    store.SnapshotSaved(10);
    ASSERT_TRUE(store.RemoveOld().ok());
    ASSERT_TRUE(store.Save(&hs, Entries(21, 30, 2)).ok());
    ASSERT_TRUE(store.SaveSnapshotMarker(SnapshotAt(25, 2).metadata()).ok());
    auto cut = store.BeginSnapshotFile(SnapshotAt(25, 2).metadata(), "\x0a");
    ASSERT_TRUE(cut.ok());
    ASSERT_TRUE((*cut)->Append(std::string(4096, 's')).ok());
    ASSERT_TRUE(store.Sync().ok());
    // Crash mid-stream.
  }
  MemberStore store(&disk, dir);
  absl::StatusOr<RecoveredMember> r = store.Open(7, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->snapshot.metadata().index(), 10u);
  EXPECT_EQ(DataOf(*r), std::string("\x0a\x8b\x80\x80\x80\x00state at 10", 17));
  ASSERT_EQ(r->entries.size(), 20u);
  EXPECT_EQ(r->entries.back().index(), 30u);
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_NE(r->notes[0].find("half-written"), std::string::npos) << r->notes[0];
  EXPECT_FALSE(disk.Exists(store.snap_dir() + "/" + SnapshotFileName(2, 25) + ".tmp"));
}

}  // namespace
}  // namespace detcd::storage

namespace detcd::storage {
namespace {

// A leader's snapshot for followers streamed to its temporary file, received on another member a few bytes at a
// time into a file of its own and installed there as that member's snapshot: a restart recovers from it (the data
// read through SnapshotFileReader). The sender's file and an unfinished reception (a crash) are gone after start-up.
TEST(MemberStoreTest, SnapshotForFollowersReceivedAndInstalled) {
  PosixDisk disk;
  const std::string leader_dir = FreshDir("member_send_leader");
  const std::string follower_dir = FreshDir("member_send_follower");
  const raftpb::SnapshotMetadata md = SnapshotAt(40, 3).metadata();
  std::string sent;
  {
    MemberStore leader(&disk, leader_dir);
    ASSERT_TRUE(leader.Open(1, 1 << 20).ok());
    auto w = leader.BeginSnapshotFileForFollowers(md, "\x0a");
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Append(std::string(5000, 'x')).ok());
    ASSERT_TRUE((*w)->Finish(5000).ok());
    EXPECT_TRUE(absl::StrContains((*w)->temporary_path(), "send-")) << (*w)->temporary_path();
    absl::StatusOr<std::string> bytes = disk.Read((*w)->temporary_path());
    ASSERT_TRUE(bytes.ok());
    sent = *bytes;
    EXPECT_FALSE(disk.Exists(leader.snap_dir() + "/" + SnapshotFileName(3, 40))) << "not the leader's own snapshot";
  }
  raftpb::HardState hs;
  hs.set_term(3);
  hs.set_commit(40);
  {
    MemberStore follower(&disk, follower_dir);
    ASSERT_TRUE(follower.Open(2, 1 << 20).ok());
    auto r = ReceivedSnapshotFile::Begin(&disk, follower.snap_dir(), "received-1.tmp", md, sent.size());
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t at = 0; at < sent.size(); at += 7) ASSERT_TRUE((*r)->Append(absl::string_view(sent).substr(at, 7)).ok());
    absl::StatusOr<std::string> path = (*r)->Finish();
    ASSERT_TRUE(path.ok()) << path.status();
    ASSERT_TRUE(follower.InstallSnapshotFile(md, *path).ok());
    ASSERT_TRUE(follower.Save(&hs, {}).ok());
    ASSERT_TRUE(follower.Sync().ok());
    EXPECT_EQ(follower.snapshot_index(), 40u);
    // A second reception, cut short by a crash.
    auto cut = ReceivedSnapshotFile::Begin(&disk, follower.snap_dir(), "received-2.tmp", md, sent.size());
    ASSERT_TRUE(cut.ok());
    ASSERT_TRUE((*cut)->Append(absl::string_view(sent).substr(0, 100)).ok());
    cut->release();  // the process dies: nothing removes it
  }
  MemberStore follower(&disk, follower_dir);
  absl::StatusOr<RecoveredMember> r = follower.Open(2, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->snapshot.metadata().SerializeAsString(), md.SerializeAsString());
  const std::string data = DataOf(*r);
  EXPECT_EQ(data.size(), 1u + 5 + 5000);
  EXPECT_EQ(data.substr(6), std::string(5000, 'x'));
  EXPECT_FALSE(disk.Exists(follower.snap_dir() + "/received-2.tmp")) << "start-up removes an unfinished reception";
  MemberStore leader(&disk, leader_dir);
  ASSERT_TRUE(leader.Open(1, 1 << 20).ok());
  absl::StatusOr<std::vector<std::string>> left = disk.List(leader.snap_dir());
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty()) << "start-up removes a file for followers: " << (*left)[0];
}

}  // namespace
}  // namespace detcd::storage
