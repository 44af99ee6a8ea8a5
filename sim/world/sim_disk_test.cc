#include "sim/world/sim_disk.h"

#include <string>

#include "base/prng.h"
#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

std::string ReadOr(SimDisk& d, const std::string& p) {
  auto r = d.Read(p);
  return r.ok() ? *r : "<" + std::string(r.status().message()) + ">";
}

TEST(SimDiskTest, SyncedDataSurvivesACrashAndUnsyncedDataDoesNot) {
  SimDisk d;
  Prng prng(1);
  ASSERT_TRUE(d.MkdirAll("/n/wal").ok());
  auto f = d.Create("/n/wal/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(d.SyncDir("/n/wal").ok());
  ASSERT_TRUE((*f)->Append("world").ok());
  EXPECT_EQ(ReadOr(d, "/n/wal/a"), "hello world");  // the page cache shows it
  d.Crash(CrashLoss::kAll, &prng);
  EXPECT_EQ(ReadOr(d, "/n/wal/a"), "hello ");
  // The dead process's handle is useless.
  EXPECT_FALSE((*f)->Append("x").ok());
}

// A sync copies only what changed since the last one: whatever mix of overwrites, appends, preallocations and
// truncations (shrinking and growing) came before, what survives a crash right after a sync is exactly what readers
// saw at the sync.
TEST(SimDiskTest, ASyncMakesExactlyWhatReadersSeeDurableAfterAnyMixOfChanges) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SimDisk d;
    Prng prng(seed);
    ASSERT_TRUE(d.MkdirAll("/n").ok());
    ASSERT_TRUE(d.Create("/n/f").ok());
    ASSERT_TRUE(d.SyncDir("/n").ok());
    std::string at_sync;
    for (int op = 0; op < 40; ++op) {
      const uint64_t size = *d.Size("/n/f");
      auto f = d.OpenAt("/n/f", prng.Uniform(size + 1));
      ASSERT_TRUE(f.ok()) << f.status();
      switch (prng.Uniform(5)) {
        case 0:
        case 1:
          ASSERT_TRUE((*f)->Append(std::string(prng.Uniform(700) + 1, static_cast<char>('a' + op % 26))).ok());
          break;
        case 2:
          ASSERT_TRUE((*f)->Preallocate(size + prng.Uniform(2000)).ok());
          break;
        case 3:
          ASSERT_TRUE((*f)->Truncate(prng.Uniform(size + 300)).ok());
          break;
        default:
          ASSERT_TRUE((*f)->Sync().ok());
          at_sync = ReadOr(d, "/n/f");
      }
    }
    d.Crash(CrashLoss::kAll, &prng);
    ASSERT_EQ(ReadOr(d, "/n/f"), at_sync) << "seed " << seed;
  }
}

TEST(SimDiskTest, AFileWhoseNameWasNeverSyncedDisappears) {
  SimDisk d;
  Prng prng(1);
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto f = d.Create("/n/tmp");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("data").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(d.Rename("/n/tmp", "/n/final").ok());
  d.Crash(CrashLoss::kAll, &prng);
  EXPECT_FALSE(d.Exists("/n/final"));
  EXPECT_FALSE(d.Exists("/n/tmp"));
}

TEST(SimDiskTest, RenameIsDurableAfterDirectorySync) {
  SimDisk d;
  Prng prng(1);
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto f = d.Create("/n/tmp");
  ASSERT_TRUE((*f)->Append("data").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(d.Rename("/n/tmp", "/n/final").ok());
  ASSERT_TRUE(d.SyncDir("/n").ok());
  d.Crash(CrashLoss::kAll, &prng);
  EXPECT_EQ(ReadOr(d, "/n/final"), "data");
  EXPECT_FALSE(d.Exists("/n/tmp"));
  auto list = d.List("/n");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<std::string>{"final"});
}

// With torn-prefix loss, what survives is the synced data plus a prefix of the unsynced sectors in write order.
TEST(SimDiskTest, TornPrefixKeepsAPrefixOfUnsyncedSectors) {
  int shorter = 0, longer = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimDisk d;
    Prng prng(seed);
    ASSERT_TRUE(d.MkdirAll("/n").ok());
    auto f = d.Create("/n/f");
    ASSERT_TRUE(d.SyncDir("/n").ok());
    const std::string synced(1000, 's');
    ASSERT_TRUE((*f)->Append(synced).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    const std::string unsynced(4 * SimDisk::kSectorBytes, 'u');
    ASSERT_TRUE((*f)->Append(unsynced).ok());
    d.Crash(CrashLoss::kTornPrefix, &prng);
    const std::string after = ReadOr(d, "/n/f");
    ASSERT_GE(after.size(), synced.size());
    EXPECT_EQ(after.substr(0, synced.size()), synced);
    // The survivors are contiguous: no 'u' after a hole.
    const std::string tail = after.substr(synced.size());
    EXPECT_EQ(tail.find_first_not_of('u'), std::string::npos) << "seed " << seed;
    (after.size() == synced.size() ? shorter : longer)++;
  }
  EXPECT_GT(shorter, 0);
  EXPECT_GT(longer, 0);
}

