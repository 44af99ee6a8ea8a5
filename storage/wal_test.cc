// The WAL on a real directory (PosixDisk under Bazel's TEST_TMPDIR): round trips, segment rolls, and what recovery
// does with every kind of damage — a torn tail is cut, corruption refuses to open naming the file and offset.
#include "storage/wal.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/posix_disk.h"
#include "storage/wal_record.h"

namespace detcd::storage {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term, size_t bytes = 40) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  return e;
}

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::vector<std::string> Segments(PosixDisk& d, const std::string& dir) {
  std::vector<std::string> out;
  uint64_t seq, first;
  const auto names = d.List(dir);
  for (const std::string& n : *names) {
    if (ParseSegmentName(n, &seq, &first)) out.push_back(JoinPath(dir, n));
  }
  return out;
}

WalOptions Small() {
  WalOptions o;
  o.segment_bytes = 4096;
  return o;
}

// Writes entries 1..n (with a hard state after each batch of 5) and closes the WAL.
void Fill(PosixDisk& d, const std::string& dir, uint64_t n, size_t bytes = 40) {
  auto w = Wal::Create(&d, dir, 7, Small());
  ASSERT_TRUE(w.ok()) << w.status();
  for (uint64_t i = 1; i <= n; i += 5) {
    std::vector<raftpb::Entry> batch;
    for (uint64_t j = i; j < i + 5 && j <= n; ++j) batch.push_back(E(j, 1, bytes));
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_commit(batch.back().index());
    ASSERT_TRUE((*w)->Save(&hs, batch).ok());
    ASSERT_TRUE((*w)->Sync().ok());
  }
}

TEST(WalTest, RoundTripAcrossSegments) {
  PosixDisk d;
  const std::string dir = FreshDir("roundtrip");
  Fill(d, dir, 300);
  EXPECT_GT(Segments(d, dir).size(), 2u);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries.size(), 300u);
  for (uint64_t i = 1; i <= 300; ++i) EXPECT_EQ(r->entries[i - 1].SerializeAsString(), E(i, 1).SerializeAsString());
  EXPECT_EQ(r->hard_state.commit(), 300u);
  EXPECT_FALSE(r->torn_tail);
  // Appending after recovery continues the log.
  ASSERT_TRUE(r->wal->Save(nullptr, {E(301, 2)}).ok());
  ASSERT_TRUE(r->wal->Sync().ok());
  r->wal.reset();
  auto again = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->entries.size(), 301u);
  EXPECT_EQ(again->entries.back().term(), 2u);
}

TEST(WalTest, ConflictingEntriesReplaceTheSuffix) {
  PosixDisk d;
  const std::string dir = FreshDir("conflict");
  auto w = Wal::Create(&d, dir, 7, Small());
  std::vector<raftpb::Entry> first;
  for (uint64_t i = 1; i <= 10; ++i) first.push_back(E(i, 1));
  ASSERT_TRUE((*w)->Save(nullptr, first).ok());
  ASSERT_TRUE((*w)->Save(nullptr, {E(7, 2)}).ok());
  ASSERT_TRUE((*w)->Sync().ok());
  w->reset();
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries.size(), 7u);
  EXPECT_EQ(r->entries.back().term(), 2u);
}

TEST(WalTest, EveryCutInsideTheLastRecordIsATornTail) {
  PosixDisk d;
  const std::string dir = FreshDir("cut");
  Fill(d, dir, 3, 300);
  const std::string seg = Segments(d, dir).back();
  const std::string full = Slurp(seg);
  // Find where the records end (the preallocated zeros begin) and where the last record starts.
  size_t offset = 0, last_start = 0, end = 0;
  for (;;) {
    DecodedRecord r = DecodeRecord(full, offset);
    if (r.kind != DecodedRecord::Kind::kRecord) break;
    last_start = offset;
    offset = end = r.next_offset;
  }
  for (size_t cut = last_start + 1; cut < end; cut += 7) {
    Spit(seg, full.substr(0, cut));
    auto r = Wal::Open(&d, dir, 7, Small());
    ASSERT_TRUE(r.ok()) << "cut at " << cut << ": " << r.status();
    EXPECT_TRUE(r->torn_tail) << cut;
    // The last record was the hard state of the last batch: all three entries survive, commit from the batch before.
    EXPECT_EQ(r->entries.size(), 3u) << cut;
  }
}

