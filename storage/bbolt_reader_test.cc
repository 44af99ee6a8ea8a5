#include "storage/bbolt_reader.h"

#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "storage/bbolt_writer.h"

namespace detcd::storage {
namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

uint64_t Le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

void PutLe(std::string* s, size_t at, int bytes, uint64_t v) {
  for (int i = 0; i < bytes; ++i, v >>= 8) (*s)[at + static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
}

// Buckets that make every kind of page: many leaves under branches, overflow pages, an empty bucket.
std::vector<BboltBucket> ManyPages() {
  Items key;
  for (int i = 0; i < 3000; ++i) key.emplace_back(absl::StrFormat("k%06d", i), std::string(40 + i % 200, 'a' + i % 26));
  Items big = {{"big", std::string(50000, 'b')}, {"small", "s"}};
  return {{"big", big}, {"empty", {}}, {"key", key}, {"meta", {{"consistent_index", std::string(8, '\0')}}}};
}

std::string File(const std::vector<BboltBucket>& buckets) {
  absl::StatusOr<std::string> file = BuildBboltFile(buckets);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *file : "";
}

// The pages of `file` whose flags are `flags`.
std::vector<uint64_t> PagesOf(const std::string& file, uint16_t flags) {
  std::vector<uint64_t> out;
  for (uint64_t id = 2; id < file.size() / kBboltPageBytes; ++id) {
    if (Le(file, id * kBboltPageBytes, 8) == id && Le(file, id * kBboltPageBytes + 8, 2) == flags) out.push_back(id);
  }
  return out;
}

TEST(BboltReaderTest, ReadsBackWhatTheWriterWrote) {
  const std::vector<BboltBucket> buckets = ManyPages();
  const std::string file = File(buckets);
  ASSERT_FALSE(PagesOf(file, kBboltBranchPage).empty()) << "the test wants branch pages";
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(db->page_bytes, 4096u);
  EXPECT_EQ(db->txid, 1u);
  ASSERT_EQ(db->buckets.size(), buckets.size());
  for (const BboltBucket& b : buckets) EXPECT_TRUE(db->buckets[b.name] == b.items) << b.name;
}

TEST(BboltReaderTest, ReadsAnInlineBucket) {
  // bbolt keeps a small bucket inline in its parent's leaf: header {root 0, sequence 0}, then a leaf page image.
  std::string file = File({});  // two meta pages and the root bucket's empty leaf on page 2
  ASSERT_EQ(file.size(), 3 * kBboltPageBytes);
  const size_t root = 2 * kBboltPageBytes;
  std::string inline_value(16, '\0');
  std::string page(16, '\0');
  PutLe(&page, 8, 2, kBboltLeafPage);
  PutLe(&page, 10, 2, 1);
  std::string element(16, '\0');
  PutLe(&element, 4, 4, 16);  // key right after the element
  PutLe(&element, 8, 4, 1);
  PutLe(&element, 12, 4, 2);
  inline_value += page + element + "kvv";
  // Rewrite the root leaf's element: key "b", this value.
  std::string leaf(kBboltPageBytes, '\0');
  PutLe(&leaf, 0, 8, 2);
  PutLe(&leaf, 8, 2, kBboltLeafPage);
  PutLe(&leaf, 10, 2, 1);
  PutLe(&leaf, 16, 4, 1);   // bucket flag
  PutLe(&leaf, 20, 4, 16);  // pos
  PutLe(&leaf, 24, 4, 1);
  PutLe(&leaf, 28, 4, inline_value.size());
  leaf.replace(32, 1 + inline_value.size(), "b" + inline_value);
  file.replace(root, kBboltPageBytes, leaf);
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE(db->buckets["b"] == (Items{{"k", "vv"}}));
}

TEST(BboltReaderTest, UsesTheOtherMetaPageWhenOneIsTorn) {
  std::string file = File(ManyPages());
  file[kBboltPageBytes + 16 + 20] ^= 1;  // meta 1 (the newer) damaged: meta 0 is used
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(db->txid, 0u);
  file[16 + 20] ^= 1;
  db = ReadBboltDatabase(file);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("neither meta page is valid"), std::string::npos) << db.status();
  EXPECT_NE(db.status().message().find("meta checksum mismatch"), std::string::npos) << db.status();
}

TEST(BboltReaderTest, RefusesAFileCutShort) {
  const std::string file = File(ManyPages());
  for (size_t size : {size_t{0}, size_t{50}, size_t{kBboltPageBytes}, file.size() - kBboltPageBytes, file.size() - 1}) {
    absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file.substr(0, size));
    ASSERT_FALSE(db.ok()) << size;
    EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  }
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file.substr(0, file.size() - kBboltPageBytes));
  EXPECT_NE(db.status().message().find("cut short"), std::string::npos) << db.status();
}

