// The WAL on the simulated disk under power loss: whatever a crash does to unsynced writes (lost, torn in order, torn
// out of order), recovery opens, keeps every entry that was synced, and returns a log that is a prefix of what was
// written. Bit flips in synced data make it refuse to open, never return different entries.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/prng.h"
#include "gtest/gtest.h"
#include "sim/world/sim_disk.h"
#include "storage/wal.h"

namespace detcd::sim {
namespace {

constexpr char kDir[] = "/data/member/wal";

raftpb::Entry E(uint64_t index, Prng* prng) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(1);
  e.set_data(std::string(prng->Range(1, 1500), static_cast<char>('a' + index % 26)));
  return e;
}

storage::WalOptions Small() {
  storage::WalOptions o;
  o.segment_bytes = 8192;
  return o;
}

TEST(WalCrashTest, RecoveryKeepsEverySyncedEntryAcrossCrashModes) {
  int torn_tails = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    Prng prng(seed);
    SimDisk disk;
    std::vector<raftpb::Entry> written;  // everything ever saved, in order
    uint64_t synced = 0;                 // entries [1, synced] are durable
    auto wal = storage::Wal::Create(&disk, kDir, 1, Small());
    ASSERT_TRUE(wal.ok()) << wal.status();
    std::unique_ptr<storage::Wal> w = std::move(*wal);
    for (int round = 0; round < 6; ++round) {
      const int batches = static_cast<int>(prng.Range(1, 6));
      for (int b = 0; b < batches; ++b) {
        std::vector<raftpb::Entry> batch;
        const uint64_t n = prng.Range(1, 5);
        for (uint64_t i = 0; i < n; ++i) batch.push_back(E(written.size() + 1 + i, &prng));
        ASSERT_TRUE(w->Save(nullptr, batch).ok());
        written.insert(written.end(), batch.begin(), batch.end());
        if (prng.Chance(0.5)) {
          ASSERT_TRUE(w->Sync().ok());
          synced = written.size();
        }
      }
      w.reset();
      const CrashLoss loss = static_cast<CrashLoss>(prng.Uniform(3));
      disk.Crash(loss, &prng);
      auto r = storage::Wal::Open(&disk, kDir, 1, Small());
      ASSERT_TRUE(r.ok()) << "seed " << seed << " round " << round << ": " << r.status();
      if (r->torn_tail) ++torn_tails;
      ASSERT_GE(r->entries.size(), synced) << "seed " << seed << ": a synced entry was lost";
      ASSERT_LE(r->entries.size(), written.size());
      for (size_t i = 0; i < r->entries.size(); ++i) {
        ASSERT_EQ(r->entries[i].SerializeAsString(), written[i].SerializeAsString()) << "seed " << seed << " index " << i + 1;
      }
      written.resize(r->entries.size());
      synced = written.size();  // Open made its repair durable
      w = std::move(r->wal);
    }
  }
  EXPECT_GT(torn_tails, 50) << "the crash modes should tear tails often";
}

TEST(WalCrashTest, BitRotIsRefusedNeverServed) {
  int refused = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Prng prng(seed);
    SimDisk disk;
    std::vector<raftpb::Entry> written;
    {
      auto w = storage::Wal::Create(&disk, kDir, 1, Small());
      ASSERT_TRUE(w.ok());
      for (int b = 0; b < 10; ++b) {
        std::vector<raftpb::Entry> batch{E(written.size() + 1, &prng), E(written.size() + 2, &prng)};
        ASSERT_TRUE((*w)->Save(nullptr, batch).ok());
        ASSERT_TRUE((*w)->Sync().ok());
        written.insert(written.end(), batch.begin(), batch.end());
      }
    }
    ASSERT_FALSE(disk.FlipRandomBit("/data/", &prng).empty());
    auto r = storage::Wal::Open(&disk, kDir, 1, Small());
    if (!r.ok()) {
      ++refused;
      EXPECT_NE(r.status().message().find(".wal at offset "), std::string::npos) << r.status();
      continue;
    }
    // A flip the checksums cannot see can only be in bytes recovery does not read; what it returns is intact.
    ASSERT_EQ(r->entries.size(), written.size()) << "seed " << seed;
    for (size_t i = 0; i < written.size(); ++i) {
      ASSERT_EQ(r->entries[i].SerializeAsString(), written[i].SerializeAsString()) << "seed " << seed;
    }
  }
  EXPECT_GT(refused, 90);
}

}  // namespace
}  // namespace detcd::sim