TEST(WalTest, ZeroedSectorInTheLastRecordIsATornTail) {
  PosixDisk d;
  const std::string dir = FreshDir("zeroed");
  Fill(d, dir, 5, 1500);  // one batch: five entries of three sectors each, then the hard state
  const std::string seg = Segments(d, dir).back();
  std::string data = Slurp(seg);
  // Zero the sector holding the middle of the fourth entry: entries 4, 5 and the hard state are lost.
  size_t offset = 0;
  for (int i = 0; i < 4; ++i) offset = DecodeRecord(data, offset).next_offset;  // metadata + 3 entries
  const size_t sector = (offset + 800) / kSectorBytes * kSectorBytes;
  std::fill(data.begin() + sector, data.begin() + sector + kSectorBytes, '\0');
  Spit(seg, data);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->torn_tail);
  EXPECT_EQ(r->entries.size(), 3u);
}

TEST(WalTest, BitFlipInAMiddleRecordRefusesToOpenNamingFileAndOffset) {
  PosixDisk d;
  const std::string dir = FreshDir("flip");
  Fill(d, dir, 60);
  const std::vector<std::string> segs = Segments(d, dir);
  ASSERT_GE(segs.size(), 2u);
  std::string data = Slurp(segs[0]);
  const size_t record = DecodeRecord(data, DecodeRecord(data, 0).next_offset).next_offset;  // third record
  data[record + kRecordHeaderBytes + 3] ^= 0x10;
  Spit(segs[0], data);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(segs[0]), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find(absl::StrCat("offset ", record)), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status();
}

// Flips a bit in the payload of the last record of dir's last segment; returns that record's offset.
size_t FlipLastRecord(PosixDisk& d, const std::string& dir) {
  const std::string seg = Segments(d, dir).back();
  std::string data = Slurp(seg);
  size_t offset = 0, last = 0;
  for (;;) {
    DecodedRecord r = DecodeRecord(data, offset);
    if (r.kind != DecodedRecord::Kind::kRecord) break;
    last = offset;
    offset = r.next_offset;
  }
  data[last + kRecordHeaderBytes] ^= 0x01;
  Spit(seg, data);
  return last;
}

TEST(WalTest, BitFlipInTheLastRecordOfTheLastSegmentIsCorruptionNotATornTail) {
  PosixDisk d;
  const std::string dir = FreshDir("flip_last");
  Fill(d, dir, 5, 100);
  const size_t last = FlipLastRecord(d, dir);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(absl::StrCat("offset ", last)), std::string::npos) << r.status();
}

// The simulator's broken recovery (WalOptions::testing_corrupt_tail_is_torn) does what the test above forbids: it cuts
// the bad record (the batch's hard state) as a torn tail, losing what was synced there.
TEST(WalTest, TheBrokenRecoveryKnobCutsACorruptTailRecord) {
  PosixDisk d;
  const std::string dir = FreshDir("flip_last_knob");
  Fill(d, dir, 5, 100);
  FlipLastRecord(d, dir);
  WalOptions broken = Small();
  broken.testing_corrupt_tail_is_torn = true;
  auto r = Wal::Open(&d, dir, 7, broken);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->torn_tail);
  EXPECT_EQ(r->entries.size(), 5u);
  EXPECT_EQ(r->hard_state.commit(), 0u) << "the synced hard state is gone";
}

TEST(WalTest, FlippedLengthIsCorruptionNotATornTail) {
  PosixDisk d;
  const std::string dir = FreshDir("length");
  Fill(d, dir, 5, 100);
  const std::string seg = Segments(d, dir).back();
  std::string data = Slurp(seg);
  const size_t second = DecodeRecord(data, 0).next_offset;
  data[second + 2] ^= 0x40;  // length grows by 4 MiB: would run past the end of the file
  Spit(seg, data);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("header checksum"), std::string::npos) << r.status();
}

TEST(WalTest, MissingMiddleSegmentRefusesToOpen) {
  PosixDisk d;
  const std::string dir = FreshDir("missing");
  Fill(d, dir, 300);
  const std::vector<std::string> segs = Segments(d, dir);
  ASSERT_GE(segs.size(), 3u);
  ASSERT_TRUE(d.Remove(segs[1]).ok());
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status();
}

