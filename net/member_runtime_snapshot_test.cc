// MemberRuntime saving its own snapshots as the core streams them (real threads, real directory): with small pieces
// every save is many pieces through the snapshot thread, the files land in member/snap and decode, writes are
// answered throughout, and a restart comes back from the newest snapshot with everything acknowledged. A leftover
// half-written file (as a crash mid-save leaves) is removed at start-up.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/member_runtime.h"
#include "net/test_member.h"
#include "storage/posix_disk.h"
#include "storage/snapshotter.h"

namespace detcd::net {
namespace {

std::vector<std::string> SnapFiles(const std::string& dir) {
  storage::PosixDisk d;
  std::vector<std::string> out;
  auto names = d.List(dir + "/member/snap");
  if (!names.ok()) return out;
  for (const std::string& n : *names) out.push_back(n);
  return out;
}

TEST(MemberRuntimeSnapshotTest, OwnSnapshotsAreStreamedToTheirFilesAndRecovered) {
  const std::string dir = FreshTestDir("runtime_snapshot_stream");
  std::vector<std::string> log;
  std::mutex log_mu;
  auto options = [&] {
    MemberRuntimeOptions o = SingleMemberOptions(dir);
    o.core.snapshot_count = 100;
    o.core.snapshot_catch_up_entries = 10;
    o.core.snapshot_chunk_records = 16;
    o.core.snapshot_piece_bytes = 512;  // each save is many pieces
    o.log = [&](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu);
      log.push_back(line);
    };
    return o;
  };
  {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(options());
    ASSERT_TRUE(rt.ok()) << rt.status();
    ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k0", "v")).status.ok());
    for (int i = 1; i < 450; ++i) {
      kv::ClientReply put =
          (*rt)->Call(PutRequest(absl::StrCat("k", i % 120), std::string(64, 'a' + i % 26)), absl::Seconds(5));
      ASSERT_TRUE(put.status.ok()) << i << ": " << put.status;
    }
    // Saves finish on their own thread: wait for the last one due.
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> l(log_mu);
        int saved = 0;
        for (const std::string& line : log) saved += absl::StartsWith(line, "saved snapshot at index");
        if (saved >= 4) break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    (*rt)->Stop();
  }
  int saved = 0;
  for (const std::string& line : log) saved += absl::StartsWith(line, "saved snapshot at index");
  EXPECT_GE(saved, 4) << "a save every 100 entries";
  std::vector<std::string> files = SnapFiles(dir);
  ASSERT_EQ(files.size(), 2u) << "the newest and the one before";
  for (const std::string& f : files) {
    storage::PosixDisk d;
    const std::string path = dir + "/member/snap/" + f;
    absl::StatusOr<raftpb::Snapshot> s = storage::DecodeSnapshotFile(*d.Read(path), path);
    ASSERT_TRUE(s.ok()) << s.status();
  }
  // A half-written file, as a crash mid-save leaves one: removed at start-up; the state comes back from the newest.
  {
    storage::PosixDisk d;
    auto f = d.Create(dir + "/member/snap/" + storage::SnapshotFileName(9, 9999) + ".tmp");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("detcd-snap\n half").ok());
  }
  log.clear();
  absl::StatusOr<std::unique_ptr<MemberRuntime>> again = MemberRuntime::Start(options());
  ASSERT_TRUE(again.ok()) << again.status();
  kv::ClientReply get = CallUntilLeader(**again, GetRequest("k89"));
  ASSERT_TRUE(get.status.ok()) << get.status;
  ASSERT_EQ(get.response.range().kvs_size(), 1);
  EXPECT_EQ(get.response.range().kvs(0).value(), std::string(64, 'a' + 449 % 26));
  (*again)->Stop();
  bool removed = false;
  bool recovered = false;
  for (const std::string& line : log) {
    removed |= absl::StrContains(line, "removed a half-written snapshot file");
    recovered |= absl::StartsWith(line, "recovered from snapshot at index");
  }
  EXPECT_TRUE(removed);
  EXPECT_TRUE(recovered);
  for (const std::string& f : SnapFiles(dir)) EXPECT_FALSE(absl::EndsWith(f, ".tmp")) << f;
}

}  // namespace
}  // namespace detcd::net
