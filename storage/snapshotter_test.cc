#include "storage/snapshotter.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/posix_disk.h"

namespace detcd::storage {
namespace {

raftpb::Snapshot Snap(uint64_t term, uint64_t index, const std::string& data) {
  raftpb::Snapshot s;
  s.set_data(data);
  s.mutable_metadata()->set_term(term);
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->mutable_conf_state()->add_voters(1);
  return s;
}

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

TEST(SnapshotterTest, SavesAndLoadsTheNewest) {
  PosixDisk d;
  Snapshotter s(&d, FreshDir("newest"));
  auto none = s.LoadNewest();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s.Save(Snap(1, 10, "a")).ok());
  ASSERT_TRUE(s.Save(Snap(2, 20, "b")).ok());
  auto got = s.LoadNewest();
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->metadata().index(), 20u);
  EXPECT_EQ((*got)->data(), "b");
}

TEST(SnapshotterTest, CorruptNewestIsSetAsideAndTheOlderOneUsed) {
  PosixDisk d;
  const std::string dir = FreshDir("corrupt");
  Snapshotter s(&d, dir);
  ASSERT_TRUE(s.Save(Snap(1, 10, "old")).ok());
  ASSERT_TRUE(s.Save(Snap(2, 20, "new state")).ok());
  const std::string newest = JoinPath(dir, SnapshotFileName(2, 20));
  std::string bytes = *d.Read(newest);
  bytes[bytes.size() - 2] ^= 0x20;
  ASSERT_TRUE(d.Remove(newest).ok());
  auto f = d.Create(newest);
  ASSERT_TRUE((*f)->Append(bytes).ok());
  std::vector<std::string> broken;
  auto got = s.LoadNewest(&broken);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->data(), "old");
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].find(newest), std::string::npos) << broken[0];
  EXPECT_NE(broken[0].find("crc mismatch"), std::string::npos) << broken[0];
  EXPECT_TRUE(d.Exists(newest + ".broken"));
}

TEST(SnapshotterTest, DecoderRefusesTruncatedAndForeignBytes) {
  const std::string good = EncodeSnapshotFile(Snap(3, 30, std::string(100, 'x')));
  EXPECT_TRUE(DecodeSnapshotFile(good, "f").ok());
  for (size_t cut : {0ul, 5ul, 22ul, 23ul, good.size() - 1}) {
    EXPECT_FALSE(DecodeSnapshotFile(good.substr(0, cut), "f").ok()) << cut;
  }
  EXPECT_FALSE(DecodeSnapshotFile("hello world, this is not a snapshot", "f").ok());
}

TEST(SnapshotterTest, RemoveOldKeepsTheNewest) {
  PosixDisk d;
  const std::string dir = FreshDir("gc");
  Snapshotter s(&d, dir);
  for (uint64_t i = 1; i <= 7; ++i) ASSERT_TRUE(s.Save(Snap(1, i * 10, "x")).ok());
  ASSERT_TRUE(s.RemoveOld(5).ok());
  auto names = d.List(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 5u);
  EXPECT_EQ(names->front(), SnapshotFileName(1, 30));
}

}  // namespace
}  // namespace detcd::storage

namespace detcd::storage {
namespace {

// The file is written in pieces (the data by reference); its bytes are still magic, CRC, length and exactly the
// serialized snapshot, for small and multi-piece data.
TEST(SnapshotterTest, FileIsTheSerializedSnapshotWhateverItsSize) {
  for (size_t bytes : {size_t{0}, size_t{100}, size_t{9} << 20}) {
    raftpb::Snapshot s;
    s.mutable_metadata()->set_index(3);
    s.mutable_metadata()->set_term(1);
    s.mutable_metadata()->mutable_conf_state()->add_voters(1);
    s.set_data(std::string(bytes, 'x'));
    const std::string file = EncodeSnapshotFile(s);
    const std::string body = s.SerializeAsString();
    ASSERT_EQ(file.size(), 11 + 4 + 8 + body.size());
    EXPECT_TRUE(file.substr(23) == body) << bytes;
    absl::StatusOr<raftpb::Snapshot> back = DecodeSnapshotFile(file, "f");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->data().size(), bytes);
  }
}

}  // namespace
}  // namespace detcd::storage
