#include "storage/bbolt_test_reader.h"

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"

namespace detcd::storage {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kNoFreelist = ~uint64_t{0};

uint64_t Le(absl::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

uint64_t Fnv64a(absl::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

absl::Status Bad(uint64_t pgid, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("bbolt page ", pgid, ": ", what));
}

class Reader {
 public:
  explicit Reader(absl::string_view file) : file_(file) {}

  absl::StatusOr<BboltContents> Read() {
    if (file_.size() < 2 * kPage || file_.size() % kPage != 0) {
      return absl::DataLossError(absl::StrCat("bbolt: file of ", file_.size(), " bytes"));
    }
    std::optional<absl::string_view> best;
    for (uint64_t m = 0; m < 2; ++m) {
      const absl::string_view page = file_.substr(m * kPage, kPage);
      if (Le(page, 0, 8) != m || Le(page, 8, 2) != 0x04) return Bad(m, "not a meta page");
      const absl::string_view meta = page.substr(16, 64);
      if (Le(meta, 0, 4) != 0xED0CDAED) return Bad(m, "bad magic");
      if (Le(meta, 4, 4) != 2) return Bad(m, "bad version");
      if (Le(meta, 8, 4) != kPage) return Bad(m, "page size is not 4096");
      if (Le(meta, 56, 8) != Fnv64a(meta.substr(0, 56))) return Bad(m, "meta checksum mismatch");
      if (!best || Le(meta, 48, 8) > Le(*best, 48, 8)) best = meta;
    }
    out_.txid = Le(*best, 48, 8);
    high_water_ = Le(*best, 40, 8);
    out_.high_water_pgid = high_water_;
    if (high_water_ < 3 || high_water_ * kPage > file_.size()) {
      return absl::DataLossError(absl::StrCat("bbolt: high water ", high_water_, " for ", file_.size(), " bytes"));
    }
    reached_.insert(0);
    reached_.insert(1);
    const uint64_t freelist = Le(*best, 32, 8);
    if (freelist != kNoFreelist) {
      out_.has_freelist_page = true;
      if (absl::Status s = ReadFreelist(freelist); !s.ok()) return s;
    }
    if (Le(*best, 24, 8) != 0) return absl::DataLossError("bbolt: root bucket has a sequence");
    if (absl::Status s = Tree(Le(*best, 16, 8), /*root_bucket=*/true, "", 1); !s.ok()) return s;
    for (uint64_t id = 0; id < high_water_; ++id) {
      const bool reached = reached_.count(id) > 0, freed = free_.count(id) > 0;
      if (!reached && !freed) return Bad(id, "unreachable unfreed");
      if (reached && freed) return Bad(id, "reachable freed");
    }
    return std::move(out_);
  }

 private:
  absl::Status ReadFreelist(uint64_t pgid) {
    if (pgid < 2 || pgid >= high_water_) return Bad(pgid, "freelist out of bounds");
    const absl::string_view page = file_.substr(pgid * kPage);
    if (Le(page, 0, 8) != pgid || Le(page, 8, 2) != 0x10) return Bad(pgid, "not a freelist page");
    const uint64_t overflow = Le(page, 12, 4);
    if (absl::Status s = Reach(pgid, overflow); !s.ok()) return s;
    uint64_t count = Le(page, 10, 2), at = 16;
    if (count == 0xffff) {
      count = Le(page, 16, 8);
      at = 24;
    }
    if (at + count * 8 > (overflow + 1) * kPage) return Bad(pgid, "freelist beyond its pages");
    for (uint64_t i = 0; i < count; ++i) free_.insert(Le(page, at + i * 8, 8));
    return absl::OkStatus();
  }

  absl::Status Reach(uint64_t pgid, uint64_t overflow) {
    for (uint64_t id = pgid; id <= pgid + overflow; ++id) {
      if (id >= high_water_) return Bad(id, "beyond the high-water mark");
      if (!reached_.insert(id).second) return Bad(id, "multiple references");
    }
    out_.overflow_pages += overflow;
    return absl::OkStatus();
  }

  // A bucket's tree from its root page: the root bucket's (whose leaves hold buckets) or a bucket's (which holds
  // key/value pairs in `bucket`).
  absl::Status Tree(uint64_t root, bool root_bucket, const std::string& bucket, int depth) {
    std::optional<std::string> last;
    return Node(root, root_bucket, bucket, std::nullopt, std::nullopt, depth, &last, true);
  }

  // One node, whose keys must lie in [low, high); `last` is the last key seen in this tree (strictly increasing).
  absl::Status Node(uint64_t pgid, bool root_bucket, const std::string& bucket, std::optional<std::string> low,
                    std::optional<std::string> high, int depth, std::optional<std::string>* last, bool is_root) {
    if (pgid < 2) return Bad(pgid, "a tree points at a meta page");
    if (pgid >= high_water_) return Bad(pgid, "beyond the high-water mark");
    const absl::string_view page = file_.substr(pgid * kPage);
    if (Le(page, 0, 8) != pgid) return Bad(pgid, absl::StrCat("page says it is ", Le(page, 0, 8)));
    const uint64_t flags = Le(page, 8, 2), count = Le(page, 10, 2), overflow = Le(page, 12, 4);
    if (absl::Status s = Reach(pgid, overflow); !s.ok()) return s;
    const absl::string_view node = page.substr(0, std::min<size_t>(page.size(), (overflow + 1) * kPage));
    if (node.size() != (overflow + 1) * kPage) return Bad(pgid, "overflow beyond the file");
    if (16 + count * 16 > node.size()) return Bad(pgid, "elements beyond the node");
    if (count == 0 && !(is_root && flags == 0x02)) return Bad(pgid, "empty node that is not an empty root leaf");
    if (flags == 0x01) {
      ++out_.branch_pages;
      for (uint64_t i = 0; i < count; ++i) {
        const size_t e = 16 + i * 16;
        const uint64_t pos = Le(node, e, 4), ksize = Le(node, e + 4, 4), child = Le(node, e + 8, 8);
        if (e + pos + ksize > node.size()) return Bad(pgid, "branch key beyond the node");
        const std::string key(node.substr(e + pos, ksize));
        if (low && key < *low) return Bad(pgid, "branch key below its parent's");
        if (high && key >= *high) return Bad(pgid, "branch key at or above the next one in its parent");
        if (i > 0 && key <= std::string(node.substr(16 + (i - 1) * 16 + Le(node, 16 + (i - 1) * 16, 4),
                                                    Le(node, 16 + (i - 1) * 16 + 4, 4)))) {
          return Bad(pgid, "branch keys not increasing");
        }
        std::optional<std::string> next_high = high;
        if (i + 1 < count) {
          const size_t n = e + 16;
          next_high = std::string(node.substr(n + Le(node, n, 4), Le(node, n + 4, 4)));
        }
        if (absl::Status s = Node(child, root_bucket, bucket, key, next_high, depth + 1, last, false); !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
    if (flags != 0x02) return Bad(pgid, absl::StrCat("not a branch or leaf page (flags ", flags, ")"));
    ++out_.leaf_pages;
    return Leaf(node, pgid, count, root_bucket, bucket, low, high, depth, last);
  }

  // The elements of a leaf (on its pages, or inline in a bucket's value).
  absl::Status Leaf(absl::string_view node, uint64_t pgid, uint64_t count, bool root_bucket, const std::string& bucket,
                    const std::optional<std::string>& low, const std::optional<std::string>& high, int depth,
                    std::optional<std::string>* last) {
    if (depth > out_.depth_max && !root_bucket) out_.depth_max = depth;
    for (uint64_t i = 0; i < count; ++i) {
      const size_t e = 16 + i * 16;
      const uint64_t flags = Le(node, e, 4), pos = Le(node, e + 4, 4), ksize = Le(node, e + 8, 4),
                     vsize = Le(node, e + 12, 4);
      if (e + pos + ksize + vsize > node.size()) return Bad(pgid, "leaf element beyond the node");
      std::string key(node.substr(e + pos, ksize));
      const absl::string_view value = node.substr(e + pos + ksize, vsize);
      if (key.empty()) return Bad(pgid, "empty key");
      if (*last && key <= **last) return Bad(pgid, "keys not increasing");
      if (low && key < *low) return Bad(pgid, "leaf key below its parent's");
      if (high && key >= *high) return Bad(pgid, "leaf key at or above the next one in its parent");
      *last = key;
      if (!root_bucket) {
        if (flags != 0) return Bad(pgid, "a nested bucket or unknown element flags");
        out_.buckets[bucket].emplace_back(std::move(key), std::string(value));
        continue;
      }
      if (flags != 0x01) return Bad(pgid, "a plain value in the root bucket");
      if (value.size() < 16) return Bad(pgid, "bucket header too short");
      if (Le(value, 8, 8) != 0) return Bad(pgid, "a bucket with a sequence");
      out_.buckets[key];  // an empty bucket is still a bucket
      const uint64_t root = Le(value, 0, 8);
      if (root != 0) {
        if (absl::Status s = Tree(root, false, key, 1); !s.ok()) return s;
        continue;
      }
      // Inline: a leaf page right after the header, within the value.
      const absl::string_view inline_page = value.substr(16);
      if (inline_page.size() < 16 || Le(inline_page, 8, 2) != 0x02) return Bad(pgid, "bad inline bucket");
      const uint64_t n = Le(inline_page, 10, 2);
      if (16 + n * 16 > inline_page.size()) return Bad(pgid, "inline bucket elements beyond its value");
      std::optional<std::string> inline_last;
      if (absl::Status s = Leaf(inline_page, pgid, n, false, key, std::nullopt, std::nullopt, 1, &inline_last);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::string_view file_;
  uint64_t high_water_ = 0;
  std::set<uint64_t> reached_;
  std::set<uint64_t> free_;
  BboltContents out_;
};

}  // namespace

absl::StatusOr<BboltContents> ReadBboltFile(absl::string_view file) { return Reader(file).Read(); }

}  // namespace detcd::storage
