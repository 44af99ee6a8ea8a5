// BboltLayout + BboltStreamWriter: the file streamed in small pieces is byte for byte BuildBboltFile's (overflow
// pages, large values, empty buckets, trees of several levels), bbolt's checks pass on it, the writer never holds
// more than one leaf, and items fed differently in the second pass are refused loudly.
#include "storage/bbolt_stream_writer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "storage/bbolt_test_reader.h"
#include "storage/bbolt_writer.h"

namespace detcd::storage {
namespace {

struct Streamed {
  std::string file;
  size_t piece_bytes_max = 0;  // the largest piece handed out
  size_t held_bytes_max = 0;
  size_t leaves = 0;
};

// Streams `buckets` as a caller with bounded memory would: the head in pieces of head_piece_bytes, the leaves taken
// as they come.
Streamed Stream(const std::vector<BboltBucket>& buckets, size_t head_piece_bytes) {
  BboltLayout layout;
  for (const BboltBucket& b : buckets) {
    EXPECT_TRUE(layout.BeginBucket(b.name).ok());
    for (const auto& [k, v] : b.items) EXPECT_TRUE(layout.AddItem(k, v.size()).ok());
  }
  EXPECT_TRUE(layout.Finish().ok());
  Streamed s;
  s.leaves = layout.leaf_count();
  BboltStreamWriter w(&layout);
  std::string piece;
  auto take = [&] {
    s.piece_bytes_max = std::max(s.piece_bytes_max, piece.size());
    s.file += piece;
    piece.clear();
  };
  for (;;) {
    const bool done = w.AppendHead(&piece, head_piece_bytes);
    take();
    if (done) break;
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    w.BeginBucket(b, &piece);
    take();
    for (const auto& [k, v] : buckets[b].items) {
      w.AddItem(k, v, &piece);
      take();
    }
  }
  w.Finish(&piece);
  take();
  EXPECT_TRUE(w.finished());
  EXPECT_EQ(w.bytes_written(), layout.file_bytes());
  s.held_bytes_max = w.held_bytes_max();
  return s;
}

void ExpectSameAsWhole(const std::vector<BboltBucket>& buckets) {
  absl::StatusOr<std::string> whole = BuildBboltFile(buckets);
  ASSERT_TRUE(whole.ok()) << whole.status();
  const Streamed s = Stream(buckets, kBboltPageBytes);
  ASSERT_EQ(s.file.size(), whole->size());
  EXPECT_TRUE(s.file == *whole) << "streamed bytes differ from the whole file's";
  absl::StatusOr<BboltContents> read = ReadBboltFile(s.file);
  ASSERT_TRUE(read.ok()) << read.status();
  for (const BboltBucket& b : buckets) EXPECT_TRUE(read->buckets[b.name] == b.items) << b.name;
}

TEST(BboltStreamWriterTest, NoBucketsAndEmptyBuckets) {
  ExpectSameAsWhole({});
  ExpectSameAsWhole({{"a", {}}, {"b", {}}, {"key", {}}, {"z", {}}});
}

TEST(BboltStreamWriterTest, SmallBucketsAroundAnEmptyKeyBucket) {
  ExpectSameAsWhole({{"alarm", {}},
                     {"auth", {{"authRevision", std::string(8, '\1')}}},
                     {"key", {}},
                     {"meta", {{"consistent_index", std::string(8, '\7')}}}});
}

TEST(BboltStreamWriterTest, ManyKeysMakeSeveralBranchLevelsAndStreamAPieceAtATime) {
  BboltBucket key{"key", {}};
  for (int i = 0; i < 200000; ++i) key.items.emplace_back(absl::StrFormat("k%08d", i), absl::StrCat("value ", i));
  std::vector<BboltBucket> buckets = {{"a", {{"x", "1"}}}, key, {"lease", {{"l", "2"}}}};
  ExpectSameAsWhole(buckets);
  const Streamed s = Stream(buckets, kBboltPageBytes);
  absl::StatusOr<BboltContents> read = ReadBboltFile(s.file);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_GE(read->depth_max, 3) << "200k keys need branches of branches";
  EXPECT_GT(s.leaves, 1000u);
  // Bounded: never more than a leaf held, a piece of the head or a leaf handed out at once.
  EXPECT_EQ(s.held_bytes_max, kBboltPageBytes);
  EXPECT_LE(s.piece_bytes_max, 2 * kBboltPageBytes);
}

TEST(BboltStreamWriterTest, OverflowPagesLargeValuesAndKeys) {
  BboltBucket b{"big", {}};
  b.items.emplace_back("a", "small");
  b.items.emplace_back("b", std::string(3 * kBboltPageBytes + 5, 'x'));
  b.items.emplace_back("c", std::string(kBboltPageBytes - 40, 'y'));
  b.items.emplace_back("d", "small again");
  b.items.emplace_back(std::string(kBboltKeyBytesMax, 'k'), std::string(1 << 20, 'z'));
  ExpectSameAsWhole({{"a", {{"1", ""}}}, b, {"c", {}}});
  const Streamed s = Stream({b}, kBboltPageBytes);
  // One large item is the most held: its own pages.
  EXPECT_EQ(s.held_bytes_max,
            BboltNodePacker::PagesFor(16 + 16 + kBboltKeyBytesMax + (1 << 20)) * kBboltPageBytes);
}

TEST(BboltStreamWriterTest, LargeKeysMakeOverflowingBranches) {
  BboltBucket b{"k", {}};
  for (int i = 0; i < 600; ++i) b.items.emplace_back(absl::StrFormat("%05d", i) + std::string(10000, 'k'), "v");
  ExpectSameAsWhole({b});
}

TEST(BboltStreamWriterTest, ManyBucketsMakeTheRootBucketATree) {
  std::vector<BboltBucket> buckets;
  for (int i = 0; i < 1000; ++i) buckets.push_back({absl::StrFormat("bucket%04d", i), {{"k", absl::StrCat(i)}}});
  ExpectSameAsWhole(buckets);
}

TEST(BboltStreamWriterTest, PackerBeginsANodeWhenTheNextElementDoesNotFit) {
  BboltNodePacker leaf(true);
  EXPECT_TRUE(leaf.Add(4000));
  EXPECT_FALSE(leaf.Add(80));  // 16 + 4000 + 80 = 4096: fits exactly
  EXPECT_TRUE(leaf.Add(1));
  EXPECT_TRUE(leaf.Add(100000));  // a large element begins a node of its own
  EXPECT_TRUE(leaf.Add(1));
  BboltNodePacker branch(false);
  EXPECT_TRUE(branch.Add(100000));
  EXPECT_FALSE(branch.Add(100000)) << "a branch takes two elements at least";
  EXPECT_TRUE(branch.Add(16));
}

TEST(BboltStreamWriterTest, LayoutRefusesWhatBboltCannotHold) {
  {
    BboltLayout l;
    ASSERT_TRUE(l.BeginBucket("b").ok());
    EXPECT_FALSE(l.BeginBucket("a").ok());
    EXPECT_FALSE(l.Finish().ok()) << "a refused layout stays refused";
  }
  {
    BboltLayout l;
    ASSERT_TRUE(l.BeginBucket("a").ok());
    ASSERT_TRUE(l.AddItem("y", 1).ok());
    EXPECT_FALSE(l.AddItem("x", 1).ok());
  }
  {
    BboltLayout l;
    ASSERT_TRUE(l.BeginBucket("a").ok());
    EXPECT_FALSE(l.AddItem("", 1).ok());
  }
  {
    BboltLayout l;
    ASSERT_TRUE(l.BeginBucket("a").ok());
    EXPECT_FALSE(l.AddItem("k", kBboltValueBytesMax + 1).ok());
  }
}

TEST(BboltStreamWriterDeathTest, ItemsThatPackDifferentlyThanLaidOutAreABrokenContract) {
  BboltLayout layout;
  ASSERT_TRUE(layout.BeginBucket("key").ok());
  ASSERT_TRUE(layout.AddItem("a", 10).ok());
  ASSERT_TRUE(layout.AddItem("b", 10).ok());
  ASSERT_TRUE(layout.Finish().ok());
  EXPECT_DEATH(
      {
        BboltStreamWriter w(&layout);
        std::string out;
        w.AppendHead(&out, ~size_t{0});
        w.BeginBucket(0, &out);
        w.AddItem("a", std::string(5000, 'v'), &out);  // larger than laid out
      },
      "");
  EXPECT_DEATH(
      {
        BboltStreamWriter w(&layout);
        std::string out;
        w.AppendHead(&out, ~size_t{0});
        w.BeginBucket(0, &out);
        w.AddItem("a", std::string(10, 'v'), &out);
        w.Finish(&out);  // an item short
      },
      "");
}

}  // namespace
}  // namespace detcd::storage
