#include "storage/bbolt_reader.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/little_endian.h"
#include "storage/bbolt_writer.h"

namespace detcd::storage {

namespace {

// The format's constants and meta checksum are the writer's (storage/bbolt_writer.h): one statement of bbolt's format.
constexpr uint32_t kMagic = kBboltMagic;
constexpr uint16_t kBranch = kBboltBranchPage;
constexpr uint16_t kLeaf = kBboltLeafPage;
constexpr uint16_t kMeta = kBboltMetaPage;
constexpr uint32_t kBucketFlag = kBboltBucketLeafFlag;
constexpr uint64_t kPageHeaderBytes = 16;
constexpr uint64_t kBranchElementBytes = 16;
constexpr uint64_t kLeafElementBytes = 16;
constexpr uint64_t kMetaBytes = 64;
constexpr uint64_t kBucketHeaderBytes = 16;

// Little-endian integer of `bytes` bytes at `at`; the caller has checked at + bytes <= s.size().
uint64_t Le(absl::string_view s, uint64_t at, int bytes) {
  DETCD_CHECK(at + static_cast<uint64_t>(bytes) <= s.size());
  return LoadLittleEndian(s.data() + at, bytes);
}

absl::Status Bad(uint64_t pgid, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("bbolt page ", pgid, ": ", what));
}

struct Meta {
  uint64_t page_bytes = 0, root = 0, high_water = 0, txid = 0;
};

// Meta page `m` for pages of `page_bytes`: its fields, or why it does not check out.
absl::StatusOr<Meta> ReadMeta(absl::string_view file, uint64_t m, uint64_t page_bytes) {
  if (file.size() < m * page_bytes + kPageHeaderBytes + kMetaBytes) return Bad(m, "beyond the end of the file");
  const absl::string_view page = file.substr(m * page_bytes, kPageHeaderBytes + kMetaBytes);
  if (Le(page, 0, 8) != m || Le(page, 8, 2) != kMeta) return Bad(m, "not a meta page");
  const absl::string_view meta = page.substr(kPageHeaderBytes);
  if (Le(meta, 0, 4) != kMagic) return Bad(m, "not a bbolt file (bad magic)");
  if (Le(meta, 4, 4) != 2) return Bad(m, absl::StrCat("bbolt format version ", Le(meta, 4, 4), ", not 2"));
  if (Le(meta, 56, 8) != BboltMetaChecksum(meta.data(), 56)) return Bad(m, "meta checksum mismatch");
  Meta out;
  out.page_bytes = Le(meta, 8, 4);
  if (out.page_bytes != page_bytes) return Bad(m, absl::StrCat("page size ", out.page_bytes, ", not ", page_bytes));
  out.root = Le(meta, 16, 8);
  out.high_water = Le(meta, 40, 8);
  out.txid = Le(meta, 48, 8);
  return out;
}

bool PlausiblePageBytes(uint64_t n) { return n >= 512 && n <= 65536 && (n & (n - 1)) == 0; }

class Reader {
 public:
  explicit Reader(absl::string_view file) : file_(file) {}

  absl::StatusOr<BboltDatabase> Read() {
    absl::StatusOr<Meta> meta = PickMeta();
    if (!meta.ok()) return meta.status();
    page_bytes_ = meta->page_bytes;
    high_water_ = meta->high_water;
    out_.txid = meta->txid;
    out_.page_bytes = page_bytes_;
    out_.high_water_pgid = high_water_;
    if (high_water_ < 3 || high_water_ > file_.size() / page_bytes_) {
      return absl::DataLossError(absl::StrCat("bbolt: the file is cut short or corrupt: high-water mark ", high_water_,
                                              " pages of ", page_bytes_, " bytes, file of ", file_.size(), " bytes"));
    }
    reached_.assign(high_water_, false);
    reached_[0] = reached_[1] = true;
    if (absl::Status s = Tree(meta->root, "", 0); !s.ok()) return s;
    return std::move(out_);
  }

 private:
  // bbolt's rule: of the two meta pages, the valid one with the higher txid (a torn write leaves the other).
  absl::StatusOr<Meta> PickMeta() {
    if (file_.size() < kPageHeaderBytes + kMetaBytes) {
      return absl::DataLossError(absl::StrCat("bbolt: file of ", file_.size(), " bytes is too short"));
    }
    uint64_t page_bytes = Le(file_, kPageHeaderBytes + 8, 4);
    if (!PlausiblePageBytes(page_bytes)) page_bytes = 4096;  // meta 0 is damaged: try the usual size for meta 1
    absl::StatusOr<Meta> m0 = ReadMeta(file_, 0, page_bytes), m1 = ReadMeta(file_, 1, page_bytes);
    if (!m0.ok() && !m1.ok()) {
      return absl::DataLossError(
          absl::StrCat("bbolt: neither meta page is valid (", m0.status().message(), "; ", m1.status().message(), ")"));
    }
    if (!m1.ok() || (m0.ok() && m0->txid >= m1->txid)) return m0;
    return m1;
  }

  absl::Status Fail(uint64_t pgid, absl::string_view what) { return Bad(pgid, what); }