TEST(WalTest, AnotherMembersWalIsRefused) {
  PosixDisk d;
  const std::string dir = FreshDir("member");
  Fill(d, dir, 3);
  auto r = Wal::Open(&d, dir, 8, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match member 8"), std::string::npos) << r.status();
}

raftpb::SnapshotMetadata Meta(uint64_t index, uint64_t term) {
  raftpb::SnapshotMetadata m;
  m.set_index(index);
  m.set_term(term);
  m.mutable_conf_state()->add_voters(7);
  return m;
}

// --max-wals: removal stops once `keep` segments remain, oldest removed first, and never takes a needed one.
TEST(WalTest, RemovalKeepsTheNewestSegmentsAsked) {
  PosixDisk d;
  const std::string dir = FreshDir("keep");
  Fill(d, dir, 300);
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<std::string> all = Segments(d, dir);
  ASSERT_GE(all.size(), 6u) << "the test needs more segments";
  ASSERT_TRUE(r->wal->RemoveSegmentsBefore(300, all.size() - 2).ok());
  std::vector<std::string> left = Segments(d, dir);
  EXPECT_EQ(left.size(), all.size() - 2);
  EXPECT_EQ(left.front(), all[2]) << "the oldest go first";
  ASSERT_TRUE(r->wal->RemoveSegmentsBefore(1, 1).ok());
  EXPECT_EQ(Segments(d, dir).size(), left.size()) << "a segment holding index 1 or later is needed";
  ASSERT_TRUE(r->wal->RemoveSegmentsBefore(300, 1).ok());
  left = Segments(d, dir);
  EXPECT_GE(left.size(), 1u);
  EXPECT_EQ(left.back(), all.back()) << "the current segment stays";
}

TEST(WalTest, RecoveryFromASnapshotMarkerAfterCompaction) {
  PosixDisk d;
  const std::string dir = FreshDir("snapshot");
  Fill(d, dir, 300);
  {
    auto r = Wal::Open(&d, dir, 7, Small());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->wal->SaveSnapshotMarker(Meta(200, 1)).ok());
    ASSERT_TRUE(r->wal->Save(nullptr, {E(301, 2)}).ok());
    ASSERT_TRUE(r->wal->Sync().ok());
    const size_t before = Segments(d, dir).size();
    ASSERT_TRUE(r->wal->RemoveSegmentsBefore(200).ok());
    EXPECT_LT(Segments(d, dir).size(), before);
  }
  const raftpb::SnapshotMetadata from = Meta(200, 1);
  auto r = Wal::Open(&d, dir, 7, Small(), &from);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries.size(), 101u);
  EXPECT_EQ(r->entries.front().index(), 201u);
  EXPECT_EQ(r->entries.back().index(), 301u);
  r->wal.reset();
  // Without the snapshot the compacted log has a hole at its start.
  auto whole = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("first entry after index 0"), std::string::npos) << whole.status();
  // A snapshot the WAL never recorded (or with another term) is refused.
  const raftpb::SnapshotMetadata unknown = Meta(250, 1);
  auto u = Wal::Open(&d, dir, 7, Small(), &unknown);
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("no snapshot marker for index 250"), std::string::npos) << u.status();
  const raftpb::SnapshotMetadata wrong_term = Meta(200, 9);
  EXPECT_FALSE(Wal::Open(&d, dir, 7, Small(), &wrong_term).ok());
}

TEST(WalTest, AnInterruptedSegmentCreationIsCleanedUp) {
  PosixDisk d;
  const std::string dir = FreshDir("tmp");
  Fill(d, dir, 3);
  const std::string stray = JoinPath(dir, SegmentName(1, 4) + ".tmp");
  ASSERT_TRUE((*d.Create(stray))->Append("half a segment").ok());
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries.size(), 3u);
  EXPECT_FALSE(d.Exists(stray));
}

TEST(WalTest, ASecondOpenOfALockedDirectoryFails) {
  PosixDisk d;
  const std::string dir = FreshDir("lock");
  auto w = Wal::Create(&d, dir, 7, Small());
  ASSERT_TRUE(w.ok());
  auto r = Wal::Open(&d, dir, 7, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is locked by another process"), std::string::npos) << r.status();
  w->reset();
  EXPECT_TRUE(Wal::Open(&d, dir, 7, Small()).ok());
}

}  // namespace
}  // namespace detcd::storage
