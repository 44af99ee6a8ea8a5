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

namespace detcd::storage {
namespace {

raftpb::SnapshotMetadata Meta(uint64_t term, uint64_t index) {
  raftpb::SnapshotMetadata m;
  m.set_term(term);
  m.set_index(index);
  m.mutable_conf_state()->add_voters(1);
  m.mutable_conf_state()->add_voters(2);
  return m;
}

std::string FixedVarint(uint64_t v) {
  std::string out;
  for (int i = 0; i < 5; ++i) out.push_back(static_cast<char>(((v >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0)));
  return out;
}

// A streamed file is what DecodeSnapshotFile reads: the data is the prefix, the field's length as a fixed 5-byte
// varint and the pieces, concatenated; the CRC joined from the pieces is the CRC of the file's body.
TEST(SnapshotFileWriterTest, PiecesMakeAFileTheDecoderReads) {
  PosixDisk d;
  const std::string dir = FreshDir("streamed");
  for (size_t pieces : {size_t{0}, size_t{1}, size_t{7}, size_t{300}}) {
    const raftpb::SnapshotMetadata meta = Meta(2, 100 + pieces);
    const std::string prefix = "\x12\x03lea\x0a";  // a field, then the streamed field's tag
    auto w = SnapshotFileWriter::Begin(&d, dir, meta, prefix);
    ASSERT_TRUE(w.ok()) << w.status();
    std::string field;
    for (size_t i = 0; i < pieces; ++i) {
      const std::string piece(1 + (i * 37) % 5000, static_cast<char>('a' + i % 26));
      field += piece;
      ASSERT_TRUE((*w)->Append(piece).ok());
    }
    const std::string tmp = (*w)->temporary_path();
    EXPECT_TRUE(d.Exists(tmp));
    EXPECT_FALSE(d.Exists(JoinPath(dir, SnapshotFileName(2, 100 + pieces)))) << "not in place before Finish";
    ASSERT_TRUE((*w)->Finish(field.size()).ok());
    EXPECT_FALSE(d.Exists(tmp));
    const std::string path = JoinPath(dir, SnapshotFileName(2, 100 + pieces));
    absl::StatusOr<raftpb::Snapshot> back = DecodeSnapshotFile(*d.Read(path), path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->data(), prefix + FixedVarint(field.size()) + field) << pieces;
    EXPECT_EQ(back->metadata().SerializeAsString(), meta.SerializeAsString());
    // The same snapshot through the whole-file encoder decodes to the same thing.
    absl::StatusOr<raftpb::Snapshot> whole = DecodeSnapshotFile(EncodeSnapshotFile(*back), "whole");
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(whole->SerializeAsString(), back->SerializeAsString());
  }
  Snapshotter s(&d, dir);
  auto newest = s.LoadNewest();
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->metadata().index(), 400u);
}

// A stream cut short (the process died, or the snapshot was abandoned) leaves no snapshot: LoadNewest reads the one
// before, RemoveTemporaries clears the leftover; a streamed file damaged after the fact is refused as any other.
TEST(SnapshotFileWriterTest, AbandonedCrashedAndDamagedStreams) {
  PosixDisk d;
  const std::string dir = FreshDir("streamed_cut");
  Snapshotter s(&d, dir);
  ASSERT_TRUE(s.Save(Snap(1, 10, "old")).ok());
  {
    auto w = SnapshotFileWriter::Begin(&d, dir, Meta(1, 20), "\x0a");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::string(1000, 'z')).ok());
    ASSERT_TRUE((*w)->Abandon().ok());
    EXPECT_FALSE(d.Exists((*w)->temporary_path()));
  }
  {
    auto w = SnapshotFileWriter::Begin(&d, dir, Meta(1, 30), "\x0a");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::string(1000, 'z')).ok());
    // Dropped without Finish: as a crash leaves it.
  }
  ASSERT_TRUE(d.Exists(JoinPath(dir, SnapshotFileName(1, 30) + ".tmp")));
  auto got = s.LoadNewest();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->data(), "old");
  std::vector<std::string> removed;
  ASSERT_TRUE(s.RemoveTemporaries(&removed).ok());
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], SnapshotFileName(1, 30) + ".tmp");
  EXPECT_FALSE(d.Exists(JoinPath(dir, removed[0])));
  // A finished streamed file, truncated or with a flipped bit, is refused with a DataLoss error.
  auto w = SnapshotFileWriter::Begin(&d, dir, Meta(1, 40), "\x0a");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(std::string(5000, 'q')).ok());
  ASSERT_TRUE((*w)->Finish(5000).ok());
  const std::string good = *d.Read(JoinPath(dir, SnapshotFileName(1, 40)));
  ASSERT_TRUE(DecodeSnapshotFile(good, "f").ok());
  for (size_t cut : {size_t{23}, size_t{29}, good.size() / 2, good.size() - 1}) {
    absl::StatusOr<raftpb::Snapshot> bad = DecodeSnapshotFile(good.substr(0, cut), "f");
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << cut;
  }
  for (size_t at : {size_t{11}, size_t{24}, size_t{30}, good.size() / 2, good.size() - 1}) {
    std::string flipped = good;
    flipped[at] ^= 0x04;
    EXPECT_EQ(DecodeSnapshotFile(flipped, "f").status().code(), absl::StatusCode::kDataLoss) << at;
  }
}

}  // namespace
}  // namespace detcd::storage
