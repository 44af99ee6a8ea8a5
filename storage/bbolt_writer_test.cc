#include "storage/bbolt_writer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::storage {
namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

uint64_t Le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

BboltContents ReadBack(const std::vector<BboltBucket>& buckets) {
  absl::StatusOr<std::string> file = BuildBboltFile(buckets);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return {};
  absl::StatusOr<BboltContents> read = ReadBboltFile(*file);
  EXPECT_TRUE(read.ok()) << read.status();
  if (!read.ok()) return {};
  EXPECT_EQ(read->buckets.size(), buckets.size());
  for (const BboltBucket& b : buckets) {
    auto it = read->buckets.find(b.name);
    if (it == read->buckets.end()) {
      ADD_FAILURE() << "bucket " << b.name << " missing";
      continue;
    }
    EXPECT_TRUE(it->second == b.items) << "bucket " << b.name << " differs";
  }
  return *std::move(read);
}

TEST(BboltWriterTest, NoBucketsIsAnEmptyRootLeafAfterTwoMetaPages) {
  absl::StatusOr<std::string> file = BuildBboltFile({});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->size(), 3 * kBboltPageBytes);
  for (uint64_t m = 0; m < 2; ++m) {
    const size_t meta = m * kBboltPageBytes + 16;
    EXPECT_EQ(Le(*file, m * kBboltPageBytes, 8), m) << "page id";
    EXPECT_EQ(Le(*file, m * kBboltPageBytes + 8, 2), kBboltMetaPage);
    EXPECT_EQ(Le(*file, meta, 4), kBboltMagic);
    EXPECT_EQ(Le(*file, meta + 4, 4), 2u);
    EXPECT_EQ(Le(*file, meta + 8, 4), kBboltPageBytes);
    EXPECT_EQ(Le(*file, meta + 16, 8), 2u) << "root bucket's page";
    EXPECT_EQ(Le(*file, meta + 32, 8), kBboltNoFreelist);
    EXPECT_EQ(Le(*file, meta + 40, 8), 3u) << "high water";
    EXPECT_EQ(Le(*file, meta + 48, 8), m) << "txid";
    EXPECT_EQ(Le(*file, meta + 56, 8), BboltMetaChecksum(file->data() + meta, 56));
  }
  EXPECT_EQ(Le(*file, 2 * kBboltPageBytes + 8, 2), kBboltLeafPage);
  EXPECT_EQ(Le(*file, 2 * kBboltPageBytes + 10, 2), 0u);
  absl::StatusOr<BboltContents> read = ReadBboltFile(*file);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->buckets.empty());
}

