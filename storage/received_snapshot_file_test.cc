// A snapshot file checked as it passes (SnapshotFileScanner) and received into a file (ReceivedSnapshotFile): any
// chunking of a sound file is accepted with its layout (the data where DecodeSnapshotFile finds it), and every file
// cut short, too long, with a byte flipped, or holding another snapshot than announced is refused with DataLoss —
// never a crash — and leaves no file behind.
#include "storage/received_snapshot_file.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/posix_disk.h"
#include "storage/snapshot_file_scanner.h"
#include "storage/snapshotter.h"

namespace detcd::storage {
namespace {

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

raftpb::Snapshot SnapshotWith(std::string data) {
  raftpb::Snapshot s;
  s.mutable_metadata()->set_index(12);
  s.mutable_metadata()->set_term(4);
  s.mutable_metadata()->mutable_conf_state()->add_voters(1);
  s.mutable_metadata()->mutable_conf_state()->add_voters(2);
  s.set_data(std::move(data));
  return s;
}

absl::StatusOr<SnapshotFileLayout> Scan(absl::string_view file, size_t chunk) {
  SnapshotFileScanner scanner("test");
  for (size_t at = 0; at < file.size(); at += chunk) {
    if (absl::Status s = scanner.Add(file.substr(at, chunk)); !s.ok()) return s;
  }
  return scanner.Finish();
}

TEST(SnapshotFileScannerTest, AnyChunkingOfASoundFileFindsItsData) {
  for (const std::string& data : {std::string(3000, 'd'), std::string("x"), std::string()}) {
    const raftpb::Snapshot snap = SnapshotWith(data);
    const std::string file = EncodeSnapshotFile(snap);
    for (size_t chunk : {1, 2, 5, 23, 24, 100, 1 << 20}) {
      absl::StatusOr<SnapshotFileLayout> layout = Scan(file, chunk);
      ASSERT_TRUE(layout.ok()) << layout.status() << " chunk " << chunk;
      EXPECT_EQ(layout->metadata.SerializeAsString(), snap.metadata().SerializeAsString());
      EXPECT_EQ(layout->data_bytes, data.size());
      EXPECT_EQ(file.substr(layout->data_offset, layout->data_bytes), data);
      EXPECT_EQ(layout->file_bytes, file.size());
    }
  }
}

TEST(SnapshotFileScannerTest, BadFilesAreRefusedNeverTrusted) {
  const std::string file = EncodeSnapshotFile(SnapshotWith(std::string(500, 'd')));
  for (size_t cut = 0; cut < file.size(); ++cut) {
    absl::StatusOr<SnapshotFileLayout> got = Scan(file.substr(0, cut), 64);
    ASSERT_FALSE(got.ok()) << "cut at " << cut;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_FALSE(Scan(file + "x", 64).ok()) << "a byte more than the header says";
  for (size_t at = 0; at < file.size(); ++at) {
    std::string bad = file;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    absl::StatusOr<SnapshotFileLayout> got = Scan(bad, 37);
    EXPECT_FALSE(got.ok()) << "a bit flipped at " << at << " went unnoticed";
  }
  // A header announcing more than the format allows is refused before anything is read past it.
  std::string huge = file.substr(0, SnapshotFileScanner::kHeaderBytes);
  for (int i = 0; i < 8; ++i) huge[15 + i] = static_cast<char>(0xff);
  absl::StatusOr<SnapshotFileLayout> got = Scan(huge, 64);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("past the maximum"), std::string::npos) << got.status();
  // A data length whose varint runs to 11 bytes (found by the snapshot fuzzer: decoding it shifted past 64 bits) is
  // malformed, however it ends.
  const std::string eleven("detcd-snap\n\xaa\x70\xb7\x7d\x11\0\0\0\0\0\0\0\x0a"
                           "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x25\x0e\x0a\x02\x08\x01\x10\x1e\xd2\x5f",
                           44);
  for (size_t chunk : {1, 64}) {
    got = Scan(eleven.substr(0, 23 + 17), chunk);  // the header, and the 17 bytes it announces
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("malformed data length"), std::string::npos) << got.status();
  }
}

TEST(ReceivedSnapshotFileTest, ReceivedInChunksThenRefusedWhenWrong) {
  PosixDisk disk;
  const std::string dir = FreshDir("received_snapshot");
  const raftpb::Snapshot snap = SnapshotWith(std::string(10000, 'q'));
  const std::string file = EncodeSnapshotFile(snap);
  {
    auto r = ReceivedSnapshotFile::Begin(&disk, dir, "r1.tmp", snap.metadata(), file.size());
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t at = 0; at < file.size(); at += 999) ASSERT_TRUE((*r)->Append(file.substr(at, 999)).ok());
    absl::StatusOr<std::string> path = (*r)->Finish();
    ASSERT_TRUE(path.ok()) << path.status();
    absl::StatusOr<std::string> written = disk.Read(*path);
    ASSERT_TRUE(written.ok());
    EXPECT_EQ(*written, file);
  }
  EXPECT_TRUE(disk.Exists(dir + "/r1.tmp")) << "a finished reception stays for its install";
  // Cut short: refused at Finish, and the file goes with the reception.
  {
    auto r = ReceivedSnapshotFile::Begin(&disk, dir, "r2.tmp", snap.metadata(), file.size());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE((*r)->Append(file.substr(0, file.size() - 1)).ok());
    absl::StatusOr<std::string> path = (*r)->Finish();
    ASSERT_FALSE(path.ok());
    EXPECT_EQ(path.status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_FALSE(disk.Exists(dir + "/r2.tmp"));
  // A flipped byte: refused (at the latest at Finish, by the CRC).
  {
    std::string bad = file;
    bad[5000] = 'Q';
    auto r = ReceivedSnapshotFile::Begin(&disk, dir, "r3.tmp", snap.metadata(), file.size());
    ASSERT_TRUE(r.ok());
    (void)(*r)->Append(bad);
    EXPECT_FALSE((*r)->Finish().ok());
  }
  // Another snapshot than the message announced.
  {
    raftpb::SnapshotMetadata other = snap.metadata();
    other.set_index(13);
    auto r = ReceivedSnapshotFile::Begin(&disk, dir, "r4.tmp", other, file.size());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE((*r)->Append(file).ok());
    absl::StatusOr<std::string> path = (*r)->Finish();
    ASSERT_FALSE(path.ok());
    EXPECT_NE(path.status().message().find("not the one announced"), std::string::npos) << path.status();
  }
  // More bytes than announced, and an announced length the format cannot have.
  {
    auto r = ReceivedSnapshotFile::Begin(&disk, dir, "r5.tmp", snap.metadata(), file.size() - 10);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE((*r)->Append(file).ok());
  }
  EXPECT_FALSE(ReceivedSnapshotFile::Begin(&disk, dir, "r6.tmp", snap.metadata(), 5).ok());
  EXPECT_FALSE(ReceivedSnapshotFile::Begin(&disk, dir, "r6.tmp", snap.metadata(), uint64_t{1} << 40).ok());
  absl::StatusOr<std::vector<std::string>> left = disk.List(dir);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, std::vector<std::string>{"r1.tmp"});
}

}  // namespace
}  // namespace detcd::storage
