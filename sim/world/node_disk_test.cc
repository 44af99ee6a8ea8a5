// NodeDisk with a member's own snapshot streamed onto the simulated disk, cut by a power loss at every step of the
// save, with every kind of loss of unsynced writes: the member always recovers from the snapshot before (or the new
// one, once it is in place), never from a half-written file, and the half-written file is gone after the restart.
#include "sim/world/node_disk.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/snapshotter.h"

namespace detcd::sim {
namespace {

raftpb::SnapshotMetadata Meta(uint64_t index) {
  raftpb::SnapshotMetadata m;
  m.set_index(index);
  m.set_term(1);
  m.mutable_conf_state()->add_voters(1);
  return m;
}

std::vector<raftpb::Entry> Entries(uint64_t from, uint64_t to) {
  std::vector<raftpb::Entry> out;
  for (uint64_t i = from; i <= to; ++i) {
    raftpb::Entry e;
    e.set_index(i);
    e.set_term(1);
    e.set_data(absl::StrCat("entry ", i));
    out.push_back(e);
  }
  return out;
}

// Saves a streamed snapshot at `index` whose store is `pieces` pieces, stopping (a power loss) after `steps` of its
// steps (marker, begin, each piece, finish); steps past the end complete it.
void SaveStreamed(NodeDisk& d, uint64_t index, int pieces, int steps) {
  if (steps-- <= 0) return;
  ASSERT_TRUE(d.SaveSnapshotMarker(Meta(index)).ok());
  if (steps-- <= 0) return;
  auto f = d.BeginSnapshotFile(Meta(index), "\x0a");
  ASSERT_TRUE(f.ok()) << f.status();
  for (int i = 0; i < pieces; ++i) {
    if (steps-- <= 0) return;
    ASSERT_TRUE((*f)->Append(std::string(700, static_cast<char>('a' + i))).ok());
  }
  if (steps-- <= 0) return;
  ASSERT_TRUE((*f)->Finish(700u * pieces).ok());
  d.SnapshotSaved(index);
  ASSERT_TRUE(d.RemoveOld().ok());
}

TEST(NodeDiskTest, PowerLossAtEveryStepOfAStreamedSave) {
  constexpr int kPieces = 5;
  for (simpb::CrashLoss loss : {simpb::LOSE_UNSYNCED, simpb::TORN_PREFIX, simpb::RANDOM_SECTORS}) {
    for (int steps = 0; steps <= kPieces + 3; ++steps) {
      SCOPED_TRACE(absl::StrCat("loss ", loss, ", power lost after ", steps, " steps"));
      Prng prng(static_cast<uint64_t>(steps * 10 + loss));
      NodeDisk d;
      ASSERT_TRUE(d.Open(1, 8192).ok());
      raftpb::HardState hs;
      hs.set_term(1);
      hs.set_commit(40);
      ASSERT_TRUE(d.Save(&hs, Entries(1, 40)).ok());
      ASSERT_TRUE(d.Sync().ok());
      SaveStreamed(d, 10, kPieces, 1000);
      SaveStreamed(d, 30, kPieces, steps);
      d.PowerOff(loss, &prng);
      absl::StatusOr<DiskState> r = d.Open(1, 8192);
      ASSERT_TRUE(r.ok()) << r.status();
      const bool complete = steps > kPieces + 2;
      EXPECT_EQ(r->snapshot.metadata().index(), complete ? 30u : 10u);
      ASSERT_NE(r->snapshot_data, nullptr);
      EXPECT_EQ(r->snapshot_data->remaining(), 6u + 700u * kPieces);
      ASSERT_FALSE(r->entries.empty());
      EXPECT_EQ(r->entries.back().index(), 40u) << "the WAL after the snapshot is whole";
      auto names = d.disk().List("/data/member/snap");
      ASSERT_TRUE(names.ok());
      for (const std::string& n : *names) EXPECT_FALSE(absl::EndsWith(n, ".tmp")) << n;
      bool removed_note = false;
      for (const std::string& n : r->notes) removed_note |= absl::StrContains(n, "half-written");
      EXPECT_EQ(removed_note, steps >= 2 && !complete) << "a begun, unfinished file is found and removed";
    }
  }
}

}  // namespace
}  // namespace detcd::sim