TEST(BboltWriterTest, MetaChecksumIsFnv64a) {
  // Known FNV-64a values: the offset basis for no bytes, and "a".
  EXPECT_EQ(BboltMetaChecksum("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(BboltMetaChecksum("a", 1), 0xaf63dc4c8601ec8cull);
}

TEST(BboltWriterTest, SmallAndEmptyBucketsRoundTrip) {
  std::vector<BboltBucket> buckets = {
      {"alarm", {}},
      {"key", {{"\x00\x01", "one"}, {"\x00\x02", ""}, {"\xff", std::string(3, '\0')}}},
      {"meta", {{"consistent_index", std::string(8, '\x07')}}},
  };
  buckets[1].items[0].first = std::string("\x00\x01", 2);
  buckets[1].items[1].first = std::string("\x00\x02", 2);
  BboltContents read = ReadBack(buckets);
  EXPECT_EQ(read.depth_max, 1);
  EXPECT_EQ(read.overflow_pages, 0u);
  // Three bucket leaves and the root bucket's leaf.
  EXPECT_EQ(read.leaf_pages, 4u);
  EXPECT_EQ(read.high_water_pgid, 6u);
  EXPECT_FALSE(read.has_freelist_page);
}

TEST(BboltWriterTest, ManyKeysMakeAMultiLevelTree) {
  BboltBucket key{"key", {}};
  for (int i = 0; i < 200000; ++i) key.items.emplace_back(absl::StrFormat("k%08d", i), absl::StrCat("value ", i));
  BboltBucket small{"small", {{"a", "b"}}};
  BboltContents read = ReadBack({key, small});
  EXPECT_GE(read.depth_max, 3) << "200k keys need branches of branches";
  EXPECT_GT(read.branch_pages, 1u);
  EXPECT_EQ(read.overflow_pages, 0u);
}

TEST(BboltWriterTest, LargeValuesAndKeysTakeOverflowPages) {
  BboltBucket b{"big", {}};
  b.items.emplace_back("a", "small");
  b.items.emplace_back("b", std::string(3 * kBboltPageBytes + 5, 'x'));  // four pages
  b.items.emplace_back("c", std::string(kBboltPageBytes - 40, 'y'));     // just more than fits with a page header
  b.items.emplace_back("d", "small again");
  b.items.emplace_back(std::string(kBboltKeyBytesMax, 'k'), std::string(1 << 20, 'z'));  // the largest key bbolt takes
  BboltContents read = ReadBack({b});
  EXPECT_GE(read.overflow_pages, 3u + 1u + 256u);
}

TEST(BboltWriterTest, ManyLargeKeysMakeBranchesWithOverflow) {
  // Keys of 10 KiB: each branch element is larger than a page, so branch nodes overflow too.
  BboltBucket b{"k", {}};
  for (int i = 0; i < 600; ++i) b.items.emplace_back(absl::StrFormat("%05d", i) + std::string(10000, 'k'), "v");
  BboltContents read = ReadBack({b});
  EXPECT_GE(read.depth_max, 3);
  EXPECT_GT(read.overflow_pages, 600u);
}

TEST(BboltWriterTest, ManyBucketsMakeTheRootBucketATree) {
  std::vector<BboltBucket> buckets;
  for (int i = 0; i < 1000; ++i) buckets.push_back({absl::StrFormat("bucket%04d", i), {{"k", absl::StrCat(i)}}});
  buckets.push_back({"empty", {}});
  std::sort(buckets.begin(), buckets.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  BboltContents read = ReadBack(buckets);
  EXPECT_GT(read.branch_pages, 0u) << "1000 bucket headers do not fit one leaf";
}

TEST(BboltWriterTest, RefusesInputBboltCannotHold) {
  EXPECT_FALSE(BuildBboltFile({{"b", {}}, {"a", {}}}).ok()) << "bucket names unsorted";
  EXPECT_FALSE(BuildBboltFile({{"a", {}}, {"a", {}}}).ok()) << "bucket names repeated";
  EXPECT_FALSE(BuildBboltFile({{"", {}}}).ok()) << "empty bucket name";
  EXPECT_FALSE(BuildBboltFile({{"a", {{"y", ""}, {"x", ""}}}}).ok()) << "keys unsorted";
  EXPECT_FALSE(BuildBboltFile({{"a", {{"x", ""}, {"x", ""}}}}).ok()) << "keys repeated";
  EXPECT_FALSE(BuildBboltFile({{"a", {{"", "v"}}}}).ok()) << "empty key";
  EXPECT_FALSE(BuildBboltFile({{"a", {{std::string(kBboltKeyBytesMax + 1, 'k'), ""}}}}).ok()) << "key too long";
}

TEST(BboltTestReaderTest, CatchesCorruption) {
  absl::StatusOr<std::string> file = BuildBboltFile({{"key", {{"a", "1"}, {"b", "2"}}}});
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(ReadBboltFile(*file).ok());
  std::string bad = *file;
  bad[16 + 20] ^= 1;  // meta 0's root pgid: checksum mismatch
  EXPECT_FALSE(ReadBboltFile(bad).ok());
  bad = *file;
  bad.append(kBboltPageBytes, '\0');  // a page below the high-water mark that nothing reaches...
  for (size_t m : {size_t{16}, size_t{kBboltPageBytes} + 16}) {
    const uint64_t hw = Le(bad, m + 40, 8) + 1;
    for (int i = 0; i < 8; ++i) bad[m + 40 + static_cast<size_t>(i)] = static_cast<char>((hw >> (8 * i)) & 0xff);
    const uint64_t sum = BboltMetaChecksum(bad.data() + m, 56);
    for (int i = 0; i < 8; ++i) bad[m + 56 + static_cast<size_t>(i)] = static_cast<char>((sum >> (8 * i)) & 0xff);
  }
  absl::StatusOr<BboltContents> read = ReadBboltFile(bad);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("unreachable unfreed"), std::string::npos) << read.status();
}

}  // namespace
}  // namespace detcd::storage