  // The node on page `pgid` (and its overflow pages), marked reached.
  absl::StatusOr<absl::string_view> Page(uint64_t pgid) {
    if (pgid < 2) return Fail(pgid, "a tree points at a meta page");
    if (pgid >= high_water_) return Fail(pgid, absl::StrCat("beyond the high-water mark ", high_water_));
    const absl::string_view header = file_.substr(pgid * page_bytes_, kPageHeaderBytes);
    if (Le(header, 0, 8) != pgid) return Fail(pgid, absl::StrCat("the page says it is page ", Le(header, 0, 8)));
    const uint64_t overflow = Le(header, 12, 4);
    if (overflow >= high_water_ - pgid) return Fail(pgid, absl::StrCat(overflow, " overflow pages run past the end"));
    for (uint64_t id = pgid; id <= pgid + overflow; ++id) {
      if (reached_[id]) return Fail(id, "reached twice (a cycle, or a page shared by two nodes)");
      reached_[id] = true;
    }
    return file_.substr(pgid * page_bytes_, (overflow + 1) * page_bytes_);
  }

  // A bucket's tree ("" for the root bucket, whose leaves hold buckets).
  absl::Status Tree(uint64_t root, const std::string& bucket, int depth) {
    std::optional<std::string> last;
    return Node(root, bucket, depth, &last);
  }

  absl::Status Node(uint64_t pgid, const std::string& bucket, int depth, std::optional<std::string>* last) {
    if (depth >= kBboltReaderDepthMax) return Fail(pgid, "trees nested too deep");
    absl::StatusOr<absl::string_view> node = Page(pgid);
    if (!node.ok()) return node.status();
    const uint64_t flags = Le(*node, 8, 2), count = Le(*node, 10, 2);
    if (flags == kLeaf) return Leaf(*node, pgid, count, bucket, depth, last);
    if (flags != kBranch) return Fail(pgid, absl::StrCat("not a branch or leaf page (flags 0x", absl::Hex(flags), ")"));
    if (count == 0) return Fail(pgid, "an empty branch");
    if (kPageHeaderBytes + count * kBranchElementBytes > node->size()) return Fail(pgid, "elements beyond the page");
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t e = kPageHeaderBytes + i * kBranchElementBytes;
      const uint64_t pos = Le(*node, e, 4), key_bytes = Le(*node, e + 4, 4), child = Le(*node, e + 8, 8);
      if (e + pos + key_bytes > node->size()) return Fail(pgid, absl::StrCat("branch element ", i, " beyond the page"));
      if (absl::Status s = Node(child, bucket, depth + 1, last); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The elements of a leaf: on its page(s), or inline in a bucket's value (`node` then is that value's page image).
  absl::Status Leaf(absl::string_view node, uint64_t pgid, uint64_t count, const std::string& bucket, int depth,
                    std::optional<std::string>* last) {
    if (kPageHeaderBytes + count * kLeafElementBytes > node.size()) return Fail(pgid, "elements beyond the page");
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t e = kPageHeaderBytes + i * kLeafElementBytes;
      const uint64_t flags = Le(node, e, 4), pos = Le(node, e + 4, 4), key_bytes = Le(node, e + 8, 4),
                     value_bytes = Le(node, e + 12, 4);
      if (e + pos + key_bytes + value_bytes > node.size()) {
        return Fail(pgid, absl::StrCat("leaf element ", i, " beyond the page"));
      }
      std::string key(node.substr(e + pos, key_bytes));
      const absl::string_view value = node.substr(e + pos + key_bytes, value_bytes);
      if (*last && key <= **last) return Fail(pgid, absl::StrCat("keys out of order in bucket \"", bucket, "\""));
      *last = key;
      const bool is_bucket = (flags & kBucketFlag) != 0;
      if (!bucket.empty()) {
        // Inside a bucket: only plain values (etcd's backend nests no buckets).
        if (is_bucket) return Fail(pgid, absl::StrCat("a nested bucket in bucket \"", bucket, "\""));
        out_.buckets[bucket].emplace_back(std::move(key), std::string(value));
        continue;
      }
      if (!is_bucket) return Fail(pgid, "a plain value in the root bucket");
      if (absl::Status s = Bucket(pgid, key, value, depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A bucket of the root bucket: its own tree, or inline.
  absl::Status Bucket(uint64_t pgid, const std::string& name, absl::string_view value, int depth) {
    if (name.empty()) return Fail(pgid, "a bucket with an empty name");
    if (value.size() < kBucketHeaderBytes) return Fail(pgid, absl::StrCat("bucket \"", name, "\": header too short"));
    out_.buckets[name];  // an empty bucket is still a bucket
    const uint64_t root = Le(value, 0, 8);
    absl::Status s;
    if (root != 0) {
      s = Tree(root, name, depth + 1);
    } else {
      const absl::string_view page = value.substr(kBucketHeaderBytes);
      if (page.size() < kPageHeaderBytes || Le(page, 8, 2) != kLeaf) {
        s = Fail(pgid, absl::StrCat("bucket \"", name, "\": bad inline page"));
      } else {
        std::optional<std::string> last;
        s = Leaf(page, pgid, Le(page, 10, 2), name, depth + 1, &last);
      }
    }
    return s;
  }

  absl::string_view file_;
  uint64_t page_bytes_ = 0;
  uint64_t high_water_ = 0;
  std::vector<bool> reached_;
  BboltDatabase out_;
};

}  // namespace

absl::StatusOr<BboltDatabase> ReadBboltDatabase(absl::string_view file) { return Reader(file).Read(); }

}  // namespace detcd::storage