TEST(BboltReaderTest, RefusesACycleNamingThePage) {
  std::string file = File(ManyPages());
  const std::vector<uint64_t> branches = PagesOf(file, kBboltBranchPage);
  ASSERT_FALSE(branches.empty());
  const uint64_t b = branches.front();
  PutLe(&file, b * kBboltPageBytes + 16 + 8, 8, b);  // its first child is itself
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(),
            absl::StrFormat("bbolt page %d: reached twice (a cycle, or a page shared by two nodes)", b));
}

TEST(BboltReaderTest, RefusesCountsAndOffsetsBeyondThePage) {
  std::string file = File(ManyPages());
  const uint64_t leaf = PagesOf(file, kBboltLeafPage).back();
  std::string bad = file;
  PutLe(&bad, leaf * kBboltPageBytes + 10, 2, 0xffff);
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(bad);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), absl::StrFormat("bbolt page %d: elements beyond the page", leaf));
  bad = file;
  PutLe(&bad, leaf * kBboltPageBytes + 16 + 4, 4, 0xfffffff0);  // first element's key offset
  db = ReadBboltDatabase(bad);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), absl::StrFormat("bbolt page %d: leaf element 0 beyond the page", leaf));
  bad = file;
  PutLe(&bad, leaf * kBboltPageBytes + 12, 4, 0xffffffff);  // overflow
  db = ReadBboltDatabase(bad);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("overflow pages run past the end"), std::string::npos) << db.status();
  bad = file;
  PutLe(&bad, leaf * kBboltPageBytes, 8, 7);  // the page says it is another
  db = ReadBboltDatabase(bad);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), absl::StrFormat("bbolt page %d: the page says it is page 7", leaf));
}

TEST(BboltReaderTest, RefusesKeysOutOfOrder) {
  std::string file = File({{"key", {{"a", "1"}, {"b", "2"}}}});
  uint64_t leaf = 0;
  for (uint64_t id : PagesOf(file, kBboltLeafPage)) {
    if (Le(file, id * kBboltPageBytes + 10, 2) == 2) leaf = id;
  }
  ASSERT_NE(leaf, 0u);
  const size_t second_key = leaf * kBboltPageBytes + 16 + 16 + Le(file, leaf * kBboltPageBytes + 32 + 4, 4);
  ASSERT_EQ(file[second_key], 'b');
  file[second_key] = 'a';
  absl::StatusOr<BboltDatabase> db = ReadBboltDatabase(file);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("keys out of order in bucket \"key\""), std::string::npos) << db.status();
}

// Damage anywhere is refused or read, never a crash, a hang or a read outside the file (ASan in `make fuzz`).
TEST(BboltReaderTest, SurvivesDamageAnywhere) {
  const std::string file = File(ManyPages());
  uint64_t x = 12345;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = file;
    for (int j = 0; j < 4; ++j) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      bad[(x >> 20) % bad.size()] = static_cast<char>(x >> 56);
    }
    (void)ReadBboltDatabase(bad);
  }
}

}  // namespace
}  // namespace detcd::storage