// Out-of-order loss can leave holes of zeros inside the unsynced region (a sector later in the file survived while
// an earlier one did not) — the case a WAL reader must treat as a torn write, not as corruption.
TEST(SimDiskTest, RandomSectorLossCanLeaveHoles) {
  bool saw_hole = false;
  for (uint64_t seed = 1; seed <= 40 && !saw_hole; ++seed) {
    SimDisk d;
    Prng prng(seed);
    ASSERT_TRUE(d.MkdirAll("/n").ok());
    auto f = d.Create("/n/f");
    ASSERT_TRUE((*f)->Preallocate(8 * SimDisk::kSectorBytes).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE(d.SyncDir("/n").ok());
    ASSERT_TRUE((*f)->Append(std::string(8 * SimDisk::kSectorBytes, 'u')).ok());
    d.Crash(CrashLoss::kRandomSectors, &prng);
    const std::string after = ReadOr(d, "/n/f");
    ASSERT_EQ(after.size(), 8 * SimDisk::kSectorBytes);
    for (size_t s = 0; s + 1 < 8; ++s) {
      if (after[s * SimDisk::kSectorBytes] == '\0' && after[(s + 1) * SimDisk::kSectorBytes] == 'u') saw_hole = true;
    }
  }
  EXPECT_TRUE(saw_hole);
}

TEST(SimDiskTest, WriteAndSyncErrorsAreReported) {
  SimDisk d;
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto f = d.Create("/n/f");
  d.set_write_error(true);
  absl::Status s = (*f)->Append("x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("input/output error"), std::string::npos) << s;
  d.set_write_error(false);
  ASSERT_TRUE((*f)->Append("x").ok());
  d.set_sync_error(true);
  s = (*f)->Sync();
  EXPECT_NE(std::string(s.message()).find("fdatasync /n/f: input/output error"), std::string::npos) << s;
  EXPECT_EQ(d.stats().sync_errors, 1u);
}

TEST(SimDiskTest, WritesPastCapacityFailWithNoSpace) {
  SimDisk d;
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  d.set_capacity_bytes(100);
  auto f = d.Create("/n/f");
  ASSERT_TRUE((*f)->Append(std::string(90, 'a')).ok());
  absl::Status s = (*f)->Append(std::string(20, 'b'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(s.message()).find("no space left on device"), std::string::npos);
  EXPECT_EQ(ReadOr(d, "/n/f"), std::string(90, 'a'));  // nothing half-written
  EXPECT_FALSE((*f)->Preallocate(200).ok());
}

TEST(SimDiskTest, BitFlipsHitOnlySyncedData) {
  SimDisk d;
  Prng prng(3);
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto f = d.Create("/n/f");
  ASSERT_TRUE(d.SyncDir("/n").ok());
  EXPECT_EQ(d.FlipRandomBit("/n/", &prng), "");  // nothing synced yet
  const std::string data(64, 'a');
  ASSERT_TRUE((*f)->Append(data).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Preallocate(4096).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  for (int i = 0; i < 20; ++i) {
    const std::string what = d.FlipRandomBit("/n/", &prng);
    ASSERT_FALSE(what.empty());
    const std::string after = ReadOr(d, "/n/f");
    EXPECT_EQ(after.substr(64).find_first_not_of('\0'), std::string::npos) << "flipped preallocated space: " << what;
    EXPECT_NE(after.substr(0, 64), data);
    d.Crash(CrashLoss::kAll, &prng);  // the flip is on the platter, not just in the cache
    EXPECT_EQ(ReadOr(d, "/n/f"), after);
    // Undo by flipping until the data is back is not possible to target; start over instead.
    ASSERT_TRUE(d.Remove("/n/f").ok());
    ASSERT_TRUE(d.SyncDir("/n").ok());
    auto g = d.Create("/n/f");
    ASSERT_TRUE((*g)->Append(data).ok());
    ASSERT_TRUE((*g)->Sync().ok());
    ASSERT_TRUE((*g)->Preallocate(4096).ok());
    ASSERT_TRUE((*g)->Sync().ok());
    ASSERT_TRUE(d.SyncDir("/n").ok());
  }
}

TEST(SimDiskTest, LockIsExclusiveAndDiesWithTheProcess) {
  SimDisk d;
  Prng prng(1);
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto l1 = d.Lock("/n");
  ASSERT_TRUE(l1.ok());
  auto l2 = d.Lock("/n");
  ASSERT_FALSE(l2.ok());
  EXPECT_NE(std::string(l2.status().message()).find("locked"), std::string::npos);
  d.Crash(CrashLoss::kAll, &prng);
  auto l3 = d.Lock("/n");
  EXPECT_TRUE(l3.ok());
  l1->reset();  // the dead process's lock going away must not release the new one
  EXPECT_FALSE(d.Lock("/n").ok());
}

TEST(SimDiskTest, TruncateIsDurableOnlyAfterSync) {
  SimDisk d;
  Prng prng(1);
  ASSERT_TRUE(d.MkdirAll("/n").ok());
  auto f = d.Create("/n/f");
  ASSERT_TRUE(d.SyncDir("/n").ok());
  ASSERT_TRUE((*f)->Append("0123456789").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Truncate(4).ok());
  EXPECT_EQ(ReadOr(d, "/n/f"), "0123");
  d.Crash(CrashLoss::kAll, &prng);
  EXPECT_EQ(ReadOr(d, "/n/f"), "0123456789");
  auto g = d.OpenAt("/n/f", 10);
  ASSERT_TRUE((*g)->Truncate(4).ok());
  ASSERT_TRUE((*g)->Sync().ok());
  d.Crash(CrashLoss::kAll, &prng);
  EXPECT_EQ(ReadOr(d, "/n/f"), "0123");
}

}  // namespace
}  // namespace detcd::sim
